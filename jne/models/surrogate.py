"""Linear surrogate responses, the null model for JNE.

A ReLU network fitted to responses that are linear in the features plus
noise still has a JNE above 0, because a network fitted to finite, noisy
data is not exactly linear. Refitting the same MLP architecture to
surrogate responses gives the JNE expected from that alone.
"""

import logging

import numpy as np

from jne.errors import DataError

logger = logging.getLogger(__name__)


def linear_surrogate(ridge, X, Y, seed):
    """Build responses with the linear part of ``Y`` and shuffled noise.

    The surrogate is the ridge prediction plus the ridge residuals with
    their stimulus rows permuted. One permutation is shared by all voxels,
    so each stimulus keeps a real residual vector: the noise covariance
    across voxels, which a network with shared hidden units can fit, is
    preserved. The permutation breaks any link between residuals and
    features, so nonlinear structure left in the residuals cannot be fitted.
    Residuals are drawn without replacement, so every voxel keeps its own
    residual distribution exactly.

    Parameters
    ----------
    ridge : RidgeFit
        Any object with ``predict(X)`` returning (n_stimuli, n_voxels).
    X : array of shape (n_stimuli, n_features)
    Y : array of shape (n_stimuli, n_voxels)
    seed : int

    Returns
    -------
    array of float32 of shape (n_stimuli, n_voxels)

    Notes
    -----
    The residuals are in-sample, so their variance is slightly lower than
    that of held-out residuals.
    """
    prediction = np.asarray(ridge.predict(X), dtype=np.float32)
    Y = np.asarray(Y, dtype=np.float32)
    if prediction.shape != Y.shape:
        raise DataError(
            f"The ridge model predicts shape {prediction.shape} but Y has "
            f"shape {Y.shape}. Use the X and Y the ridge was fitted on."
        )
    permutation = np.random.default_rng(seed).permutation(len(Y))
    residuals = Y - prediction
    logger.info(
        "Built linear surrogate responses for %d stimuli and %d voxels "
        "(seed %d).",
        Y.shape[0],
        Y.shape[1],
        seed,
    )
    return prediction + residuals[permutation]
