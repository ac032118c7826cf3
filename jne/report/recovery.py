"""Recovery of a known JNE on simulated data.

The demo simulates responses from a ground-truth model whose JNE is
known per voxel. :func:`recovery_table` gives the Spearman rank
correlation between recovered and true JNE over voxels and over ROI
medians; :func:`plot_recovery` shows both scatters with the correlations
in the titles.
"""

import logging

import numpy as np
import pandas as pd
from scipy import stats

from jne._atomic import write_table
from jne.errors import DataError

from .context import figure_title
from .roi import roi_masks
from .scatter import density_scatter
from .style import (
    FONT_SIZE, GROUP_COLORS, TITLE_SIZE, add_simulated_footer, new_figure,
    save_figure,
)

logger = logging.getLogger(__name__)


def roi_medians(values, atlas, *, rois=None, keep=None):
    """Return the median of ``values`` per ROI as a Series (NaN if empty)."""
    values = np.asarray(values, float)
    keep = np.ones(values.size, bool) if keep is None else keep
    medians = {}
    for roi, mask in roi_masks(atlas, rois).items():
        selected = values[mask & keep & np.isfinite(values)]
        medians[roi] = np.median(selected) if selected.size else np.nan
    return pd.Series(medians, dtype=float)


def recovery_table(
    recovered, truth, atlas, *, significant=None, rois=None,
    recovered_ss=None, truth_ss=None, label=None,
):
    """Rank-correlate recovered and true JNE per voxel and per ROI.

    Parameters
    ----------
    recovered, truth : array of shape (n_voxels,)
        JNE from the fitted model and from the ground-truth model.
    atlas : jne.dataset.Atlas
    significant : array of bool of shape (n_voxels,), optional
        Restrict to these voxels (default: all).
    rois : list of str, optional
        ROIs for the ROI-level correlation (default: all).
    recovered_ss, truth_ss : array of shape (n_categories, n_voxels),
        optional
        JNE-SS per category; adds a row correlating all entries.
    label : DataLabel, optional

    Returns
    -------
    DataFrame
        Rows ``level`` = ``"voxel"``, ``"roi"`` and, with JNE-SS,
        ``"voxel x category"``; columns ``n``, ``spearman_rho``,
        ``p_value`` (two-sided, from :func:`scipy.stats.spearmanr`),
        ``voxels_used``, and the label fields.
    """
    recovered = np.asarray(recovered, float)
    truth = np.asarray(truth, float)
    if recovered.shape != truth.shape or recovered.ndim != 1:
        raise DataError(
            f"Recovered JNE has shape {recovered.shape} and true JNE "
            f"{truth.shape}; both must be (n_voxels,)."
        )
    keep = np.isfinite(recovered) & np.isfinite(truth)
    if significant is not None:
        keep &= np.asarray(significant, bool)
    rows = [_spearman("voxel", recovered[keep], truth[keep])]
    roi_recovered = roi_medians(recovered, atlas, rois=rois, keep=keep)
    roi_truth = roi_medians(truth, atlas, rois=rois, keep=keep)
    rows.append(_spearman("roi", roi_recovered.to_numpy(),
                          roi_truth.to_numpy()))
    if recovered_ss is not None and truth_ss is not None:
        recovered_ss = np.asarray(recovered_ss, float)[:, keep].ravel()
        truth_ss = np.asarray(truth_ss, float)[:, keep].ravel()
        rows.append(_spearman("voxel x category", recovered_ss, truth_ss))
    table = pd.DataFrame(rows)
    table["voxels_used"] = "all" if significant is None else "significant"
    if label is not None:
        table = label.add_columns(table)
    return table


def _spearman(level, x, y):
    finite = np.isfinite(x) & np.isfinite(y)
    x, y = x[finite], y[finite]
    if x.size < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        rho = p = np.nan
    else:
        rho, p = stats.spearmanr(x, y)
    return {"level": level, "n": int(x.size), "spearman_rho": float(rho),
            "p_value": float(p)}


def write_recovery_table(path, table):
    """Write a :func:`recovery_table` as TSV, atomically."""
    write_table(path, table, float_format="%.6g")
    logger.info("Wrote recovery table to %s", path)
    return path


