"""Read the responses of the local source with their space and labels.

Volume responses are a 4D NIfTI, read inside a brain mask. Surface
responses are GIfTI, MGH/MGZ, NPY or HDF5 files of whole hemispheres, or
of listed vertices. The atlas is read on the same voxels, so that the
response columns, the space and the labels stay aligned.
"""

import numpy as np

from jne.dataset import Space
from jne.errors import ConfigError, DataError
from jne.sources import checks, local_files

# Vertices per hemisphere of the meshes that surface data may use.
MESH_VERTICES = {
    "fsLR32k": 32492,
    "fsaverage": 163842,
    "fsaverage6": 40962,
    "fsaverage5": 10242,
}
HEMISPHERES = ("L", "R")


def is_volume(opts):
    """Return True if the responses option names one NIfTI file."""
    responses = opts["responses"]
    if isinstance(responses, dict):
        return False
    return local_files.file_format(responses) == "nifti"


def read_volume(opts):
    """Read NIfTI responses inside the mask, and the atlas on that grid.

    Returns
    -------
    betas : array of float32 of shape (n_trials, n_voxels)
    space : Space
    labels : array of int of shape (n_voxels,)
        Zeros when no atlas is given.
    """
    if opts["mask"] is None:
        raise ConfigError(
            f"The responses {opts['responses']} are a NIfTI volume, so the "
            "local source needs a brain mask NIfTI on the same grid: set "
            "the option 'mask'."
        )
    mask_image, mask = local_files.read_mask(opts["mask"])
    betas = local_files.read_volume_responses(
        opts["responses"], mask_image, mask, opts["mask"]
    )
    space = Space(
        kind="volume",
        shape=tuple(int(s) for s in mask.shape),
        affine=np.asarray(mask_image.affine, dtype=np.float64),
        ijk=np.argwhere(mask).astype(np.int64),
    )

    labels = np.zeros(space.n_voxels, dtype=np.int64)
    if opts["atlas"] is not None:
        atlas_image = local_files.load_grid_image(
            opts["atlas"], description="atlas"
        )
        local_files.check_same_grid(
            atlas_image,
            mask_image,
            file=opts["atlas"],
            reference_file=opts["mask"],
        )
        data = local_files.read_image_data(opts["atlas"], atlas_image)
        if data.ndim == 4 and data.shape[3] == 1:
            data = data[..., 0]
        if data.ndim != 3:
            raise DataError(
                f"{opts['atlas']}: the atlas has shape {data.shape}, "
                "expected a 3D label image."
            )
        labels = local_files.label_values(data[mask], file=opts["atlas"])
    return betas, space, labels


def _surface_parts(opts, key):
    """Return a list of (hemisphere or None, path) for a surface option."""
    value = opts[key]
    if isinstance(value, dict):
        return [(h, value[h]) for h in HEMISPHERES if h in value]
    return [(opts["hemisphere"], value)]


def read_surface(opts):
    """Read surface responses and per-vertex atlas labels.

    Returns
    -------
    betas : array of float32 of shape (n_trials, n_vertices)
    space : Space
    labels : array of int of shape (n_vertices,)
        Zeros when no atlas is given.
    """
    mesh = opts["mesh"]
    if mesh is None:
        raise ConfigError(
            "Surface responses need the option 'mesh' (one of "
            f"{', '.join(MESH_VERTICES)}) to say which mesh the vertices "
            "belong to."
        )
    n_mesh = MESH_VERTICES[mesh]

    blocks, hemispheres, vertices = [], [], []
    for hemisphere, path in _surface_parts(opts, "responses"):
        values = local_files.read_surface_values(
            path, description="responses", dataset=opts["responses_dataset"]
        )
        if values.ndim != 2:
            raise DataError(
                f"{path}: the responses have shape {values.shape}, expected "
                "(n_trials, n_vertices)."
            )
        blocks.append(
            checks.check_numeric(values, file=path, description="responses")
        )
        n_columns = values.shape[1]
        if opts["vertices"] is not None:
            continue
        if hemisphere is not None:
            expected = n_mesh
        else:
            expected = 2 * n_mesh
        if n_columns != expected:
            raise DataError(
                f"{path} has {n_columns} vertices, but a {mesh} "
                f"{'hemisphere' if hemisphere else 'surface (L then R)'} "
                f"has {expected}. Set the options 'mesh' and 'hemisphere' "
                "to match the file, or list the vertex of every column in "
                "a 'vertices' table."
            )
        if hemisphere is None:
            hemispheres.append(np.repeat(HEMISPHERES, n_mesh))
            vertices.append(np.tile(np.arange(n_mesh), 2))
        else:
            hemispheres.append(np.full(n_mesh, hemisphere))
            vertices.append(np.arange(n_mesh))

    n_trials = {len(b) for b in blocks}
    if len(n_trials) > 1:
        raise DataError(
            f"The hemisphere files {opts['responses']} have different trial "
            f"counts {sorted(n_trials)}. Both need one row per trial."
        )
    betas = np.concatenate(blocks, axis=1)
    if opts["vertices"] is not None:
        hemisphere, vertex = _read_vertex_table(
            opts["vertices"], betas.shape[1], n_mesh
        )
    else:
        hemisphere = np.concatenate(hemispheres)
        vertex = np.concatenate(vertices)
    space = Space(
        kind="surface",
        mesh=mesh,
        hemisphere=hemisphere.astype(str),
        vertex=vertex.astype(np.int64),
        n_mesh_vertices={h: n_mesh for h in HEMISPHERES},
    )

    labels = np.zeros(space.n_voxels, dtype=np.int64)
    if opts["atlas"] is not None:
        parts = []
        for _, path in _surface_parts(opts, "atlas"):
            values = local_files.read_surface_values(
                path, description="atlas labels", dataset="labels"
            )
            parts.append(local_files.label_values(values, file=path).ravel())
        labels = np.concatenate(parts)
        if len(labels) != space.n_voxels:
            raise DataError(
                f"The atlas {opts['atlas']} labels {len(labels)} vertices "
                f"but the responses have {space.n_voxels} columns. Give one "
                "label per response column, in the same order."
            )
    return np.ascontiguousarray(betas), space, labels


def _read_vertex_table(path, n_columns, n_mesh):
    table = local_files.read_table(path, required=("hemisphere", "vertex"))
    if len(table) != n_columns:
        raise DataError(
            f"{path} lists {len(table)} vertices but the responses have "
            f"{n_columns} columns. Give one row per response column."
        )
    hemisphere = table["hemisphere"].astype(str).to_numpy()
    bad = sorted(set(hemisphere) - set(HEMISPHERES))
    if bad:
        raise DataError(
            f"{path}: invalid hemisphere values {bad}. Use 'L' or 'R'."
        )
    vertex = local_files.label_values(table["vertex"], file=path)
    if vertex.min() < 0 or vertex.max() >= n_mesh:
        raise DataError(
            f"{path}: vertex indices must lie in [0, {n_mesh - 1}] for this "
            f"mesh, got {vertex.min()} to {vertex.max()}."
        )
    return hemisphere, vertex
