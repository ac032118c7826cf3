"""Readers for NSD's image files: betas, ROI labels, ctab names, ncsnr.

Every map is handled as a flat "grid vector": a volume flattened in C
order, or the left hemisphere's vertices followed by the right's. A
boolean mask over that vector selects the voxels kept, and betas are
masked chunk by chunk as they are read, so a whole session never sits in
memory as floats.
"""

import contextlib
import logging
import zlib
from dataclasses import dataclass

import nibabel as nib
import numpy as np
from nibabel.filebasedimages import ImageFileError
from nibabel.spatialimages import HeaderDataError

from jne.dataset import Space
from jne.errors import DataError
from jne.sources.nsd_files import DamagedFileError
from jne.sources.nsd_layout import (
    BETA_INT16_SCALE,
    HEMISPHERES,
    TRIALS_PER_SESSION,
)

logger = logging.getLogger(__name__)

# Exceptions that nibabel raises for a file that is not an intact NIfTI or
# MGH file, checked with nibabel 5.4. An unknown format gives
# ImageFileError, invalid NIfTI header fields HeaderDataError and an
# unknown MGH data type KeyError. A cut file gives OSError
# (gzip.BadGzipFile, or fewer bytes than the header states) or EOFError,
# and corrupt compressed data zlib.error. ValueError covers invalid values
# that nibabel does not wrap.
IMAGE_READ_ERRORS = (
    ImageFileError,
    HeaderDataError,
    KeyError,
    OSError,
    EOFError,
    zlib.error,
    ValueError,
)


@dataclass
class Grid:
    """The voxel grid or surface mesh that NSD maps are defined on.

    Attributes
    ----------
    kind : {"volume", "surface"}
    shape : tuple of 3 int or None
        Volume grid shape.
    affine : array of shape (4, 4) or None
        Volume voxel-to-world affine.
    n_vertices : dict or None
        Vertices per hemisphere, ``{"L": n, "R": n}``, for surfaces.
    source : str
        File the grid was read from, for error messages.
    """

    kind: str
    shape: tuple | None = None
    affine: np.ndarray | None = None
    n_vertices: dict | None = None
    source: str = ""

    @property
    def size(self):
        """Length of a grid vector."""
        if self.kind == "volume":
            return int(np.prod(self.shape))
        return sum(self.n_vertices.values())

    def space(self, mask, mesh="fsaverage"):
        """Return the :class:`Space` of the voxels where ``mask`` is True."""
        index = np.flatnonzero(mask)
        if self.kind == "volume":
            ijk = np.column_stack(np.unravel_index(index, self.shape))
            return Space(
                kind="volume",
                shape=tuple(int(s) for s in self.shape),
                affine=np.asarray(self.affine, dtype=float),
                ijk=ijk.astype(np.int32),
            )
        n_left = self.n_vertices["L"]
        right = index >= n_left
        return Space(
            kind="surface",
            mesh=mesh,
            hemisphere=np.where(right, "R", "L"),
            vertex=np.where(right, index - n_left, index).astype(np.int32),
            n_mesh_vertices=dict(self.n_vertices),
        )

    def check(self, other, what):
        """Raise DataError if ``other`` is not the same grid."""
        if self.kind == "volume":
            if tuple(other.shape) != tuple(self.shape):
                raise DataError(
                    f"{what} {other.source} has grid shape "
                    f"{tuple(other.shape)} but {self.source} has "
                    f"{tuple(self.shape)}. Use files of one NSD space "
                    "(e.g. all func1pt8mm)."
                )
            if not np.allclose(other.affine, self.affine, atol=1e-3):
                # NOTE: NSD files of one space are expected to share their
                # affine. A mismatch is logged, not raised, because the
                # voxel grids already agree in shape.
                logger.warning(
                    "%s %s has a different affine than %s. Using the affine "
                    "of %s.",
                    what,
                    other.source,
                    self.source,
                    self.source,
                )
        elif other.n_vertices != self.n_vertices:
            raise DataError(
                f"{what} {other.source} has {other.n_vertices} vertices per "
                f"hemisphere but {self.source} has {self.n_vertices}. Use "
                "files of one surface space."
            )


def read_ctab(path):
    """Read a FreeSurfer-style ``.ctab`` file into ``{index: name}``.

    Each line is ``index name [r g b a]``. Blank lines and lines starting
    with ``#`` are skipped. Index 0 (unlabelled) is dropped.
    """
    names = {}
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.readlines()
    except UnicodeDecodeError as error:
        raise DamagedFileError(
            f"Failed to read {path} as UTF-8 text ({error}).", [path]
        ) from error
    for number, line in enumerate(lines, start=1):
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            continue
        if len(fields) < 2 or not fields[0].lstrip("-").isdigit():
            raise DamagedFileError(
                f"Invalid line {number} in {path}: {line.strip()!r}. "
                "Expected 'index name'.",
                [path],
            )
        index = int(fields[0])
        if index > 0:
            names[index] = fields[1]
    return names


def read_map(paths, kind, dtype=float):
    """Read a volume file or a left/right surface pair as a grid vector.

    Parameters
    ----------
    paths : list of Path
        One NIfTI for volumes, or the left and right MGH/MGZ files.
    kind : {"volume", "surface"}
    dtype : numpy dtype
        Output type. Integer types round the stored values.

    Returns
    -------
    values : array of shape (grid size,)
    grid : Grid
    """
    if kind == "volume":
        with reading_image(paths[0]):
            image = nib.load(paths[0])
            data = np.asarray(image.dataobj)
        if data.ndim == 4 and data.shape[3] == 1:
            data = data[..., 0]
        if data.ndim != 3:
            raise DataError(
                f"{paths[0]} has shape {data.shape}, expected a 3D map."
            )
        grid = Grid(
            kind="volume",
            shape=data.shape,
            affine=image.affine,
            source=str(paths[0]),
        )
        parts = [data.reshape(-1)]
    else:
        parts = [_read_vertex_values(path) for path in paths]
        n_vertices = {
            hemisphere: len(part)
            for part, (_, hemisphere) in zip(parts, HEMISPHERES)
        }
        grid = Grid(
            kind="surface", n_vertices=n_vertices, source=str(paths[0])
        )
    return _convert(np.concatenate(parts), dtype), grid


