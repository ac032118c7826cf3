"""HTTP downloads that resume, retry and verify what they fetch.

:func:`download` streams a URL to ``<dest>.part``, resumes it with an HTTP
``Range`` request after a dropped connection or a short body, retries
transient failures with exponential backoff, checks the size and a checksum
and renames the file into place. A part is resumed only when the response
that started it carried a validator (``ETag`` or ``Last-Modified``, saved
in ``<dest>.part.json`` by :mod:`jne.sources.download_resume`) that the
server confirms, or when a configured checksum will check the result.
A lock file next to the destination lets several processes (for example
parallel Snakemake jobs) request the same file: one downloads it and the
others wait and reuse it.

Only the standard library is used (``urllib``), so downloads work wherever
jne is installed.
"""

import contextlib
import http.client
import logging
import math
import numbers
import os
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from jne.errors import ConfigError, DownloadError
from jne.log import progress
from jne.sources.download_attempt import (
    RestartFromZero,
    Transfer,
    TransferProblem,
    base_headers,
    check_part,
    describe_leftover,
    run_attempt,
)
from jne.sources.download_checks import md5_from_etag, verify_file
from jne.sources.download_resume import state_path

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


@dataclass(frozen=True)
class DownloadResult:
    """A downloaded file and whether this call transferred it.

    Attributes
    ----------
    path : Path
        The destination, complete and verified.
    transferred : bool
        True if this call downloaded the file, False if it reused a valid
        copy that was already at ``path``.
    """

    path: Path
    transferred: bool


def download(url, dest, **options):
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
        mismatches. Other HTTP 4xx statuses fail at once. Default 5.
    backoff : float
        Seconds before the first retry, >= 0. The delay doubles with each
        retry, up to 300 s. Default 1.0.
    timeout : float
        Seconds to wait for the connection and for each read, > 0.
        Default 60.
    chunk_size : int
        Bytes read and written per step. Default 1 MiB.
    check_remote : bool
        If True and ``dest`` exists without a known size or checksum, ask
        the server (HTTP HEAD) for its size and ETag and compare them. When
        the server cannot be reached, the file is kept and a warning logged.
        Default False.

    Returns
    -------
    Path
        ``dest``, complete and verified.

    Raises
    ------
    ConfigError
        For a URL that is not HTTP or HTTPS, or an option out of range.
    DownloadError
        On an HTTP 4xx status other than 408 and 429, on an HTML page sent
        for a binary file (``download_attempt.BINARY_SUFFIXES``), or when
        every attempt failed. The message states whether ``<dest>.part``
        was kept for the next call to resume.

    Notes
    -----
    A ``.part`` file is resumed only if the response that started it had a
    strong ``ETag`` or ``Last-Modified`` and the resumed response has the
    same one (the request sends it in ``If-Range``), or if ``sha256`` or
    ``md5`` is given. Otherwise it is downloaded again from byte 0.

    Without a checksum, only the size is checked. A response without
    ``Content-Length`` and without a checksum is accepted when the
    connection closes normally after it, and a warning states that it could
    not be verified.

    A cached file is checked against ``expected_size``, ``sha256`` and
    ``md5`` (and, with ``check_remote``, the server's size and ETag). A
    file that fails is deleted and downloaded again. ``<dest>.lock`` is
    left in place after the download because deleting a lock file that
    another process has opened would break the lock.
    """
    return download_file(url, dest, **options).path


def download_file(
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
    """Download like :func:`download` and report whether a transfer ran.

    Takes the parameters of :func:`download`.

    Returns
    -------
    DownloadResult
        ``transferred`` is False when a valid cached copy was used.
    """
    check_url(url)
    check_download_settings(retries=retries, backoff=backoff, timeout=timeout)
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
            return DownloadResult(dest, transferred=False)
        _fetch(
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
        return DownloadResult(dest, transferred=True)


def check_url(url, name="url"):
    """Raise ConfigError unless ``url`` is an HTTP(S) URL with a host.

    ``name`` is the option that set the URL, for the message.
    """
    try:
        parts = urllib.parse.urlsplit(url)
    except (TypeError, ValueError, AttributeError):
        parts = None
    if parts is None or parts.scheme not in ("http", "https"):
        raise ConfigError(
            f"Invalid {name} {url!r}: it must start with http:// or "
            "https://, e.g. https://host/path."
        )
    if not parts.hostname:
        raise ConfigError(
            f"Invalid {name} {url!r}: it names no host. Write it as "
            "http://host/path or https://host/path."
        )


def check_download_settings(*, retries, backoff, timeout, where=""):
    """Raise ConfigError for retries < 0, backoff < 0 or timeout <= 0.

    ``where`` follows the option name in the message, e.g. " in the NSD
    option 'download'".
    """
    checks = (
        ("retries", retries, 0, True, "a whole number >= 0"),
        ("backoff", backoff, 0, True, "a number of seconds >= 0"),
        ("timeout", timeout, 0, False, "a number of seconds > 0"),
    )
    for name, value, limit, inclusive, rule in checks:
        number_type = numbers.Integral if name == "retries" else numbers.Real
        valid = (
            isinstance(value, number_type)
            and not isinstance(value, bool)
            and math.isfinite(value)
            and (value >= limit if inclusive else value > limit)
        )
        if not valid:
            raise ConfigError(
                f"Invalid download option {name}={value!r}{where}: use "
                f"{rule}."
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
        url, method="HEAD", headers=base_headers()
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
    transfer = Transfer(
        url=url,
        dest=dest,
        part=dest.with_name(dest.name + ".part"),
        expected_size=expected_size,
        checksum_given=bool(sha256 or md5),
    )
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
                run_attempt(transfer, timeout, chunk_size, bar)
                checked_by = check_part(transfer, sha256, md5)
                break
            except RestartFromZero as restart:
                # Not a failure: the next request starts at byte 0, so it
                # cannot restart again.
                logger.info("Starting %s again from byte 0: %s", url, restart)
                continue
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
            except TransferProblem as error:
                reason = str(error)

            failures += 1
            if failures > retries:
                raise DownloadError(
                    f"Download of {url} failed after {failures} attempts. "
                    f"The last error was: {reason}. Check the network and "
                    f"run again. {describe_leftover(transfer)}"
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

    os.replace(transfer.part, dest)
    state_path(transfer.part).unlink(missing_ok=True)
    seconds = time.monotonic() - started
    logger.info(
        "Downloaded %s: %d bytes (%d received) in %.1f s with %d retries, "
        "checked by %s, saved to %s",
        url,
        dest.stat().st_size,
        transfer.received,
        seconds,
        failures,
        checked_by or "nothing",
        dest,
    )
    if checked_by is None:
        logger.warning(
            "%s could not be verified: the server sent no Content-Length "
            "and no MD5 ETag, and no size or checksum was given. It was "
            "accepted because the response ended without a transfer error "
            "(a normal close of the connection, or the last chunk of a "
            "chunked response).",
            dest,
        )
    return dest


def _is_transient(status):
    return status >= 500 or status in TRANSIENT_CLIENT_STATUS
