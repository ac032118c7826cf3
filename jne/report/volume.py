"""Volume figures: slices, glass brain and a projection to fsaverage.

Volume data come either in MNI152 space (``template="MNI152"``) or in a
subject's native space (``template="native"``, e.g. NSD's func1pt8mm
grid). Only MNI data can be drawn on the MNI152 template that nilearn
ships, as a glass brain, or projected to fsaverage, so native data get
slices over their own background only.

Projection settings (:data:`PROJECTION`) are passed to
:func:`nilearn.surface.vol_to_surf`. Each vertex is sampled at five
cortical depths (0, 0.25, 0.5, 0.75 and 1 of the way from the pial to the
white surface of fsaverage5) with trilinear interpolation. Its value is
the mean of the samples that fall inside the analysed voxels (only the
significant ones for thresholded maps). Vertices with no such sample are
left uncoloured. ROI labels take the
label of the voxel that contains each vertex's mid-thickness point.
"""

import functools
import logging
import time
import warnings

import nibabel as nib
import numpy as np

from jne.errors import ConfigError

from .context import get_quantity
from .placement import scatter_to_grid
from .meshes import load_template
from .style import (
    BAR_WIDTH, FONT_SIZE, colour_scale, finish_map_figure, frozen_gc,
    mask_insignificant, new_figure,
)
from .surface_render import render_view, show_image

logger = logging.getLogger(__name__)

TEMPLATES = ("native", "MNI152")
PROJECTION = {
    "kind": "depth",
    "depth": (0.0, 0.25, 0.5, 0.75, 1.0),
    "interpolation": "linear",
}
PROJECTION_VIEWS = (
    ("L", "lateral"), ("L", "medial"), ("L", "ventral"),
    ("R", "lateral"), ("R", "medial"), ("R", "ventral"),
)
MAX_OUTLINED_ROIS = 40


def project_to_surface(
    values, space, *, template="fsaverage5", mask=None, labels=False,
    settings=None,
):
    """Project per-voxel values of an MNI-space volume onto a surface.

    Parameters
    ----------
    values : array of shape (n_voxels,)
        Values of the analysed voxels; NaN voxels are ignored.
    space : jne.dataset.Space
        A volume space whose affine maps to MNI152 millimetres.
    template : str or SurfaceTemplate
        Target surface; it needs pial and white surfaces.
    mask : array of bool of shape (n_voxels,), optional
        Voxels allowed to contribute (default: every finite value).
    labels : bool
        Treat ``values`` as integer ROI labels: each vertex takes the
        label of the voxel that contains its mid-thickness point, and
        ``settings`` and ``mask`` are not used.
    settings : dict, optional
        Keyword arguments for :func:`nilearn.surface.vol_to_surf`;
        default :data:`PROJECTION`.

    Returns
    -------
    dict of str to array of shape (n_template_vertices,)
        ``"L"`` and ``"R"``; NaN where no sample hit a contributing voxel.
    """
    from nilearn.surface import vol_to_surf

    if isinstance(template, str):
        template = load_template(template)
    settings = dict(PROJECTION if settings is None else settings)
    values = np.asarray(values, float)
    keep = np.isfinite(values)
    if mask is not None:
        keep &= np.asarray(mask, bool)
    for surface in template.hemispheres.values():
        if surface.pial is None or surface.white is None:
            raise ConfigError(
                f"Template {template.name!r} has no pial and white "
                "surfaces, which the projection needs. Use fsaverage5."
            )
    affine = np.asarray(space.affine, float)
    grid = scatter_to_grid(values, space)
    if labels:
        return {
            hemi: _labels_at_midthickness(grid, affine, surface)
            for hemi, surface in template.hemispheres.items()
        }
    mask_grid = scatter_to_grid(keep.astype(np.float32), space) == 1
    mask_image = nib.Nifti1Image(mask_grid.astype(np.int8), affine)
    image = nib.Nifti1Image(grid, affine)
    projected = {}
    for hemi, surface in template.hemispheres.items():
        with warnings.catch_warnings():
            # Vertices far from every analysed voxel average no samples.
            warnings.simplefilter("ignore", RuntimeWarning)
            projected[hemi] = vol_to_surf(
                image, surface.pial, inner_mesh=surface.white,
                mask_img=mask_image, **settings,
            )
    return projected


