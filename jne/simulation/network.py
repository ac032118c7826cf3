"""JNE of untrained residual networks with activations at chosen depths.

The network has input and hidden width D (768, the size of a CLIP ViT-B
embedding), one output and two activation slots::

    h = s(W1 x) + x          shallow slot s
    g = d(W2 h) + h          deep slot d
    y = w3 . g

Each slot contains either the identity or the activation under test, which
gives four placements: none, shallow, deep and both. Gao et al. (NeurIPS
2025) describe a three-layer fully connected residual network with input
and hidden layers of 768 units, one output and two activation locations.
They do not give the layer equations. The skip connection from the input
is the reason for this construction: it is possible only because the hidden
width equals the input width, which that description fixes.

Weights are drawn like PyTorch's default ``nn.Linear`` initialisation,
``U(-1/sqrt(D), 1/sqrt(D))``, with no biases unless requested. One draw of
weights and inputs is shared by all placements and activations, so the
placements differ only in where the nonlinearity sits.

With this construction the ordering none < shallow < deep < both is met for
ReLU, leaky ReLU, GELU and SiLU. It does not hold for tanh at inputs in
``U[-10, 10]``: most tanh units saturate, and adding the shallow slot to
the deep one lowers JNE. A plain residual block without the input skip,
``h = s(W1 x)``, reverses shallow and deep for all five activations. JNE
compares placements by how much Jacobian variation reaches the output, not
by depth as such.
"""

import logging
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from jne.errors import ConfigError
from jne.log import progress
from jne.simulation._engine import jne_of_model
from jne.simulation.activations import get_activation

logger = logging.getLogger(__name__)

PLACEMENTS = ("none", "shallow", "deep", "both")


def _identity(x):
    return x


@dataclass
class SlotNetwork:
    """Weights of one residual network with two activation slots.

    Attributes
    ----------
    first : tensor of shape (width, width)
        ``W1``, feeding the shallow slot.
    second : tensor of shape (width, width)
        ``W2``, feeding the deep slot.
    readout : tensor of shape (1, width)
        ``w3``.
    first_bias, second_bias : tensor of shape (width,) or None
    input_skip : bool
        Whether ``h`` adds the input ``x``. Without it, ``h = s(W1 x)``:
        the variant that reverses shallow and deep.
    """

    first: torch.Tensor
    second: torch.Tensor
    readout: torch.Tensor
    first_bias: torch.Tensor | None = None
    second_bias: torch.Tensor | None = None
    input_skip: bool = True

    def model(self, activation, placement):
        """Return the network with ``activation`` at ``placement``.

        Parameters
        ----------
        activation : str
        placement : {"none", "shallow", "deep", "both"}

        Returns
        -------
        callable
            Maps inputs of shape (n, width) to outputs of shape (n, 1).
        """
        if placement not in PLACEMENTS:
            raise ConfigError(
                f"Unknown placement {placement!r}: choose one of "
                f"{', '.join(PLACEMENTS)}."
            )
        phi = get_activation(activation)
        shallow = phi if placement in ("shallow", "both") else _identity
        deep = phi if placement in ("deep", "both") else _identity

        def forward(x):
            pre = x @ self.first.T
            if self.first_bias is not None:
                pre = pre + self.first_bias
            hidden = shallow(pre)
            if self.input_skip:
                hidden = hidden + x
            pre = hidden @ self.second.T
            if self.second_bias is not None:
                pre = pre + self.second_bias
            return (deep(pre) + hidden) @ self.readout.T

        return forward


def init_network(
    generator, width=768, bias=False, input_skip=True, dtype=torch.float32
):
    """Draw a :class:`SlotNetwork` like PyTorch's ``nn.Linear`` default.

    Every weight and bias is uniform on ``[-1/sqrt(width), 1/sqrt(width)]``.

    Parameters
    ----------
    generator : torch.Generator
    width : int, default=768
    bias : bool, default=False
    input_skip : bool, default=True
    dtype : torch.dtype, default=torch.float32

    Returns
    -------
    SlotNetwork
    """
    limit = 1.0 / math.sqrt(width)

    def uniform(*shape):
        values = torch.rand(*shape, generator=generator, dtype=dtype)
        return (2 * values - 1) * limit

    first = uniform(width, width)
    second = uniform(width, width)
    readout = uniform(1, width)
    first_bias = uniform(width) if bias else None
    second_bias = uniform(width) if bias else None
    return SlotNetwork(
        first, second, readout, first_bias, second_bias, input_skip
    )


