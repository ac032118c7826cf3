import json
import warnings

import numpy as np
import pytest
from sklearn.linear_model import Ridge

from jne.errors import ConfigError, DataError
from jne.models import RidgeFit, fit_ridge, linear_surrogate, save_ridge
from jne.models.ridge import DEFAULT_ALPHAS


def _linear_data(n, n_features, n_voxels, noise, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, n_features)).astype(np.float32)
    weights = rng.standard_normal((n_features, n_voxels))
    offset = rng.standard_normal(n_voxels)
    Y = X @ weights + offset + noise * rng.standard_normal((n, n_voxels))
    return X, Y.astype(np.float32), weights, offset


def _fit_quietly(X, Y, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return fit_ridge(X, Y, **kwargs)


def test_ridge_recovers_linear_weights():
    X, Y, weights, offset = _linear_data(400, 15, 8, noise=0.05)
    fit = _fit_quietly(X, Y)
    assert fit.solver == "RidgeCV"
    assert fit.coef_.shape == (15, 8)
    np.testing.assert_allclose(fit.coef_, weights, atol=0.02)
    np.testing.assert_allclose(fit.intercept_, offset, atol=0.02)
    assert np.all(fit.cv_scores_ > 0.99)


def test_alphas_come_from_grid():
    X, Y, _, _ = _linear_data(200, 10, 12, noise=3.0, seed=1)
    fit = _fit_quietly(X, Y)
    assert fit.alphas_.shape == (12,)
    assert np.isin(fit.alphas_, DEFAULT_ALPHAS).all()
    np.testing.assert_array_equal(fit.alpha_grid, DEFAULT_ALPHAS)


def test_primal_path_matches_sklearn():
    X, Y, _, _ = _linear_data(120, 10, 5, noise=2.0, seed=2)
    fit = _fit_quietly(X, Y)
    for voxel in range(5):
        reference = Ridge(alpha=fit.alphas_[voxel]).fit(X, Y[:, voxel])
        np.testing.assert_allclose(
            fit.coef_[:, voxel], reference.coef_, rtol=1e-3, atol=1e-4
        )
        np.testing.assert_allclose(
            fit.intercept_[voxel], reference.intercept_, atol=1e-4
        )


def test_kernel_path_matches_sklearn():
    X, Y, _, _ = _linear_data(40, 80, 5, noise=1.0, seed=3)
    fit = _fit_quietly(X, Y)
    assert fit.solver == "KernelRidgeCV"
    assert fit.coef_.shape == (80, 5)
    for voxel in range(5):
        reference = Ridge(alpha=fit.alphas_[voxel]).fit(X, Y[:, voxel])
        np.testing.assert_allclose(
            fit.coef_[:, voxel], reference.coef_, rtol=1e-3, atol=1e-4
        )
    np.testing.assert_allclose(
        fit.predict(X[:3]),
        X[:3] @ fit.coef_ + fit.intercept_,
        rtol=1e-5,
    )


def test_solver_batches_do_not_change_fit():
    X, Y, _, _ = _linear_data(150, 12, 9, noise=1.0, seed=4)
    whole = _fit_quietly(X, Y, n_alphas_batch=100)
    for options in ({"n_targets_batch": 2}, {"n_alphas_batch": 1}):
        batched = _fit_quietly(X, Y, **options)
        np.testing.assert_array_equal(whole.alphas_, batched.alphas_)
        np.testing.assert_allclose(whole.coef_, batched.coef_, rtol=1e-5)


def test_copy_false_centres_in_place():
    X, Y, _, _ = _linear_data(100, 6, 3, noise=1.0, seed=9)
    original = Y.copy()
    kept = _fit_quietly(X, Y)
    np.testing.assert_array_equal(Y, original)
    in_place = _fit_quietly(X, Y, copy=False)
    np.testing.assert_allclose(Y, original - original.mean(axis=0), atol=1e-5)
    np.testing.assert_array_equal(in_place.alphas_, kept.alphas_)
    np.testing.assert_allclose(in_place.coef_, kept.coef_, rtol=1e-5)
    np.testing.assert_allclose(
        in_place.intercept_, kept.intercept_, rtol=1e-5, atol=1e-6
    )


def test_grid_edge_warning():
    X, Y, _, _ = _linear_data(300, 10, 4, noise=0.01, seed=5)
    with pytest.warns(UserWarning, match="4 chose the smallest alpha") as w:
        fit_ridge(X, Y)
    assert "widen the alphas grid" in str(w[0].message)


def test_no_warning_inside_grid():
    X, Y, _, _ = _linear_data(300, 10, 4, noise=3.0, seed=6)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        fit = fit_ridge(X, Y, alphas=np.logspace(-3, 6, 10))
    assert np.all(fit.alphas_ > 1e-3)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"alphas": [0.0, 1.0]}, "positive penalties"),
        ({"alphas": []}, "positive penalties"),
        ({"device": "tpu"}, "Invalid device"),
    ],
)
def test_invalid_settings(kwargs, match):
    X, Y, _, _ = _linear_data(30, 3, 2, noise=1.0)
    with pytest.raises(ConfigError, match=match):
        fit_ridge(X, Y, **kwargs)


