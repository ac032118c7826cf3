"""Surface figures: all views of one map composed into one PNG.

:func:`plot_surface_map` shows lateral, medial and ventral views of both
hemispheres on an inflated surface, plus both flat maps when the template
has them. It adds one colour bar in the map's units and ROI outlines from
the atlas, and colours only significant voxels. :func:`plot_surface_categories`
shows one flat map pair per category (JNE-SS), on a shared colour scale.
"""

import logging
import time

import numpy as np

from jne.errors import DataError

from .context import get_quantity
from .meshes import load_template
from .placement import scatter_to_mesh
from .style import (
    BAR_WIDTH, colour_scale, finish_map_figure, mask_insignificant,
    new_figure,
)
from .surface_render import draw_flat, flat_extent, render_view, show_image

logger = logging.getLogger(__name__)

VIEWS = ("lateral", "medial", "ventral")
_HEMI_NAME = {"L": "Left", "R": "Right"}


def plot_surface_map(
    values,
    space,
    png_path,
    *,
    quantity,
    label,
    atlas=None,
    significant=None,
    significance_label="significant voxels",
    template=None,
    views=VIEWS,
    flat=True,
    outline_rois=None,
    vmin=None,
    vmax=None,
    dpi=100,
    vector_format="svg",
):
    """Plot one per-vertex map on both hemispheres and save it.

    Parameters
    ----------
    values : array of shape (n_voxels,)
        Values of the analysed vertices in ``space`` order.
    space : jne.dataset.Space
        A surface space; ``space.mesh`` names the template.
    png_path : str or Path
        Output PNG; the vector copy gets the same stem.
    quantity : str or Quantity
        Sets the title, colour map and colour-bar units.
    label : DataLabel
    atlas : jne.dataset.Atlas, optional
        ROI outlines are drawn when given.
    significant : array of bool of shape (n_voxels,), optional
        Only these vertices are coloured; None colours every analysed
        vertex.
    significance_label : str
        How ``significant`` was decided, shown in the title.
    template : SurfaceTemplate, optional
        Defaults to :func:`load_template` of ``space.mesh``.
    views : sequence of str
        nilearn views drawn for each hemisphere.
    flat : bool
        Add flat maps when the template has them.
    outline_rois : list of str, optional
        Outline only these ROIs (default: every ROI of the atlas).
    vmin, vmax : float, optional
        Fixed colour limits (see :func:`jne.report.style.colour_scale`).
    dpi : int
    vector_format : {"svg", "pdf"} or None

    Returns
    -------
    list of Path
        PNG and vector file.
    """
    start = time.perf_counter()
    quantity = get_quantity(quantity)
    template = template or load_template(space.mesh)
    template.check_space(space)
    masked, threshold_text = mask_insignificant(
        values, significant, significance_label
    )
    norm, extend = colour_scale(masked, quantity, vmin, vmax)
    data = scatter_to_mesh(masked, space)
    analysed = scatter_to_mesh(np.ones(space.n_voxels), space)
    labels, roi_names = _mesh_labels(atlas, space, outline_rois)

    crops = {hemi: np.isfinite(analysed[hemi]) for hemi in ("L", "R")}
    flat_aspect = None
    if flat and template.has_flat:
        flat_aspect = max(
            _aspect(template.hemispheres[hemi].flat[0], crops[hemi])
            for hemi in ("L", "R")
        )
    figure, view_axes, flat_axes, width, height = _map_layout(
        views, flat_aspect
    )
    for hemi in ("L", "R"):
        surface = template.hemispheres[hemi]
        for view in views:
            image = render_view(
                surface, data[hemi], hemi, view,
                cmap=quantity.cmap, norm=norm,
                labels=None if labels is None else labels[hemi],
                dpi=dpi,
            )
            show_image(
                view_axes[hemi, view], image, f"{_HEMI_NAME[hemi]} {view}"
            )
        if flat_axes:
            draw_flat(
                flat_axes[hemi],
                surface,
                data[hemi],
                cmap=quantity.cmap,
                norm=norm,
                labels=None if labels is None else labels[hemi],
                roi_names=roi_names,
                crop=crops[hemi],
                title=f"{_HEMI_NAME[hemi]} flat map",
            )
    paths = finish_map_figure(
        figure, png_path, quantity=quantity, norm=norm, extend=extend,
        width=width, title=quantity.title, label=label,
        threshold_text=threshold_text, vector_format=vector_format, dpi=dpi,
    )
    logger.info(
        "Surface figure of %s for %s took %.1f s",
        quantity.key, label.text(), time.perf_counter() - start,
    )
    return paths


