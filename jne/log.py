"""Logging and progress bars shared by all stages.

Library modules log through ``logging.getLogger(__name__)``. Entry points
(Snakemake scripts, the command line) call :func:`setup_logging` once to
send records to a log file and to stderr.
"""

import contextlib
import logging
import sys
import time

from tqdm.auto import tqdm

LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def setup_logging(log_path=None, level=logging.INFO):
    """Send jne's log records to stderr and, if given, to ``log_path``.

    Also captures ``warnings.warn`` calls, so warnings end up in the rule's
    log file instead of being lost.
    """
    root = logging.getLogger()
    root.setLevel(level)
    for handler in list(root.handlers):
        root.removeHandler(handler)
    formatter = logging.Formatter(LOG_FORMAT, datefmt="%H:%M:%S")
    stream = logging.StreamHandler(sys.stderr)
    stream.setFormatter(formatter)
    root.addHandler(stream)
    if log_path is not None:
        file_handler = logging.FileHandler(log_path, mode="a")
        file_handler.setFormatter(formatter)
        root.addHandler(file_handler)
    logging.captureWarnings(True)


def progress(iterable=None, total=None, desc=None, unit="it", **kwargs):
    """Wrap an iterable in a tqdm bar that shows only in a terminal.

    In Snakemake jobs and CI, stderr is a file, so the bar is disabled and
    the caller's log lines carry the progress instead.
    """
    disable = kwargs.pop("disable", None)
    if disable is None:
        disable = not sys.stderr.isatty()
    return tqdm(
        iterable,
        total=total,
        desc=desc,
        unit=unit,
        disable=disable,
        leave=False,
        **kwargs,
    )


@contextlib.contextmanager
def log_duration(logger, what):
    """Log ``what`` when it starts and how many seconds it took."""
    logger.info("%s: started", what)
    start = time.perf_counter()
    yield
    logger.info("%s: done in %.1f s", what, time.perf_counter() - start)
