"""Ridge regression baseline with a penalty chosen per voxel.

The solver is himalaya (tested with 0.4.11). ``RidgeCV`` is used when
there are at least as many samples as features, else ``KernelRidgeCV``
with a linear kernel, which solves the same problem in the dual and is
faster there. Both run on himalaya's torch backend.
"""

import logging
import time
import warnings

import h5py
import numpy as np

from jne._atomic import atomic_path
from jne.errors import ConfigError, DataError

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
# Penalties from 0.1 to 1e8 in half decades. With z-scored features,
# X.T @ X grows with n_samples (8000 in NSD), so the useful penalties are
# of that order. The grid reaches far below and above it.
DEFAULT_ALPHAS = 10.0 ** np.arange(-1, 8.5, 0.5)
# Voxels per solver batch. Temporaries scale with this, not with n_voxels.
DEFAULT_TARGETS_BATCH = 1024
# Penalties per solver batch. For each fold, himalaya holds float32 arrays
# of shape (n_alphas_batch, n_features, n_train) and (n_alphas_batch,
# n_test, n_train): by their sizes, about 1.4 GB for all 19 penalties at
# 9000 samples and 768 features, and 0.3 GB in batches of 4. The
# arithmetic is the same either way.
DEFAULT_ALPHAS_BATCH = 4
_BACKENDS = {"cpu": "torch", "cuda": "torch_cuda"}


class RidgeFit:
    """A fitted ridge model: ``Y = X @ coef_ + intercept_``.

    Attributes
    ----------
    coef_ : array of float32 of shape (n_features, n_voxels)
    intercept_ : array of float32 of shape (n_voxels,)
    alphas_ : array of float64 of shape (n_voxels,)
        Penalty chosen for each voxel.
    cv_scores_ : array of float64 of shape (n_voxels,)
        Cross-validated R² (fraction) at the chosen penalty.
    alpha_grid : array of float64 of shape (n_alphas,)
        Penalties that were tried.
    solver : str
        ``"RidgeCV"`` or ``"KernelRidgeCV"``.
    seconds : float
        Wall-clock fitting time.
    """

    def __init__(
        self, coef, intercept, alphas, cv_scores, alpha_grid, solver, seconds
    ):
        self.coef_ = np.asarray(coef, dtype=np.float32)
        self.intercept_ = np.asarray(intercept, dtype=np.float32)
        self.alphas_ = np.asarray(alphas, dtype=np.float64)
        self.cv_scores_ = np.asarray(cv_scores, dtype=np.float64)
        self.alpha_grid = np.asarray(alpha_grid, dtype=np.float64)
        self.solver = str(solver)
        self.seconds = float(seconds)

    @property
    def n_features(self):
        return self.coef_.shape[0]

    @property
    def n_voxels(self):
        return self.coef_.shape[1]

    def predict(self, X):
        """Predict responses.

        Parameters
        ----------
        X : array of shape (n_stimuli, n_features)

        Returns
        -------
        array of float32 of shape (n_stimuli, n_voxels)
        """
        X = np.asarray(X, dtype=np.float32)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise DataError(
                f"X has shape {X.shape}, expected (n_stimuli, "
                f"{self.n_features}) like the training features."
            )
        return X @ self.coef_ + self.intercept_

    def save(self, path):
        """Write the model to one HDF5 file, atomically."""
        with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
            f.attrs["format_version"] = FORMAT_VERSION
            f.attrs["solver"] = self.solver
            f.attrs["seconds"] = self.seconds
            f.create_dataset("coef", data=self.coef_)
            f.create_dataset("intercept", data=self.intercept_)
            f.create_dataset("alphas", data=self.alphas_)
            f.create_dataset("cv_scores", data=self.cv_scores_)
            f.create_dataset("alpha_grid", data=self.alpha_grid)
        logger.info("Wrote ridge model to %s.", path)

    @classmethod
    def load(cls, path):
        """Read a model written by :meth:`save`."""
        with h5py.File(path, "r") as f:
            version = int(f.attrs.get("format_version", 0))
            if version != FORMAT_VERSION:
                raise DataError(
                    f"{path} was written with ridge format {version}, this "
                    f"jne reads format {FORMAT_VERSION}. Delete it and "
                    "refit the ridge model."
                )
            return cls(
                coef=f["coef"][()],
                intercept=f["intercept"][()],
                alphas=f["alphas"][()],
                cv_scores=f["cv_scores"][()],
                alpha_grid=f["alpha_grid"][()],
                solver=str(f.attrs["solver"]),
                seconds=float(f.attrs["seconds"]),
            )


