"""Encoding models: ridge baseline and residual MLPs."""

from jne.models.mlp import ACTIVATIONS, ResidualMLP

__all__ = ["ACTIVATIONS", "ResidualMLP"]