def read_mapped_surface_labels(label_paths, transform_paths):
    """Read labels of a subject's own surface onto fsaverage.

    Parameters
    ----------
    label_paths : list of Path
        Left and right label files on the subject's white surface.
    transform_paths : list of Path
        Left and right ``white-to-fsaverage.mgz`` files, whose value at
        each fsaverage vertex is the 1-based index of the subject's vertex
        that corresponds to it. Each fsaverage vertex takes that vertex's
        label (nearest-neighbour mapping).

    Returns
    -------
    labels : array of int32 of shape (n_fsaverage_vertices,)
    grid : Grid
    """
    parts = []
    n_vertices = {}
    pairs = zip(label_paths, transform_paths, HEMISPHERES)
    for label_path, transform_path, (_, hemisphere) in pairs:
        native = _convert(_read_vertex_values(label_path), np.int32)
        index = _convert(_read_vertex_values(transform_path), np.int64) - 1
        if index.min() < 0 or index.max() >= len(native):
            raise DamagedFileError(
                f"{transform_path} refers to vertices outside "
                f"{label_path}, which has {len(native)} vertices, so the "
                "two files are of different subjects.",
                [transform_path, label_path],
            )
        parts.append(native[index])
        n_vertices[hemisphere] = len(index)
    grid = Grid(
        kind="surface",
        n_vertices=n_vertices,
        source=str(transform_paths[0]),
    )
    return np.concatenate(parts), grid


def _read_vertex_values(path):
    with reading_image(path):
        data = np.asarray(nib.load(path).dataobj)
    if data.size != data.shape[0]:
        raise DataError(
            f"{path} has shape {data.shape}, expected one value per vertex."
        )
    return data.reshape(-1)


def _convert(values, dtype):
    """Cast to ``dtype``, rounding (and NaN to 0) for integer types."""
    if np.issubdtype(np.dtype(dtype), np.integer):
        return np.rint(np.nan_to_num(values)).astype(dtype)
    return values.astype(dtype)


def read_session_betas(paths, grid, mask, chunk_trials):
    """Read one session's betas for the masked voxels.

    Parameters
    ----------
    paths : list of Path
        The session's NIfTI, or its left and right MGH files.
    grid : Grid
        Grid the mask is defined on. The files must match it.
    mask : array of bool of shape (grid size,)
    chunk_trials : int
        Trials read at once. Peak memory is about grid size x
        ``chunk_trials`` x the stored item size (2 bytes for int16).

    Returns
    -------
    array of float32 of shape (750, n_voxels)
        Betas in percent signal change. int16 files are divided by 300.
    """
    if grid.kind == "volume":
        masks = [mask.reshape(grid.shape)]
    else:
        n_left = grid.n_vertices["L"]
        masks = [mask[:n_left], mask[n_left:]]
    columns = []
    for path, part_mask in zip(paths, masks):
        columns.append(_read_masked(path, grid, part_mask, chunk_trials))
    return np.concatenate(columns, axis=1)


def _read_masked(path, grid, mask, chunk_trials):
    # Keeping the file open lets each chunk continue reading a .nii.gz
    # where the previous chunk stopped, instead of decompressing the file
    # from its start for every chunk.
    with reading_image(path):
        image = nib.load(path, keep_file_open=True)
    shape = image.shape
    if grid.kind == "volume":
        file_grid = Grid(
            kind="volume",
            shape=shape[:3],
            affine=image.affine,
            source=str(path),
        )
        grid.check(file_grid, "Betas file")
    elif shape[0] != len(mask):
        raise DataError(
            f"Betas file {path} has {shape[0]} vertices but the ROI files "
            f"have {len(mask)} for this hemisphere. Use files of one "
            "surface space."
        )
    n_trials = shape[-1]
    if len(shape) != 4 or n_trials != TRIALS_PER_SESSION:
        raise DamagedFileError(
            f"Betas file {path} has shape {shape}, expected "
            f"{TRIALS_PER_SESSION} trials on the last of 4 axes.",
            [path],
        )

    proxy = image.dataobj
    stored_int16 = image.get_data_dtype() == np.int16
    unscaled = proxy.slope == 1 and proxy.inter == 0
    divide = BETA_INT16_SCALE if stored_int16 and unscaled else 1.0

    out = np.empty((n_trials, int(mask.sum())), dtype=np.float32)
    for start in range(0, n_trials, chunk_trials):
        stop = min(start + chunk_trials, n_trials)
        with reading_image(path):
            chunk = np.asarray(proxy[..., start:stop])
        if grid.kind == "surface":
            chunk = chunk.reshape(shape[0], stop - start)
        out[start:stop] = chunk[mask].T
    if divide != 1.0:
        out /= divide
    return out


@contextlib.contextmanager
def reading_image(path):
    """Raise DamagedFileError for a nibabel failure to read ``path``."""
    try:
        yield
    except DataError:
        raise
    except IMAGE_READ_ERRORS as error:
        raise DamagedFileError(
            f"Failed to read {path} with nibabel "
            f"({type(error).__name__}: {error}).",
            [path],
        ) from error
