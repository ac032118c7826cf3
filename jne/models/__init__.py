"""Encoding models: ridge baseline, residual MLPs and the linear null."""

from jne.models.io import (
    data_checksum,
    load_mlp,
    load_predictions,
    save_mlp,
    save_predictions,
    save_ridge,
)
from jne.models.mlp import ACTIVATIONS, ResidualMLP
from jne.models.ridge import RidgeFit, fit_ridge
from jne.models.surrogate import linear_surrogate
from jne.models.training import MLPFit, fit_mlp, predict

__all__ = [
    "ACTIVATIONS",
    "MLPFit",
    "ResidualMLP",
    "RidgeFit",
    "data_checksum",
    "fit_mlp",
    "fit_ridge",
    "linear_surrogate",
    "load_mlp",
    "load_predictions",
    "predict",
    "save_mlp",
    "save_predictions",
    "save_ridge",
]
