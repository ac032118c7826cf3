"""Figure creation, colour scales and atomic saving shared by the report.

Figures are built on :class:`matplotlib.figure.Figure` objects without
pyplot, so nothing stays registered in pyplot's figure manager and a
long report run does not accumulate open figures.
"""

import contextlib
import gc
import logging
import textwrap
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from jne._atomic import atomic_path
from jne.errors import ConfigError

from .context import SIMULATED_NOTE, figure_title

logger = logging.getLogger(__name__)

VECTOR_FORMATS = ("svg", "pdf")
# Inches kept free at the right of map figures for the colour bar.
BAR_WIDTH = 1.3
FONT_SIZE = 9
TITLE_SIZE = 11
SIMULATED_COLOR = "#b2182b"

# Colours of the ROI groups in hierarchy figures, early to higher.
GROUP_COLORS = ["#4575b4", "#91bfdb", "#fc8d59", "#d73027", "#7f3b08"]


def new_figure(width, height):
    """Return a Figure of ``width`` x ``height`` inches with an Agg canvas.

    The figure is not registered with pyplot, so it is freed when the
    last reference goes. :func:`save_figure` clears it.
    """
    figure = Figure(figsize=(width, height))
    FigureCanvasAgg(figure)
    figure.set_facecolor("white")
    return figure


def add_simulated_footer(figure, label):
    """Write :data:`SIMULATED_NOTE` in the bottom-left corner if simulated."""
    if label is not None and label.simulated:
        figure.text(
            0.005,
            0.005,
            f"{SIMULATED_NOTE}: not brain data",
            ha="left",
            va="bottom",
            fontsize=FONT_SIZE,
            color=SIMULATED_COLOR,
            weight="bold",
        )


def finish_map_figure(
    figure, png_path, *, quantity, norm, extend, width, title, label,
    threshold_text, vector_format, dpi,
):
    """Add the colour bar, title and footer of a brain map, then save it.

    Shared by the surface, category and volume map figures. ``width`` is
    the figure width in inches, which also sets where the title wraps.

    Returns
    -------
    list of Path
        As :func:`save_figure`.
    """
    add_colour_bar(figure, quantity, norm, extend, width)
    figure.suptitle(
        figure_title(title, label, threshold_text, width=int(width * 11)),
        fontsize=TITLE_SIZE,
    )
    add_simulated_footer(figure, label)
    return save_figure(
        figure, png_path, vector_format=vector_format, dpi=dpi
    )


def save_note_figure(
    png_path, title, note, *, label=None, dpi=100, vector_format="svg"
):
    """Write a figure that states why there is nothing to plot.

    Used when, for example, no voxel passed the significance test. The
    file still exists, so the workflow's declared outputs are complete,
    and a reader who opens it finds the reason, not an empty plot.
    """
    figure = new_figure(6.0, 2.4)
    figure.suptitle(figure_title(title, label, width=70), fontsize=FONT_SIZE + 1)
    figure.text(
        0.5, 0.45, textwrap.fill(note, 60), ha="center", va="center",
        fontsize=FONT_SIZE + 1,
    )
    add_simulated_footer(figure, label)
    logger.info("Nothing to plot in %s: %s", png_path, note)
    return save_figure(
        figure, png_path, vector_format=vector_format, dpi=dpi
    )


def save_figure(figure, png_path, *, vector_format="svg", dpi=100):
    """Write a figure as PNG and, optionally, a vector file next to it.

    Parameters
    ----------
    figure : matplotlib.figure.Figure
    png_path : str or Path
        Destination of the PNG. The vector file gets the same stem and the
        suffix ``.svg`` or ``.pdf``.
    vector_format : {"svg", "pdf"} or None
        Vector format to write as well; None writes the PNG only. Artists
        marked ``rasterized`` (brain surfaces, dense scatters) are embedded
        as images at ``dpi`` inside the vector file, text stays vector.
    dpi : int
        Resolution of the PNG and of rasterized artists, in dots per inch.

    Returns
    -------
    list of Path
        The files written, PNG first.
    """
    png_path = Path(png_path)
    if png_path.suffix.lower() != ".png":
        raise ConfigError(
            f"Figure path {png_path} must end in .png; the vector copy "
            "is named after it."
        )
    if vector_format is not None and vector_format not in VECTOR_FORMATS:
        raise ConfigError(
            f"Invalid vector format {vector_format!r}: use "
            f"{' or '.join(VECTOR_FORMATS)}, or None for PNG only."
        )
    paths = [png_path]
    if vector_format is not None:
        paths.append(png_path.with_suffix(f".{vector_format}"))
    try:
        for path in paths:
            with atomic_path(path) as tmp:
                figure.savefig(
                    tmp,
                    dpi=dpi,
                    format=path.suffix[1:],
                    facecolor="white",
                    metadata=_metadata(path.suffix[1:]),
                )
    finally:
        figure.clear()
    logger.info("Wrote %s", ", ".join(str(p) for p in paths))
    return paths


