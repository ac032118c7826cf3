"""A real HTTP server on 127.0.0.1 for download and NSD tests.

:class:`FileServer` serves a folder with ``Range``, ``If-Range``, ``HEAD``
and S3-style ETags (the MD5 of the file). Tests can queue faults for the
next requests of a path: an HTTP error status, a dropped connection, a
body cut short, corrupted bytes, a slow body, a stall longer than the
client's timeout or a response that ignores ``Range``. Every request is
recorded so that tests can check how the client recovered.
"""

import hashlib
import http.server
import re
import socket
import threading
import time
import urllib.parse
from collections import defaultdict, deque
from dataclasses import dataclass
from pathlib import Path

FAULTS = {
    "slow",
    "drop",
    "truncate",
    "corrupt",
    "stall",
    "ignore_range",
}


@dataclass
class RecordedRequest:
    method: str
    path: str
    range: str | None
    status: int
    fault: str | None


class FileServer:
    """Serve ``root`` over HTTP on 127.0.0.1 at a free port.

    Use as a context manager, or call :meth:`start` and :meth:`stop`.

    Parameters
    ----------
    root : Path
        Folder whose files are served; URL paths map to relative paths.
    etag : {"md5", "multipart", None}
        ETag sent with each file: its MD5 (as S3 does for single-part
        uploads), an S3 multipart tag (``<hash>-2``) or none.
    stall_seconds : float
        How long a ``"stall"`` fault waits before sending the body; set it
        above the client's timeout.
    slow_seconds : float
        How long a ``"slow"`` fault waits before sending the body; set it
        below the client's timeout.
    """

    def __init__(self, root, etag="md5", stall_seconds=2.0, slow_seconds=1.0):
        self.root = Path(root)
        self.etag = etag
        self.stall_seconds = stall_seconds
        self.slow_seconds = slow_seconds
        self.requests = []
        self._faults = defaultdict(deque)
        self._lock = threading.Lock()
        self._httpd = None
        self._thread = None

    @property
    def url(self):
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def url_for(self, relative_path):
        return f"{self.url}/{relative_path}"

    def add_faults(self, relative_path, *faults):
        """Queue faults for the next GET requests of ``relative_path``.

        Each fault is an HTTP status (int, e.g. 500 or 404) or one of
        ``FAULTS``. One fault is used per request, in order.
        """
        for fault in faults:
            if not isinstance(fault, int) and fault not in FAULTS:
                raise ValueError(f"Unknown fault {fault!r}")
        with self._lock:
            self._faults["/" + relative_path.lstrip("/")].extend(faults)

    def get_requests(self, relative_path, method="GET"):
        """Return the recorded requests of one path and method."""
        path = "/" + relative_path.lstrip("/")
        with self._lock:
            return [
                r
                for r in self.requests
                if r.path == path and r.method == method
            ]

    def start(self):
        handler = _make_handler(self)
        self._httpd = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), handler
        )
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self):
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._thread.join(timeout=5)
            self._httpd = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _next_fault(self, path):
        with self._lock:
            queue = self._faults.get(path)
            return queue.popleft() if queue else None

    def _record(self, request):
        with self._lock:
            self.requests.append(request)

    def _etag_of(self, data):
        digest = hashlib.md5(data).hexdigest()
        if self.etag == "md5":
            return f'"{digest}"'
        if self.etag == "multipart":
            return f'"{digest}-2"'
        return None


def _make_handler(server):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format, *args):  # keep pytest output clean
            pass

        def do_HEAD(self):
            self._serve(send_body=False)

        def do_GET(self):
            self._serve(send_body=True)

        def _serve(self, send_body):
            path = urllib.parse.urlparse(self.path).path
            range_header = self.headers.get("Range")
            fault = server._next_fault(path) if send_body else None
            file_path = server.root / path.lstrip("/")

            def record(status):
                server._record(
                    RecordedRequest(
                        self.command, path, range_header, status, fault
                    )
                )

            if isinstance(fault, int):
                record(fault)
                self._send_status(fault)
                return
            if not file_path.is_file():
                record(404)
                self._send_status(404)
                return

            data = file_path.read_bytes()
            etag = server._etag_of(data)
            start = 0
            status = 200
            if range_header and fault != "ignore_range":
                if_range = self.headers.get("If-Range")
                if if_range is None or if_range == etag:
                    match = re.fullmatch(r"bytes=(\d+)-", range_header)
                    start = int(match.group(1))
                    if start >= len(data):
                        record(416)
                        self.send_response(416)
                        self.send_header(
                            "Content-Range", f"bytes */{len(data)}"
                        )
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    status = 206

            body = data[start:]
            if fault == "truncate":
                # A complete HTTP response whose content is cut short, as
                # a broken proxy or storage node would send it.
                body = body[: len(body) // 2]
            if fault == "corrupt":
                body = bytes(b ^ 0xFF for b in body[:16]) + body[16:]
            record(status)

            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Accept-Ranges", "bytes")
            if etag:
                self.send_header("ETag", etag)
            if status == 206:
                self.send_header(
                    "Content-Range",
                    f"bytes {start}-{len(data) - 1}/{len(data)}",
                )
            self.end_headers()
            if not send_body:
                return
            try:
                if fault == "stall":
                    time.sleep(server.stall_seconds)
                if fault == "slow":
                    time.sleep(server.slow_seconds)
                if fault == "drop":
                    # Send half of the promised bytes, then close the
                    # socket.
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                # The client gave up first, e.g. after its read timeout.
                self.close_connection = True

        def _send_status(self, status):
            message = f"status {status}\n".encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(message)))
            self.end_headers()
            self.wfile.write(message)

    return Handler