def plot_recovery(
    recovered,
    truth,
    atlas,
    png_path,
    *,
    label,
    significant=None,
    roi_groups=None,
    dpi=100,
    vector_format="svg",
):
    """Plot recovered against true JNE, per voxel and per ROI.

    Parameters
    ----------
    recovered, truth : array of shape (n_voxels,)
    atlas : jne.dataset.Atlas
    png_path : str or Path
    label : DataLabel
    significant : array of bool of shape (n_voxels,), optional
    roi_groups : dict of str to list of str, optional
        Colours ROI points by group and sets the ROIs shown.
    dpi : int
    vector_format : {"svg", "pdf"} or None

    Returns
    -------
    paths : list of Path
    table : DataFrame
        The :func:`recovery_table` shown in the titles.
    """
    rois = None
    if roi_groups:
        rois = [roi for group in roi_groups.values() for roi in group]
    table = recovery_table(recovered, truth, atlas, significant=significant,
                           rois=rois, label=label)
    rho = dict(zip(table["level"], table["spearman_rho"]))
    keep = np.isfinite(np.asarray(recovered, float))
    if significant is not None:
        keep &= np.asarray(significant, bool)

    figure = new_figure(11.0, 5.2)
    voxel_axes = figure.add_axes((0.07, 0.13, 0.36, 0.66))
    points = density_scatter(
        voxel_axes, np.asarray(truth)[keep], np.asarray(recovered)[keep]
    )
    if points is not None:
        bar = figure.colorbar(points, ax=voxel_axes, fraction=0.05, pad=0.02)
        bar.set_label("voxels per bin", fontsize=FONT_SIZE - 1)
    voxel_axes.set_title(f"Per voxel: Spearman ρ = {rho['voxel']:.3f} "
                         f"(n = {int(keep.sum())})", fontsize=FONT_SIZE + 1)
    roi_axes = figure.add_axes((0.58, 0.13, 0.38, 0.66))
    _draw_rois(roi_axes, recovered, truth, atlas, keep, roi_groups, rois)
    roi_axes.set_title(f"Per ROI (medians): Spearman ρ = {rho['roi']:.3f}",
                       fontsize=FONT_SIZE + 1)
    for axes in (voxel_axes, roi_axes):
        _identity_line(axes)
        axes.set_xlabel("true JNE of the simulation (a.u.)",
                        fontsize=FONT_SIZE)
        axes.set_ylabel("recovered JNE (a.u.)", fontsize=FONT_SIZE)
        axes.spines[["top", "right"]].set_visible(False)
    roi_axes.legend(fontsize=FONT_SIZE - 1, frameon=False, loc="upper left")
    figure.suptitle(
        figure_title(
            f"JNE recovery: Spearman ρ = {rho['voxel']:.3f} (voxels), "
            f"{rho['roi']:.3f} (ROIs)", label,
        ),
        fontsize=TITLE_SIZE,
    )
    add_simulated_footer(figure, label)
    paths = save_figure(figure, png_path, vector_format=vector_format,
                        dpi=dpi)
    return paths, table


def _identity_line(axes):
    low = min(axes.get_xlim()[0], axes.get_ylim()[0])
    high = max(axes.get_xlim()[1], axes.get_ylim()[1])
    axes.plot([low, high], [low, high], "k--", linewidth=0.8,
              label="recovered = true", zorder=0)
    axes.set_xlim(low, high)
    axes.set_ylim(low, high)


def _draw_rois(axes, recovered, truth, atlas, keep, roi_groups, rois):
    true_medians = roi_medians(truth, atlas, rois=rois, keep=keep)
    recovered_medians = roi_medians(recovered, atlas, rois=rois, keep=keep)
    group_of = {
        roi: index
        for index, members in enumerate((roi_groups or {}).values())
        for roi in members
    }
    for roi in true_medians.index:
        colour = GROUP_COLORS[group_of.get(roi, 0) % len(GROUP_COLORS)]
        axes.plot(true_medians[roi], recovered_medians[roi], "o",
                  color=colour, markersize=6, markeredgecolor="black",
                  markeredgewidth=0.5)
        axes.annotate(roi, (true_medians[roi], recovered_medians[roi]),
                      xytext=(4, 3), textcoords="offset points",
                      fontsize=FONT_SIZE - 2)
    for index, group in enumerate(roi_groups or {}):
        axes.plot([], [], "o", color=GROUP_COLORS[index],
                  markeredgecolor="black", label=group)
