"""Drawing primitives for surface figures: 3-D views and flat maps.

A 3-D view is rendered once with nilearn into an off-screen figure and
returned as a cropped RGBA image, which the composite figure then shows
with ``imshow``. Rendering each view only once keeps a composite with six
views near 3 s on one core, and the PNG and SVG of a figure embed the same
pixels, so the SVG stays small. Flat maps are drawn directly with
matplotlib's ``tripcolor``, with ROI outlines as vector lines.
"""

import warnings

import numpy as np
from matplotlib import patheffects
from matplotlib.collections import LineCollection
from matplotlib.colors import Normalize
from matplotlib.tri import Triangulation

from jne.errors import ConfigError

from .style import new_figure

_HEMI_WORD = {"L": "left", "R": "right"}
OUTLINE_COLOR = "black"

# Camera (elevation, azimuth) in degrees of each named view, the same
# angles as nilearn 0.13's matplotlib views. Passing angles instead of
# names lets render_view drop the faces that point away from the camera.
VIEW_ANGLES = {
    "L": {"lateral": (0, 180), "medial": (0, 0)},
    "R": {"lateral": (0, 0), "medial": (0, 180)},
    "both": {
        "dorsal": (90, 0),
        "ventral": (270, 0),
        "anterior": (0, 90),
        "posterior": (0, 270),
    },
}


def render_view(
    surface, data, hemi, view, *, cmap, norm, labels=None, size=(3.2, 2.4),
    dpi=100,
):
    """Render one 3-D view of one hemisphere to an RGBA image.

    Parameters
    ----------
    surface : HemisphereSurface
    data : array of shape (n_vertices,)
        Values on the full mesh; NaN vertices show the sulcal background.
    hemi : {"L", "R"}
    view : str
        A nilearn view name: "lateral", "medial", "ventral", "dorsal",
        "anterior" or "posterior".
    cmap : str
    norm : matplotlib.colors.Normalize
        Colour limits; values outside are clipped to the end colours.
    labels : array of int of shape (n_vertices,), optional
        ROI index per vertex (0 = none); ROI borders are drawn in black.
    size : tuple of float
        Size of the off-screen figure in inches.
    dpi : int

    Returns
    -------
    array of uint8 of shape (height, width, 4)
        The rendered view, cropped to the brain.
    """
    from nilearn import plotting
    from nilearn.surface import InMemoryMesh

    elevation, azimuth = view_angles(hemi, view)
    faces = front_faces(
        surface.coordinates, surface.faces, elevation, azimuth
    )
    mesh = InMemoryMesh(surface.coordinates, faces)
    figure = new_figure(*size)
    figure.set_dpi(dpi)
    axes = figure.add_axes((0, 0, 1, 1), projection="3d")
    with warnings.catch_warnings():
        # Views with no data at all are legitimate (e.g. a hemisphere
        # without analysed vertices) and only show the background.
        warnings.simplefilter("ignore", RuntimeWarning)
        plotting.plot_surf_stat_map(
            mesh,
            np.asarray(data, float),
            bg_map=surface.sulc,
            hemi=_HEMI_WORD[hemi],
            view=(elevation, azimuth),
            cmap=cmap,
            vmin=norm.vmin,
            vmax=norm.vmax,
            symmetric_cbar=False,
            colorbar=False,
            axes=axes,
            figure=figure,
        )
    if labels is not None:
        # nilearn raises for an ROI with no face in the (culled) mesh, so
        # outline only ROIs with two corners of some visible face.
        corner = np.asarray(labels)[faces]
        present = [
            int(level)
            for level in np.unique(corner)
            if level > 0 and ((corner == level).sum(axis=1) >= 2).any()
        ]
        if present:
            plotting.plot_surf_contours(
                mesh,
                labels,
                hemi=_HEMI_WORD[hemi],
                levels=present,
                colors=[OUTLINE_COLOR] * len(present),
                axes=axes,
                figure=figure,
            )
    # nilearn leaves a margin around the mesh; zoom in before cropping.
    axes.set_box_aspect(None, zoom=1.5)
    figure.canvas.draw()
    image = np.asarray(figure.canvas.buffer_rgba()).copy()
    figure.clear()
    return crop_image(image)


