"""JNE above a linear-surrogate null.

A nonlinear encoder fitted to purely linear responses still has Jacobians
that vary across stimuli, so it shows a JNE well above 0. The null model
is the same architecture refitted to responses simulated from the ridge
fit plus resampled residuals (fitted in ``jne.models``). Its JNE is the
floor that a voxel's JNE should exceed. This module compares the two, per
voxel and per ROI.

With n_null null fits, the p-value of a voxel is the fraction of null
JNE values at least as large as the observed one, counting the observed
value as one of them: ``(1 + #{null >= jne}) / (1 + n_null)``. Its
smallest possible value is ``1 / (1 + n_null)``.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from jne.errors import DataError
from jne.jacobian.roi import group_by_roi


@dataclass
class NullComparison:
    """JNE against its linear-surrogate null.

    Attributes
    ----------
    voxel_table : pandas.DataFrame
        One row per voxel: ``jne``, ``null_mean``, ``null_std`` (NaN for
        one null fit), ``excess`` (``jne - null_mean``), ``ratio``
        (``jne / null_mean``, NaN where the null is 0) and ``p_value``.
    roi_table : pandas.DataFrame or None
        The same columns per ROI, from the ROI means of the observed and
        of each null map, plus ``roi`` and ``n_voxels``.
    n_null : int
    """

    voxel_table: pd.DataFrame
    roi_table: pd.DataFrame | None
    n_null: int


def _compare(observed, null):
    """Compare observed values (n,) with null values (n_null, n)."""
    n_null = null.shape[0]
    null_mean = null.mean(axis=0)
    if n_null > 1:
        null_std = null.std(axis=0, ddof=1)
    else:
        null_std = np.full(observed.shape, np.nan)
    ratio = np.full(observed.shape, np.nan)
    np.divide(observed, null_mean, out=ratio, where=null_mean > 0)
    exceed = (null >= observed).sum(axis=0)
    return {
        "jne": observed,
        "null_mean": null_mean,
        "null_std": null_std,
        "excess": observed - null_mean,
        "ratio": ratio,
        "p_value": (1 + exceed) / (1 + n_null),
    }


def jne_above_null(jne, null_jne, *, roi=None, voxel_ids=None):
    """Compare JNE with the JNE of linear-surrogate null fits.

    Parameters
    ----------
    jne : array of shape (n_voxels,)
        JNE of the encoding model.
    null_jne : array of shape (n_voxels,) or (n_null, n_voxels)
        JNE of each null fit on the same voxels and stimuli.
    roi : array of str of shape (n_voxels,), optional
        ROI name per voxel, ``""`` outside every ROI. Adds ``roi_table``.
    voxel_ids : array of shape (n_voxels,), optional
        Identifier written in the ``voxel`` column. Positions by default.

    Returns
    -------
    NullComparison
    """
    jne = np.asarray(jne, dtype=np.float64)
    null = np.asarray(null_jne, dtype=np.float64)
    if null.ndim == 1:
        null = null[np.newaxis]
    if jne.ndim != 1 or null.ndim != 2 or null.shape[1] != jne.shape[0]:
        raise DataError(
            f"Invalid null JNE of shape {np.shape(null_jne)} for JNE of "
            f"shape {jne.shape}: expected (n_voxels,) or (n_null, "
            "n_voxels) on the same voxels."
        )
    columns = _compare(jne, null)
    voxel = np.arange(len(jne)) if voxel_ids is None else voxel_ids
    voxel_table = pd.DataFrame({"voxel": voxel, **columns})

    roi_table = None
    groups = group_by_roi(roi, len(jne)) if roi is not None else {}
    if groups:
        observed = np.array([jne[index].mean() for index in groups.values()])
        null_means = np.stack(
            [null[:, index].mean(axis=1) for index in groups.values()],
            axis=1,
        )
        roi_table = pd.DataFrame(
            {
                "roi": list(groups),
                "n_voxels": [len(index) for index in groups.values()],
                **_compare(observed, null_means.reshape(null.shape[0], -1)),
            }
        )
    return NullComparison(voxel_table, roi_table, null.shape[0])
