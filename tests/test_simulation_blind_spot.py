"""The two-point blind spot: symmetric two-point Jacobians give JNE = 0."""

import numpy as np
import pytest
import torch

from jne.simulation.blind_spot import (
    mean_deviation,
    symmetric_units,
    two_point_curve,
    two_point_jacobians,
)


@pytest.fixture(scope="module")
def curve():
    return two_point_curve(n_stimuli=200, n_features=32, seed=0)


def test_two_point_half_gives_zero(curve):
    half = curve[np.isclose(curve["proportion"], 0.5)].iloc[0]
    assert half["jne"] < 1e-12 * half["distance"]
    assert half["mean_deviation"] == pytest.approx(half["distance"] / 2)


def test_two_point_matches_formula(curve):
    error = (curve["jne"] - curve["expected_jne"]).abs()
    assert error.max() < 1e-12 * curve["distance"].iloc[0]


def test_two_point_maximum_near_015(curve):
    best = curve.loc[curve["jne"].idxmax(), "proportion"]
    assert min(abs(best - 0.146), abs(best - 0.854)) < 0.011


def test_two_point_jacobians_counts():
    first = torch.ones(3, dtype=torch.float64)
    second = torch.zeros(3, dtype=torch.float64)
    jacobians = two_point_jacobians(0.3, 10, first, second)
    assert jacobians.shape == (10, 1, 3)
    assert jacobians[:, 0, 0].sum().item() == 3


def test_mean_deviation_of_constant_is_zero():
    jacobians = torch.ones(5, 2, 4, dtype=torch.float64)
    assert mean_deviation(jacobians) == 0.0


@pytest.fixture(scope="module")
def units():
    return symmetric_units(n_stimuli=400, n_features=64, seed=0)


@pytest.mark.parametrize("unit", ["relu", "abs"])
def test_symmetric_stimuli_hide_nonlinear_unit(units, unit):
    row = units[(units["unit"] == unit) & (units["stimuli"] == "symmetric")]
    assert row["fraction_positive"].iloc[0] == 0.5
    assert row["jne"].iloc[0] < 1e-12 * row["mean_deviation"].iloc[0]
    assert row["mean_deviation"].iloc[0] > 1.0


@pytest.mark.parametrize("unit", ["relu", "abs"])
def test_independent_stimuli_give_small_jne(units, unit):
    row = units[(units["unit"] == unit) & (units["stimuli"] == "independent")]
    p = row["fraction_positive"].iloc[0]
    ratio = row["jne"].iloc[0] / row["mean_deviation"].iloc[0]
    # Two-point formula: JNE / mean(d) = |1 - 2p| / (2 sqrt(p (1 - p))).
    expected = abs(1 - 2 * p) / (2 * np.sqrt(p * (1 - p)))
    assert ratio == pytest.approx(expected, rel=1e-9)