def _labels_at_midthickness(grid, affine, surface):
    # nilearn 0.13.1's "nearest_most_frequent" raises when every sample of
    # a vertex falls outside the image, which is the usual case for a
    # partial-brain grid, so labels use the voxel that contains the point
    # halfway between the pial and white surfaces.
    midpoint = (surface.pial[0] + surface.white[0]) / 2
    homogeneous = np.c_[midpoint, np.ones(len(midpoint))]
    ijk = np.rint(homogeneous @ np.linalg.inv(affine).T)[:, :3].astype(int)
    inside = np.all((ijk >= 0) & (ijk < np.array(grid.shape[:3])), axis=1)
    labels = np.full(len(midpoint), np.nan)
    labels[inside] = grid[ijk[inside, 0], ijk[inside, 1], ijk[inside, 2]]
    return labels


def plot_volume_map(
    values,
    space,
    png_path,
    *,
    quantity,
    label,
    template="native",
    atlas=None,
    significant=None,
    significance_label="significant voxels",
    background=None,
    vmin=None,
    vmax=None,
    dpi=100,
    vector_format="svg",
):
    """Plot one per-voxel volume map and save it.

    Parameters
    ----------
    values : array of shape (n_voxels,)
    space : jne.dataset.Space
        A volume space.
    png_path : str or Path
    quantity : str or Quantity
    label : DataLabel
    template : {"native", "MNI152"}
        Space of the grid. "MNI152" adds the MNI152 template as
        background, a glass brain and the projection to fsaverage5;
        "native" shows slices over ``background`` only.
    atlas : jne.dataset.Atlas, optional
        ROI outlines on the slices (at most :data:`MAX_OUTLINED_ROIS`)
        and on the projection.
    significant : array of bool of shape (n_voxels,), optional
        Only these voxels are coloured.
    significance_label : str
    background : str, Path or nibabel image, optional
        Anatomical background in the same space for native data, e.g. a
        T1 or mean EPI. Default: the analysed voxels in light grey.
    vmin, vmax : float, optional
    dpi : int
    vector_format : {"svg", "pdf"} or None

    Returns
    -------
    list of Path
    """
    start = time.perf_counter()
    if template not in TEMPLATES:
        raise ConfigError(
            f"Invalid volume template {template!r}: use 'native' for data "
            "in a subject's own space or 'MNI152' for MNI-space data."
        )
    if space.kind != "volume":
        raise ConfigError(
            f"plot_volume_map needs a volume space, got {space.kind!r}; "
            "use plot_surface_map for surfaces."
        )
    quantity = get_quantity(quantity)
    masked, threshold_text = mask_insignificant(
        values, significant, significance_label
    )
    norm, extend = colour_scale(masked, quantity, vmin, vmax)
    affine = np.asarray(space.affine, float)
    image = nib.Nifti1Image(scatter_to_grid(masked, space), affine)
    style = dict(
        cmap=quantity.cmap, vmin=norm.vmin, vmax=norm.vmax,
        symmetric_cbar=False, colorbar=False,
    )

    mni = template == "MNI152"
    width = 12.0 + BAR_WIDTH
    row_heights = [2.6, 2.6] if not mni else [2.6, 1.7]
    height = 0.8 + sum(row_heights) + 0.3
    figure = new_figure(width, height)
    grid = figure.add_gridspec(
        2, 1, height_ratios=row_heights, left=0.01,
        right=(width - BAR_WIDTH) / width, top=1 - 0.8 / height,
        bottom=0.3 / height, hspace=0.2,
    )
    outlines = _roi_images(atlas, space)
    with frozen_gc():
        if mni:
            _draw_mni(figure, grid, image, outlines, style, quantity)
            _draw_projection(
                figure, grid[1], masked, space, atlas, quantity, norm, dpi
            )
            where = "MNI152"
        else:
            _draw_native(
                figure, grid, image, space, background, outlines, style
            )
            where = "native space"
    paths = finish_map_figure(
        figure, png_path, quantity=quantity, norm=norm, extend=extend,
        width=width, title=f"{quantity.title} ({where})", label=label,
        threshold_text=threshold_text, vector_format=vector_format, dpi=dpi,
    )
    logger.info(
        "Volume figure of %s for %s took %.1f s",
        quantity.key, label.text(), time.perf_counter() - start,
    )
    return paths