def view_angles(hemi, view):
    """Return the camera (elevation, azimuth) in degrees of a named view."""
    angles = {**VIEW_ANGLES[hemi], **VIEW_ANGLES["both"]}
    if view not in angles:
        raise ConfigError(
            f"Invalid surface view {view!r}: use one of "
            f"{', '.join(sorted(angles))}."
        )
    return angles[view]


def front_faces(coordinates, faces, elevation, azimuth, tolerance=0.05):
    """Return the faces that point towards a camera at the given angles.

    matplotlib draws every face of a 3-D mesh and sorts them by depth.
    Dropping the faces that point away halves that work without changing
    the picture, because those faces are hidden behind the front ones.
    Faces within ``tolerance`` (cosine) of the silhouette are kept so
    that the outline stays closed. Normals are oriented outwards first,
    taking the orientation that most faces share.
    """
    corners = coordinates[faces]
    normals = np.cross(
        corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]
    )
    lengths = np.linalg.norm(normals, axis=1)
    normals /= np.where(lengths > 0, lengths, 1.0)[:, None]
    outward = corners.mean(axis=1) - coordinates.mean(axis=0)
    if np.mean(np.sum(normals * outward, axis=1) > 0) < 0.5:
        normals = -normals
    elevation, azimuth = np.deg2rad(elevation), np.deg2rad(azimuth)
    eye = np.array(
        [
            np.cos(elevation) * np.cos(azimuth),
            np.cos(elevation) * np.sin(azimuth),
            np.sin(elevation),
        ]
    )
    return faces[normals @ eye > -tolerance]


def crop_image(image, margin=2):
    """Crop white or transparent borders off an RGBA image."""
    rgb = image[..., :3].astype(int)
    content = (rgb.sum(axis=-1) < 3 * 250) & (image[..., 3] > 0)
    if not content.any():
        return image
    rows = np.flatnonzero(content.any(axis=1))
    cols = np.flatnonzero(content.any(axis=0))
    top = max(rows[0] - margin, 0)
    bottom = min(rows[-1] + margin + 1, image.shape[0])
    left = max(cols[0] - margin, 0)
    right = min(cols[-1] + margin + 1, image.shape[1])
    return image[top:bottom, left:right]


def show_image(axes, image, title=None):
    """Show a rendered view in ``axes`` without ticks or frame."""
    axes.imshow(image, interpolation="antialiased")
    axes.set_axis_off()
    if title:
        axes.set_title(title, fontsize=9, pad=2)


def draw_flat(
    axes, surface, data, *, cmap, norm, labels=None, roi_names=None,
    crop=None, title=None,
):
    """Draw a flat map with data, sulcal background and ROI outlines.

    Parameters
    ----------
    axes : matplotlib Axes
    surface : HemisphereSurface
        Must have ``flat``.
    data : array of shape (n_vertices,)
        Values on the full mesh; faces touching a NaN vertex are not
        coloured.
    cmap : str
    norm : matplotlib.colors.Normalize
    labels : array of int of shape (n_vertices,), optional
        ROI index per vertex; borders drawn as black lines.
    roi_names : dict of int to str, optional
        Names written at the centre of each ROI.
    crop : array of bool of shape (n_vertices,), optional
        Vertices to keep in view; the axes limits enclose them with a 15 %
        margin. None shows the whole flat map.
    title : str, optional
    """
    xy, faces = surface.flat
    triangulation = Triangulation(xy[:, 0], xy[:, 1], faces)
    if surface.sulc is not None:
        # Gouraud shading draws one triangle mesh, much faster than the
        # polygon collection of flat shading.
        axes.tripcolor(
            triangulation,
            surface.sulc,
            cmap="Greys",
            norm=_sulc_norm(surface.sulc),
            shading="gouraud",
            rasterized=True,
        )
    data = np.asarray(data, float)
    empty = ~np.isfinite(data[faces]).all(axis=1)
    if not empty.all():
        coloured = Triangulation(xy[:, 0], xy[:, 1], faces, mask=empty)
        axes.tripcolor(
            coloured,
            np.nan_to_num(data, nan=0.0),
            cmap=cmap,
            norm=norm,
            shading="gouraud",
            rasterized=True,
        )
    if labels is not None:
        segments = label_boundaries(xy, faces, labels)
        axes.add_collection(
            LineCollection(segments, colors=OUTLINE_COLOR, linewidths=0.6)
        )
        if roi_names:
            _write_roi_names(axes, xy, labels, roi_names, crop)
    axes.set_aspect("equal")
    _set_limits(axes, xy, crop)
    axes.set_axis_off()
    if title:
        axes.set_title(title, fontsize=9, pad=2)


