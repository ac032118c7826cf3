"""JNE and JNE-SS: Jacobian-based nonlinearity estimates."""

from jne.jacobian.api import JNEResult, compute_jne
from jne.jacobian.dense import jne_dense, jne_from_jacobians

__all__ = ["JNEResult", "compute_jne", "jne_dense", "jne_from_jacobians"]
