"""The saved validators of a partial download, so a later run can resume it.

:func:`jne.sources.download.download` writes ``<dest>.part`` and, next to
it, the JSON file ``<dest>.part.json`` with the URL, size and validators
of the response that started the part: its strong ``ETag`` and a strong
``Last-Modified``. A later attempt, in the same process or another one,
sends the validator in ``If-Range`` and appends the bytes of a 206
response only when that response carries the same validator and size.
So every byte of a resumed part comes from one version of the file.
"""

import email.utils
import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

from jne._atomic import write_json

logger = logging.getLogger(__name__)

# RFC 2616, section 13.3.3: a client may send a Last-Modified date in
# If-Range only if it is strong, that is at least 60 seconds before the
# Date of the response that carried it.
STRONG_DATE_MARGIN_S = 60


@dataclass(frozen=True)
class PartState:
    """The response that started a ``.part`` file.

    Attributes
    ----------
    url : str
        URL the part was downloaded from.
    etag : str or None
        Strong ``ETag`` of the response, with its quotes. Weak tags
        (``W/"..."``) are dropped, because If-Range needs a strong one.
    last_modified : str or None
        ``Last-Modified`` of the response, kept only when it is a strong
        validator (see ``STRONG_DATE_MARGIN_S``).
    size : int or None
        Size of the whole file in bytes, from ``Content-Length`` or
        ``Content-Range``.
    """

    url: str
    etag: str | None = None
    last_modified: str | None = None
    size: int | None = None

    @classmethod
    def from_response(cls, url, headers, size):
        """Build the state of a 200 response from its headers."""
        return cls(
            url=url,
            etag=strong_etag(headers.get("ETag")),
            last_modified=_strong_last_modified(headers),
            size=size,
        )

    @property
    def validator(self):
        """The ``If-Range`` value (the ETag, else the date), or None."""
        return self.etag or self.last_modified

    def mismatch(self, headers, size):
        """Describe how a 206 response differs from this state, or None.

        Parameters
        ----------
        headers : email.message.Message
            Headers of the 206 response.
        size : int or None
            Size of the whole file from the response's ``Content-Range``.
        """
        if self.etag is not None:
            received = strong_etag(headers.get("ETag"))
            if received != self.etag:
                return f"ETag {received!r} differs from {self.etag!r}"
        elif self.last_modified is not None:
            received = headers.get("Last-Modified")
            if received != self.last_modified:
                return (
                    f"Last-Modified {received!r} differs from "
                    f"{self.last_modified!r}"
                )
        if self.size is not None and size is not None and size != self.size:
            return f"size {size} bytes differs from {self.size}"
        return None


def state_path(part):
    """Return the path of the state file of ``part``."""
    part = Path(part)
    return part.with_name(part.name + ".json")


def read_state(part, url):
    """Return the saved :class:`PartState` of ``part``, or None.

    None means the part cannot be checked against the server: the state
    file is missing or invalid, or it belongs to another URL.
    """
    path = state_path(part)
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
        state = PartState(**content)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError) as error:
        logger.warning("Ignoring the invalid state file %s (%s)", path, error)
        return None
    if state.url != url:
        logger.info(
            "%s was downloaded from %s, not %s: not resuming it",
            part,
            state.url,
            url,
        )
        return None
    return state


def write_state(part, state):
    """Save ``state`` next to ``part``, atomically."""
    write_json(state_path(part), asdict(state))


def remove_part(part):
    """Delete ``part`` and its state file if they exist."""
    Path(part).unlink(missing_ok=True)
    state_path(part).unlink(missing_ok=True)


def strong_etag(value):
    """Return ``value`` if it is a strong ETag, else None."""
    if not value:
        return None
    value = value.strip()
    if value.startswith("W/") or not value.startswith('"'):
        return None
    return value


def _strong_last_modified(headers):
    """Return ``Last-Modified`` if it is a strong validator, else None."""
    modified = headers.get("Last-Modified")
    date = headers.get("Date")
    if not modified or not date:
        return None
    try:
        modified_at = email.utils.parsedate_to_datetime(modified)
        sent_at = email.utils.parsedate_to_datetime(date)
        # TypeError: one date has a time zone and the other has none.
        margin = (sent_at - modified_at).total_seconds()
    except (TypeError, ValueError):
        return None
    return modified if margin >= STRONG_DATE_MARGIN_S else None
