"""JNE under output gain, input scale and input distribution changes."""

import pytest
import torch

from jne.errors import ConfigError
from jne.simulation._engine import jne_of_model
from jne.simulation.invariance import (
    distribution_summary,
    gain_scaling,
    input_distribution,
    input_scaling,
)
from jne.simulation.network import init_network, uniform_inputs


def test_jacobian_gain_scales_jne():
    table = gain_scaling(gains=(-7.0, -1.0, 0.0, 0.25, 3.0), seed=1)
    assert (table["relative_error"] < 1e-12).all()


def test_scaled_network_output_scales_jne():
    generator = torch.Generator().manual_seed(0)
    network = init_network(generator, width=32, dtype=torch.float64)
    inputs = uniform_inputs(generator, 100, 32, 10.0, torch.float64)
    model = network.model("gelu", "both")
    reference = jne_of_model(model, inputs)[0]
    for gain in (-2.5, 4.0):
        scaled = jne_of_model(lambda x: gain * model(x), inputs)[0]
        torch.testing.assert_close(scaled, abs(gain) * reference)


@pytest.fixture(scope="module")
def scaling():
    return input_scaling(
        scales=(1e-3, 7.0, 1e4), n_init=1, n_stimuli=200, width=64, seed=0
    )


def test_bias_free_relu_networks_scale_invariant(scaling):
    bias_free = scaling[~scaling["bias"]]
    assert len(bias_free) == 6
    assert bias_free["relative_change"].abs().max() < 1e-9


def test_biases_break_scale_invariance(scaling):
    with_bias = scaling[scaling["bias"] & (scaling["scale"] == 1e-3)]
    assert (with_bias["relative_change"].abs() > 1e-3).all()


def test_gelu_network_not_scale_invariant_at_small_inputs():
    generator = torch.Generator().manual_seed(0)
    network = init_network(generator, width=64, dtype=torch.float64)
    inputs = uniform_inputs(generator, 200, 64, 10.0, torch.float64)
    model = network.model("gelu", "both")
    large = jne_of_model(model, inputs)[0].item()
    small = jne_of_model(model, 0.01 * inputs)[0].item()
    assert abs(small / large - 1) > 0.01


SETTINGS = (
    ("uniform_10", "uniform", 10.0),
    ("uniform_1000", "uniform", 1000.0),
    ("normal_5.77", "normal", 10.0 / 3**0.5),
)


def test_distribution_summary_relative_to_baseline():
    results = input_distribution(
        ["relu", "gelu"],
        settings=SETTINGS,
        placements=("both",),
        n_init=2,
        n_stimuli=300,
        width=64,
    )
    summary = distribution_summary(results).set_index(
        ["activation", "setting"]
    )
    assert summary.loc[("relu", "uniform_10"), "relative_change"] == 0.0
    # Same standard inputs scaled by 100: exactly equal for bias-free ReLU.
    assert summary.loc[("relu", "uniform_1000"), "relative_change"] == (
        pytest.approx(0.0, abs=1e-6)
    )
    assert abs(summary.loc[("relu", "normal_5.77"), "relative_change"]) < 0.1
    assert summary.loc[("gelu", "uniform_1000"), "input_std"] == (
        pytest.approx(1000 / 3**0.5)
    )


def test_distribution_summary_requires_baseline():
    results = input_distribution(
        ["relu"],
        settings=SETTINGS[1:],
        placements=("both",),
        n_init=1,
        n_stimuli=50,
        width=16,
    )
    with pytest.raises(ConfigError, match="Baseline input setting"):
        distribution_summary(results)
