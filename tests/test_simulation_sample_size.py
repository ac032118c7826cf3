"""How many stimuli JNE needs to recover a known |sin t| modulation."""

import numpy as np
import torch

from jne.simulation.sample_size import (
    modulation_grid,
    quadratic_curve,
    simulate_sample_size,
)


def test_sin_unit_reaches_099_from_n100():
    correlations, _ = simulate_sample_size(
        sample_sizes=(100, 300), n_points=401, seed=0
    )
    sin_unit = correlations[correlations["family"] == "sin_unit"]
    assert (sin_unit["correlation"] >= 0.99).all()


def test_correlation_rises_with_sample_size():
    correlations, _ = simulate_sample_size(
        sample_sizes=(10, 100), n_points=401, seed=0
    )
    table = correlations.pivot(
        index="n_stimuli", columns="family", values="correlation"
    )
    assert table.loc[10, "sin_unit"] < table.loc[100, "sin_unit"]
    assert table.loc[10, "quadratic"] < table.loc[100, "quadratic"]


def test_quadratic_family_at_n10_is_noisy():
    # Gao et al. report r = 0.87 for Gaussian Jacobians at N = 10.
    correlations, _ = simulate_sample_size(
        sample_sizes=(10,), n_points=1001, seed=0
    )
    quadratic = correlations[correlations["family"] == "quadratic"]
    assert 0.8 < quadratic["correlation"].iloc[0] < 0.93


def test_quadratic_curve_uses_fresh_stimuli_per_point():
    # With one stimulus set shared by all points, JNE(sin(t) J) =
    # |sin t| JNE(J) would make JNE / |sin t| constant. Fresh stimuli per
    # point make it vary, which is what the sample size experiment needs.
    generator = torch.Generator().manual_seed(0)
    curve = quadratic_curve(20, 7, 16, generator)
    _, target = modulation_grid(7)
    assert np.all(curve >= 0)
    ratio = curve[target > 0.1] / target[target > 0.1]
    assert ratio.std() / ratio.mean() > 1e-3


def test_curves_returned_for_each_family_and_size():
    _, curves = simulate_sample_size(sample_sizes=(10,), n_points=51)
    assert curves["sin_unit", 10].shape == (51,)
    assert curves["quadratic", 10].shape == (51,)
    assert curves["target"].shape == (51,)
