"""Stimulus embeddings for NSD: from a file or from the images.

Two ways, chosen by the keys of the ``embeddings`` option:

``file``
    Precomputed features: a NPY array of shape (n_rows, n_features) or
    (n_rows, n_layers, n_features), or an HDF5 file with one 2D dataset
    per layer. Rows are ordered by nsdId (73,000 rows), unless ``ids`` (NPY:
    a .npy or text file of nsdIds) or an id dataset (HDF5, named by
    ``id_dataset``) gives the nsdId of each row.
``extractor``
    Features computed from NSD's stimulus images by an extractor of
    :mod:`jne.sources.extractors`, cached under the resources folder.
"""

import contextlib
import logging
import re
from pathlib import Path

import h5py
import numpy as np

from jne.errors import ConfigError, DataError
from jne.sources.extractors import make_extractor
from jne.sources.image_features import HDF5ImageReader, compute_features
from jne.sources.nsd_files import DamagedFileError
from jne.sources.nsd_layout import N_IMAGES, STIMULI_DATASET

logger = logging.getLogger(__name__)

FILE_KEYS = {"file", "ids", "id_dataset", "layer_names", "layers"}
EXTRACTOR_KEYS = {
    "extractor",
    "model",
    "device",
    "layers",
    "pooling",
    "revision",
    "local_files_only",
    "batch_size",
    "stimuli_file",
    "cache_dir",
}


def check_embeddings_options(options):
    """Raise ConfigError unless ``options`` selects exactly one method."""
    if not isinstance(options, dict):
        raise ConfigError(
            "The NSD option 'embeddings' must be a mapping with either "
            "'file' or 'extractor', got "
            f"{type(options).__name__}."
        )
    has_file = "file" in options
    has_extractor = "extractor" in options
    if has_file == has_extractor:
        raise ConfigError(
            "The NSD option 'embeddings' needs exactly one of 'file' "
            "(precomputed features) and 'extractor' (features computed "
            f"from the images), got keys {sorted(options)}."
        )
    allowed = FILE_KEYS if has_file else EXTRACTOR_KEYS
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise ConfigError(
            f"Unknown keys {unknown} in the NSD option 'embeddings'. "
            f"Allowed with {'file' if has_file else 'extractor'}: "
            f"{', '.join(sorted(allowed))}."
        )
    if has_extractor and "model" not in options:
        raise ConfigError(
            "The NSD option 'embeddings' has an 'extractor' but no "
            "'model': give a hub id or a local model folder."
        )


def load_embeddings_file(options, nsd_ids, subject):
    """Read precomputed features of images ``nsd_ids`` from a file.

    Parameters
    ----------
    options : dict
        The ``embeddings`` option with a ``file`` key. ``{subject}`` in
        paths is replaced by the subject.
    nsd_ids : array of int of shape (n_stimuli,)
    subject : str

    Returns
    -------
    dict of str to array of float32 of shape (n_stimuli, n_features)
    """
    path = Path(str(options["file"]).format(subject=subject))
    if not path.is_file():
        raise ConfigError(
            f"Embeddings file {path} not found. Check the 'file' key of the "
            "NSD option 'embeddings'."
        )
    with contextlib.ExitStack() as stack:
        if path.suffix == ".npy":
            layers, row_ids = _read_npy(path, options, subject)
        elif path.suffix in (".h5", ".hdf5"):
            handle = stack.enter_context(h5py.File(path, "r"))
            layers, row_ids = _read_hdf5(handle, path, options)
        else:
            raise ConfigError(
                f"Unsupported embeddings file {path}: use .npy, .h5 or "
                ".hdf5."
            )
        rows = _select_rows(layers, row_ids, nsd_ids, path)
        layers = _select_layers(layers, options.get("layers"), path)

        # h5py accepts only increasing row indices, so the rows are read
        # in sorted order and then put back in stimulus order.
        rank = np.argsort(np.argsort(rows))
        embeddings = {}
        for name, values in layers.items():
            values = np.asarray(values[np.sort(rows)], dtype=np.float32)
            embeddings[name] = values[rank]

    logger.info(
        "Read embeddings of %d stimuli, layers %s, from %s",
        len(rows),
        ", ".join(embeddings),
        path,
    )
    return embeddings


def _select_rows(layers, row_ids, nsd_ids, path):
    if row_ids is not None:
        return _rows_of(row_ids, nsd_ids, path)
    n_rows = next(iter(layers.values())).shape[0]
    if n_rows != N_IMAGES:
        raise DataError(
            f"{path} has {n_rows} rows but no image ids. Store all "
            f"{N_IMAGES} images in nsdId order, or give the nsdId of "
            "each row ('ids' for NPY, an id dataset for HDF5)."
        )
    return np.asarray(nsd_ids, dtype=np.int64)


