"""Tests of jne.sources.download against a real HTTP server on 127.0.0.1."""

import hashlib
import http.server
import logging
import multiprocessing
import re
import socket
import struct
import threading
import time

import numpy as np
import pytest

from jne.errors import ConfigError, DownloadError
from jne.sources.download import download
from jne.sources.download_resume import PartState, state_path, write_state
from jne.sources.download_checks import (
    md5_from_etag,
    parse_content_range,
    parse_unsatisfied_range,
    verify_file,
)
from tests.nsd_server import FileServer

FAST = {"backoff": 0.01, "timeout": 5, "chunk_size": 4096}


@pytest.fixture
def served(tmp_path):
    """A server on a folder with one 100 kB file of random bytes."""
    root = tmp_path / "remote"
    root.mkdir()
    data = np.random.default_rng(0).bytes(100_000)
    (root / "data.bin").write_bytes(data)
    with FileServer(root) as server:
        yield server, data


def _get_statuses(server, path="data.bin"):
    return [r.status for r in server.get_requests(path)]


def test_download_plain_file(served, tmp_path):
    server, data = served
    dest = tmp_path / "local" / "data.bin"

    result = download(server.url_for("data.bin"), dest, **FAST)

    assert result == dest
    assert dest.read_bytes() == data
    assert not dest.with_name("data.bin.part").exists()
    assert _get_statuses(server) == [200]


def test_download_retries_server_error(served, tmp_path, caplog):
    server, data = served
    server.add_faults("data.bin", 500, 503)
    dest = tmp_path / "data.bin"

    with caplog.at_level(logging.INFO, logger="jne.sources.download"):
        download(server.url_for("data.bin"), dest, **FAST)

    assert dest.read_bytes() == data
    assert _get_statuses(server) == [500, 503, 200]
    assert "retry 1 of 5" in caplog.text
    assert "retry 2 of 5" in caplog.text
    assert "with 2 retries" in caplog.text


def test_download_resumes_dropped_connection(served, tmp_path):
    server, data = served
    server.add_faults("data.bin", "drop")
    dest = tmp_path / "data.bin"

    download(server.url_for("data.bin"), dest, **FAST)

    assert dest.read_bytes() == data
    requests = server.get_requests("data.bin")
    assert [r.status for r in requests] == [200, 206]
    assert requests[0].range is None
    assert requests[1].range == f"bytes={len(data) // 2}-"


def test_download_resumes_twice(served, tmp_path):
    server, data = served
    server.add_faults("data.bin", "drop", "drop")
    dest = tmp_path / "data.bin"

    download(server.url_for("data.bin"), dest, **FAST)

    assert dest.read_bytes() == data
    ranges = [r.range for r in server.get_requests("data.bin")]
    second_start = len(data) // 2
    third_start = second_start + (len(data) - second_start) // 2
    assert ranges == [None, f"bytes={second_start}-", f"bytes={third_start}-"]


def test_download_refetches_truncated_body(served, tmp_path):
    server, data = served
    server.add_faults("data.bin", "truncate")
    dest = tmp_path / "data.bin"

    download(server.url_for("data.bin"), dest, **FAST)

    assert dest.read_bytes() == data
    assert _get_statuses(server) == [200, 200]


def test_truncated_body_caught_by_size(tmp_path):
    root = tmp_path / "remote"
    root.mkdir()
    data = np.random.default_rng(1).bytes(50_000)
    (root / "data.bin").write_bytes(data)
    dest = tmp_path / "data.bin"

    with FileServer(root, etag=None) as server:
        server.add_faults("data.bin", "truncate")
        download(
            server.url_for("data.bin"),
            dest,
            expected_size=len(data),
            **FAST,
        )
        requests = server.get_requests("data.bin")

    assert dest.read_bytes() == data
    # Without an ETag the short part cannot be resumed safely, so the
    # retry requests the whole file again.
    assert [r.status for r in requests] == [200, 200]
    assert [r.range for r in requests] == [None, None]