def uniform_inputs(generator, n_stimuli, width, input_range, dtype):
    """Draw inputs uniform on ``[-input_range, input_range]``.

    Returns
    -------
    tensor of shape (n_stimuli, width)
    """
    values = torch.rand(n_stimuli, width, generator=generator, dtype=dtype)
    return (2 * values - 1) * input_range


def network_jne(network, inputs, activations):
    """Compute JNE for every activation and placement of one network.

    The placement "none" is linear and the same for every activation, so
    it is computed once.

    Returns
    -------
    dict mapping (activation, placement) to float
    """
    linear = jne_of_model(network.model(activations[0], "none"), inputs)
    linear_jne = float(linear[0][0])
    values = {}
    for activation in activations:
        values[activation, "none"] = linear_jne
        for placement in PLACEMENTS[1:]:
            model = network.model(activation, placement)
            values[activation, placement] = float(
                jne_of_model(model, inputs)[0][0]
            )
    return values


def simulate_networks(
    activations,
    n_init,
    n_stimuli=1000,
    width=768,
    input_range=10.0,
    input_skip=True,
    seed=0,
    dtype=torch.float32,
):
    """Compute JNE over random initialisations for each placement.

    Each initialisation draws new weights and new inputs in
    ``U[-input_range, input_range]``.

    Parameters
    ----------
    activations : sequence of str
    n_init : int
        Number of random initialisations (200 in Gao et al.).
    n_stimuli : int, default=1000
    width : int, default=768
    input_range : float, default=10.0
    input_skip : bool, default=True
        False gives the variant without the input skip.
    seed : int, default=0
    dtype : torch.dtype, default=torch.float32

    Returns
    -------
    pandas.DataFrame
        One row per initialisation, activation and placement, with columns
        ``init``, ``activation``, ``placement`` and ``jne``.
    """
    activations = list(activations)
    generator = torch.Generator().manual_seed(seed)
    rows = []
    for init in progress(range(n_init), desc="networks", unit="init"):
        network = init_network(
            generator, width, input_skip=input_skip, dtype=dtype
        )
        inputs = uniform_inputs(
            generator, n_stimuli, width, input_range, dtype
        )
        values = network_jne(network, inputs, activations)
        for (activation, placement), value in values.items():
            rows.append((init, activation, placement, value))
    logger.info(
        "networks: %d initialisations x %d activations, %d x %d inputs",
        n_init,
        len(activations),
        n_stimuli,
        width,
    )
    return pd.DataFrame(
        rows, columns=["init", "activation", "placement", "jne"]
    )


def placement_table(results):
    """Return JNE per initialisation with one column per placement.

    Parameters
    ----------
    results : pandas.DataFrame
        Output of :func:`simulate_networks`.

    Returns
    -------
    pandas.DataFrame
        Index (activation, init), columns ``none``, ``shallow``, ``deep``,
        ``both``.
    """
    table = results.pivot_table(
        index=["activation", "init"], columns="placement", values="jne"
    )
    return table[list(PLACEMENTS)]


def ordering_summary(results, zero_tolerance=1e-6):
    """Summarise the ordering none < shallow < deep < both per activation.

    JNE(none) counts as zero when it is below ``zero_tolerance`` times the
    initialisation's JNE(shallow): float32 rounding in the Jacobians of the
    linear network leaves values near 1e-13.

    Returns
    -------
    pandas.DataFrame
        One row per activation with the mean JNE per placement, the
        fraction of initialisations with none < shallow < deep < both
        (``ordered``), the fractions for each adjacent pair, the fraction
        in which every nonlinear placement exceeds none
        (``above_linear``), and the largest ratio JNE(none) /
        JNE(shallow).
    """
    table = placement_table(results)
    rows = []
    for activation in results["activation"].unique():
        group = table.loc[activation]
        none_ratio = group["none"].abs() / group["shallow"]
        zero = none_ratio < zero_tolerance
        shallow_deep = group["shallow"] < group["deep"]
        deep_both = group["deep"] < group["both"]
        nonlinear_min = group[["shallow", "deep", "both"]].min(axis=1)
        above_linear = group["none"] < nonlinear_min
        rows.append(
            {
                "activation": activation,
                "n_init": len(group),
                **{f"mean_{p}": group[p].mean() for p in PLACEMENTS},
                **{f"std_{p}": group[p].std(ddof=0) for p in PLACEMENTS},
                "ordered": float(np.mean(zero & shallow_deep & deep_both)),
                "shallow_lt_deep": float(shallow_deep.mean()),
                "deep_lt_both": float(deep_both.mean()),
                "above_linear": float(above_linear.mean()),
                "max_none_ratio": float(none_ratio.max()),
            }
        )
    return pd.DataFrame(rows)
