"""Progress lines in the log for the engine's long loops.

``jne.log.progress`` shows a bar only in a terminal. In Snakemake jobs
stderr is a file, so a whole-brain run would be silent for an hour
without these lines.
"""

import time

# Seconds between two progress lines of one loop.
LOG_INTERVAL_S = 30.0


class LoopLog:
    """Log ``done of total`` with elapsed and remaining time, periodically.

    Parameters
    ----------
    logger : logging.Logger
    name : str
        Name of the loop in the log line, such as ``"JNE mean pass"``.
    total : int
        Number of steps.
    interval_s : float, default=LOG_INTERVAL_S
        Minimum seconds between lines. The last step is always logged.
    """

    def __init__(self, logger, name, total, interval_s=LOG_INTERVAL_S):
        self.logger = logger
        self.name = name
        self.total = total
        self.interval_s = interval_s
        self.done = 0
        self.start = self.last = time.perf_counter()

    def advance(self, steps=1):
        """Count ``steps`` finished steps and log if the interval passed."""
        self.done += steps
        now = time.perf_counter()
        if self.done < self.total and now - self.last < self.interval_s:
            return
        elapsed = now - self.start
        remaining = elapsed / self.done * (self.total - self.done)
        self.logger.info(
            "%s: %d of %d chunks after %.0f s, about %.0f s left",
            self.name,
            self.done,
            self.total,
            elapsed,
            remaining,
        )
        self.last = now
