"""Readers of the file formats that the local source accepts.

Responses: 4D NIfTI (with a brain mask), GIfTI, FreeSurfer MGH/MGZ, NPY
or HDF5. Embeddings: NPY or HDF5. Atlases: label NIfTI or per-vertex
labels (NPY, GIfTI, MGH/MGZ) with a labels TSV. Tables: tab-separated
text. Every reader raises :class:`jne.errors.DataError` naming the file.
"""

import functools
import logging
import re
import zlib
from pathlib import Path
from xml.parsers.expat import ExpatError

import h5py
import nibabel as nib
import numpy as np
import pandas as pd

from jne.errors import DataError
from jne.sources.checks import check_numeric

logger = logging.getLogger(__name__)

NIFTI_SUFFIXES = (".nii", ".nii.gz")
GIFTI_SUFFIXES = (".gii",)
MGH_SUFFIXES = (".mgh", ".mgz")
NPY_SUFFIXES = (".npy",)
HDF5_SUFFIXES = (".h5", ".hdf5")


# Exceptions that nibabel, gzip, h5py and numpy raise for a file that is
# cut short or is not in the format its name suggests.
_READ_ERRORS = (
    OSError,
    EOFError,
    zlib.error,
    ExpatError,
    nib.filebasedimages.ImageFileError,
)


def names_file_on_error(reader):
    """Turn low-level read errors of ``reader(path, ...)`` into DataError.

    The message names the file, so that a truncated or damaged file does
    not end the run with a bare ``EOFError`` or ``OSError``.
    """

    @functools.wraps(reader)
    def wrapper(path, *args, **kwargs):
        try:
            return reader(path, *args, **kwargs)
        except _READ_ERRORS as error:
            raise DataError(
                f"{path} could not be read ({type(error).__name__}: "
                f"{error}). The file may be incomplete or in another "
                "format than its name says: copy or export it again."
            ) from error

    return wrapper


def file_format(path):
    """Return "nifti", "gifti", "mgh", "npy" or "hdf5" from the suffix.

    Raises
    ------
    DataError
        For any other suffix.
    """
    name = str(path).lower()
    for kind, suffixes in (
        ("nifti", NIFTI_SUFFIXES),
        ("gifti", GIFTI_SUFFIXES),
        ("mgh", MGH_SUFFIXES),
        ("npy", NPY_SUFFIXES),
        ("hdf5", HDF5_SUFFIXES),
    ):
        if name.endswith(suffixes):
            return kind
    raise DataError(
        f"{path}: unsupported file type. Use NIfTI (.nii, .nii.gz), GIfTI "
        "(.gii), MGH (.mgh, .mgz), NumPy (.npy) or HDF5 (.h5, .hdf5)."
    )


def require_file(path, option):
    """Return ``path`` as a Path, or raise if no such file exists."""
    path = Path(path)
    if not path.is_file():
        raise DataError(
            f"File {path} (option {option!r}) was not found. Check the "
            "path; relative paths are resolved against the option 'root' "
            "or else the working directory."
        )
    return path


def read_table(path, *, required=("stimulus_id",)):
    """Read a TSV file with string ids.

    Returns
    -------
    DataFrame
        ``stimulus_id`` is read as str, so ids such as ``007`` keep their
        leading zeros. Only empty cells are missing values: strings that
        pandas would read as missing by default (``NA``, ``null``,
        ``n/a``) stay strings, because they are valid ids and names.
    """
    try:
        table = pd.read_csv(
            path,
            sep="\t",
            dtype={"stimulus_id": str},
            keep_default_na=False,
            na_values=[""],
        )
    except pd.errors.EmptyDataError as error:
        raise DataError(
            f"{path} is empty: it needs a header row and one row per "
            "entry."
        ) from error
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise DataError(
            f"{path} could not be read as a tab-separated table: {error}"
        ) from error
    missing = [c for c in required if c not in table]
    if missing:
        raise DataError(
            f"{path} has no {', '.join(map(repr, missing))} column. Columns "
            f"found: {', '.join(map(str, table.columns))}. The file must be "
            "tab-separated with a header row."
        )
    return table


def load_grid_image(path, *, description):
    """Load a NIfTI image with nibabel, naming ``description`` in errors."""
    try:
        return nib.load(str(path))
    except (OSError, nib.filebasedimages.ImageFileError) as error:
        raise DataError(
            f"{path}: could not read the {description}: {error}"
        ) from error


@names_file_on_error
def read_image_data(path, image):
    """Return the voxel array of a loaded ``image`` read from ``path``.

    nibabel reads the data only now, so a truncated file fails here.
    """
    return np.asanyarray(image.dataobj)


def check_same_grid(image, reference, *, file, reference_file):
    """Raise unless two NIfTI images share shape (first 3 axes) and affine."""
    shape = tuple(image.shape[:3])
    reference_shape = tuple(reference.shape[:3])
    same_affine = np.allclose(image.affine, reference.affine, atol=1e-3)
    if shape != reference_shape or not same_affine:
        raise DataError(
            f"{file} is on a different grid than {reference_file}: shape "
            f"{shape} vs {reference_shape}, affine "
            f"{np.round(image.affine, 3).tolist()} vs "
            f"{np.round(reference.affine, 3).tolist()}. Resample it onto the "
            "mask, e.g. nilearn.image.resample_to_img(img, mask, "
            "interpolation='nearest') for labels or masks."
        )


