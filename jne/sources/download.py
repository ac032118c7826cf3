"""HTTP downloads that resume, retry and verify what they fetch.

:func:`download` streams a URL to ``<dest>.part``, resumes it with an HTTP
``Range`` request after a dropped connection or a short body, retries
transient failures with exponential backoff, checks the size and a checksum
and renames the file into place. A lock file next to the destination lets
several processes (for example parallel Snakemake jobs) request the same
file: one downloads it and the others wait and reuse it.

Only the standard library is used (``urllib``), so downloads work wherever
jne is installed.
"""

import contextlib
import http.client
import logging
import os
import ssl
import time
import urllib.error
import urllib.request
from pathlib import Path

from jne import __version__
from jne.errors import ConfigError, DownloadError
from jne.log import progress
from jne.sources.download_checks import (
    md5_from_etag,
    parse_content_range,
    parse_unsatisfied_range,
    verify_file,
)

try:
    import fcntl
except ImportError:  # Windows has no fcntl, so downloads run unlocked.
    fcntl = None

logger = logging.getLogger(__name__)

DEFAULT_CHUNK_SIZE = 1 << 20
MAX_BACKOFF = 300.0

# 408 (request timeout) and 429 (too many requests) are the 4xx statuses
# that ask the client to try again later, so they are retried like 5xx.
TRANSIENT_CLIENT_STATUS = {408, 429}

NETWORK_ERRORS = (
    urllib.error.URLError,
    http.client.HTTPException,
    ConnectionError,
    TimeoutError,
    ssl.SSLError,
)


class _TransferProblem(Exception):
    """A response that ended early or failed verification: retried."""


def download(
    url,
    dest,
    *,
    expected_size=None,
    sha256=None,
    md5=None,
    retries=5,
    backoff=1.0,
    timeout=60,
    chunk_size=DEFAULT_CHUNK_SIZE,
    check_remote=False,
):
    """Download ``url`` to ``dest`` unless a verified copy is already there.

    Parameters
    ----------
    url : str
        HTTP or HTTPS address of the file.
    dest : str or Path
        Final path. Parent folders are created.
    expected_size : int, optional
        Size in bytes. Without it the size comes from the server's
        ``Content-Length`` or ``Content-Range`` header.
    sha256, md5 : str, optional
        Hex digests to check. Without either, an S3-style ``ETag`` of 32
        hex digits (no ``-``, so not a multipart upload) is used as MD5.
    retries : int
        Number of retries after the first attempt for connection errors,
        timeouts, HTTP 5xx, 408 and 429, truncated bodies and checksum
        mismatches. Other HTTP 4xx statuses fail at once.
    backoff : float
        Seconds before the first retry. The delay doubles with each retry,
        up to 300 s.
    timeout : float
        Seconds to wait for the connection and for each read.
    chunk_size : int
        Bytes read and written per step.
    check_remote : bool
        If True and ``dest`` exists without a known size or checksum, ask
        the server (HTTP HEAD) for its size and ETag and compare them. When
        the server cannot be reached, the file is kept and a warning logged.

    Returns
    -------
    Path
        ``dest``, complete and verified.

    Raises
    ------
    DownloadError
        On an HTTP 4xx status other than 408 and 429, or when every attempt
        failed. The partial file ``<dest>.part`` is kept, so the next call
        resumes it.

    Notes
    -----
    A cached file is checked against ``expected_size``, ``sha256`` and
    ``md5`` (and, with ``check_remote``, the server's size and ETag). A
    file that fails is deleted and downloaded again. ``<dest>.lock`` is
    left in place after the download because deleting a lock file that
    another process has opened would break the lock.
    """
    if retries < 0:
        raise ConfigError(f"retries must be >= 0, got {retries}.")
    if chunk_size <= 0:
        raise ConfigError(f"chunk_size must be positive, got {chunk_size}.")
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    sha256 = sha256.lower() if sha256 else None
    md5 = md5.lower() if md5 else None

    with _file_lock(dest):
        if dest.exists() and _cached_file_is_valid(
            url, dest, expected_size, sha256, md5, check_remote, timeout
        ):
            logger.info("Using cached %s", dest)
            return dest
        return _fetch(
            url,
            dest,
            expected_size=expected_size,
            sha256=sha256,
            md5=md5,
            retries=retries,
            backoff=backoff,
            timeout=timeout,
            chunk_size=chunk_size,
        )


