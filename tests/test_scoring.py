import numpy as np
import pytest
import scipy.stats
import sklearn.metrics
from statsmodels.stats.multitest import multipletests

from jne import scoring
from jne.errors import ConfigError, DataError


def _noisy_predictions(n_stimuli=80, n_voxels=12, seed=0):
    rng = np.random.default_rng(seed)
    y_true = rng.standard_normal((n_stimuli, n_voxels))
    y_pred = y_true + 0.5 * rng.standard_normal((n_stimuli, n_voxels))
    return y_true, y_pred


def test_r2_matches_sklearn():
    y_true, y_pred = _noisy_predictions()
    expected = sklearn.metrics.r2_score(
        y_true, y_pred, multioutput="raw_values"
    )
    np.testing.assert_allclose(scoring.r2_score(y_true, y_pred), expected)


def test_r2_constant_voxel_is_nan():
    y_true, y_pred = _noisy_predictions()
    y_true[:, 3] = 2.0
    r2 = scoring.r2_score(y_true, y_pred)
    assert np.isnan(r2[3])
    assert np.isfinite(np.delete(r2, 3)).all()


def test_pearson_matches_scipy():
    y_true, y_pred = _noisy_predictions()
    expected = [
        scipy.stats.pearsonr(y_true[:, i], y_pred[:, i])[0]
        for i in range(y_true.shape[1])
    ]
    np.testing.assert_allclose(scoring.pearson_r(y_true, y_pred), expected)


def test_shape_mismatch_raises():
    with pytest.raises(DataError, match="same stimuli and voxels"):
        scoring.r2_score(np.zeros((5, 3)), np.zeros((5, 2)))


def test_bootstrap_matches_explicit_resampling():
    y_true, y_pred = _noisy_predictions(n_stimuli=30, n_voxels=5)
    y_pred[:, 0] = y_true[:, 0] * 0.1 + 2 * y_pred[:, 0]
    p = scoring.bootstrap_r2(y_true, y_pred, n_bootstrap=50, seed=3)

    rng = np.random.default_rng(3)
    counts = rng.multinomial(30, np.full(30, 1 / 30), size=50)
    expected = np.zeros(5)
    for row in counts:
        index = np.repeat(np.arange(30), row)
        r2 = sklearn.metrics.r2_score(
            y_true[index], y_pred[index], multioutput="raw_values"
        )
        expected += r2 <= 0
    np.testing.assert_allclose(p, (expected + 1) / 51)


def test_bootstrap_separates_signal_from_noise():
    rng = np.random.default_rng(1)
    y_true = rng.standard_normal((200, 2))
    y_pred = np.column_stack(
        [y_true[:, 0] + 0.5 * rng.standard_normal(200), y_true[:, 1][::-1]]
    )
    p = scoring.bootstrap_r2(y_true, y_pred, n_bootstrap=200, seed=0)
    assert p[0] == 1 / 201
    assert p[1] > 0.9


def test_bootstrap_noise_not_significant_with_few_resamples():
    # With p = k / n_bootstrap, about 0.5 % of pure-noise voxels had no
    # resample at or below 0 at 10 resamples, got p = 0 and passed FDR.
    rng = np.random.default_rng(4)
    y_true = rng.standard_normal((12, 5000))
    y_pred = rng.standard_normal((12, 5000))
    p = scoring.bootstrap_r2(y_true, y_pred, n_bootstrap=10, seed=0)
    assert p.min() == 1 / 11
    significant, _ = scoring.fdr_bh(p, q=0.05)
    assert not significant.any()


def test_bootstrap_chunks_agree(monkeypatch):
    y_true, y_pred = _noisy_predictions(n_voxels=7)
    whole = scoring.bootstrap_r2(y_true, y_pred, n_bootstrap=40, seed=2)
    monkeypatch.setattr(scoring, "VOXEL_CHUNK", 3)
    chunked = scoring.bootstrap_r2(y_true, y_pred, n_bootstrap=40, seed=2)
    np.testing.assert_array_equal(whole, chunked)


def test_fdr_matches_statsmodels():
    rng = np.random.default_rng(0)
    p = np.concatenate([rng.uniform(0, 0.01, 30), rng.uniform(0, 1, 300)])
    p[5] = p[6]  # a tie
    for q in (0.01, 0.05, 0.2):
        reject, corrected, _, _ = multipletests(p, alpha=q, method="fdr_bh")
        significant, q_values = scoring.fdr_bh(p, q)
        np.testing.assert_allclose(q_values, corrected)
        np.testing.assert_array_equal(significant, reject)


def test_fdr_ignores_nan():
    p = np.array([0.001, np.nan, 0.04, 0.5])
    significant, q_values = scoring.fdr_bh(p, 0.05)
    _, corrected, _, _ = multipletests(p[[0, 2, 3]], method="fdr_bh")
    assert np.isnan(q_values[1])
    assert not significant[1]
    np.testing.assert_allclose(q_values[[0, 2, 3]], corrected)


