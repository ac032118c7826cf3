"""One request of a download, and the checks of what it received.

:func:`run_attempt` requests the missing bytes of a ``.part`` file, resumes
it only when the server confirms that it still has the same version of
the file, and rejects an HTML page sent in place of a binary file.
:func:`check_part` verifies the finished part. :mod:`jne.sources.download`
runs the attempts, retries and renames the part into place.
"""

import logging
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from jne import __version__
from jne.errors import DownloadError
from jne.sources.download_checks import (
    md5_from_etag,
    parse_content_range,
    parse_unsatisfied_range,
    verify_file,
)
from jne.sources.download_resume import (
    PartState,
    read_state,
    remove_part,
    strong_etag,
    write_state,
)

logger = logging.getLogger(__name__)

# Files of these types are never HTML, so an HTML response for one of them
# is an error or login page that a server or proxy sent with status 200.
BINARY_SUFFIXES = (
    ".mat",
    ".nii",
    ".gz",
    ".mgh",
    ".mgz",
    ".hdf5",
    ".h5",
    ".npy",
    ".npz",
)
HTML_MEDIA_TYPES = {"text/html", "application/xhtml+xml"}
HTML_STARTS = (b"<!doctype html", b"<html")


class TransferProblem(Exception):
    """A response that ended early or failed verification: retried."""


class RestartFromZero(Exception):
    """The part file was deleted: request the file from byte 0 at once."""


@dataclass
class Transfer:
    """Progress of one download across its attempts."""

    url: str
    dest: Path
    part: Path
    expected_size: int | None
    checksum_given: bool
    total: int | None = None  # file size from the last response
    etag: str | None = None  # ETag of the response the part came from
    received: int = 0  # bytes read from the network in all attempts


def base_headers():
    return {"User-Agent": f"jne/{__version__} (Python urllib)"}


def describe_leftover(transfer):
    """Say whether the part file is kept for the next run to resume.

    A part that no later run could resume is deleted here.
    """
    part = transfer.part
    size = part.stat().st_size if part.exists() else 0
    if size:
        saved = read_state(part, transfer.url)
        if (saved is not None and saved.validator) or transfer.checksum_given:
            return (
                f"{part} ({size} bytes) is kept, and the next run resumes "
                "it if the server still has the same version of the file."
            )
    remove_part(part)
    return "No partial file is kept: the next run starts from byte 0."


def run_attempt(transfer, timeout, chunk_size, bar):
    """Request the missing bytes of the part file and append them to it.

    Updates ``transfer.total``, ``transfer.etag`` and
    ``transfer.received``.
    """
    url, part = transfer.url, transfer.part
    offset = part.stat().st_size if part.exists() else 0
    saved = read_state(part, url) if offset else None
    headers = base_headers()
    if offset and saved is not None and saved.validator:
        # If the file changed since the part was started, the server sends
        # the whole new file (200) instead of a tail of the new version.
        headers["Range"] = f"bytes={offset}-"
        headers["If-Range"] = saved.validator
    elif offset and transfer.checksum_given:
        # The configured checksum rejects a part from another version.
        headers["Range"] = f"bytes={offset}-"
    elif offset:
        logger.info(
            "Not resuming %s: no ETag or Last-Modified of the response "
            "that started it was saved, so its bytes cannot be checked "
            "against the server's current file",
            part,
        )
        remove_part(part)
        offset = 0
    request = urllib.request.Request(url, headers=headers)

    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as error:
        if error.code == 416 and offset:
            _accept_complete_part(transfer, saved, offset, error.headers)
            return
        raise

    with response:
        first = response.read(chunk_size)
        resumed = response.status == 206
        _reject_html(transfer, response.headers, b"" if resumed else first)
        etag = response.headers.get("ETag")
        if resumed:
            total = _check_resumed(transfer, saved, offset, response.headers)
            etag = etag or (saved.etag if saved else None)
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
            total = _content_length(response.headers)
            mode = "wb"

        expected = transfer.expected_size
        if total is not None and expected is not None and total != expected:
            logger.warning(
                "Server reports %d bytes for %s, expected %d",
                total,
                url,
                expected,
            )
        transfer.total = total
        transfer.etag = etag
        bar.reset(total=expected if expected is not None else total)
        bar.update(offset)

        with open(part, mode) as handle:
            if mode == "wb":
                # Saved after the part is emptied and before its first
                # byte, so the state never describes bytes of another
                # response.
                write_state(
                    part, PartState.from_response(url, response.headers, total)
                )
            chunk = first
            while chunk:
                handle.write(chunk)
                transfer.received += len(chunk)
                bar.update(len(chunk))
                chunk = response.read(chunk_size)
            handle.flush()
            os.fsync(handle.fileno())