@contextlib.contextmanager
def _file_lock(dest):
    """Hold an exclusive ``flock`` on ``<dest>.lock`` for the block.

    Where the file system rejects ``flock`` (for example Lustre mounted
    with ``noflock``), or on platforms without ``fcntl``, the block runs
    without a lock and a warning is logged.
    """
    if fcntl is None:
        logger.warning(
            "No fcntl on this platform: %s is downloaded without a lock, "
            "so do not start two downloads of it at once.",
            dest,
        )
        yield
        return
    lock_path = dest.with_name(dest.name + ".lock")
    with open(lock_path, "a") as handle:
        locked = _acquire(handle, dest)
        try:
            yield
        finally:
            if locked:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _acquire(handle, dest):
    """Lock ``handle``, waiting for other holders. Return False if unable."""
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        logger.info("Waiting for another process that is downloading %s", dest)
    except OSError as error:
        logger.warning(
            "The file system does not support locking %s (%s): downloading "
            "without a lock, so do not start two downloads of it at once.",
            handle.name,
            error,
        )
        return False
    fcntl.flock(handle, fcntl.LOCK_EX)
    return True


def _cached_file_is_valid(
    url, dest, expected_size, sha256, md5, check_remote, timeout
):
    """Return True if the existing ``dest`` passes its checks.

    A file that fails is deleted, so the caller downloads it again.
    """
    if check_remote and expected_size is None and not (sha256 or md5):
        remote = _head(url, timeout)
        if remote is not None:
            expected_size, md5 = remote
    problem = verify_file(
        dest, expected_size=expected_size, sha256=sha256, md5=md5
    )
    if problem is None:
        return True
    logger.warning(
        "Cached file %s is invalid (%s): deleting it and downloading %s "
        "again.",
        dest,
        problem,
        url,
    )
    dest.unlink()
    return False


