"""Placement of per-voxel values on the full mesh or the mask grid.

Per-voxel arrays cover only the analysed voxels, in the order of the
:class:`jne.dataset.Space`. Maps and figures need them on every vertex of
each hemisphere's mesh, or on every voxel of the grid, with NaN where
nothing was analysed.
"""

import numpy as np

from jne.errors import DataError

HEMISPHERES = ("L", "R")


def scatter_to_mesh(values, space):
    """Place per-voxel values on the full mesh of each hemisphere.

    Parameters
    ----------
    values : array of shape (n_voxels,) or (n_maps, n_voxels)
        Values of the analysed vertices, in the order of ``space``.
    space : jne.dataset.Space
        A surface space.

    Returns
    -------
    dict of str to array
        ``"L"`` and ``"R"`` to float32 arrays of shape (n_mesh_vertices,)
        or (n_maps, n_mesh_vertices), NaN at vertices that were not
        analysed. Hemispheres without analysed vertices are still present
        (all NaN).
    """
    values = _check_values(values, space)
    if space.kind != "surface":
        raise DataError(
            f"scatter_to_mesh needs a surface space, got kind "
            f"{space.kind!r}. Use scatter_to_grid for volumes."
        )
    if not space.n_mesh_vertices:
        raise DataError(
            "The surface space has no n_mesh_vertices, so the full mesh "
            "size is unknown. Set e.g. {'L': 32492, 'R': 32492}."
        )
    full = {}
    for hemi in HEMISPHERES:
        n_mesh = int(space.n_mesh_vertices.get(hemi, 0))
        selected = space.hemisphere == hemi
        vertex = np.asarray(space.vertex)[selected]
        if vertex.size and (vertex.min() < 0 or vertex.max() >= n_mesh):
            raise DataError(
                f"Hemisphere {hemi} has vertex index {int(vertex.max())} "
                f"but its mesh has {n_mesh} vertices. Check "
                "Space.vertex and Space.n_mesh_vertices."
            )
        if len(np.unique(vertex)) != len(vertex):
            raise DataError(
                f"Hemisphere {hemi} lists a vertex more than once in "
                "Space.vertex; each vertex may appear once."
            )
        out = np.full(values.shape[:-1] + (n_mesh,), np.nan, np.float32)
        out[..., vertex] = values[..., selected]
        full[hemi] = out
    return full


def scatter_to_grid(values, space):
    """Place per-voxel values on the mask grid of a volume space.

    Parameters
    ----------
    values : array of shape (n_voxels,) or (n_maps, n_voxels)
    space : jne.dataset.Space
        A volume space.

    Returns
    -------
    array of float32 of shape space.shape or space.shape + (n_maps,)
        NaN outside the analysed voxels.
    """
    values = _check_values(values, space)
    if space.kind != "volume":
        raise DataError(
            f"scatter_to_grid needs a volume space, got kind "
            f"{space.kind!r}. Use scatter_to_mesh for surfaces."
        )
    ijk = np.asarray(space.ijk)
    shape = tuple(int(s) for s in space.shape)
    if (ijk < 0).any() or (ijk >= np.array(shape)).any():
        raise DataError(
            f"Space.ijk has indices outside the grid of shape {shape}. "
            "Check that ijk and shape come from the same mask."
        )
    grid = np.full(shape + values.shape[:-1], np.nan, np.float32)
    grid[ijk[:, 0], ijk[:, 1], ijk[:, 2]] = np.moveaxis(values, -1, 0)
    return grid


def _check_values(values, space):
    values = np.asarray(values, dtype=np.float32)
    if values.ndim not in (1, 2) or values.shape[-1] != space.n_voxels:
        raise DataError(
            f"Map values have shape {values.shape}, expected "
            f"({space.n_voxels},) or (n_maps, {space.n_voxels}) to match "
            "the space."
        )
    return values
