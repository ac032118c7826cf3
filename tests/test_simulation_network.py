"""JNE of untrained residual networks by activation placement."""

import pytest
import torch

from jne.errors import ConfigError
from jne.simulation.network import (
    init_network,
    ordering_summary,
    placement_table,
    simulate_networks,
    uniform_inputs,
)
from jne.simulation._engine import model_jacobians

PAPER_ACTIVATIONS = ["relu", "leaky_relu", "gelu", "silu"]


@pytest.fixture(scope="module")
def main_runs():
    """Three initialisations at the full size: 1000 x 768 inputs."""
    results = simulate_networks(PAPER_ACTIVATIONS + ["tanh"], n_init=3, seed=0)
    return results, ordering_summary(results).set_index("activation")


@pytest.mark.parametrize("activation", PAPER_ACTIVATIONS)
def test_placements_ordered(main_runs, activation):
    results, _ = main_runs
    table = placement_table(results).loc[activation]
    assert (table["none"] < 1e-6 * table["shallow"]).all()
    assert (table["shallow"] < table["deep"]).all()
    assert (table["deep"] < table["both"]).all()


@pytest.mark.parametrize("activation", PAPER_ACTIVATIONS + ["tanh"])
def test_nonlinear_placements_above_linear(main_runs, activation):
    _, summary = main_runs
    assert summary.loc[activation, "above_linear"] == 1.0
    assert summary.loc[activation, "max_none_ratio"] < 1e-6


def test_tanh_deep_exceeds_both(main_runs):
    # Saturated tanh units: adding the shallow slot lowers JNE, which the
    # network module and the docs state. Fixed seed, 3 initialisations.
    _, summary = main_runs
    assert summary.loc["tanh", "deep_lt_both"] < 0.5


def test_without_input_skip_shallow_exceeds_deep():
    results = simulate_networks(["relu"], n_init=2, input_skip=False, seed=1)
    table = placement_table(results).loc["relu"]
    assert (table["shallow"] > table["deep"]).all()


def test_linear_network_has_constant_jacobian():
    generator = torch.Generator().manual_seed(0)
    network = init_network(generator, width=16, dtype=torch.float64)
    inputs = uniform_inputs(generator, 50, 16, 10.0, torch.float64)
    jacobians = model_jacobians(network.model("relu", "none"), inputs)
    expected = (
        network.readout
        @ (torch.eye(16, dtype=torch.float64) + network.second)
        @ (torch.eye(16, dtype=torch.float64) + network.first)
    )
    torch.testing.assert_close(
        jacobians, expected.expand(50, 1, 16).contiguous()
    )


@pytest.mark.parametrize(
    ("placement", "shallow_on", "deep_on"),
    [
        ("none", False, False),
        ("shallow", True, False),
        ("deep", False, True),
        ("both", True, True),
    ],
)
def test_forward_follows_documented_equations(placement, shallow_on, deep_on):
    generator = torch.Generator().manual_seed(0)
    network = init_network(generator, width=8, dtype=torch.float64)
    x = uniform_inputs(generator, 5, 8, 10.0, torch.float64)

    def slot(values, active):
        return torch.tanh(values) if active else values

    h = slot(x @ network.first.T, shallow_on) + x
    g = slot(h @ network.second.T, deep_on) + h
    expected = g @ network.readout.T
    actual = network.model("tanh", placement)(x)
    torch.testing.assert_close(actual, expected)


def test_biases_enter_pre_activations():
    generator = torch.Generator().manual_seed(0)
    network = init_network(generator, width=8, bias=True)
    assert network.first_bias.shape == (8,)
    zero = torch.zeros(1, 8)
    assert network.model("relu", "none")(zero).abs().item() > 0


def test_unknown_placement_raises():
    generator = torch.Generator().manual_seed(0)
    network = init_network(generator, width=4)
    with pytest.raises(ConfigError, match="Unknown placement 'middle'"):
        network.model("relu", "middle")
