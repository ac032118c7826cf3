"""Approximate JNE from a random subset of input features.

The L1 deviation ``d[i, m] = sum_d |J_i[m, d] - Jbar[m, d]|`` is a sum
over all n_features input directions. The approximate mode sums over k
directions drawn uniformly without replacement, the same k for every
stimulus and voxel, and multiplies by ``n_features / k``. That makes
each ``d[i, m]`` unbiased. JNE, a standard deviation over stimuli, is not
unbiased: the sampling noise of ``d`` adds variance, and this adds to JNE
unless the noise is shared by all stimuli. The cost of both the closed-form
path and forward mode scales with k, so k = 64 of 768 features is about
12 times cheaper.

Because the error depends on the model and the data, every approximate
run also computes exact JNE for a random sample of voxels and reports
the relative error on them (:func:`summarise_error`).
"""

import numpy as np
import torch

from jne.errors import ConfigError


def sample_features(n_features, n_sampled, seed):
    """Draw input directions for the approximate mode.

    Parameters
    ----------
    n_features : int
    n_sampled : int
        Number of directions, 1 <= n_sampled < n_features.
    seed : int

    Returns
    -------
    tensor of int of shape (n_sampled,)
        Sorted direction indices.
    """
    if int(n_sampled) != n_sampled or not 1 <= n_sampled < n_features:
        raise ConfigError(
            f"Invalid jacobian.n_sampled_features {n_sampled!r}: expected an "
            f"integer from 1 to {n_features - 1} (the model has "
            f"{n_features} input features)."
        )
    rng = np.random.default_rng(seed)
    chosen = np.sort(
        rng.choice(n_features, size=int(n_sampled), replace=False)
    )
    return torch.as_tensor(chosen, dtype=torch.long)


def sample_voxels(n_voxels, n_check, seed):
    """Draw the voxels on which the approximation is checked.

    Returns
    -------
    ndarray of int of shape (min(n_check, n_voxels),)
        Sorted positions among the computed voxels.
    """
    if int(n_check) != n_check or n_check < 1:
        raise ConfigError(
            f"Invalid jacobian.n_check_voxels {n_check!r}: expected a "
            "positive integer."
        )
    rng = np.random.default_rng(seed + 1)
    n_check = min(int(n_check), n_voxels)
    return np.sort(rng.choice(n_voxels, size=n_check, replace=False))


def summarise_error(approximate, exact):
    """Compare approximate and exact JNE on the checked voxels.

    Parameters
    ----------
    approximate, exact : array of shape (n_checked,)

    Returns
    -------
    dict
        ``median_relative_error``, ``p90_relative_error`` and
        ``max_relative_error`` of ``|approximate - exact| / exact`` over
        voxels with exact JNE > 0, ``mean_relative_bias`` (signed mean of
        the relative error), ``correlation`` (Pearson r across the checked
        voxels, NaN for fewer than 3 voxels or a constant map) and
        ``n_checked``.
    """
    approximate = np.asarray(approximate, dtype=np.float64)
    exact = np.asarray(exact, dtype=np.float64)
    positive = exact > 0
    relative = (approximate[positive] - exact[positive]) / exact[positive]
    summary = {"n_checked": int(len(exact))}
    if relative.size:
        magnitude = np.abs(relative)
        summary["median_relative_error"] = float(np.median(magnitude))
        summary["p90_relative_error"] = float(np.percentile(magnitude, 90))
        summary["max_relative_error"] = float(magnitude.max())
        summary["mean_relative_bias"] = float(relative.mean())
    else:
        for key in (
            "median_relative_error",
            "p90_relative_error",
            "max_relative_error",
            "mean_relative_bias",
        ):
            summary[key] = float("nan")
    correlation = float("nan")
    if len(exact) >= 3 and exact.std() > 0 and approximate.std() > 0:
        correlation = float(np.corrcoef(approximate, exact)[0, 1])
    summary["correlation"] = correlation
    return summary