def test_download_refetches_corrupt_body(served, tmp_path):
    server, data = served
    server.add_faults("data.bin", "corrupt")
    dest = tmp_path / "data.bin"

    download(server.url_for("data.bin"), dest, **FAST)

    assert dest.read_bytes() == data
    assert _get_statuses(server) == [200, 200]


def test_download_retries_read_timeout(tmp_path):
    root = tmp_path / "remote"
    root.mkdir()
    (root / "data.bin").write_bytes(b"x" * 1000)
    dest = tmp_path / "data.bin"

    with FileServer(root, stall_seconds=1.5) as server:
        server.add_faults("data.bin", "stall")
        download(
            server.url_for("data.bin"),
            dest,
            backoff=0.01,
            timeout=0.3,
        )
        faults = [r.fault for r in server.get_requests("data.bin")]

    assert dest.read_bytes() == b"x" * 1000
    assert faults == ["stall", None]


def test_download_restarts_when_range_ignored(served, tmp_path):
    server, data = served
    server.add_faults("data.bin", "drop", "ignore_range")
    dest = tmp_path / "data.bin"

    download(server.url_for("data.bin"), dest, **FAST)

    assert dest.read_bytes() == data
    assert _get_statuses(server) == [200, 200]


def test_download_restarts_when_file_changed(served, tmp_path, monkeypatch):
    server, data = served
    new_data = np.random.default_rng(5).bytes(80_000)
    server.add_faults("data.bin", "drop")
    dest = tmp_path / "data.bin"
    sleep = time.sleep

    def replace_remote_file_then_sleep(seconds):
        (server.root / "data.bin").write_bytes(new_data)
        sleep(seconds)

    # The downloader sleeps once, between the dropped attempt and the
    # retry, which is when the remote file changes here.
    monkeypatch.setattr(time, "sleep", replace_remote_file_then_sleep)
    download(server.url_for("data.bin"), dest, **FAST)
    monkeypatch.undo()

    assert dest.read_bytes() == new_data
    requests = server.get_requests("data.bin")
    assert [r.status for r in requests] == [200, 200]
    assert requests[1].range == f"bytes={len(data) // 2}-"


@pytest.mark.parametrize("status", [404, 403])
def test_client_error_fails_at_once(served, tmp_path, status):
    server, _ = served
    server.add_faults("data.bin", status)
    dest = tmp_path / "data.bin"
    url = server.url_for("data.bin")

    with pytest.raises(DownloadError) as error:
        download(url, dest, **FAST)

    assert url in str(error.value)
    assert f"HTTP {status}" in str(error.value)
    assert _get_statuses(server) == [status]
    assert not dest.exists()


def test_missing_file_fails_with_404(served, tmp_path):
    server, _ = served
    url = server.url_for("no/such/file.bin")

    with pytest.raises(DownloadError, match="HTTP 404"):
        download(url, tmp_path / "file.bin", **FAST)


def test_persistent_errors_exhaust_retries(served, tmp_path):
    server, _ = served
    server.add_faults("data.bin", *([502] * 10))
    dest = tmp_path / "data.bin"

    with pytest.raises(DownloadError, match="after 3 attempts"):
        download(server.url_for("data.bin"), dest, retries=2, **FAST)

    assert _get_statuses(server) == [502, 502, 502]
    assert not dest.exists()


def test_corrupt_cached_file_refetched(served, tmp_path):
    server, data = served
    dest = tmp_path / "data.bin"
    corrupt = bytearray(data)
    corrupt[1000:1010] = b"0123456789"
    dest.write_bytes(bytes(corrupt))
    sha256 = hashlib.sha256(data).hexdigest()

    download(server.url_for("data.bin"), dest, sha256=sha256, **FAST)

    assert dest.read_bytes() == data
    assert _get_statuses(server) == [200]


def test_valid_cached_file_not_refetched(served, tmp_path):
    server, data = served
    dest = tmp_path / "data.bin"
    dest.write_bytes(data)

    download(
        server.url_for("data.bin"),
        dest,
        md5=hashlib.md5(data).hexdigest(),
        expected_size=len(data),
        **FAST,
    )

    assert server.requests == []


