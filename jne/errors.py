"""Exception classes raised by jne.

Every message names the file or config key involved, the offending value
and what to do about it, so that a failed Snakemake rule can be fixed from
its log alone.
"""


class JNEError(Exception):
    """Base class of the errors that jne raises on purpose."""


class ConfigError(JNEError, ValueError):
    """A configuration value is missing, misspelt, of the wrong type or out
    of range."""


class DataError(JNEError, ValueError):
    """Input data are inconsistent: shapes, ids, values or grids disagree."""


class DownloadError(JNEError, OSError):
    """A file could not be downloaded or failed its size or checksum test
    after all retries."""