def test_row_mismatch_raises():
    X, Y, _, _ = _linear_data(30, 3, 2, noise=1.0)
    with pytest.raises(DataError, match="one row per stimulus"):
        fit_ridge(X, Y[:-1])


def test_predict_checks_features():
    X, Y, _, _ = _linear_data(60, 4, 2, noise=1.0)
    fit = _fit_quietly(X, Y)
    with pytest.raises(DataError, match=r"\(n_stimuli, 4\)"):
        fit.predict(X[:, :3])


def test_save_load_roundtrip(tmp_path):
    X, Y, _, _ = _linear_data(80, 5, 3, noise=1.0)
    fit = _fit_quietly(X, Y)
    paths = save_ridge(fit, tmp_path, X_train=X, Y_train=Y, metadata={"a": 1})
    loaded = RidgeFit.load(paths["model"])
    np.testing.assert_array_equal(loaded.coef_, fit.coef_)
    np.testing.assert_array_equal(loaded.intercept_, fit.intercept_)
    np.testing.assert_array_equal(loaded.alphas_, fit.alphas_)
    np.testing.assert_array_equal(loaded.cv_scores_, fit.cv_scores_)
    assert loaded.solver == fit.solver
    document = json.loads(paths["metadata"].read_text())
    assert document["kind"] == "ridge"
    assert document["data_checksum"].startswith("sha256:")
    assert document["metadata"] == {"a": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "model.json",
        "ridge.h5",
    ]


def test_surrogate_keeps_linear_part():
    X, Y, _, _ = _linear_data(100, 6, 4, noise=1.0, seed=7)
    Y[:, 0] += np.abs(X[:, 0]) * 3
    fit = _fit_quietly(X, Y)
    surrogate = linear_surrogate(fit, X, Y, seed=0)
    prediction = fit.predict(X)
    residuals = Y - prediction
    shuffled = surrogate - prediction
    assert surrogate.shape == Y.shape
    assert surrogate.dtype == np.float32
    # Each voxel keeps its own residual values, only reordered.
    np.testing.assert_allclose(
        np.sort(shuffled, axis=0), np.sort(residuals, axis=0), atol=1e-5
    )
    # One permutation is shared by all voxels.
    match = np.abs(shuffled[:, None, :] - residuals[None]).max(axis=2)
    permutation = match.argmin(axis=1)
    assert np.all(match.min(axis=1) < 1e-5)
    assert sorted(permutation) == list(range(100))
    assert not np.array_equal(permutation, np.arange(100))


def test_surrogate_is_seeded():
    X, Y, _, _ = _linear_data(50, 4, 3, noise=1.0, seed=8)
    fit = _fit_quietly(X, Y)
    first = linear_surrogate(fit, X, Y, seed=1)
    again = linear_surrogate(fit, X, Y, seed=1)
    other = linear_surrogate(fit, X, Y, seed=2)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_surrogate_shape_mismatch():
    X, Y, _, _ = _linear_data(50, 4, 3, noise=1.0)
    fit = _fit_quietly(X, Y)
    with pytest.raises(DataError, match="Use the X and Y"):
        linear_surrogate(fit, X, Y[:, :2], seed=0)


@pytest.mark.parametrize("cv", [1, 21])
def test_cv_folds_out_of_range_rejected(cv):
    X, Y, _, _ = _linear_data(20, 3, 2, noise=0.1)
    with pytest.raises(ConfigError, match=f"cv={cv}") as error:
        fit_ridge(X, Y, cv=cv)
    assert "2 to 20 folds" in str(error.value)
