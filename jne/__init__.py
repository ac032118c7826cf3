"""jne: where in the brain, and for which stimuli, BOLD responses are
nonlinear.

Voxelwise encoding models (ridge and residual MLPs) and the Jacobian-based
nonlinearity estimate JNE with its per-stimulus form JNE-SS.
"""

__version__ = "0.1.0"

import importlib

__all__ = ["__version__", "compute_jne"]

# Subpackages reachable as attributes of jne, e.g. jne.models.ResidualMLP.
SUBPACKAGES = {
    "dataset",
    "jacobian",
    "models",
    "prepare",
    "report",
    "scoring",
    "simulation",
    "sources",
}


def __getattr__(name):
    # Imported on first use, so that "import jne" (the command line, the
    # Snakemake scripts) does not load torch.
    if name == "compute_jne":
        from jne.jacobian.api import compute_jne

        return compute_jne
    if name in SUBPACKAGES:
        return importlib.import_module(f"jne.{name}")
    raise AttributeError(f"module 'jne' has no attribute {name!r}")