def test_cached_file_checked_against_server(served, tmp_path):
    server, data = served
    dest = tmp_path / "data.bin"
    dest.write_bytes(data[:5000])

    download(server.url_for("data.bin"), dest, check_remote=True, **FAST)

    assert dest.read_bytes() == data
    assert len(server.get_requests("data.bin", method="HEAD")) == 1
    assert _get_statuses(server) == [200]


def test_cached_file_kept_when_server_down(tmp_path, caplog):
    root = tmp_path / "remote"
    root.mkdir()
    dest = tmp_path / "data.bin"
    dest.write_bytes(b"cached")
    with FileServer(root) as server:
        url = server.url_for("data.bin")

    with caplog.at_level(logging.WARNING, logger="jne.sources.download"):
        download(url, dest, check_remote=True, **FAST)

    assert dest.read_bytes() == b"cached"
    assert "keeping the cached file" in caplog.text


def _save_part(dest, content, url, etag):
    """Leave a part file and its state as an earlier process would."""
    part = dest.with_name(dest.name + ".part")
    part.write_bytes(content)
    write_state(part, PartState(url=url, etag=etag, size=None))
    return part


def _md5_etag(data):
    return f'"{hashlib.md5(data).hexdigest()}"'


def test_leftover_part_file_resumed(served, tmp_path):
    server, data = served
    dest = tmp_path / "data.bin"
    url = server.url_for("data.bin")
    part = _save_part(dest, data[:30_000], url, _md5_etag(data))

    download(url, dest, **FAST)

    assert dest.read_bytes() == data
    requests = server.get_requests("data.bin")
    assert [r.range for r in requests] == ["bytes=30000-"]
    assert [r.status for r in requests] == [206]
    assert not part.exists()
    assert not state_path(part).exists()


def test_leftover_part_of_changed_file_replaced(served, tmp_path):
    server, data = served
    dest = tmp_path / "data.bin"
    url = server.url_for("data.bin")
    old_version = np.random.default_rng(7).bytes(100_000)
    _save_part(dest, old_version[:30_000], url, _md5_etag(old_version))

    download(url, dest, **FAST)

    assert dest.read_bytes() == data
    # The server compares If-Range with the current ETag and sends the
    # whole new file.
    requests = server.get_requests("data.bin")
    assert [r.range for r in requests] == ["bytes=30000-"]
    assert [r.status for r in requests] == [200]


def test_leftover_part_of_other_url_restarted(served, tmp_path):
    server, data = served
    dest = tmp_path / "data.bin"
    other_url = server.url_for("elsewhere/data.bin")
    _save_part(dest, data[:30_000], other_url, _md5_etag(data))

    download(server.url_for("data.bin"), dest, **FAST)

    assert dest.read_bytes() == data
    assert [r.range for r in server.get_requests("data.bin")] == [None]


@pytest.mark.parametrize("etag", ["multipart", None])
def test_stale_part_without_state_restarted(tmp_path, etag):
    root = tmp_path / "remote"
    root.mkdir()
    data = np.random.default_rng(2).bytes(89_296)
    (root / "f.mat").write_bytes(data)
    dest = tmp_path / "f.mat"
    # Random bytes left by an earlier process, with no state file: nothing
    # can show that they belong to the file on the server.
    dest.with_name("f.mat.part").write_bytes(
        np.random.default_rng(3).bytes(50_000)
    )

    with FileServer(root, etag=etag) as server:
        download(server.url_for("f.mat"), dest, **FAST)
        requests = server.get_requests("f.mat")

    assert dest.read_bytes() == data
    assert [r.range for r in requests] == [None]
    assert [r.status for r in requests] == [200]


def test_stale_part_resumed_with_checksum(served, tmp_path):
    server, data = served
    dest = tmp_path / "data.bin"
    dest.with_name("data.bin.part").write_bytes(data[:30_000])
    sha256 = hashlib.sha256(data).hexdigest()

    download(server.url_for("data.bin"), dest, sha256=sha256, **FAST)

    assert dest.read_bytes() == data
    assert [r.range for r in server.get_requests("data.bin")] == [
        "bytes=30000-"
    ]


