"""JNE across encoding models fitted with different seeds.

A single fit gives one JNE map, and its seed-to-seed spread is unknown.
Fitting the same architecture with several seeds and aggregating the
maps gives the mean and the spread per voxel.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from jne.errors import DataError


@dataclass
class SeedSummary:
    """Mean and spread of a per-voxel value across seeds.

    Attributes
    ----------
    mean : ndarray of shape (n_voxels,)
    std : ndarray of shape (n_voxels,)
        Standard deviation across seeds (ddof = 1), NaN for one seed.
    n_seeds : int
    """

    mean: np.ndarray
    std: np.ndarray
    n_seeds: int


def aggregate_seeds(values):
    """Summarise per-voxel values of several seeds.

    Parameters
    ----------
    values : array of shape (n_seeds, n_voxels)

    Returns
    -------
    SeedSummary
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2 or values.shape[0] < 1:
        raise DataError(
            f"Invalid seed values of shape {values.shape}: expected "
            "(n_seeds, n_voxels) with at least one seed."
        )
    n_seeds = values.shape[0]
    if n_seeds > 1:
        std = values.std(axis=0, ddof=1)
    else:
        std = np.full(values.shape[1], np.nan)
    return SeedSummary(values.mean(axis=0), std, n_seeds)


def ensemble_table(results, voxel_ids=None):
    """Tabulate JNE across seeds, one row per voxel.

    Parameters
    ----------
    results : sequence of JNEResult
        One result per seed, computed on the same voxels and stimuli.
    voxel_ids : array of shape (n_voxels,), optional
        Identifier written in the ``voxel`` column. The model output
        columns (``JNEResult.voxels``) by default.

    Returns
    -------
    pandas.DataFrame
        Columns ``voxel``, ``jne_mean``, ``jne_std``,
        ``jne_normalised_mean``, ``jne_normalised_std``,
        ``mean_jacobian_l1_mean`` and ``n_seeds``.
    """
    results = list(results)
    if not results:
        raise DataError("ensemble_table needs at least one JNE result.")
    voxels = results[0].voxels
    for index, result in enumerate(results[1:], start=1):
        if not np.array_equal(result.voxels, voxels):
            raise DataError(
                f"JNE result {index} covers other voxels than result 0: "
                "compute every seed on the same voxels."
            )
    jne = aggregate_seeds([r.jne for r in results])
    normalised = aggregate_seeds([r.jne_normalised for r in results])
    gain = aggregate_seeds([r.mean_jacobian_l1 for r in results])
    return pd.DataFrame(
        {
            "voxel": voxels if voxel_ids is None else voxel_ids,
            "jne_mean": jne.mean,
            "jne_std": jne.std,
            "jne_normalised_mean": normalised.mean,
            "jne_normalised_std": normalised.std,
            "mean_jacobian_l1_mean": gain.mean,
            "n_seeds": jne.n_seeds,
        }
    )