@functools.lru_cache(maxsize=1)
def _mni_template():
    from nilearn.datasets import load_mni152_template

    return load_mni152_template()


def _roi_images(atlas, space):
    if atlas is None:
        return []
    affine = np.asarray(space.affine, float)
    images = []
    for index in sorted(atlas.names)[:MAX_OUTLINED_ROIS]:
        inside = (np.asarray(atlas.labels) == index).astype(np.float32)
        if inside.any():
            grid = np.nan_to_num(scatter_to_grid(inside, space), nan=0.0)
            images.append(nib.Nifti1Image(grid, affine))
    return images


def _add_outlines(display, outlines):
    for roi_image in outlines:
        display.add_contours(
            roi_image, levels=[0.5], colors="black", linewidths=0.5
        )


def _draw_mni(figure, grid, image, outlines, style, quantity):
    from nilearn import plotting

    top = grid[0].subgridspec(1, 2, wspace=0.05)
    slices = figure.add_subplot(top[0, 0])
    glass = figure.add_subplot(top[0, 1])
    with warnings.catch_warnings():
        # NaN outside the analysed voxels is expected; nilearn warns and
        # treats it as 0, which the default threshold leaves uncoloured.
        warnings.simplefilter("ignore", UserWarning)
        display = plotting.plot_stat_map(
            image, bg_img=_mni_template(), axes=slices, figure=figure,
            draw_cross=False,
            black_bg=False, annotate=True, **style,
        )
        _add_outlines(display, outlines)
        plotting.plot_glass_brain(
            image, axes=glass, figure=figure, threshold=1e-6,
            plot_abs=not quantity.diverging and quantity.lower == 0,
            black_bg=False, **style,
        )
    slices.set_title("Slices on the MNI152 template", fontsize=FONT_SIZE)
    glass.set_title(
        "Glass brain (maximum intensity projection)", fontsize=FONT_SIZE
    )


def _draw_projection(figure, cell, masked, space, atlas, quantity, norm, dpi):
    template = load_template("fsaverage5")
    data = project_to_surface(masked, space, template=template)
    labels = None
    if atlas is not None:
        projected = project_to_surface(
            np.asarray(atlas.labels, float), space, template=template,
            labels=True,
        )
        labels = {
            hemi: np.nan_to_num(values, nan=0.0).astype(int)
            for hemi, values in projected.items()
        }
    row = cell.subgridspec(1, len(PROJECTION_VIEWS), wspace=0.02)
    for column, (hemi, view) in enumerate(PROJECTION_VIEWS):
        image = render_view(
            template.hemispheres[hemi], data[hemi], hemi, view,
            cmap=quantity.cmap, norm=norm,
            labels=None if labels is None else labels[hemi],
            size=(2.4, 1.8), dpi=dpi,
        )
        title = f"fsaverage5 {hemi} {view}"
        show_image(figure.add_subplot(row[0, column]), image, title)


def _draw_native(figure, grid, image, space, background, outlines, style):
    from matplotlib.colors import ListedColormap
    from nilearn import plotting

    analysed = np.ones(space.n_voxels, np.float32)
    mask = np.nan_to_num(scatter_to_grid(analysed, space), nan=0.0)
    mask_image = nib.Nifti1Image(mask, image.affine)
    slices = dict(cut_coords=7, black_bg=False, annotate=True)
    for row, mode in enumerate(("z", "y")):
        axes = figure.add_subplot(grid[row])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            if background is not None:
                display = plotting.plot_stat_map(
                    image, bg_img=background, axes=axes, figure=figure,
                    display_mode=mode, draw_cross=False, **slices, **style,
                )
            else:
                # Without an anatomical image, analysed voxels that are
                # not coloured show in light grey, so that they differ
                # from both the lowest colour and the white outside.
                display = plotting.plot_img(
                    mask_image, axes=axes, figure=figure, display_mode=mode,
                    cmap=ListedColormap(["#d4d4d4"]), threshold=0.5,
                    colorbar=False, draw_cross=False, **slices,
                )
                display.add_overlay(
                    image, threshold=1e-6, cmap=style["cmap"],
                    vmin=style["vmin"], vmax=style["vmax"],
                )
            _add_outlines(display, outlines)
        name = {"z": "Axial", "y": "Coronal"}[mode]
        axes.set_title(f"{name} slices", fontsize=FONT_SIZE)
