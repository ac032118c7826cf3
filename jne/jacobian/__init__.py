"""JNE and JNE-SS: Jacobian-based nonlinearity estimates."""

from jne.jacobian.dense import jne_dense, jne_from_jacobians

__all__ = ["jne_dense", "jne_from_jacobians"]