def _content_length(headers):
    """Return ``Content-Length`` as an int, or None if absent or invalid."""
    value = headers.get("Content-Length")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _check_resumed(transfer, saved, offset, headers):
    """Check a 206 response against the part. Return the file size.

    Raises TransferProblem for a wrong ``Content-Range`` and RestartFromZero,
    after deleting the part, when the response cannot be shown to continue
    the same version of the file.
    """
    content_range = headers.get("Content-Range")
    parsed = parse_content_range(content_range)
    if parsed is None:
        raise TransferProblem(
            f"invalid Content-Range header {content_range!r}"
        )
    start, total = parsed
    if start != offset:
        remove_part(transfer.part)
        raise TransferProblem(
            f"server resumed at byte {start}, expected {offset}"
        )
    if saved is not None:
        mismatch = saved.mismatch(headers, total)
        if mismatch is not None:
            # A server that ignores If-Range sends a tail of the new
            # version with status 206.
            remove_part(transfer.part)
            raise RestartFromZero(
                f"the file on the server changed since {transfer.part} "
                f"was started ({mismatch})"
            )
    return total


def _accept_complete_part(transfer, saved, offset, headers):
    """Handle a 416 response: the part may already hold the whole file.

    The part is kept for :func:`check_part` when it has the size that the
    server reports and either a checksum is given or its saved validators
    agree with the server. Otherwise it is deleted and RestartFromZero
    raised.
    """
    total = parse_unsatisfied_range(headers.get("Content-Range"))
    if total != offset:
        problem = f"it has {offset} bytes but the server reports {total}"
    elif transfer.checksum_given:
        problem = None
    elif saved is None or not saved.validator:
        problem = "no validator or checksum can confirm it"
    elif saved.size not in (None, total):
        problem = f"it was started for a file of {saved.size} bytes"
    elif _differs(saved.etag, headers.get("ETag")):
        problem = "the server sent a different ETag"
    else:
        problem = None
    if problem is not None:
        remove_part(transfer.part)
        raise RestartFromZero(
            f"{transfer.part} is not a complete copy ({problem})"
        )
    transfer.total = total
    transfer.etag = saved.etag if saved else None


def _differs(saved_etag, received):
    """Compare ETags only when the response carries one."""
    received = strong_etag(received)
    return received is not None and received != saved_etag


def _reject_html(transfer, headers, first_bytes):
    """Raise DownloadError for an HTML page sent in place of a binary file.

    ``first_bytes`` is the start of the body when it is the start of the
    file, else empty.
    """
    name = transfer.dest.name.lower()
    if not name.endswith(BINARY_SUFFIXES):
        return
    content_type = headers.get("Content-Type") or ""
    media_type = content_type.split(";")[0].strip().lower()
    looks_like_html = first_bytes.lstrip()[:16].lower().startswith(HTML_STARTS)
    if media_type not in HTML_MEDIA_TYPES and not looks_like_html:
        return
    raise DownloadError(
        f"Download of {transfer.url} failed: the server sent an HTML page "
        f"(Content-Type {content_type or 'not given'}) instead of the file "
        f"{transfer.dest.name}. Such a page is often a login or error "
        "page. Check the URL (and the base URL in the config) and that the "
        f"file is public. Nothing was written to {transfer.dest}."
    )


def check_part(transfer, sha256, md5):
    """Verify the part file. Return the check used, or None if none.

    Raises TransferProblem when the part is short (it is kept, and the
    next attempt resumes it if it can be checked) or fails a check (it is
    deleted).
    """
    part = transfer.part
    size = part.stat().st_size if part.exists() else 0
    total = transfer.expected_size
    if total is None:
        total = transfer.total
    if total is not None and size < total:
        raise TransferProblem(f"received {size} of {total} bytes")
    checked_by = None
    if sha256:
        checked_by = "sha256"
    elif md5:
        checked_by = "md5"
    if md5 is None and sha256 is None:
        md5 = md5_from_etag(transfer.etag)
        checked_by = "the MD5 in the ETag" if md5 else None
    problem = verify_file(part, expected_size=total, sha256=sha256, md5=md5)
    if problem is not None:
        remove_part(part)
        raise TransferProblem(f"downloaded file is invalid: {problem}")
    if checked_by is None and total is not None:
        checked_by = "size only"
    return checked_by
