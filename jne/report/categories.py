"""JNE-SS by stimulus category and ROI.

JNE-SS of a voxel, averaged over the stimuli of a category, measures how
much that category contributes to the voxel's JNE (Gao et al., NeurIPS
2025).
:func:`category_roi_matrix` averages it over the voxels of each ROI;
:func:`plot_category_heatmap` shows the matrix raw and normalised within
ROI, where the normalised value is log2 of the category's JNE-SS over the
ROI's mean across categories (0 = average for that ROI, +1 = twice the
average).
"""

import logging

import numpy as np
import pandas as pd

from jne._atomic import write_table
from jne.errors import DataError

from .context import figure_title
from .roi import roi_masks
from .style import (
    save_note_figure,
    FONT_SIZE, TITLE_SIZE, add_simulated_footer, new_figure, save_figure,
)

logger = logging.getLogger(__name__)


def category_roi_matrix(
    jne_ss, categories, atlas, *, rois=None, roi_groups=None,
    significant=None,
):
    """Average JNE-SS per category over the voxels of each ROI.

    Parameters
    ----------
    jne_ss : array of shape (n_categories, n_voxels)
        JNE-SS averaged over the stimuli of each category.
    categories : list of str
    atlas : jne.dataset.Atlas
    rois : list of str, optional
        ROIs and their order; default the ROIs of ``roi_groups``, else
        every ROI of the atlas.
    roi_groups : dict of str to list of str, optional
    significant : array of bool of shape (n_voxels,), optional
        Only these voxels are averaged.

    Returns
    -------
    DataFrame of shape (n_categories, n_rois)
        Mean JNE-SS, index ``categories``, columns ROI names. ROIs without
        voxels are left out.
    """
    jne_ss = np.asarray(jne_ss, float)
    if jne_ss.ndim != 2 or jne_ss.shape != (
        len(categories), len(atlas.labels)
    ):
        raise DataError(
            f"jne_ss has shape {jne_ss.shape}, expected "
            f"({len(categories)}, {len(atlas.labels)}): one row per "
            "category and one column per voxel."
        )
    if rois is None and roi_groups:
        rois = [roi for group in roi_groups.values() for roi in group]
    keep = np.ones(jne_ss.shape[1], bool)
    if significant is not None:
        keep &= np.asarray(significant, bool)
    columns = {}
    for roi, mask in roi_masks(atlas, rois).items():
        used = mask & keep
        if used.any():
            columns[roi] = np.nanmean(jne_ss[:, used], axis=1)
        else:
            logger.info("ROI %s has no voxels for the JNE-SS matrix", roi)
    return pd.DataFrame(columns, index=pd.Index(categories, name="category"))


def normalise_within_roi(matrix):
    """Return log2 of each entry over its ROI's mean across categories."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log2(matrix / matrix.mean(axis=0))


def plot_category_heatmap(
    matrix, png_path, *, label, dpi=100, vector_format="svg",
):
    """Plot JNE-SS by category and ROI, raw and normalised within ROI.

    Parameters
    ----------
    matrix : DataFrame of shape (n_categories, n_rois)
        From :func:`category_roi_matrix`.
    png_path : str or Path
    label : DataLabel
    dpi : int
    vector_format : {"svg", "pdf"} or None

    Returns
    -------
    list of Path
    """
    n_categories, n_rois = matrix.shape
    if n_rois == 0 or n_categories == 0:
        return save_note_figure(
            png_path,
            "JNE-SS by stimulus category and ROI",
            "No ROI has a voxel that passed the significance test, so there "
            "is no JNE-SS to show.",
            label=label,
            dpi=dpi,
            vector_format=vector_format,
        )
    cell = 0.42
    panel_width = max(3.5, n_rois * cell)
    width = 2 * panel_width + 3.8
    height = max(3.2, n_categories * cell + 2.3)
    figure = new_figure(width, height)
    normalised = normalise_within_roi(matrix)
    limit = np.nanmax(np.abs(normalised.to_numpy()))
    limit = limit if np.isfinite(limit) and limit > 0 else 1.0
    panels = (
        (matrix, "YlOrRd", None, None, "Mean JNE-SS", "JNE-SS (a.u.²)"),
        (normalised, "RdBu_r", -limit, limit, "Normalised within ROI",
         "log2(JNE-SS / ROI mean over categories)"),
    )
    bottom = 1.1 / height
    panel_height = n_categories * cell / height
    for index, (values, cmap, vmin, vmax, title, units) in enumerate(panels):
        left = (1.4 + index * (panel_width + 1.9)) / width
        axes = figure.add_axes(
            (left, bottom, panel_width / width, panel_height)
        )
        image = axes.imshow(values.to_numpy(), cmap=cmap, vmin=vmin,
                            vmax=vmax, aspect="auto",
                            interpolation="nearest")
        axes.set_xticks(np.arange(n_rois), values.columns, rotation=60,
                        ha="right", fontsize=FONT_SIZE - 1)
        axes.set_yticks(np.arange(n_categories), values.index,
                        fontsize=FONT_SIZE - 1)
        axes.set_title(title, fontsize=FONT_SIZE + 1)
        bar = figure.colorbar(image, ax=axes, fraction=0.06, pad=0.02)
        bar.set_label(units, fontsize=FONT_SIZE - 1)
        bar.ax.tick_params(labelsize=FONT_SIZE - 2)
        if index == 1:
            _mark_maxima(axes, values)
    figure.suptitle(
        figure_title("JNE-SS by stimulus category and ROI", label,
                     width=int(width * 11)),
        fontsize=TITLE_SIZE,
    )
    add_simulated_footer(figure, label)
    return save_figure(figure, png_path, vector_format=vector_format,
                       dpi=dpi)


def _mark_maxima(axes, normalised):
    # A dot on each ROI's category with the highest relative JNE-SS.
    values = normalised.to_numpy()
    for column in range(values.shape[1]):
        if np.isfinite(values[:, column]).any():
            row = int(np.nanargmax(values[:, column]))
            axes.plot(column, row, "o", color="black", markersize=3)


def category_table(matrix, label=None):
    """Return the matrix in long form, one row per ROI and category.

    Columns: ``roi``, ``category``, ``jne_ss_mean``,
    ``jne_ss_log2_ratio`` (log2 over the ROI's mean across categories)
    and, with a label, ``responses`` and the data label fields.
    """
    normalised = normalise_within_roi(matrix)
    rows = [
        {
            "roi": roi,
            "category": category,
            "jne_ss_mean": matrix.loc[category, roi],
            "jne_ss_log2_ratio": normalised.loc[category, roi],
        }
        for roi in matrix.columns
        for category in matrix.index
    ]
    table = pd.DataFrame(
        rows,
        columns=["roi", "category", "jne_ss_mean", "jne_ss_log2_ratio"],
    )
    if label is not None:
        table = label.add_columns(table)
    return table


def write_category_table(path, matrix, label=None):
    """Write :func:`category_table` as TSV, atomically."""
    table = category_table(matrix, label)
    write_table(path, table, float_format="%.6g")
    logger.info("Wrote JNE-SS category table to %s", path)
    return path
