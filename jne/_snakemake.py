"""Support for the scripts that Snakemake rules run.

Each script under ``workflow/scripts/`` wraps its work in :func:`job`, which
sends log records to the rule's log file, sets the number of torch threads
to the rule's ``threads`` and records failures with their traceback.
"""

import contextlib
import logging
import time

from jne.log import setup_logging

logger = logging.getLogger("jne.workflow")


def describe(wildcards):
    """Return the wildcards as "key=value" pairs for log lines."""
    return ", ".join(f"{k}={v}" for k, v in dict(wildcards).items())


def is_simulated(snakemake):
    """Return True if the job's dataset has simulated responses.

    The same rule as ``is_simulated`` in ``workflow/rules/common.smk``.
    """
    dataset = dict(snakemake.wildcards).get("dataset")
    settings = snakemake.config.get("datasets", {}).get(dataset)
    if not settings:
        return False
    options = settings.get("options") or {}
    return settings.get("source") == "demo" or options.get("simulated") is True


def responses_label(snakemake):
    """Return the value of the ``responses`` column of result tables."""
    return "simulated" if is_simulated(snakemake) else "measured"


@contextlib.contextmanager
def job(snakemake, step):
    """Run one rule's work with logging set up.

    Parameters
    ----------
    snakemake : snakemake.script.Snakemake
        The object Snakemake passes to scripts.
    step : str
        Short name of the step, used in log lines.
    """
    import torch

    log_path = snakemake.log[0] if len(snakemake.log) else None
    setup_logging(log_path)
    torch.set_num_threads(max(1, int(snakemake.threads)))
    context = describe(snakemake.wildcards)
    logger.info(
        "%s started (%s), %d threads", step, context, snakemake.threads
    )
    if is_simulated(snakemake):
        logger.info(
            "The responses of dataset %r are SIMULATED, not brain data.",
            snakemake.wildcards["dataset"],
        )
    start = time.perf_counter()
    try:
        yield
    except Exception:
        logger.exception("%s failed (%s)", step, context)
        raise
    logger.info(
        "%s finished in %.1f s; outputs: %s",
        step,
        time.perf_counter() - start,
        ", ".join(str(p) for p in snakemake.output),
    )