def test_fdr_invalid_q():
    with pytest.raises(ConfigError, match="fdr_q"):
        scoring.fdr_bh(np.array([0.1]), q=1.5)


def test_noise_ceiling_hand_computed():
    # One voxel, two stimuli with three repeats each.
    responses = np.array([[1.0], [2.0], [3.0], [-1.0], [-1.0], [-4.0]])
    stimulus = np.array(["a", "a", "a", "b", "b", "b"])
    # Variances across repeats (ddof=1): 1.0 and 3.0; mean 2.0.
    # total_variance=3: signal variance 1, ncsnr = 1 / sqrt(2).
    ncsnr = scoring.ncsnr_from_repeats(responses, stimulus, total_variance=3)
    np.testing.assert_allclose(ncsnr, [1 / np.sqrt(2)])
    # NC = 100 * 3 * 0.5 / (1 + 3 * 0.5) = 60 %.
    np.testing.assert_allclose(scoring.noise_ceiling(ncsnr, 3), [60.0])


def test_ncsnr_signal_clipped_at_zero():
    responses = np.array([[1.0], [-1.0], [2.0], [-2.0]])
    stimulus = np.array([0, 0, 1, 1])
    # Noise variance (2 + 8) / 2 = 5 exceeds the total of 1.
    ncsnr = scoring.ncsnr_from_repeats(responses, stimulus)
    np.testing.assert_array_equal(ncsnr, [0.0])
    np.testing.assert_array_equal(scoring.noise_ceiling(ncsnr, 2), [0.0])


def test_ncsnr_ignores_single_trials():
    responses = np.array([[1.0], [2.0], [3.0], [100.0]])
    stimulus = np.array(["a", "a", "a", "b"])
    ncsnr = scoring.ncsnr_from_repeats(responses, stimulus, total_variance=2)
    np.testing.assert_allclose(ncsnr, [1.0])


def test_ncsnr_without_repeats_is_nan(caplog):
    caplog.set_level("INFO")
    ncsnr = scoring.ncsnr_from_repeats(np.ones((3, 2)), ["a", "b", "c"])
    assert np.isnan(ncsnr).all()
    assert "No stimulus is repeated" in caplog.text


def test_noise_ceiling_mixed_repeats():
    ncsnr = np.array([0.5, 1.0])
    # Equal counts reduce to NSD's n * s**2 / (1 + n * s**2).
    np.testing.assert_allclose(
        scoring.noise_ceiling(ncsnr, [3, 3, 3]),
        100 * 3 * ncsnr**2 / (1 + 3 * ncsnr**2),
    )
    # Mixed counts use the mean of 1 / n: (1/3 + 1/1) / 2 = 2/3.
    np.testing.assert_allclose(
        scoring.noise_ceiling(ncsnr, [3, 1]),
        100 * ncsnr**2 / (ncsnr**2 + 2 / 3),
    )


def test_noise_ceiling_limits():
    values = scoring.noise_ceiling(np.array([0.0, np.inf, np.nan]), 3)
    assert values[0] == 0.0
    assert values[1] == 100.0
    assert np.isnan(values[2])


def test_score_predictions_columns_and_units():
    y_true, y_pred = _noisy_predictions(n_voxels=6)
    y_pred[:, 5] = np.random.default_rng(9).standard_normal(len(y_pred))
    ceiling = np.array([50.0, 50.0, 100.0, 25.0, np.nan, 0.0])
    table = scoring.score_predictions(
        y_true,
        y_pred,
        noise_ceiling=ceiling,
        voxel=np.arange(10, 16),
        n_bootstrap=100,
    )
    assert list(table.columns) == [
        "voxel",
        "r2",
        "pearson_r",
        "p_value",
        "q_value",
        "significant",
        "noise_ceiling",
        "r2_fraction_of_ceiling",
    ]
    assert table["voxel"].tolist() == list(range(10, 16))
    np.testing.assert_allclose(table["r2"], scoring.r2_score(y_true, y_pred))
    np.testing.assert_allclose(
        table["r2_fraction_of_ceiling"][:4],
        table["r2"][:4] / (ceiling[:4] / 100),
    )
    assert np.isnan(table["r2_fraction_of_ceiling"][4])
    assert np.isnan(table["r2_fraction_of_ceiling"][5])
    assert table["significant"][:5].all()
    assert not table["significant"][5]


def test_score_predictions_ceiling_shape():
    y_true, y_pred = _noisy_predictions(n_voxels=3)
    with pytest.raises(DataError, match="one value per voxel"):
        scoring.score_predictions(
            y_true, y_pred, noise_ceiling=np.ones(2), n_bootstrap=10
        )
