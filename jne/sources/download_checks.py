"""Size, checksum and HTTP header checks used by :mod:`download`."""

import hashlib
import re
from pathlib import Path

_MD5_PATTERN = re.compile(r"[0-9a-f]{32}")
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")
_UNSATISFIED_RANGE = re.compile(r"bytes \*/(\d+)")


def verify_file(path, *, expected_size=None, sha256=None, md5=None):
    """Return a description of the first failed check, or None if all pass.

    Checks the size in bytes first, because it is free, then the digests.
    """
    path = Path(path)
    size = path.stat().st_size
    if expected_size is not None and size != int(expected_size):
        return f"size is {size} bytes, expected {int(expected_size)}"
    for algorithm, expected in (("sha256", sha256), ("md5", md5)):
        if expected is None:
            continue
        with open(path, "rb") as handle:
            digest = hashlib.file_digest(handle, algorithm).hexdigest()
        if digest != expected.lower():
            return f"{algorithm} is {digest}, expected {expected.lower()}"
    return None


def md5_from_etag(etag):
    """Return the MD5 hex digest stored in an S3 ETag, or None.

    S3 sets the ETag of an object uploaded in one part to the MD5 of its
    bytes. Multipart uploads get ``<hash>-<parts>``, which is not an MD5 of
    the file and is ignored here.
    """
    if not etag:
        return None
    tag = etag.strip()
    if tag.startswith("W/"):
        return None
    tag = tag.strip('"').lower()
    if _MD5_PATTERN.fullmatch(tag):
        return tag
    return None


def parse_content_range(value):
    """Return (first byte, total size or None) of a ``Content-Range``.

    Returns None if the header is missing or not of the form
    ``bytes first-last/total``.
    """
    match = _CONTENT_RANGE.fullmatch((value or "").strip())
    if match is None:
        return None
    total = None if match.group(3) == "*" else int(match.group(3))
    return int(match.group(1)), total


def parse_unsatisfied_range(value):
    """Return N from a 416 response's ``Content-Range: bytes */N``."""
    match = _UNSATISFIED_RANGE.fullmatch((value or "").strip())
    return int(match.group(1)) if match else None