def _metadata(fmt):
    # Fixed metadata keeps SVG and PDF files free of creation dates, so
    # that rerunning a report does not change files that did not change.
    if fmt == "svg":
        return {"Date": None}
    if fmt == "pdf":
        return {"CreationDate": None}
    return {}


def colour_scale(values, quantity, vmin=None, vmax=None):
    """Choose colour limits for ``values`` and return a Normalize.

    Sequential quantities run from ``quantity.lower`` (or the minimum) to
    the 99th percentile of the finite values, so that single outliers do
    not wash out the map. Diverging quantities get limits symmetric around
    0 (the larger magnitude of ``vmin`` and ``vmax`` when given).

    Parameters
    ----------
    values : array
        Finite and NaN values; NaN is ignored.
    quantity : Quantity
    vmin, vmax : float, optional
        Fixed limits that override the automatic choice.

    Returns
    -------
    norm : matplotlib.colors.Normalize
    extend : {"neither", "min", "max", "both"}
        Colour-bar extension marking clipped values.
    """
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    if quantity.diverging:
        # Symmetric limits: nilearn rescales linearly between vmin and
        # vmax, which matches a centred colour map only when vmin = -vmax.
        if vmax is None and vmin is None:
            vmax = _robust_max(np.abs(finite)) if finite.size else 1.0
        vmax = max(abs(float(v)) for v in (vmin, vmax) if v is not None)
        vmax = vmax if vmax > 0 else 1.0
        norm = Normalize(vmin=-vmax, vmax=vmax)
    else:
        if vmin is None:
            if quantity.lower is not None:
                vmin = quantity.lower
            else:
                vmin = float(finite.min()) if finite.size else 0.0
        if vmax is None:
            vmax = _robust_max(finite) if finite.size else vmin + 1.0
        if vmax <= vmin:
            vmax = vmin + (abs(vmin) if vmin else 1.0)
        norm = Normalize(vmin=float(vmin), vmax=float(vmax))
    low = finite.size and finite.min() < norm.vmin
    high = finite.size and finite.max() > norm.vmax
    extend = {
        (False, False): "neither",
        (True, False): "min",
        (False, True): "max",
        (True, True): "both",
    }[(bool(low), bool(high))]
    return norm, extend


def _robust_max(values):
    top = float(np.percentile(values, 99))
    if top <= 0:
        top = float(values.max())
    return top if top > 0 else 1.0


def format_p(p):
    """Format a p-value for a figure: ``p = 0.012`` or ``p < 1e-16``."""
    if not np.isfinite(p):
        return "p = n/a"
    if p < 1e-16:
        return "p < 1e-16"
    if p < 1e-3:
        return f"p = {p:.1e}"
    return f"p = {p:.3f}"


def mask_insignificant(values, significant, significance_label):
    """Set non-significant voxels to NaN and describe the thresholding.

    Parameters
    ----------
    values : array of shape (..., n_voxels)
    significant : array of bool of shape (n_voxels,) or None
        None keeps every voxel.
    significance_label : str
        How significance was decided, for the returned text.

    Returns
    -------
    masked : array of float of the shape of ``values``
    text : str
        E.g. "coloured: significant voxels (120 of 300)".
    """
    masked = np.array(values, dtype=float)
    if significant is None:
        return masked, "all analysed voxels"
    significant = np.asarray(significant, bool)
    masked[..., ~significant] = np.nan
    text = (
        f"coloured: {significance_label} "
        f"({int(significant.sum())} of {significant.size})"
    )
    return masked, text


def add_colour_bar(figure, quantity, norm, extend, width):
    """Add a vertical colour bar in the right :data:`BAR_WIDTH` inches."""
    axes = figure.add_axes(
        ((width - BAR_WIDTH + 0.3) / width, 0.2, 0.18 / width, 0.5)
    )
    mappable = ScalarMappable(norm=norm, cmap=colormaps[quantity.cmap])
    bar = figure.colorbar(mappable, cax=axes, extend=extend)
    bar.set_label(quantity.units, fontsize=FONT_SIZE)
    bar.ax.tick_params(labelsize=FONT_SIZE - 1)
    return bar


@contextlib.contextmanager
def frozen_gc():
    """Freeze the objects that exist now out of garbage collection.

    nilearn 0.13.1 calls ``gc.collect()`` each time it reads image data,
    which costs about 0.15 s per call once nilearn and its dependencies
    are imported, and an MNI volume figure with five ROIs reads images 16
    times. Frozen
    objects are skipped by those collections and unfrozen on exit.
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
