"""jne: where in the brain, and for which stimuli, BOLD responses are
nonlinear.

Voxelwise encoding models (ridge and residual MLPs) and the Jacobian-based
nonlinearity estimate JNE with its per-stimulus form JNE-SS.
"""

__version__ = "0.1.0"