def test_multipart_etag_drop_resumed(tmp_path):
    root = tmp_path / "remote"
    root.mkdir()
    data = np.random.default_rng(4).bytes(60_000)
    (root / "data.bin").write_bytes(data)
    dest = tmp_path / "data.bin"

    with FileServer(root, etag="multipart") as server:
        server.add_faults("data.bin", "drop")
        download(server.url_for("data.bin"), dest, **FAST)
        statuses = _get_statuses(server)

    # The multipart ETag is no checksum but still a validator, so the
    # part is resumed.
    assert dest.read_bytes() == data
    assert statuses == [200, 206]


def test_no_validator_drop_restarted(tmp_path):
    root = tmp_path / "remote"
    root.mkdir()
    data = np.random.default_rng(4).bytes(60_000)
    (root / "data.bin").write_bytes(data)
    dest = tmp_path / "data.bin"

    with FileServer(root, etag=None) as server:
        server.add_faults("data.bin", "drop")
        download(server.url_for("data.bin"), dest, **FAST)
        requests = server.get_requests("data.bin")

    assert dest.read_bytes() == data
    assert [r.status for r in requests] == [200, 200]
    assert [r.range for r in requests] == [None, None]


def test_complete_part_file_accepted(served, tmp_path):
    server, data = served
    dest = tmp_path / "data.bin"
    url = server.url_for("data.bin")
    _save_part(dest, data, url, _md5_etag(data))

    download(url, dest, **FAST)

    assert dest.read_bytes() == data
    assert _get_statuses(server) == [416]


def test_complete_part_without_state_restarted(served, tmp_path):
    server, data = served
    dest = tmp_path / "data.bin"
    dest.with_name("data.bin.part").write_bytes(data)

    download(server.url_for("data.bin"), dest, **FAST)

    assert dest.read_bytes() == data
    assert _get_statuses(server) == [200]


def test_oversized_part_file_replaced(served, tmp_path):
    server, data = served
    dest = tmp_path / "data.bin"
    url = server.url_for("data.bin")
    _save_part(dest, data + b"extra bytes", url, _md5_etag(data))

    download(url, dest, **FAST)

    assert dest.read_bytes() == data
    assert _get_statuses(server) == [416, 200]


def test_multipart_etag_not_used_as_md5(tmp_path):
    root = tmp_path / "remote"
    root.mkdir()
    (root / "data.bin").write_bytes(b"abc" * 1000)

    with FileServer(root, etag="multipart") as server:
        download(server.url_for("data.bin"), tmp_path / "data.bin", **FAST)

    assert (tmp_path / "data.bin").read_bytes() == b"abc" * 1000


def test_md5_from_etag():
    digest = hashlib.md5(b"x").hexdigest()

    assert md5_from_etag(f'"{digest}"') == digest
    assert md5_from_etag(f'"{digest.upper()}"') == digest
    assert md5_from_etag(f'"{digest}-12"') is None
    assert md5_from_etag(f'W/"{digest}"') is None
    assert md5_from_etag(None) is None


def test_verify_file_reports_mismatch(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"hello")

    assert verify_file(path, expected_size=5) is None
    assert "size is 5 bytes" in verify_file(path, expected_size=6)
    assert "sha256" in verify_file(path, sha256="0" * 64)
    assert verify_file(path, md5=hashlib.md5(b"hello").hexdigest()) is None


def test_concurrent_threads_download_once(served, tmp_path):
    server, data = served
    server.slow_seconds = 0.5
    server.add_faults("data.bin", "slow")
    dest = tmp_path / "data.bin"
    sha256 = hashlib.sha256(data).hexdigest()
    errors = []

    def run():
        try:
            download(server.url_for("data.bin"), dest, sha256=sha256, **FAST)
        except Exception as error:  # collected and checked below
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert dest.read_bytes() == data
    assert _get_statuses(server) == [200]