def _select_layers(layers, wanted, path):
    if wanted is None:
        return layers
    wanted = [str(name) for name in wanted]
    unknown = [name for name in wanted if name not in layers]
    if unknown:
        raise ConfigError(
            f"Layers {unknown} are not in {path}. Its layers: "
            f"{', '.join(layers)}."
        )
    return {name: layers[name] for name in wanted}


def _read_npy(path, options, subject):
    array = np.load(path, mmap_mode="r")
    if array.ndim == 2:
        arrays = [array]
    elif array.ndim == 3:
        arrays = [array[:, k, :] for k in range(array.shape[1])]
    else:
        raise DataError(
            f"{path} has shape {array.shape}, expected (n_rows, n_features) "
            "or (n_rows, n_layers, n_features)."
        )
    names = options.get("layer_names")
    if names is None:
        names = [str(k) for k in range(len(arrays))]
    names = [str(name) for name in names]
    if len(names) != len(arrays):
        raise ConfigError(
            f"'layer_names' has {len(names)} names but {path} has "
            f"{len(arrays)} layers."
        )

    row_ids = None
    if options.get("ids") is not None:
        ids_path = Path(str(options["ids"]).format(subject=subject))
        if not ids_path.is_file():
            raise ConfigError(f"Embeddings ids file {ids_path} not found.")
        if ids_path.suffix == ".npy":
            row_ids = np.load(ids_path)
        else:
            row_ids = np.loadtxt(ids_path, dtype=np.int64, ndmin=1)
        if len(row_ids) != array.shape[0]:
            raise DataError(
                f"{ids_path} has {len(row_ids)} ids but {path} has "
                f"{array.shape[0]} rows."
            )
    return dict(zip(names, arrays)), row_ids


def _read_hdf5(handle, path, options):
    id_dataset = options.get("id_dataset", "nsd_id")
    row_ids = handle[id_dataset][()] if id_dataset in handle else None
    names = [
        name
        for name in handle
        if name != id_dataset and isinstance(handle[name], h5py.Dataset)
    ]
    order = handle.attrs.get("layers", handle.attrs.get("order"))
    if order is not None:
        names = [str(name) for name in order]
    else:
        names = sorted(names, key=_natural_key)
    layers = {}
    for name in names:
        dataset = handle[name]
        if dataset.ndim != 2:
            raise DataError(
                f"Dataset {name!r} of {path} has shape {dataset.shape}, but "
                "each layer must be (n_rows, n_features)."
            )
        layers[name] = dataset
    if row_ids is not None and len(row_ids) != layers[names[0]].shape[0]:
        raise DataError(
            f"{path}: {id_dataset!r} has {len(row_ids)} ids but layer "
            f"{names[0]!r} has {layers[names[0]].shape[0]} rows."
        )
    return layers, row_ids


def _natural_key(name):
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name)]


def _rows_of(row_ids, nsd_ids, path):
    row_ids = np.asarray(row_ids, dtype=np.int64)
    if len(np.unique(row_ids)) != len(row_ids):
        raise DataError(f"The image ids of {path} contain duplicates.")
    lookup = {int(i): row for row, i in enumerate(row_ids)}
    missing = [int(i) for i in nsd_ids if int(i) not in lookup]
    if missing:
        raise DataError(
            f"{len(missing)} stimuli of this subject have no embedding in "
            f"{path}, e.g. nsdId {missing[0]}. Add them to the file."
        )
    return np.array([lookup[int(i)] for i in nsd_ids], dtype=np.int64)


def compute_embeddings(options, nsd_ids, stimuli_path, cache_dir):
    """Compute features of images ``nsd_ids`` with the configured extractor.

    Parameters
    ----------
    options : dict
        The ``embeddings`` option with an ``extractor`` key.
    nsd_ids : array of int of shape (n_stimuli,)
    stimuli_path : Path
        NSD's ``nsd_stimuli.hdf5``.
    cache_dir : Path
        Folder of the feature caches, used unless the option sets one.
    """
    extractor_options = {
        key: options[key]
        for key in (
            "model",
            "device",
            "layers",
            "pooling",
            "revision",
            "local_files_only",
        )
        if key in options
    }
    extractor = make_extractor(options["extractor"], **extractor_options)
    cache_dir = Path(options.get("cache_dir") or cache_dir)
    batch_size = int(options.get("batch_size", 32))
    if batch_size < 1:
        raise ConfigError(f"batch_size must be >= 1, got {batch_size}.")
    try:
        reader = HDF5ImageReader(stimuli_path, STIMULI_DATASET)
    except OSError as error:
        # h5py raises OSError for a file that is not HDF5 or is cut short.
        raise DamagedFileError(
            f"Failed to open the NSD image file {stimuli_path} with h5py "
            f"({error}).",
            [stimuli_path],
        ) from error
    with reader:
        return compute_features(
            extractor, reader, nsd_ids, cache_dir, batch_size=batch_size
        )