def _sulc_norm(sulc):
    # A light grey range: sulci mid grey, gyri near white, so that data
    # colours stand out.
    low, high = np.percentile(sulc, [2, 98])
    span = high - low if high > low else 1.0
    return Normalize(vmin=low - 1.2 * span, vmax=high + 0.6 * span)


def flat_extent(xy, crop=None):
    """Return the (x0, x1, y0, y1) limits that show ``crop`` on a flat map.

    The limits enclose the cropped vertices (all vertices when ``crop``
    is None or empty) with a margin of 15 % of their larger extent.
    """
    if crop is None or not np.any(crop):
        points = xy
    else:
        points = xy[np.asarray(crop, bool)]
    low = points.min(axis=0)
    high = points.max(axis=0)
    margin = 0.15 * (high - low).max()
    return (
        low[0] - margin, high[0] + margin, low[1] - margin, high[1] + margin
    )


def _set_limits(axes, xy, crop):
    x0, x1, y0, y1 = flat_extent(xy, crop)
    axes.set_xlim(x0, x1)
    axes.set_ylim(y0, y1)


def _write_roi_names(axes, xy, labels, roi_names, crop):
    halo = [patheffects.withStroke(linewidth=2, foreground="white")]
    for index, name in roi_names.items():
        inside = labels == index
        if crop is not None:
            inside &= np.asarray(crop, bool)
        if not inside.any():
            continue
        x, y = np.median(xy[inside], axis=0)
        axes.text(
            x, y, name, fontsize=6, ha="center", va="center",
            path_effects=halo, clip_on=True,
        )


def label_boundaries(xy, faces, labels):
    """Return line segments along the borders between ROI labels.

    Each triangle whose corners carry different labels contributes a
    segment between the midpoints of its two mixed edges, or, when all
    three labels differ, three segments from the edge midpoints to the
    centroid. Borders with label 0 (no ROI) are included, so each ROI is
    fully enclosed.

    Parameters
    ----------
    xy : array of shape (n_vertices, 2)
    faces : array of int of shape (n_faces, 3)
    labels : array of int of shape (n_vertices,)

    Returns
    -------
    array of shape (n_segments, 2, 2)
    """
    labels = np.asarray(labels)
    corner = labels[faces]
    edges = ((0, 1), (1, 2), (2, 0))
    mixed = np.stack([corner[:, a] != corner[:, b] for a, b in edges], 1)
    midpoints = np.stack(
        [(xy[faces[:, a]] + xy[faces[:, b]]) / 2 for a, b in edges], 1
    )
    n_mixed = mixed.sum(axis=1)
    segments = []

    two = n_mixed == 2
    if two.any():
        pair = midpoints[two][mixed[two]].reshape(-1, 2, 2)
        segments.append(pair)
    three = n_mixed == 3
    if three.any():
        centroid = xy[faces[three]].mean(axis=1)
        for edge in range(3):
            segments.append(np.stack([midpoints[three, edge], centroid], 1))
    if not segments:
        return np.zeros((0, 2, 2))
    return np.concatenate(segments)
