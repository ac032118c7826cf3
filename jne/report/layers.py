"""Results across feature layers: JNE per ROI and test R² by layer.

When models are fitted on several layers of the feature extractor, the
layer figure shows the median JNE of each ROI by layer (left panel). The
right panel shows the median test R² of the linear and nonlinear models
by layer, with the interquartile range of the voxels as a band.
"""

import logging
from dataclasses import replace

import numpy as np
import pandas as pd

from jne.errors import DataError

from .context import figure_title
from .style import (
    FONT_SIZE, GROUP_COLORS, TITLE_SIZE, add_simulated_footer, new_figure,
    save_figure,
)

logger = logging.getLogger(__name__)

_LINESTYLES = ("-", "--", ":", "-.")


def layer_table(roi_tables, r2_by_layer=None, label=None):
    """Combine per-layer results into one long table.

    Parameters
    ----------
    roi_tables : dict of str to DataFrame
        :func:`jne.report.roi.roi_table` of each layer, in layer order.
    r2_by_layer : dict of str to dict, optional
        Per layer: ``"linear"`` and ``"nonlinear"`` test R² arrays of
        shape (n_voxels,) and optionally ``"significant"``.
    label : DataLabel, optional

    Returns
    -------
    DataFrame
        One row per layer and ROI with ``layer``, ``roi``, ``group``,
        ``n_used``, ``jne_median`` and its CI, plus, when ``r2_by_layer``
        is given, one row per layer with ``roi = "all voxels"`` holding
        ``r2_linear_median`` and ``r2_nonlinear_median`` over every
        analysed voxel.
    """
    parts = []
    for layer, table in roi_tables.items():
        columns = [
            c for c in ("roi", "group", "n_used", "jne_median",
                        "jne_median_ci_low", "jne_median_ci_high")
            if c in table
        ]
        parts.append(table[columns].assign(layer=str(layer)))
    for layer, r2 in (r2_by_layer or {}).items():
        parts.append(pd.DataFrame([{
            "layer": str(layer),
            "roi": "all voxels",
            "r2_linear_median": float(np.nanmedian(r2["linear"])),
            "r2_nonlinear_median": float(np.nanmedian(r2["nonlinear"])),
        }]))
    table = pd.concat(parts, ignore_index=True)
    first = ["layer", "roi"]
    table = table[first + [c for c in table if c not in first]]
    if label is not None:
        table = label.add_columns(table, skip=("layer",))
    return table


def plot_layers(
    roi_tables,
    png_path,
    *,
    label,
    r2_by_layer=None,
    dpi=100,
    vector_format="svg",
):
    """Plot median JNE per ROI and test R² of both models by layer.

    Parameters
    ----------
    roi_tables : dict of str to DataFrame
        :func:`jne.report.roi.roi_table` of each layer, in layer order.
        Rows with the same ``roi`` are joined across layers; ``group``
        sets the colour.
    png_path : str or Path
    label : DataLabel
        Its ``layer`` field is ignored.
    r2_by_layer : dict of str to dict, optional
        Per layer: ``"linear"`` and ``"nonlinear"`` arrays of shape
        (n_voxels,); the right panel is drawn only when given.
    dpi : int
    vector_format : {"svg", "pdf"} or None

    Returns
    -------
    list of Path
    """
    if not roi_tables:
        raise DataError("plot_layers needs the ROI table of at least one "
                        "layer.")
    layers = [str(layer) for layer in roi_tables]
    x = np.arange(len(layers))
    n_panels = 2 if r2_by_layer else 1
    figure = new_figure(5.5 * n_panels + 1.5, 5.0)
    axes = figure.add_axes((0.08 if n_panels == 2 else 0.12, 0.14,
                            0.3 if n_panels == 2 else 0.55, 0.66))
    _draw_jne(axes, roi_tables, x, layers)
    if r2_by_layer:
        r2_axes = figure.add_axes((0.6, 0.14, 0.36, 0.66))
        _draw_r2(r2_axes, r2_by_layer, layers)
    figure.suptitle(
        figure_title("Results by feature layer", _without_layer(label),
                     "significant voxels for JNE, all analysed voxels for R²",
                     width=int(figure.get_figwidth() * 11)),
        fontsize=TITLE_SIZE,
    )
    add_simulated_footer(figure, label)
    return save_figure(figure, png_path, vector_format=vector_format,
                       dpi=dpi)


def _draw_jne(axes, roi_tables, x, layers):
    tables = list(roi_tables.values())
    rois = list(dict.fromkeys(r for t in tables for r in t["roi"]))
    groups = list(dict.fromkeys(
        g for t in tables for g in t.get("group", pd.Series([""] * len(t)))
    ))
    seen_in_group = {}
    for roi in rois:
        medians = []
        group = ""
        for table in tables:
            row = table[table["roi"] == roi]
            medians.append(row["jne_median"].iloc[0] if len(row) else np.nan)
            if len(row) and "group" in row:
                group = row["group"].iloc[0]
        colour = GROUP_COLORS[groups.index(group) % len(GROUP_COLORS)]
        style = _LINESTYLES[seen_in_group.get(group, 0) % len(_LINESTYLES)]
        seen_in_group[group] = seen_in_group.get(group, 0) + 1
        axes.plot(x, medians, marker="o", markersize=3, linewidth=1.2,
                  color=colour, linestyle=style, label=roi)
    axes.set_xticks(x, layers, fontsize=FONT_SIZE - 1)
    axes.set_xlabel("feature layer", fontsize=FONT_SIZE)
    axes.set_ylabel("median JNE (a.u.)", fontsize=FONT_SIZE)
    axes.set_title("Median JNE per ROI", fontsize=FONT_SIZE + 1)
    axes.spines[["top", "right"]].set_visible(False)
    axes.legend(fontsize=FONT_SIZE - 2, frameon=False, ncol=2,
                bbox_to_anchor=(1.0, 1.0), loc="upper left")


def _draw_r2(axes, r2_by_layer, layers):
    x = np.arange(len(layers))
    for model, colour in (("linear", "#4575b4"), ("nonlinear", "#d73027")):
        quartiles = np.array([
            np.nanpercentile(r2_by_layer[layer][model], [25, 50, 75])
            if layer in r2_by_layer else [np.nan] * 3
            for layer in layers
        ])
        axes.plot(x, quartiles[:, 1], marker="o", markersize=3,
                  color=colour, label=f"{model} model (median)")
        axes.fill_between(x, quartiles[:, 0], quartiles[:, 2],
                          color=colour, alpha=0.15, linewidth=0)
    axes.set_xticks(x, layers, fontsize=FONT_SIZE - 1)
    axes.set_xlabel("feature layer", fontsize=FONT_SIZE)
    axes.set_ylabel("test R² (fraction of variance)", fontsize=FONT_SIZE)
    axes.set_title("Test R², median and interquartile range",
                   fontsize=FONT_SIZE + 1)
    axes.spines[["top", "right"]].set_visible(False)
    axes.legend(fontsize=FONT_SIZE - 1, frameon=False)


def _without_layer(label):
    return replace(label, layer=None)
