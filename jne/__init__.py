"""jne: where in the brain, and for which stimuli, BOLD responses are
nonlinear.

Voxelwise encoding models (ridge and residual MLPs) and the Jacobian-based
nonlinearity estimate JNE with its per-stimulus form JNE-SS.
"""

__version__ = "0.1.0"

__all__ = ["__version__", "compute_jne"]


def __getattr__(name):
    # Imported on first use, so that "import jne" (the command line, the
    # Snakemake scripts) does not load torch.
    if name == "compute_jne":
        from jne.jacobian.api import compute_jne

        return compute_jne
    raise AttributeError(f"module 'jne' has no attribute {name!r}")
