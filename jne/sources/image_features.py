"""Compute image features in batches, with a resumable cache on disk.

:func:`compute_features` runs an extractor from
:mod:`jne.sources.extractors` over the images with the given ids. It
stores the result in an HDF5 cache named after the extractor's identity
and the ids, so a second run with the same model and images reads the
cache instead of running the model. Finished batches are saved as they
complete, so an interrupted run resumes where it stopped.

Cache file layout (``<cache_dir>/<identity>-<ids hash>.h5``):

- ``ids``: int64 array of shape (n_images,), the image ids in row order;
- ``done``: bool array of shape (n_images,), rows computed so far;
- one float32 dataset of shape (n_images, n_features) per layer, with the
  layer order in the ``layers`` attribute;
- attributes ``identity`` and ``complete``.
"""

import hashlib
import logging
import os
import time
from pathlib import Path

import h5py
import numpy as np

from jne.errors import DataError
from jne.log import progress

logger = logging.getLogger(__name__)


class HDF5ImageReader:
    """Read images by row from an HDF5 dataset of shape (n, H, W, 3).

    NSD's ``nsd_stimuli.hdf5`` stores its 73,000 images of 425 x 425
    pixels as uint8 in the dataset ``imgBrick``, one row per nsdId. Only
    the requested rows are read.
    """

    def __init__(self, path, dataset="imgBrick"):
        self.path = Path(path)
        self.dataset_name = dataset
        self._file = h5py.File(self.path, "r")
        if dataset not in self._file:
            self._file.close()
            raise DataError(
                f"{self.path} has no dataset {dataset!r}. Point the "
                "stimulus file option at NSD's nsd_stimuli.hdf5."
            )
        self.images = self._file[dataset]
        shape = self.images.shape
        if len(shape) != 4 or shape[-1] != 3:
            self._file.close()
            raise DataError(
                f"Dataset {dataset!r} of {self.path} has shape {shape}, "
                "expected (n_images, height, width, 3)."
            )

    def __len__(self):
        return self.images.shape[0]

    def read(self, ids):
        """Return the images of rows ``ids`` (increasing) as uint8."""
        ids = np.asarray(ids, dtype=np.int64)
        if len(ids) and (ids.min() < 0 or ids.max() >= len(self)):
            raise DataError(
                f"Image id {ids.max()} is outside {self.path}, which contains "
                f"{len(self)} images."
            )
        return np.asarray(self.images[ids], dtype=np.uint8)

    def close(self):
        self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def cache_path(cache_dir, extractor, ids):
    """Return the cache file of ``extractor`` applied to images ``ids``."""
    ids = np.ascontiguousarray(ids, dtype=np.int64)
    digest = hashlib.sha256(ids.tobytes()).hexdigest()[:16]
    return Path(cache_dir) / f"{extractor.identity()}-{digest}.h5"


def compute_features(extractor, reader, ids, cache_dir, batch_size=32):
    """Return the features of images ``ids``, from the cache if possible.

    Parameters
    ----------
    extractor : ImageFeatureExtractor
    reader : HDF5ImageReader or any object with ``read(ids)``
    ids : array of int of shape (n_images,)
        Image rows, in the order the output rows should follow. They are
        read in increasing order, which HDF5 needs for fast reads.
    cache_dir : Path
    batch_size : int
        Images per forward pass.

    Returns
    -------
    dict of str to array of float32 of shape (n_images, n_features)
        One entry per layer, in ``extractor.layer_names`` order.
    """
    ids = np.asarray(ids, dtype=np.int64)
    order = np.argsort(ids, kind="stable")
    sorted_ids = ids[order]
    path = cache_path(cache_dir, extractor, sorted_ids)
    partial = path.with_name(path.name + ".partial")

    if path.exists():
        logger.info("Reading cached image features from %s", path)
        features = _read_cache(path, sorted_ids)
    else:
        features = _fill_cache(
            extractor, reader, sorted_ids, partial, batch_size
        )
        os.replace(partial, path)
        logger.info("Image features cached in %s", path)

    inverse = np.empty_like(order)
    inverse[order] = np.arange(len(order))
    return {layer: values[inverse] for layer, values in features.items()}


def _read_cache(path, ids):
    with h5py.File(path, "r") as f:
        if not np.array_equal(f["ids"][()], ids):
            raise DataError(
                f"Feature cache {path} contains other images than requested. "
                "Delete it and run again."
            )
        layers = [str(name) for name in f.attrs["layers"]]
        return {layer: f[layer][()] for layer in layers}


def _fill_cache(extractor, reader, ids, partial, batch_size):
    """Compute the missing rows of ``partial`` and return all features."""
    partial.parent.mkdir(parents=True, exist_ok=True)
    identity = extractor.identity()
    if partial.exists():
        try:
            with h5py.File(partial, "r") as f:
                same = f.attrs.get("identity") == identity and np.array_equal(
                    f["ids"][()], ids
                )
        except (OSError, KeyError):
            # A run killed while writing can leave an unreadable file.
            same = False
        if not same:
            logger.warning(
                "Deleting %s: it is unreadable or was started for another "
                "model or image set.",
                partial,
            )
            partial.unlink()

    with h5py.File(partial, "a") as f:
        if "ids" not in f:
            f.attrs["identity"] = identity
            f.attrs["complete"] = False
            f.attrs["layers"] = list(extractor.layer_names)
            f.create_dataset("ids", data=ids)
            f.create_dataset("done", data=np.zeros(len(ids), dtype=bool))
        done = f["done"][()]
        todo = np.flatnonzero(~done)
        if done.any():
            logger.info(
                "Resuming image features in %s: %d of %d images done",
                partial,
                int(done.sum()),
                len(ids),
            )

        started = time.perf_counter()
        logger.info(
            "Computing %s features of %d images in batches of %d",
            identity,
            len(todo),
            batch_size,
        )
        batches = range(0, len(todo), batch_size)
        for start in progress(batches, desc="image features", unit="batch"):
            rows = todo[start : start + batch_size]
            features = extractor.extract(reader.read(ids[rows]))
            for layer, values in features.items():
                if layer not in f:
                    f.create_dataset(
                        layer,
                        shape=(len(ids), values.shape[1]),
                        dtype=np.float32,
                    )
                f[layer][rows] = values
            done[rows] = True
            f["done"][rows] = True
            f.flush()
        f.attrs["complete"] = True
        logger.info(
            "Computed features of %d images in %.1f s",
            len(todo),
            time.perf_counter() - started,
        )
        return {layer: f[layer][()] for layer in extractor.layer_names}
