"""Bootstrap intervals, categories, seed ensembles and the null."""

import h5py
import numpy as np
import pandas as pd
import pytest
import torch

from jne.errors import ConfigError, DataError
from jne.jacobian import (
    aggregate_seeds,
    average_by_category,
    bootstrap_jne,
    cluster_stimuli,
    compute_jne,
    ensemble_table,
    jne_above_null,
)
from jne.models import ResidualMLP


@pytest.fixture
def deviation():
    rng = np.random.default_rng(0)
    # Voxel m has deviations with standard deviation (m + 1) / 10.
    scales = (np.arange(40) + 1) / 10
    return 5 + rng.standard_normal((300, 40)) * scales


def test_bootstrap_point_estimate_is_jne(deviation):
    result = bootstrap_jne(deviation, n_bootstrap=50)

    np.testing.assert_allclose(result.jne, deviation.std(axis=0), rtol=1e-12)


def test_bootstrap_matches_explicit_resampling(deviation):
    n_bootstrap, seed = 40, 3
    result = bootstrap_jne(
        deviation, n_bootstrap=n_bootstrap, ci_level=0.8, seed=seed
    )

    # Same draws as bootstrap_jne, applied by indexing the stimuli.
    n_stimuli = deviation.shape[0]
    counts = np.random.default_rng(seed).multinomial(
        n_stimuli, np.full(n_stimuli, 1 / n_stimuli), size=n_bootstrap
    )
    resampled = np.array(
        [
            deviation[np.repeat(np.arange(n_stimuli), row)].std(axis=0)
            for row in counts
        ]
    )
    low, high = np.percentile(resampled, [10, 90], axis=0)
    np.testing.assert_allclose(result.ci_low, low, rtol=1e-9)
    np.testing.assert_allclose(result.ci_high, high, rtol=1e-9)
    np.testing.assert_allclose(
        result.standard_error, resampled.std(axis=0, ddof=1), rtol=1e-9
    )


def test_bootstrap_interval_covers_truth(deviation):
    truth = (np.arange(40) + 1) / 10

    result = bootstrap_jne(deviation, n_bootstrap=400, ci_level=0.95)

    covered = (result.ci_low <= truth) & (truth <= result.ci_high)
    assert covered.mean() >= 0.85
    assert np.all(result.ci_low <= result.jne)
    assert np.all(result.jne <= result.ci_high)


def test_bootstrap_reads_hdf5_in_blocks(tmp_path, deviation):
    path = tmp_path / "d.h5"
    with h5py.File(path, "w") as handle:
        handle.create_dataset("deviation", data=deviation, chunks=(300, 8))
    expected = bootstrap_jne(deviation, n_bootstrap=30, seed=1)

    with h5py.File(path, "r") as handle:
        result = bootstrap_jne(
            handle["deviation"], n_bootstrap=30, seed=1, block_bytes=50_000
        )

    np.testing.assert_allclose(result.ci_low, expected.ci_low, rtol=1e-12)
    np.testing.assert_allclose(result.ci_high, expected.ci_high, rtol=1e-12)


def test_bootstrap_roi_table(deviation):
    roi = np.array(["V1"] * 10 + [""] * 10 + ["FFA"] * 20)

    result = bootstrap_jne(deviation, n_bootstrap=200, roi=roi)

    table = result.roi_table.set_index("roi")
    assert list(table.index) == ["FFA", "V1"]
    assert table.loc["V1", "n_voxels"] == 10
    assert table.loc["FFA", "jne_mean"] == pytest.approx(
        result.jne[20:].mean()
    )
    assert np.all(table["jne_ci_low"] <= table["jne_mean"])
    assert np.all(table["jne_mean"] <= table["jne_ci_high"])
    # A mean over 20 voxels varies less than its single voxels.
    assert table.loc["FFA", "jne_standard_error"] < (
        result.standard_error[20:].mean()
    )


@pytest.mark.parametrize(
    "kwargs", [{"n_bootstrap": 1}, {"ci_level": 1.5}, {"ci_level": 0}]
)
def test_bootstrap_invalid_arguments(deviation, kwargs):
    with pytest.raises(ConfigError):
        bootstrap_jne(deviation, **kwargs)