def _download_in_process(url, dest, sha256):
    download(url, dest, sha256=sha256, backoff=0.01, timeout=10)
    return hashlib.sha256(open(dest, "rb").read()).hexdigest()


def test_concurrent_processes_download_once(served, tmp_path):
    server, data = served
    server.slow_seconds = 1.0
    server.add_faults("data.bin", "slow")
    dest = tmp_path / "data.bin"
    sha256 = hashlib.sha256(data).hexdigest()
    context = multiprocessing.get_context("spawn")

    with context.Pool(2) as pool:
        results = pool.starmap(
            _download_in_process,
            [(server.url_for("data.bin"), str(dest), sha256)] * 2,
        )

    assert results == [sha256, sha256]
    assert dest.read_bytes() == data
    assert _get_statuses(server) == [200]
    assert not dest.with_name("data.bin.part").exists()


def test_parse_content_range():
    assert parse_content_range("bytes 10-99/100") == (10, 100)
    assert parse_content_range("bytes 10-99/*") == (10, None)
    assert parse_content_range("bytes */100") is None
    assert parse_content_range(None) is None
    assert parse_unsatisfied_range("bytes */100") == 100
    assert parse_unsatisfied_range("bytes 0-1/2") is None


def test_download_without_lock_support(served, tmp_path, monkeypatch, caplog):
    import errno

    import jne.sources.download as module

    server, data = served

    def reject_flock(handle, operation):
        # An error like the one flock raises on a file system without
        # lock support.
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(module.fcntl, "flock", reject_flock)
    with caplog.at_level(logging.WARNING, logger="jne.sources.download"):
        download(server.url_for("data.bin"), tmp_path / "data.bin", **FAST)

    assert (tmp_path / "data.bin").read_bytes() == data
    assert "does not support locking" in caplog.text


class ScriptedServer:
    """An HTTP server on 127.0.0.1 that sends raw responses from a script.

    ``respond(number, headers)`` gets the 0-based number of the request
    and its headers, and returns ``(raw_response, reset)``: the bytes to
    send (status line, headers and body) and whether to end the
    connection with a TCP reset instead of a normal close. The headers of
    every request are kept in ``requests``.
    """

    def __init__(self, respond):
        self.respond = respond
        self.requests = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, format, *args):  # keep pytest quiet
                pass

            def do_GET(self):
                number = len(server.requests)
                server.requests.append(dict(self.headers))
                raw, reset = server.respond(number, self.headers)
                self.wfile.write(raw)
                self.wfile.flush()
                self.close_connection = True
                if reset:
                    # SO_LINGER with a zero timeout makes close() send a
                    # reset (RST) in place of the normal end (FIN).
                    self.connection.setsockopt(
                        socket.SOL_SOCKET,
                        socket.SO_LINGER,
                        struct.pack("ii", 1, 0),
                    )
                    self.connection.close()

        self._httpd = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), Handler
        )
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
        )

    def url_for(self, name):
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/{name}"

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