def _head(url, timeout):
    """Return (size, md5 or None) from an HTTP HEAD, or None on failure."""
    request = urllib.request.Request(
        url, method="HEAD", headers=_base_headers()
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            size = int(length) if length is not None else None
            return size, md5_from_etag(response.headers.get("ETag"))
    except NETWORK_ERRORS as error:
        logger.warning(
            "Failed to check the cached copy of %s against the server "
            "(%s): keeping the cached file.",
            url,
            error,
        )
        return None


def _base_headers():
    return {"User-Agent": f"jne/{__version__} (Python urllib)"}


def _fetch(
    url,
    dest,
    *,
    expected_size,
    sha256,
    md5,
    retries,
    backoff,
    timeout,
    chunk_size,
):
    """Run download attempts until one gives a verified file."""
    part = dest.with_name(dest.name + ".part")
    state = {
        "expected_size": expected_size,
        "total": None,
        "etag": None,
        "received": 0,
    }
    failures = 0
    started = time.monotonic()
    logger.info("Downloading %s to %s", url, dest)
    bar = progress(
        total=expected_size,
        desc=dest.name,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
    )
    try:
        while True:
            try:
                _attempt(url, part, state, timeout, chunk_size, bar)
                _check_part(part, state, expected_size, sha256, md5)
                break
            except urllib.error.HTTPError as error:
                if not _is_transient(error.code):
                    raise DownloadError(
                        f"Download of {url} failed with HTTP {error.code} "
                        f"({error.reason}). Check that the URL (and the "
                        "base URL in the config) is correct and that the "
                        "file is public."
                    ) from error
                reason = f"HTTP {error.code} ({error.reason})"
            except NETWORK_ERRORS as error:
                reason = f"{type(error).__name__}: {error}"
            except _TransferProblem as error:
                reason = str(error)

            failures += 1
            if failures > retries:
                raise DownloadError(
                    f"Download of {url} failed after {failures} attempts. "
                    f"The last error was: {reason}. Check the network and "
                    f"run again: {part} is kept and the next run resumes "
                    "it."
                )
            delay = min(backoff * 2 ** (failures - 1), MAX_BACKOFF)
            logger.warning(
                "Download of %s failed (%s): retry %d of %d in %.1f s",
                url,
                reason,
                failures,
                retries,
                delay,
            )
            time.sleep(delay)
    finally:
        bar.close()

    os.replace(part, dest)
    seconds = time.monotonic() - started
    logger.info(
        "Downloaded %s: %d bytes (%d received) in %.1f s with %d retries, "
        "saved to %s",
        url,
        dest.stat().st_size,
        state["received"],
        seconds,
        failures,
        dest,
    )
    return dest


def _is_transient(status):
    return status >= 500 or status in TRANSIENT_CLIENT_STATUS


def _attempt(url, part, state, timeout, chunk_size, bar):
    """Request the missing bytes of ``part`` and append them to it.

    Updates ``state["total"]`` (object size in bytes from the last
    response, or None), ``state["etag"]`` and ``state["received"]`` (bytes
    read from the network in all attempts).
    """
    offset = part.stat().st_size if part.exists() else 0
    headers = _base_headers()
    if offset:
        headers["Range"] = f"bytes={offset}-"
        if state["etag"]:
            # If the object changed since the first attempt, the server
            # sends the whole new object (200) instead of a wrong tail.
            headers["If-Range"] = state["etag"]
    request = urllib.request.Request(url, headers=headers)

    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as error:
        if error.code == 416 and offset:
            # The part file is at least as long as the object, so the
            # server has no bytes left to send: let the checks decide.
            total = parse_unsatisfied_range(error.headers.get("Content-Range"))
            if total is not None:
                state["total"] = total
            return
        raise

    with response:
        etag = response.headers.get("ETag")
        if response.status == 206:
            content_range = response.headers.get("Content-Range")
            parsed = parse_content_range(content_range)
            if parsed is None:
                raise _TransferProblem(
                    f"invalid Content-Range header {content_range!r}"
                )
            start, total = parsed
            if start != offset:
                part.unlink(missing_ok=True)
                raise _TransferProblem(
                    f"server resumed at byte {start}, expected {offset}"
                )
            mode = "ab"
        else:
            if offset:
                logger.info(
                    "Server sent all of %s instead of bytes %d onward: "
                    "starting again from byte 0",
                    url,
                    offset,
                )
            offset = 0
            length = response.headers.get("Content-Length")
            total = int(length) if length is not None else None
            mode = "wb"

        expected = state["expected_size"]
        if total is not None and expected is not None and total != expected:
            logger.warning(
                "Server reports %d bytes for %s, expected %d",
                total,
                url,
                expected,
            )
        state["total"] = total
        state["etag"] = etag or state["etag"]
        bar.reset(total=expected if expected is not None else total)
        bar.update(offset)

        with open(part, mode) as handle:
            while True:
                chunk = response.read(chunk_size)
                if not chunk:
                    break
                handle.write(chunk)
                state["received"] += len(chunk)
                bar.update(len(chunk))
            handle.flush()
            os.fsync(handle.fileno())


def _check_part(part, state, expected_size, sha256, md5):
    """Raise _TransferProblem unless ``part`` is complete and verified."""
    size = part.stat().st_size if part.exists() else 0
    total = expected_size if expected_size is not None else state["total"]
    if total is not None and size < total:
        raise _TransferProblem(f"received {size} of {total} bytes")
    if md5 is None and sha256 is None:
        md5 = md5_from_etag(state["etag"])
    problem = verify_file(part, expected_size=total, sha256=sha256, md5=md5)
    if problem is not None:
        part.unlink()
        raise _TransferProblem(f"downloaded file is invalid: {problem}")