def fit_ridge(
    X_train,
    Y_train,
    *,
    alphas=DEFAULT_ALPHAS,
    cv=5,
    device="cpu",
    n_targets_batch=DEFAULT_TARGETS_BATCH,
    n_alphas_batch=DEFAULT_ALPHAS_BATCH,
    copy=True,
):
    """Fit ridge regression with a penalty chosen per voxel by CV.

    The model has an intercept, so the inputs need not have zero mean.
    Features and responses are centred once over all samples, not per
    fold, so both solvers fit without an intercept. Fold means differ from
    the global mean by O(1 / sqrt(n_samples)).

    Parameters
    ----------
    X_train : array of shape (n_samples, n_features)
    Y_train : array of shape (n_samples, n_voxels)
    alphas : array of shape (n_alphas,), default=DEFAULT_ALPHAS
        Penalties to try, 0.1 to 1e8 in half decades by default.
    cv : int or scikit-learn splitter, default=5
        Cross-validation folds. An int means contiguous, unshuffled
        K-fold, as in himalaya.
    device : {"cpu", "cuda"}, default="cpu"
    n_targets_batch : int, default=1024
        Voxels solved at a time, which bounds the solver's temporaries.
    n_alphas_batch : int, default=4
        Penalties evaluated at a time, which bounds the solver's
        temporaries of shape (n_alphas_batch, n_samples_fold, n_samples).
    copy : bool, default=True
        If False and ``Y_train`` is a float32 array, it is centred in place,
        which saves one copy of the response matrix but overwrites it.

    Returns
    -------
    RidgeFit

    Warns
    -----
    UserWarning
        When any voxel chose the smallest or largest penalty of the grid.
    """
    from himalaya.backend import get_backend, set_backend
    from himalaya.scoring import r2_score

    X_train, Y_train, alphas = _check_inputs(X_train, Y_train, alphas, device)
    n_samples, n_features = X_train.shape
    n_voxels = Y_train.shape[1]
    if isinstance(cv, int) and not 2 <= cv <= n_samples:
        raise ConfigError(
            f"Invalid ridge cv={cv}: cross-validation needs 2 to "
            f"{n_samples} folds for {n_samples} training stimuli. Set "
            "models.ridge.cv in that range (5 is the default)."
        )
    kernel = n_samples < n_features
    solver = "KernelRidgeCV" if kernel else "RidgeCV"
    logger.info(
        "Fitting ridge (%s, %d alphas, %s-fold CV, %s) on %d samples, "
        "%d features, %d voxels.",
        solver,
        len(alphas),
        cv,
        device,
        n_samples,
        n_features,
        n_voxels,
    )
    start = time.perf_counter()
    x_mean = X_train.mean(axis=0)
    y_mean = Y_train.mean(axis=0, dtype=np.float64).astype(np.float32)
    X = X_train - x_mean
    if copy:
        Y = Y_train - y_mean
    else:
        Y = Y_train
        Y -= y_mean
    previous = get_backend()
    # NOTE: the "torch_cuda" path has not been run: no GPU was available
    # when this was written.
    backend = set_backend(_BACKENDS[device], on_error="raise")
    try:
        # Y_in_cpu keeps the responses in host memory on cuda. himalaya
        # 0.4.11 fails with it on the "torch" CPU backend, where it would
        # change nothing anyway.
        options = dict(
            alphas=alphas,
            cv=cv,
            solver_params=dict(
                score_func=r2_score,
                n_targets_batch=n_targets_batch,
                n_targets_batch_refit=n_targets_batch,
                n_alphas_batch=n_alphas_batch,
            ),
            Y_in_cpu=device == "cuda",
        )
        if kernel:
            from himalaya.kernel_ridge import KernelRidgeCV

            model = KernelRidgeCV(kernel="linear", **options)
        else:
            from himalaya.ridge import RidgeCV

            model = RidgeCV(**options)
        model.fit(X, Y)
        coef = model.get_primal_coef() if kernel else model.coef_
        coef = np.asarray(backend.to_numpy(coef), dtype=np.float32)
        chosen = _snap_to_grid(backend.to_numpy(model.best_alphas_), alphas)
        cv_scores = np.asarray(backend.to_numpy(model.cv_scores_))
    finally:
        set_backend(previous)
    intercept = y_mean - x_mean @ coef
    seconds = time.perf_counter() - start
    _warn_grid_edges(chosen, alphas)
    logger.info("Fitted ridge in %.1f s.", seconds)
    return RidgeFit(
        coef, intercept, chosen, cv_scores, alphas, solver, seconds
    )


def _check_inputs(X_train, Y_train, alphas, device):
    if device not in _BACKENDS:
        raise ConfigError(
            f"Invalid device {device!r} for ridge: use 'cpu' or 'cuda'."
        )
    X_train = np.asarray(X_train, dtype=np.float32)
    Y_train = np.asarray(Y_train, dtype=np.float32)
    if X_train.ndim != 2 or Y_train.ndim != 2:
        raise DataError(
            f"X_train and Y_train must be 2-D, got shapes {X_train.shape} "
            f"and {Y_train.shape}."
        )
    if X_train.shape[0] != Y_train.shape[0]:
        raise DataError(
            f"X_train has {X_train.shape[0]} rows but Y_train has "
            f"{Y_train.shape[0]}: both need one row per stimulus."
        )
    alphas = np.sort(np.asarray(alphas, dtype=np.float64).ravel())
    if alphas.size == 0 or np.any(alphas <= 0):
        raise ConfigError(
            f"alphas must be one or more positive penalties, got {alphas}."
        )
    return X_train, Y_train, alphas


def _snap_to_grid(chosen, alphas):
    # himalaya returns exp(-log(alpha)) in the data's dtype, which differs
    # from the grid value in the last digits.
    distance = np.abs(np.log(np.asarray(chosen, np.float64)[:, None] / alphas))
    return alphas[np.argmin(distance, axis=1)]


def _warn_grid_edges(chosen, alphas):
    n_low = int((chosen == alphas[0]).sum())
    n_high = int((chosen == alphas[-1]).sum())
    if len(alphas) > 1 and (n_low or n_high):
        warnings.warn(
            f"Ridge penalty at the edge of the grid for {n_low + n_high} "
            f"of {len(chosen)} voxels: {n_low} chose the smallest alpha "
            f"({alphas[0]:g}) and {n_high} the largest ({alphas[-1]:g}). "
            "Voxels without signal usually choose the largest. If "
            "well-predicted voxels are at an edge, widen the alphas grid "
            "beyond that edge.",
            UserWarning,
            stacklevel=3,
        )
