"""Approximate JNE from a random subset of stimuli.

Most of the cost of exact JNE is the deviation pass: one L1 deviation
``d[i, m]`` per stimulus and voxel, each a product over the hidden
units. The mean Jacobian is cheaper, and on the closed-form path its
cost does not depend on the number of voxels. The approximate mode
therefore keeps the exact mean Jacobian of all N stimuli and computes
``d[i, m]`` only for n stimuli drawn without replacement. Each of those
deviations is exact. JNE is then estimated from them with the unbiased
variance estimate for a sample without replacement (see
``DeviationStore.finish``), so its error is sampling error, about
``1 / sqrt(2 n)`` relative for roughly normal deviations (7 % for
n = 100). The deviation pass costs n / N of the exact one.

JNE-SS and the deviations are returned for the sampled stimuli only
(``JNEResult.stimuli`` lists them). Because the error depends on the
data, every approximate run also computes exact JNE for a random sample
of voxels and reports the relative error on them
(:func:`summarise_error`).
"""

import numpy as np
import torch

from jne.errors import ConfigError


def sample_stimuli(n_stimuli, n_sampled, seed):
    """Draw the stimuli of the approximate deviation pass.

    Parameters
    ----------
    n_stimuli : int
    n_sampled : int
        Number of stimuli, 2 <= n_sampled < n_stimuli.
    seed : int

    Returns
    -------
    tensor of int of shape (n_sampled,)
        Sorted stimulus indices.
    """
    if int(n_sampled) != n_sampled or not 2 <= n_sampled < n_stimuli:
        raise ConfigError(
            f"Invalid jacobian.n_sampled_stimuli {n_sampled!r}: expected an "
            f"integer from 2 to {n_stimuli - 1} (there are {n_stimuli} "
            "stimuli)."
        )
    rng = np.random.default_rng(seed)
    chosen = rng.choice(n_stimuli, size=int(n_sampled), replace=False)
    return torch.as_tensor(np.sort(chosen), dtype=torch.long)


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