@names_file_on_error
def read_mask(path):
    """Read a brain mask NIfTI.

    Returns
    -------
    image : nibabel image
    mask : array of bool of shape (X, Y, Z)
        True where the image is nonzero and finite.
    """
    image = load_grid_image(path, description="brain mask")
    data = np.asanyarray(image.dataobj)
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    if data.ndim != 3:
        raise DataError(
            f"{path}: the brain mask has shape {data.shape}, expected a 3D "
            "image."
        )
    mask = np.isfinite(data) & (data != 0)
    if not mask.any():
        raise DataError(f"{path}: the brain mask has no nonzero voxels.")
    return image, mask


@names_file_on_error
def read_volume_responses(path, mask_image, mask, mask_file):
    """Read a 4D NIfTI of trial betas inside a mask.

    Loads the whole image into memory in its stored dtype (for example
    int16 for scaled betas), then keeps the mask voxels as float32.

    Returns
    -------
    array of float32 of shape (n_trials, n_voxels)
        Voxels in ``np.argwhere(mask)`` order.
    """
    image = load_grid_image(path, description="responses")
    if len(image.shape) != 4:
        raise DataError(
            f"{path}: the responses have shape {image.shape}, expected a 4D "
            "image (x, y, z, trial) with one volume per trial."
        )
    check_same_grid(image, mask_image, file=path, reference_file=mask_file)
    data = np.asanyarray(image.dataobj)
    betas = check_numeric(data[mask], file=path, description="responses")
    return np.ascontiguousarray(betas.T)


@names_file_on_error
def read_gifti(path, *, description):
    """Read a GIfTI data file as an array of shape (n_arrays, n_vertices).

    One data array per trial (the usual layout of a GIfTI time series), or
    a single 2D array of shape (n_vertices, n_trials).
    """
    try:
        image = nib.load(str(path))
    except (OSError, nib.filebasedimages.ImageFileError) as error:
        raise DataError(
            f"{path}: could not read the {description}: {error}"
        ) from error
    arrays = [np.asarray(d.data) for d in image.darrays]
    if not arrays:
        raise DataError(f"{path}: the GIfTI file has no data arrays.")
    if len(arrays) == 1 and arrays[0].ndim == 2:
        return arrays[0].T
    if any(a.ndim != 1 for a in arrays) or len({len(a) for a in arrays}) > 1:
        raise DataError(
            f"{path}: the GIfTI data arrays have shapes "
            f"{sorted({a.shape for a in arrays})}, expected one "
            "(n_vertices,) array per trial."
        )
    return np.stack(arrays)


@names_file_on_error
def read_mgh(path, *, description):
    """Read an MGH/MGZ surface file as an array of shape (n_frames,
    n_vertices); FreeSurfer stores (n_vertices, 1, 1, n_frames)."""
    try:
        data = np.asanyarray(nib.load(str(path)).dataobj)
    except (OSError, nib.filebasedimages.ImageFileError) as error:
        raise DataError(
            f"{path}: could not read the {description}: {error}"
        ) from error
    if data.ndim == 3:
        data = data[..., np.newaxis]
    if data.ndim != 4 or data.shape[1:3] != (1, 1):
        raise DataError(
            f"{path}: the MGH data have shape {data.shape}, expected "
            "(n_vertices, 1, 1, n_frames) as FreeSurfer writes surface data."
        )
    return data[:, 0, 0, :].T


@names_file_on_error
def read_array(path, *, description, dataset=None):
    """Read an NPY file or one HDF5 dataset into memory."""
    kind = file_format(path)
    if kind == "npy":
        try:
            return np.load(path, allow_pickle=False)
        except ValueError as error:
            raise DataError(
                f"{path}: could not read the {description}: {error}. Save "
                "a plain numeric array with numpy.save."
            ) from error
    if kind == "hdf5":
        with h5py.File(path, "r") as f:
            if dataset not in f:
                raise DataError(
                    f"{path} has no dataset {dataset!r} for the "
                    f"{description}. Datasets found: {', '.join(f.keys())}."
                )
            return f[dataset][()]
    raise DataError(
        f"{path}: the {description} must be a .npy or HDF5 file, got {kind}."
    )


def read_surface_values(path, *, description, dataset=None):
    """Read surface data as an array of shape (n_rows, n_vertices).

    GIfTI and MGH files give one row per data array or frame; NPY and
    HDF5 arrays are returned as stored.
    """
    kind = file_format(path)
    if kind == "gifti":
        return read_gifti(path, description=description)
    if kind == "mgh":
        return read_mgh(path, description=description)
    if kind in ("npy", "hdf5"):
        return read_array(path, description=description, dataset=dataset)
    raise DataError(
        f"{path}: surface {description} must be GIfTI, MGH, NPY or HDF5, "
        f"got a {kind} file."
    )


