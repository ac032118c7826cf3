"""JNE and JNE-SS: Jacobian-based nonlinearity estimates.

``compute_jne`` is the engine. ``run_jacobian`` is the workflow stage
that writes ``jne.tsv`` and ``jne_ss.h5``. The other functions work on
its results: bootstrap intervals, category averages, seed ensembles and
the linear-surrogate null.
"""

from jne.jacobian.api import compute_jne
from jne.jacobian.bootstrap import BootstrapResult, bootstrap_jne
from jne.jacobian.categories import (
    StimulusClusters,
    average_by_category,
    cluster_stimuli,
)
from jne.jacobian.dense import jne_dense, jne_from_jacobians
from jne.jacobian.ensemble import SeedSummary, aggregate_seeds, ensemble_table
from jne.jacobian.null import NullComparison, jne_above_null
from jne.jacobian.result import JNEResult
from jne.jacobian.stage import run_jacobian

__all__ = [
    "BootstrapResult",
    "JNEResult",
    "NullComparison",
    "SeedSummary",
    "StimulusClusters",
    "aggregate_seeds",
    "average_by_category",
    "bootstrap_jne",
    "cluster_stimuli",
    "compute_jne",
    "ensemble_table",
    "jne_above_null",
    "jne_dense",
    "jne_from_jacobians",
    "run_jacobian",
]