def plot_surface_categories(
    values,
    categories,
    space,
    png_path,
    *,
    label,
    atlas=None,
    significant=None,
    significance_label="significant voxels",
    template=None,
    quantity="jne_ss",
    n_columns=4,
    vmax=None,
    dpi=100,
    vector_format="svg",
):
    """Plot one map per category (e.g. JNE-SS) on a shared colour scale.

    Each category gets the flat maps of both hemispheres, or ventral views
    when the template has no flat map.

    Parameters
    ----------
    values : array of shape (n_categories, n_voxels)
    categories : list of str
        Name of each row.
    space, png_path, label, atlas, significant, significance_label,
    template, dpi, vector_format
        As in :func:`plot_surface_map`.
    quantity : str or Quantity
    n_columns : int
        Categories per row of the figure.
    vmax : float, optional
        Upper colour limit; default the 99th percentile over all
        categories.

    Returns
    -------
    list of Path
    """
    start = time.perf_counter()
    quantity = get_quantity(quantity)
    values = np.asarray(values, float)
    if values.ndim != 2 or values.shape[0] != len(categories):
        raise DataError(
            f"Category maps have shape {values.shape}, expected "
            f"({len(categories)}, n_voxels): one row per category."
        )
    template = template or load_template(space.mesh)
    template.check_space(space)
    masked, threshold_text = mask_insignificant(
        values, significant, significance_label
    )
    norm, extend = colour_scale(masked, quantity, None, vmax)
    data = scatter_to_mesh(masked, space)
    analysed = scatter_to_mesh(np.ones(space.n_voxels), space)
    labels, _ = _mesh_labels(atlas, space, None)

    n_columns = max(1, min(n_columns, len(categories)))
    n_rows = int(np.ceil(len(categories) / n_columns))
    cell_height = 2.4
    cell_width = 3.6
    if template.has_flat:
        aspect = max(
            _aspect(template.hemispheres[hemi].flat[0],
                    np.isfinite(analysed[hemi]))
            for hemi in ("L", "R")
        )
        cell_width = float(np.clip(2 * 2.0 / aspect + 0.3, 2.0, 5.0))
    width = n_columns * cell_width + BAR_WIDTH
    height = n_rows * cell_height + 1.45
    figure = new_figure(width, height)
    grid = figure.add_gridspec(
        n_rows, n_columns, left=0.01, right=(width - BAR_WIDTH) / width,
        top=1 - 1.15 / height, bottom=0.3 / height, hspace=0.25,
        wspace=0.08,
    )
    for index, category in enumerate(categories):
        cell = grid[index // n_columns, index % n_columns].subgridspec(
            1, 2, wspace=0.02
        )
        for column, hemi in enumerate(("L", "R")):
            axes = figure.add_subplot(cell[0, column])
            surface = template.hemispheres[hemi]
            title = f"{category} ({hemi})"
            if template.has_flat:
                draw_flat(
                    axes, surface, data[hemi][index], cmap=quantity.cmap,
                    norm=norm,
                    labels=None if labels is None else labels[hemi],
                    crop=np.isfinite(analysed[hemi]), title=title,
                )
            else:
                image = render_view(
                    surface, data[hemi][index], hemi, "ventral",
                    cmap=quantity.cmap, norm=norm,
                    labels=None if labels is None else labels[hemi],
                    dpi=dpi,
                )
                show_image(axes, image, title)
    paths = finish_map_figure(
        figure, png_path, quantity=quantity, norm=norm, extend=extend,
        width=width, title=quantity.title, label=label,
        threshold_text=threshold_text, vector_format=vector_format, dpi=dpi,
    )
    logger.info(
        "Category surface figure of %s for %s took %.1f s",
        quantity.key, label.text(), time.perf_counter() - start,
    )
    return paths


def _aspect(xy, crop):
    x0, x1, y0, y1 = flat_extent(xy, crop)
    return (y1 - y0) / (x1 - x0)


def _map_layout(views, flat_aspect):
    """Create the figure and axes of :func:`plot_surface_map`.

    3-D views fill two rows (left, right hemisphere). Flat maps taller
    than wide (the usual crop of visual cortex) go in two columns to the
    right of the views, and wider ones go in a third row below.
    """
    n_views = len(views)
    view_width, view_height = 3.0, 2.1
    # Room for a title of up to four lines above the view titles.
    title_height, bottom, bar_width = 1.15, 0.3, BAR_WIDTH
    side = flat_aspect is not None and flat_aspect > 1.2
    flat_width = 0.0
    flat_height = 0.0
    if side:
        flat_width = float(np.clip(2 * view_height / flat_aspect, 1.2, 3.0))
    elif flat_aspect is not None:
        flat_height = float(
            np.clip(n_views * view_width / 2 * flat_aspect, 1.5, 3.5)
        )
    width = n_views * view_width + 2 * flat_width + bar_width + 0.1
    height = title_height + 2 * view_height + flat_height + bottom
    figure = new_figure(width, height)
    n_columns = n_views + (2 if side else 0)
    grid = figure.add_gridspec(
        3 if flat_height else 2,
        n_columns,
        width_ratios=[view_width] * n_views
        + [flat_width] * (n_columns - n_views),
        height_ratios=[view_height] * 2
        + ([flat_height] if flat_height else []),
        left=0.01,
        right=(width - bar_width) / width,
        top=1 - title_height / height,
        bottom=bottom / height,
        hspace=0.12,
        wspace=0.03,
    )
    view_axes = {}
    for row, hemi in enumerate(("L", "R")):
        for column, view in enumerate(views):
            view_axes[hemi, view] = figure.add_subplot(grid[row, column])
    flat_axes = {}
    if side:
        for offset, hemi in enumerate(("L", "R")):
            flat_axes[hemi] = figure.add_subplot(grid[:, n_views + offset])
    elif flat_height:
        flat_grid = grid[2, :].subgridspec(1, 2, wspace=0.05)
        for column, hemi in enumerate(("L", "R")):
            flat_axes[hemi] = figure.add_subplot(flat_grid[0, column])
    return figure, view_axes, flat_axes, width, height


def _mesh_labels(atlas, space, outline_rois):
    if atlas is None:
        return None, None
    names = dict(atlas.names)
    labels = np.asarray(atlas.labels, float)
    if outline_rois is not None:
        keep = [i for i, n in names.items() if n in set(outline_rois)]
        labels = np.where(np.isin(labels, keep), labels, 0.0)
        names = {i: names[i] for i in keep}
    on_mesh = {
        hemi: np.nan_to_num(full, nan=0.0).astype(int)
        for hemi, full in scatter_to_mesh(labels, space).items()
    }
    return on_mesh, names