def _natural_key(name):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


@names_file_on_error
def read_embeddings(path, *, layers=None, stimulus_ids):
    """Read stimulus embeddings from NPY or HDF5.

    Parameters
    ----------
    path : Path
        NPY of shape (n_stimuli, n_features) or (n_stimuli, n_layers,
        n_features), rows in stimulus table order. Or HDF5 with one 2D
        dataset per layer. An HDF5 file may also have a ``stimulus_id``
        dataset with the id of each row, and the rows are then reordered
        to match the stimulus table.
    layers : list of str, optional
        NPY: names of the layers (default ``"0"``, ``"1"``, ...). HDF5:
        datasets to read, in this order (default: all, in natural order
        of their names).
    stimulus_ids : array of str
        Ids of the stimulus table, in order.

    Returns
    -------
    dict of str to array of shape (n_rows, n_features)
        Not yet checked for values; see
        :func:`jne.sources.checks.check_embeddings`.
    """
    kind = file_format(path)
    if kind == "npy":
        return _npy_layers(path, layers)
    if kind != "hdf5":
        raise DataError(
            f"{path}: embeddings must be a .npy or HDF5 file, got {kind}."
        )
    with h5py.File(path, "r") as f:
        names = [
            k
            for k in f.keys()
            if k != "stimulus_id" and isinstance(f[k], h5py.Dataset)
        ]
        if layers is None:
            layers = sorted(names, key=_natural_key)
        absent = [str(layer) for layer in layers if str(layer) not in names]
        if absent:
            raise DataError(
                f"{path} has no dataset for layers {absent} named in the "
                f"option 'layers'. Datasets found: {', '.join(names)}."
            )
        embeddings = {str(layer): f[str(layer)][()] for layer in layers}
        if "stimulus_id" not in f:
            return embeddings
        row_ids = f["stimulus_id"].asstr()[()]
    order = _row_order(path, row_ids, stimulus_ids)
    return {layer: values[order] for layer, values in embeddings.items()}


@names_file_on_error
def _npy_layers(path, layers):
    values = read_array(path, description="embeddings")
    if values.ndim == 2:
        values = values[:, np.newaxis, :]
    if values.ndim != 3:
        raise DataError(
            f"{path}: embeddings have shape {values.shape}, expected "
            "(n_stimuli, n_features) or (n_stimuli, n_layers, n_features)."
        )
    n_layers = values.shape[1]
    if layers is None:
        layers = [str(i) for i in range(n_layers)]
    if len(layers) != n_layers:
        raise DataError(
            f"{path} has {n_layers} layers but the option 'layers' names "
            f"{len(layers)}: {list(layers)}. Give one name per layer."
        )
    return {str(name): values[:, i, :] for i, name in enumerate(layers)}


def _row_order(path, row_ids, stimulus_ids):
    duplicated = pd.Series(row_ids)[pd.Series(row_ids).duplicated()]
    if len(duplicated):
        raise DataError(
            f"{path}: stimulus_id {duplicated.iloc[0]!r} has more than one "
            "row of embeddings. Keep one row per stimulus."
        )
    position = {sid: i for i, sid in enumerate(row_ids)}
    missing = [sid for sid in stimulus_ids if sid not in position]
    if missing:
        raise DataError(
            f"{path}: {len(missing)} stimulus_id values of the stimulus "
            f"table have no embedding, e.g. {missing[:3]}. Add their rows "
            "or remove them from the stimulus table."
        )
    return np.array([position[sid] for sid in stimulus_ids])


@names_file_on_error
def read_labels_table(path):
    """Read an atlas labels TSV with columns ``index`` and ``name``.

    Returns
    -------
    dict of int to str
        Index 0 (background) is left out.
    """
    table = read_table(path, required=("index", "name"))
    index = pd.to_numeric(table["index"], errors="coerce")
    invalid = index.isna() | (index != index.round())
    if invalid.any():
        raise DataError(
            f"{path}: the 'index' column must hold integers, got "
            f"{table['index'][invalid].iloc[0]!r}."
        )
    if index.duplicated().any():
        raise DataError(
            f"{path}: index {int(index[index.duplicated()].iloc[0])} appears "
            "more than once. Give each label value one row."
        )
    names = {
        int(i): str(n) for i, n in zip(index, table["name"]) if int(i) != 0
    }
    return names


def label_values(values, *, file):
    """Convert label data to int, raising if a value is not an integer."""
    values = np.asarray(values)
    if values.dtype.kind not in "iuf":
        raise DataError(
            f"{file}: labels have dtype {values.dtype}, expected integers."
        )
    if values.dtype.kind == "f":
        if not np.all(np.isfinite(values)) or np.any(
            values != np.round(values)
        ):
            raise DataError(
                f"{file}: labels must be whole numbers, got non-integer "
                "values (a probabilistic atlas?). Threshold it into a label "
                "image first."
            )
    return values.astype(np.int64)
