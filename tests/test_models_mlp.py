import warnings

import numpy as np
import pytest
import torch

from jne.errors import ConfigError, DataError
from jne.models import fit_mlp, fit_ridge
from jne.models.training import HISTORY_COLUMNS
from jne.scoring import r2_score

SMALL = dict(hidden_size=32, n_blocks=1, learning_rate=1e-3)


@pytest.fixture(autouse=True)
def single_thread():
    """Run torch on one thread: these networks are too small to gain from
    more, and on a loaded machine OpenMP threads slow each other down."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _nonlinear_data(n, n_features=8, n_voxels=6, noise=0.1, seed=0):
    """Responses ``|x @ a| - |x @ b|`` plus noise.

    The truth is even in ``x``, so a linear model explains none of it, and
    positively homogeneous with mean 0, so a bias-free ReLU network can
    represent it exactly.
    """
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, n_features)).astype(np.float32)
    scale = np.sqrt(n_features)
    first = rng.standard_normal((n_features, n_voxels)) / scale
    second = rng.standard_normal((n_features, n_voxels)) / scale
    Y = np.abs(X @ first) - np.abs(X @ second)
    Y += noise * rng.standard_normal(Y.shape)
    return X, Y.astype(np.float32)


def _split(X, Y, sizes):
    edges = np.cumsum([0, *sizes])
    return [(X[a:b], Y[a:b]) for a, b in zip(edges[:-1], edges[1:])]


def test_mlp_beats_ridge_on_nonlinear_truth():
    X, Y = _nonlinear_data(800, n_features=6)
    (X_tr, Y_tr), (X_va, Y_va), (X_te, Y_te) = _split(X, Y, [400, 200, 200])
    fit = fit_mlp(
        X_tr, Y_tr, X_va, Y_va, hidden_size=64, learning_rate=1e-2, seed=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        ridge = fit_ridge(np.r_[X_tr, X_va], np.r_[Y_tr, Y_va])
    mlp_r2 = r2_score(Y_te, fit.predict(X_te))
    ridge_r2 = r2_score(Y_te, ridge.predict(X_te))
    assert np.all(mlp_r2 > ridge_r2 + 0.3)
    assert np.mean(mlp_r2) > 0.6
    assert np.mean(ridge_r2) < 0.1


def test_early_stopping_keeps_best_weights():
    # Pure-noise targets and a large learning rate: the network memorises
    # the training set, so the validation loss rises after a few epochs.
    rng = np.random.default_rng(1)
    X = rng.standard_normal((120, 20)).astype(np.float32)
    Y = rng.standard_normal((120, 5)).astype(np.float32)
    fit = fit_mlp(
        X[:60],
        Y[:60],
        X[60:],
        Y[60:],
        hidden_size=128,
        learning_rate=1e-2,
        patience=5,
        seed=0,
    )
    history = fit.history
    assert fit.stopped_early
    assert len(history) == fit.best_epoch + 5
    assert history["val_loss"].iloc[-1] > fit.best_val_loss
    assert fit.best_val_loss == history["val_loss"].min()
    assert history["train_loss"].iloc[-1] < history["train_loss"].iloc[0]
    # The returned weights reproduce the best epoch's validation loss,
    # not the last epoch's.
    prediction = fit.predict(X[60:])
    val_loss = float(np.mean((prediction - Y[60:]) ** 2))
    assert val_loss == pytest.approx(fit.best_val_loss, rel=1e-5)
    assert val_loss < history["val_loss"].iloc[-1]
    assert not fit.model.training


def test_history_table():
    X, Y = _nonlinear_data(150)
    fit = fit_mlp(X[:100], Y[:100], X[100:], Y[100:], max_epochs=6, **SMALL)
    assert list(fit.history.columns) == HISTORY_COLUMNS
    assert fit.history["epoch"].tolist() == list(range(1, 7))
    r2 = r2_score(Y[100:], fit.predict(X[100:])).mean()
    best = fit.history.loc[fit.best_epoch - 1, "val_r2"]
    assert best == pytest.approx(r2, abs=1e-5)
    assert fit.seconds > 0
    assert fit.data_checksum.startswith("sha256:")
    assert fit.n_train == 100
    assert fit.n_val == 50


def _state(fit):
    return {k: v.clone() for k, v in fit.model.state_dict().items()}


@pytest.mark.parametrize(
    "options",
    [{}, {"batch_size": 32, "dropout": 0.2}],
    ids=["full-batch", "mini-batch-dropout"],
)
def test_seeded_runs_identical(options):
    X, Y = _nonlinear_data(200)
    args = (X[:150], Y[:150], X[150:], Y[150:])
    settings = dict(SMALL, max_epochs=5, **options)
    first = _state(fit_mlp(*args, seed=3, **settings))
    second = _state(fit_mlp(*args, seed=3, **settings))
    other = _state(fit_mlp(*args, seed=4, **settings))
    for key in first:
        assert torch.equal(first[key], second[key]), key
    assert not torch.equal(
        first["input_layer.weight"], other["input_layer.weight"]
    )


def test_fit_leaves_global_state():
    X, Y = _nonlinear_data(80)
    torch.manual_seed(123)
    rng_state = torch.get_rng_state()
    deterministic = torch.are_deterministic_algorithms_enabled()
    fit_mlp(X[:60], Y[:60], X[60:], Y[60:], max_epochs=2, **SMALL)
    assert torch.equal(torch.get_rng_state(), rng_state)
    assert torch.are_deterministic_algorithms_enabled() == deterministic


def test_identity_activation_is_linear():
    X, Y = _nonlinear_data(100)
    fit = fit_mlp(
        X[:80],
        Y[:80],
        X[80:],
        Y[80:],
        activation="identity",
        max_epochs=3,
        **SMALL,
    )
    a, b = X[:5], X[5:10]
    np.testing.assert_allclose(
        fit.predict(a + 2 * b),
        fit.predict(a) + 2 * fit.predict(b),
        rtol=1e-4,
        atol=1e-5,
    )


def test_float64_training():
    X, Y = _nonlinear_data(80)
    fit = fit_mlp(
        X[:60], Y[:60], X[60:], Y[60:], max_epochs=2, dtype="float64", **SMALL
    )
    assert fit.model.input_layer.weight.dtype == torch.float64
    assert fit.settings["dtype"] == "float64"
    assert fit.predict(X[:3]).dtype == np.float32


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"learning_rate": 0.0}, "learning_rate"),
        ({"weight_decay": -1.0}, "weight_decay"),
        ({"patience": 0}, "patience"),
        ({"batch_size": 0}, "batch_size"),
        ({"dtype": "float16"}, "dtype"),
        ({"activation": "sigmoid"}, "activation"),
        ({"device": "tpu"}, "device"),
    ],
)
def test_invalid_settings(kwargs, match):
    X, Y = _nonlinear_data(40)
    with pytest.raises(ConfigError, match=match):
        fit_mlp(X[:30], Y[:30], X[30:], Y[30:], **kwargs)


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA present")
def test_cuda_without_device():
    X, Y = _nonlinear_data(40)
    with pytest.raises(ConfigError, match="no CUDA device"):
        fit_mlp(X[:30], Y[:30], X[30:], Y[30:], device="cuda")


def test_invalid_inputs():
    X, Y = _nonlinear_data(40)
    with pytest.raises(DataError, match="validation set is empty"):
        fit_mlp(X[:30], Y[:30], X[:0], Y[:0])
    with pytest.raises(DataError, match="one row per stimulus"):
        fit_mlp(X[:30], Y[:29], X[30:], Y[30:])
    with pytest.raises(DataError, match="same number of features"):
        fit_mlp(X[:30], Y[:30], X[30:, :4], Y[30:])
    Y_nan = Y.copy()
    Y_nan[0, 0] = np.nan
    with pytest.raises(DataError, match="Y_train contains NaN"):
        fit_mlp(X[:30], Y_nan[:30], X[30:], Y[30:])


def test_divergence_raises():
    X, Y = _nonlinear_data(60)
    with pytest.raises(ConfigError, match="diverged"):
        fit_mlp(
            X[:40] * 1e20,
            Y[:40],
            X[40:],
            Y[40:],
            hidden_size=16,
            learning_rate=1e3,
            max_epochs=50,
        )


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_training_runs():
    X, Y = _nonlinear_data(200)
    fit = fit_mlp(
        X[:150], Y[:150], X[150:], Y[150:], device="cuda", max_epochs=5
    )
    assert fit.model.input_layer.weight.is_cuda
    assert fit.predict(X[:4]).shape == (4, 6)