def _raw_response(status, headers, body=b"", version="HTTP/1.1"):
    reasons = {200: "OK", 206: "Partial Content"}
    lines = [f"{version} {status} {reasons[status]}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def test_html_page_rejected_for_binary_file(tmp_path):
    page = b"<html><body>Access denied</body></html>"

    def respond(number, headers):
        return (
            _raw_response(
                200,
                {"Content-Type": "text/html", "Content-Length": len(page)},
                page,
            ),
            False,
        )

    dest = tmp_path / "nsd_expdesign.mat"
    with ScriptedServer(respond) as server:
        url = server.url_for("nsd_expdesign.mat")
        with pytest.raises(DownloadError) as error:
            download(url, dest, **FAST)

    message = str(error.value)
    assert url in message
    assert "HTML page" in message
    assert "login or error page" in message
    assert len(server.requests) == 1
    assert not dest.exists()
    assert not dest.with_name(dest.name + ".part").exists()


def test_html_body_without_type_rejected(tmp_path):
    page = b"\n<!DOCTYPE html><html><body>Sign in</body></html>"

    def respond(number, headers):
        return _raw_response(200, {"Content-Length": len(page)}, page), False

    with ScriptedServer(respond) as server:
        with pytest.raises(DownloadError, match="HTML page"):
            download(
                server.url_for("betas.nii.gz"),
                tmp_path / "betas.nii.gz",
                **FAST,
            )


def test_html_accepted_for_text_file(tmp_path):
    page = b"<html><body>a page</body></html>"

    def respond(number, headers):
        return (
            _raw_response(
                200,
                {"Content-Type": "text/html", "Content-Length": len(page)},
                page,
            ),
            False,
        )

    with ScriptedServer(respond) as server:
        path = download(server.url_for("index.csv"), tmp_path / "index.csv")

    assert path.read_bytes() == page


def test_body_without_length_accepted_with_warning(tmp_path, caplog):
    data = np.random.default_rng(8).bytes(40_000)

    def respond(number, headers):
        # An HTTP/1.0 server that marks the end of the body by closing
        # the connection, with a multipart ETag that is no checksum.
        headers = {"ETag": '"0123abcd-2"'}
        return _raw_response(200, headers, data, "HTTP/1.0"), False

    dest = tmp_path / "data.bin"
    with ScriptedServer(respond) as server:
        with caplog.at_level(logging.INFO, logger="jne.sources.download"):
            download(server.url_for("data.bin"), dest, **FAST)

    assert dest.read_bytes() == data
    assert "could not be verified" in caplog.text
    assert "checked by nothing" in caplog.text


def test_body_without_length_reset_retried(tmp_path):
    data = np.random.default_rng(9).bytes(40_000)

    def respond(number, headers):
        if number == 0:
            # Half of the body, then a reset: the connection did not close
            # normally, so the body is incomplete.
            return _raw_response(200, {}, data[:20_000], "HTTP/1.0"), True
        return _raw_response(200, {}, data, "HTTP/1.0"), False

    dest = tmp_path / "data.bin"
    with ScriptedServer(respond) as server:
        download(server.url_for("data.bin"), dest, **FAST)

    assert dest.read_bytes() == data
    assert len(server.requests) == 2
    assert "Range" not in server.requests[1]


def test_last_modified_used_for_resume(tmp_path):
    data = np.random.default_rng(10).bytes(40_000)
    modified = "Mon, 01 Jan 2024 10:00:00 GMT"
    dated = {
        "Last-Modified": modified,
        "Date": "Tue, 02 Jan 2024 10:00:00 GMT",
    }

    def respond(number, headers):
        if number == 0:
            # The body ends after 15,000 of the promised bytes.
            head = {"Content-Length": len(data), **dated}
            return _raw_response(200, head, data[:15_000]), False
        start = int(headers["Range"].split("=")[1].rstrip("-"))
        head = {
            "Content-Length": len(data) - start,
            "Content-Range": f"bytes {start}-{len(data) - 1}/{len(data)}",
            **dated,
        }
        return _raw_response(206, head, data[start:]), False

    dest = tmp_path / "data.bin"
    with ScriptedServer(respond) as server:
        download(server.url_for("data.bin"), dest, **FAST)

    assert dest.read_bytes() == data
    assert server.requests[1]["Range"] == "bytes=15000-"
    assert server.requests[1]["If-Range"] == modified


def test_recent_last_modified_not_used(tmp_path):
    data = np.random.default_rng(11).bytes(40_000)
    # A Last-Modified within 60 s of the Date is a weak validator.
    dated = {
        "Last-Modified": "Mon, 01 Jan 2024 10:00:00 GMT",
        "Date": "Mon, 01 Jan 2024 10:00:30 GMT",
        "Content-Length": len(data),
    }

    def respond(number, headers):
        if number == 0:
            return _raw_response(200, dated, data[:15_000]), False
        return _raw_response(200, dated, data), False

    dest = tmp_path / "data.bin"
    with ScriptedServer(respond) as server:
        download(server.url_for("data.bin"), dest, **FAST)

    assert dest.read_bytes() == data
    assert "Range" not in server.requests[1]


def test_changed_file_detected_without_if_range(tmp_path):
    old = np.random.default_rng(12).bytes(40_000)
    new = np.random.default_rng(13).bytes(40_000)

    def respond(number, headers):
        if number == 0:
            head = {"Content-Length": len(old), "ETag": '"old-2"'}
            return _raw_response(200, head, old[:15_000]), False
        head = {"Content-Length": len(new), "ETag": '"new-2"'}
        if number == 1:
            # A server that ignores If-Range sends a tail of the new
            # version with status 206.
            start = int(headers["Range"].split("=")[1].rstrip("-"))
            head["Content-Length"] = len(new) - start
            head["Content-Range"] = f"bytes {start}-{len(new) - 1}/{len(new)}"
            return _raw_response(206, head, new[start:]), False
        return _raw_response(200, head, new), False

    dest = tmp_path / "data.bin"
    with ScriptedServer(respond) as server:
        download(server.url_for("data.bin"), dest, **FAST)

    assert dest.read_bytes() == new
    assert server.requests[1]["If-Range"] == '"old-2"'
    assert "Range" not in server.requests[2]


def test_message_after_checksum_failures(served, tmp_path):
    server, _ = served
    server.add_faults("data.bin", "corrupt", "corrupt", "corrupt")
    dest = tmp_path / "data.bin"

    with pytest.raises(DownloadError) as error:
        download(server.url_for("data.bin"), dest, retries=2, **FAST)

    part = dest.with_name("data.bin.part")
    assert "md5 is" in str(error.value)
    assert "No partial file is kept" in str(error.value)
    assert "resumes" not in str(error.value)
    assert not part.exists()
    assert not state_path(part).exists()


def test_message_after_server_errors(served, tmp_path):
    server, _ = served
    server.add_faults("data.bin", 500, 500)
    dest = tmp_path / "data.bin"

    with pytest.raises(DownloadError) as error:
        download(server.url_for("data.bin"), dest, retries=1, **FAST)

    assert "HTTP 500" in str(error.value)
    assert "No partial file is kept" in str(error.value)
    assert not dest.with_name("data.bin.part").exists()


def test_message_when_part_kept(served, tmp_path):
    server, data = served
    server.add_faults("data.bin", "drop", 500)
    dest = tmp_path / "data.bin"
    part = dest.with_name("data.bin.part")

    with pytest.raises(DownloadError) as error:
        download(server.url_for("data.bin"), dest, retries=1, **FAST)

    assert f"{part} ({len(data) // 2} bytes) is kept" in str(error.value)
    assert part.stat().st_size == len(data) // 2

    download(server.url_for("data.bin"), dest, **FAST)

    assert dest.read_bytes() == data
    assert server.get_requests("data.bin")[-1].range == (
        f"bytes={len(data) // 2}-"
    )


@pytest.mark.parametrize(
    "url, options, message",
    [
        ("example.org/nsd/f.mat", {}, "http:// or https://"),
        ("127.0.0.1:8765/ok/f.mat", {}, "http:// or https://"),
        ("ftp://127.0.0.1/f.mat", {}, "http:// or https://"),
        ("http:///f.mat", {}, "names no host"),
        ("http://127.0.0.1/f.mat", {"backoff": -1}, "backoff=-1"),
        ("http://127.0.0.1/f.mat", {"timeout": 0}, "timeout=0"),
        ("http://127.0.0.1/f.mat", {"timeout": -5.0}, "timeout=-5.0"),
        ("http://127.0.0.1/f.mat", {"retries": -1}, "retries=-1"),
        ("http://127.0.0.1/f.mat", {"retries": 1.5}, "retries=1.5"),
    ],
)
def test_invalid_arguments_rejected(tmp_path, url, options, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        download(url, tmp_path / "f.mat", **options)

    assert not (tmp_path / "f.mat.lock").exists()
