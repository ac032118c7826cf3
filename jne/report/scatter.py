"""Voxel scatter plots coloured by point density.

With thousands of voxels, plain scatter plots saturate. Colouring each
point by the number of voxels in its 2-D histogram bin keeps the dense
centre readable. :func:`plot_r2_scatter` compares the test R² of the
linear and nonlinear encoding models voxel by voxel.
"""

import numpy as np
from matplotlib.colors import LogNorm
from scipy import stats

from .context import figure_title
from .style import (
    FONT_SIZE, TITLE_SIZE, add_simulated_footer, format_p, new_figure,
    save_figure,
)

DENSITY_BINS = 60


def density_scatter(axes, x, y, *, bins=DENSITY_BINS, size=6, cmap="viridis"):
    """Scatter ``y`` against ``x`` with colour = voxels per 2-D bin.

    Points are drawn densest last so the dense centre stays visible; the
    collection is rasterized in vector output.

    Returns
    -------
    matplotlib.collections.PathCollection or None
        None when no point is finite.
    """
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    finite = np.isfinite(x) & np.isfinite(y)
    x, y = x[finite], y[finite]
    if x.size == 0:
        return None
    counts, x_edges, y_edges = np.histogram2d(x, y, bins=bins)
    ix = np.clip(np.searchsorted(x_edges, x, side="right") - 1, 0, bins - 1)
    iy = np.clip(np.searchsorted(y_edges, y, side="right") - 1, 0, bins - 1)
    density = counts[ix, iy]
    order = np.argsort(density)
    return axes.scatter(
        x[order], y[order], c=density[order], s=size, cmap=cmap,
        norm=LogNorm(vmin=1, vmax=max(density.max(), 2)), linewidths=0,
        rasterized=True,
    )


def plot_r2_scatter(
    r2_linear,
    r2_nonlinear,
    png_path,
    *,
    label,
    significant=None,
    dpi=100,
    vector_format="svg",
):
    """Plot nonlinear against linear test R² per voxel.

    Significant voxels are coloured by density; the others are small grey
    points. The text box gives the median difference, the share of
    significant voxels where the nonlinear model is better, and a
    one-sided Wilcoxon signed-rank test of nonlinear > linear on the
    significant voxels.

    Parameters
    ----------
    r2_linear, r2_nonlinear : array of shape (n_voxels,)
        Test R² (fraction of variance).
    png_path : str or Path
    label : DataLabel
    significant : array of bool of shape (n_voxels,), optional
    dpi : int
    vector_format : {"svg", "pdf"} or None

    Returns
    -------
    list of Path
    """
    linear = np.asarray(r2_linear, float)
    nonlinear = np.asarray(r2_nonlinear, float)
    coloured = (
        np.ones(linear.size, bool) if significant is None
        else np.asarray(significant, bool)
    )
    figure = new_figure(6.2, 6.0)
    axes = figure.add_axes((0.13, 0.12, 0.66, 0.68))
    if (~coloured).any():
        axes.scatter(linear[~coloured], nonlinear[~coloured], s=3,
                     color="0.75", linewidths=0, rasterized=True,
                     label="not significant")
    points = density_scatter(axes, linear[coloured], nonlinear[coloured])
    finite = np.isfinite(linear) & np.isfinite(nonlinear)
    low = min(linear[finite].min(), nonlinear[finite].min(), 0.0)
    high = max(linear[finite].max(), nonlinear[finite].max())
    pad = 0.03 * (high - low)
    axes.plot([low - pad, high + pad], [low - pad, high + pad], "k--",
              linewidth=0.8, label="nonlinear = linear")
    axes.set_xlim(low - pad, high + pad)
    axes.set_ylim(low - pad, high + pad)
    axes.set_aspect("equal")
    axes.set_xlabel("Test R², linear model", fontsize=FONT_SIZE)
    axes.set_ylabel("Test R², nonlinear model", fontsize=FONT_SIZE)
    axes.legend(loc="lower right", fontsize=FONT_SIZE - 1, frameon=False)
    if points is not None:
        bar = figure.colorbar(
            points, cax=figure.add_axes((0.83, 0.12, 0.03, 0.68))
        )
        bar.set_label("significant voxels per bin", fontsize=FONT_SIZE)
    axes.text(0.02, 0.98, _difference_text(linear, nonlinear, coloured),
              transform=axes.transAxes, va="top", ha="left",
              fontsize=FONT_SIZE - 1)
    selection = (
        "all analysed voxels" if significant is None
        else f"{int(coloured.sum())} significant voxels coloured"
    )
    figure.suptitle(
        figure_title("Test R²: nonlinear versus linear model", label,
                     selection, width=68),
        fontsize=TITLE_SIZE,
    )
    add_simulated_footer(figure, label)
    return save_figure(figure, png_path, vector_format=vector_format,
                       dpi=dpi)


def _difference_text(linear, nonlinear, coloured):
    keep = coloured & np.isfinite(linear) & np.isfinite(nonlinear)
    difference = nonlinear[keep] - linear[keep]
    if difference.size == 0:
        return "no significant voxels"
    lines = [
        f"median ΔR² (nonlinear - linear) = {np.median(difference):.3g}",
        f"nonlinear better in {np.mean(difference > 0):.0%} of voxels",
    ]
    if np.any(difference != 0):
        test = stats.wilcoxon(difference, alternative="greater")
        lines.append(f"Wilcoxon signed-rank, one-sided: "
                     f"{format_p(test.pvalue)}")
    return "\n".join(lines)
