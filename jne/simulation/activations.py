"""Activation functions used by the simulations.

Each entry is the PyTorch function itself, so the simulated units and
networks behave exactly as models built with ``torch.nn`` do. Leaky ReLU
uses PyTorch's default negative slope of 0.01. GELU is the exact (erf)
form, PyTorch's default.
"""

from dataclasses import dataclass

import torch
from torch.nn import functional

from jne.errors import ConfigError

LEAKY_RELU_SLOPE = 0.01


@dataclass(frozen=True)
class Activation:
    """An activation function and what the simulations need to know of it.

    Attributes
    ----------
    name : str
        Identifier used in tables and figure labels.
    function : callable
        Elementwise map on tensors.
    smooth : bool
        True when the function has a continuous second derivative, so
        that JNE over a small window follows ``|phi''|``. False for the
        piecewise linear ReLU and leaky ReLU.
    left_slope : float or None
        Slope left of the kink at 0 for piecewise linear functions.
    """

    name: str
    function: object
    smooth: bool
    left_slope: float | None = None

    def __call__(self, x):
        return self.function(x)


def _leaky_relu(x):
    return functional.leaky_relu(x, LEAKY_RELU_SLOPE)


ACTIVATIONS = {
    "relu": Activation("relu", torch.relu, smooth=False, left_slope=0.0),
    "leaky_relu": Activation(
        "leaky_relu", _leaky_relu, smooth=False, left_slope=LEAKY_RELU_SLOPE
    ),
    "gelu": Activation("gelu", functional.gelu, smooth=True),
    "silu": Activation("silu", functional.silu, smooth=True),
    "tanh": Activation("tanh", torch.tanh, smooth=True),
}

ACTIVATION_NAMES = tuple(ACTIVATIONS)


def get_activation(name):
    """Return the :class:`Activation` called ``name``.

    Raises
    ------
    ConfigError
        If ``name`` is not one of :data:`ACTIVATION_NAMES`.
    """
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ConfigError(
            f"Unknown activation {name!r}: choose one of "
            f"{', '.join(ACTIVATION_NAMES)}."
        ) from None
