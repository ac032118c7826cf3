"""Atomic file writes.

Outputs are written to a temporary file in the destination folder and
renamed into place, so an interrupted run never leaves a half-written file
under the final name. ``os.replace`` is atomic on POSIX file systems when
source and destination are on the same file system, which holds here
because the temporary file sits next to the destination.

A process killed with SIGKILL cannot remove its temporary file. Each
temporary name therefore carries the host and process id of its writer,
and the next write to the same destination removes the temporary files
of writers on this host that no longer run. Files of live processes and
of other hosts (a cluster's shared folder) are left alone.
"""

import contextlib
import logging
import os
import re
import socket
import tempfile
from pathlib import Path

logger = logging.getLogger(__name__)


@contextlib.contextmanager
def atomic_path(path, suffix=None):
    """Yield a temporary path that is renamed to ``path`` on success.

    Parameters
    ----------
    path : str or Path
        Final destination. Its parent folder is created if missing.
    suffix : str, optional
        Suffix of the temporary file. Defaults to the suffix of ``path``, so
        that libraries which pick a format from the extension (nibabel,
        matplotlib) still do so.

    Yields
    ------
    Path
        Where the caller writes. If the block raises, the temporary file is
        removed and ``path`` is left untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix is None:
        suffix = "".join(path.suffixes)
    _remove_stale_temporaries(path)
    handle, tmp_name = tempfile.mkstemp(
        prefix=f".{path.name}.{_host()}-{os.getpid()}.",
        suffix=f".tmp{suffix}",
        dir=path.parent,
    )
    os.close(handle)
    tmp_path = Path(tmp_name)
    # mkstemp creates the file readable by its owner only; give the final
    # file the permissions a plain open() would, so results stay readable
    # by a group on a shared cluster folder.
    os.chmod(tmp_path, 0o666 & ~_current_umask())
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def _host():
    """Return this host's name without dots, for temporary file names."""
    return socket.gethostname().replace(".", "_") or "localhost"


def _pid_running(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_stale_temporaries(path):
    """Remove temporary files for ``path`` left by dead local writers."""
    pattern = re.compile(
        r"^\.+" + re.escape(path.name) + r"\.(?P<host>[^.]+)-(?P<pid>\d+)\."
    )
    host = _host()
    for candidate in path.parent.glob(f".*{path.name}.*.tmp*"):
        match = pattern.match(candidate.name)
        if not match or match["host"] != host:
            continue
        if _pid_running(int(match["pid"])):
            continue
        candidate.unlink(missing_ok=True)
        logger.info(
            "Removed %s, left by an interrupted earlier run.", candidate
        )


def _current_umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(path, text):
    """Write ``text`` to ``path`` atomically (UTF-8)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_table(path, table, **kwargs):
    """Write a pandas DataFrame to a tab-separated file atomically."""
    kwargs.setdefault("sep", "\t")
    kwargs.setdefault("index", False)
    with atomic_path(path) as tmp:
        table.to_csv(tmp, **kwargs)


def write_json(path, obj):
    """Write ``obj`` as indented JSON atomically."""
    import json

    write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str))
