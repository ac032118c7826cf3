"""JNE of single units over sliding windows against known curvature."""

import math

import numpy as np
import pytest

from jne.errors import ConfigError
from jne.simulation.single_unit import (
    curvature_error_bound,
    kink_jne,
    phi_derivative,
    simulate_single_unit,
    window_jne,
)

CENTERS = np.linspace(-4.0, 4.0, 401)
HALF_WIDTH = 0.05
N_POINTS = 201


@pytest.mark.parametrize("activation", ["relu", "leaky_relu"])
def test_piecewise_linear_zero_on_linear_pieces(activation):
    result = simulate_single_unit(activation, CENTERS, HALF_WIDTH, N_POINTS)
    assert result.linear_piece.sum() == len(CENTERS) - 5
    assert result.linear_piece_max() == 0.0
    assert result.jne[~result.linear_piece].max() > 0.1


@pytest.mark.parametrize("activation", ["relu", "leaky_relu"])
def test_piecewise_linear_matches_two_point_formula(activation):
    result = simulate_single_unit(activation, CENTERS, HALF_WIDTH, N_POINTS)
    assert result.max_error() < 1e-12


def test_leaky_relu_jne_scales_with_slope_gap():
    relu = simulate_single_unit("relu", CENTERS, HALF_WIDTH, N_POINTS)
    leaky = simulate_single_unit("leaky_relu", CENTERS, HALF_WIDTH, N_POINTS)
    np.testing.assert_allclose(leaky.jne, 0.99 * relu.jne, atol=1e-12)


def test_window_centred_on_kink_is_blind_spot():
    # An even number of grid points puts half the inputs on each side.
    jne = window_jne("relu", [0.0], HALF_WIDTH, 200)
    assert jne[0] < 1e-12
    off_centre = window_jne("relu", [0.02], HALF_WIDTH, 200)
    assert off_centre[0] > 0.1


@pytest.mark.parametrize("activation", ["gelu", "silu", "tanh"])
def test_smooth_jne_correlates_with_curvature(activation):
    result = simulate_single_unit(activation, CENTERS, HALF_WIDTH, N_POINTS)
    assert result.correlation() > 0.99


@pytest.mark.parametrize("activation", ["gelu", "silu", "tanh"])
def test_smooth_error_within_taylor_bound(activation):
    result = simulate_single_unit(activation, CENTERS, HALF_WIDTH, N_POINTS)
    error = np.abs(result.jne - result.reference)
    assert np.all(error <= result.bound + 1e-15)
    assert result.bound_ratio() <= 1.0


@pytest.mark.parametrize("activation", ["gelu", "silu", "tanh"])
def test_bound_detects_full_width_convention(activation):
    # Reading delta as the full window width halves the expected JNE. The
    # bound must be tight enough to reject that.
    result = simulate_single_unit(activation, CENTERS, HALF_WIDTH, N_POINTS)
    wrong = result.reference / 2
    assert np.any(np.abs(result.jne - wrong) > result.bound)


def test_smooth_relative_error_shrinks_with_window():
    # The Taylor error is O(delta**2) against a reference of O(delta), so
    # the relative error falls about tenfold from delta = 0.2 to 0.02. A
    # fine grid keeps the O(1 / n_points) grid error below that.
    wide = simulate_single_unit("gelu", CENTERS, 0.2, 2001)
    narrow = simulate_single_unit("gelu", CENTERS, 0.02, 2001)
    assert narrow.relative_error() < wide.relative_error() / 5


def test_autograd_derivatives_of_tanh():
    import torch

    x = torch.linspace(-3, 3, 61, dtype=torch.float64)
    second = phi_derivative("tanh", x, order=2)
    expected = -2 * torch.tanh(x) / torch.cosh(x) ** 2
    torch.testing.assert_close(second, expected)


def test_bound_zero_where_flat():
    bound = curvature_error_bound("gelu", [-40.0, 40.0], HALF_WIDTH, 11)
    assert np.all(bound < 1e-12)


def test_kink_formula_values():
    # p = 0.7 of the inputs above 0: |1 - 1.4| sqrt(0.21).
    value = kink_jne(0.0, [0.02], HALF_WIDTH, 101)
    p = 70 / 101
    expected = abs(1 - 2 * p) * math.sqrt(p * (1 - p))
    assert value[0] == pytest.approx(expected, rel=1e-12)


def test_unknown_activation_raises():
    with pytest.raises(ConfigError, match="Unknown activation 'softsign'"):
        simulate_single_unit("softsign", CENTERS, HALF_WIDTH, N_POINTS)