def test_cluster_stimuli_finds_separated_groups():
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((3, 10)) * 20
    truth = np.repeat([0, 1, 2], 25)
    features = centres[truth] + rng.standard_normal((75, 10))

    clusters = cluster_stimuli(features, k_min=2, k_max=6)

    assert clusters.n_clusters == 3
    assert set(clusters.silhouette) == {2, 3, 4, 5, 6}
    assert clusters.embedding.shape == (75, 2)
    # Each true group maps to one cluster and vice versa.
    table = pd.crosstab(truth, clusters.labels)
    assert (table.to_numpy() > 0).sum() == 3


def test_cluster_stimuli_invalid_range():
    features = np.random.default_rng(0).standard_normal((20, 4))

    with pytest.raises(ConfigError, match="jacobian.k_min"):
        cluster_stimuli(features, k_min=1, k_max=5)
    with pytest.raises(DataError, match="at least 4"):
        cluster_stimuli(features[:3])


def test_average_by_category(tmp_path):
    rng = np.random.default_rng(0)
    jne_ss = rng.random((12, 30))
    categories = np.array(["b", "a", "c"] * 4)
    path = tmp_path / "ss.h5"
    with h5py.File(path, "w") as handle:
        handle.create_dataset("jne_ss", data=jne_ss, chunks=(12, 7))

    names, means, counts = average_by_category(jne_ss, categories)
    with h5py.File(path, "r") as handle:
        _, from_file, _ = average_by_category(
            handle["jne_ss"], categories, block_bytes=500
        )

    assert list(names) == ["a", "b", "c"]
    np.testing.assert_array_equal(counts, [4, 4, 4])
    np.testing.assert_allclose(means[0], jne_ss[1::3].mean(axis=0))
    np.testing.assert_allclose(from_file, means, rtol=1e-12)
    with pytest.raises(DataError, match="one label per stimulus"):
        average_by_category(jne_ss, categories[:5])


def test_aggregate_seeds():
    values = np.array([[1.0, 2.0], [3.0, 6.0]])

    summary = aggregate_seeds(values)

    np.testing.assert_allclose(summary.mean, [2.0, 4.0])
    np.testing.assert_allclose(summary.std, [np.sqrt(2), np.sqrt(8)])
    assert summary.n_seeds == 2
    assert np.all(np.isnan(aggregate_seeds(values[:1]).std))


def test_ensemble_table_over_seeds():
    inputs = torch.randn(20, 5, generator=torch.Generator().manual_seed(0))
    results = []
    for seed in range(3):
        torch.manual_seed(seed)
        model = ResidualMLP(5, 7, 16, 1, "tanh")
        results.append(compute_jne(model, inputs))

    table = ensemble_table(results)

    stacked = np.stack([r.jne for r in results])
    np.testing.assert_allclose(table["jne_mean"], stacked.mean(axis=0))
    np.testing.assert_allclose(table["jne_std"], stacked.std(axis=0, ddof=1))
    assert (table["n_seeds"] == 3).all()
    subset = compute_jne(model, inputs, voxels=[0, 1])
    with pytest.raises(DataError, match="other voxels"):
        ensemble_table([results[0], subset])


def test_jne_above_null_per_voxel_and_roi():
    jne = np.array([1.0, 0.2, 0.5, 0.9])
    null = np.array(
        [
            [0.1, 0.3, 0.5, 0.2],
            [0.2, 0.1, 0.4, 0.2],
            [0.3, 0.5, 0.6, 0.2],
        ]
    )
    roi = np.array(["A", "A", "B", ""])

    comparison = jne_above_null(jne, null, roi=roi)

    voxels = comparison.voxel_table
    np.testing.assert_allclose(voxels["null_mean"], null.mean(axis=0))
    np.testing.assert_allclose(voxels["excess"], jne - null.mean(axis=0))
    # p = (1 + #{null >= jne}) / (1 + n_null)
    np.testing.assert_allclose(voxels["p_value"], [0.25, 0.75, 0.75, 0.25])
    rois = comparison.roi_table.set_index("roi")
    assert rois.loc["A", "jne"] == pytest.approx(0.6)
    assert rois.loc["A", "null_mean"] == pytest.approx(null[:, :2].mean())
    assert rois.loc["B", "n_voxels"] == 1
    assert comparison.n_null == 3


def test_jne_above_single_null():
    comparison = jne_above_null([1.0, 2.0], [0.5, 0.0])

    table = comparison.voxel_table
    np.testing.assert_allclose(table["ratio"], [2.0, np.nan])
    assert table["null_std"].isna().all()
    with pytest.raises(DataError, match="same voxels"):
        jne_above_null([1.0, 2.0], [0.5, 0.0, 1.0])
