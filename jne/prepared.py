"""The model-ready arrays of one subject and layer, in memory and as HDF5.

:func:`jne.prepare.prepare` builds a :class:`Prepared`. Every model-fitting
stage reads one, from the ``prepared.h5`` that :meth:`Prepared.save`
writes. The layout is documented in ``docs/models.md``.
"""

import json
import logging
from dataclasses import dataclass, field

import h5py
import numpy as np

from jne._atomic import atomic_path
from jne.errors import ConfigError, DataError

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
SPLITS = ("train", "val", "test")


@dataclass
class Prepared:
    """Model-ready arrays of one subject and feature layer.

    Attributes
    ----------
    X_train, X_val, X_test : array of float32 of shape (n, n_features)
        Stimulus features, one row per stimulus of the split.
    Y_train, Y_val, Y_test : array of float32 of shape (n, n_voxels)
        Responses averaged over the repeats of each stimulus.
    stimulus_id : dict of str to array of str
        Stimulus ids of each split (``"train"``, ``"val"``, ``"test"``), in
        row order of the arrays.
    category : dict of str to array of str
        Stimulus category of each row, ``""`` when the stimulus table has no
        ``category`` column.
    voxel_index : array of int64 of shape (n_voxels,)
        Column of ``Dataset.betas`` that each kept voxel comes from.
    noise_ceiling : array of float64 of shape (n_voxels,)
        Noise ceiling of the test responses in percent of variance, NaN
        when no test stimulus is repeated.
    ncsnr : array of float64 of shape (n_voxels,)
        Noise-ceiling signal-to-noise ratio behind ``noise_ceiling``.
    n_repeats_test : array of int64 of shape (n_test,)
        Number of trials averaged for each test stimulus.
    dataset, subject, layer : str
    simulated : bool
        True when the responses are simulated.
    settings : dict
        Keyword arguments of :func:`prepare`, kept for provenance.
    feature_mean : array of float64 of shape (n_original_features,) or None
    feature_projection : array of float64 of shape \
(n_original_features, n_features) or None
        Set when the features were reduced to principal components:
        ``X = (features - feature_mean) @ feature_projection``.
    """

    X_train: np.ndarray
    Y_train: np.ndarray
    X_val: np.ndarray
    Y_val: np.ndarray
    X_test: np.ndarray
    Y_test: np.ndarray
    stimulus_id: dict
    category: dict
    voxel_index: np.ndarray
    noise_ceiling: np.ndarray
    ncsnr: np.ndarray
    n_repeats_test: np.ndarray
    dataset: str
    subject: str
    layer: str
    simulated: bool = False
    settings: dict = field(default_factory=dict)
    feature_mean: np.ndarray = None
    feature_projection: np.ndarray = None

    @property
    def n_features(self):
        return self.X_train.shape[1]

    @property
    def n_voxels(self):
        return self.Y_train.shape[1]

    def split(self, name):
        """Return ``(X, Y)`` of split ``"train"``, ``"val"`` or ``"test"``."""
        if name not in SPLITS:
            raise ConfigError(
                f"Invalid split {name!r}: use 'train', 'val' or 'test'."
            )
        return getattr(self, f"X_{name}"), getattr(self, f"Y_{name}")

    def train_val(self):
        """Return ``(X, Y)`` of the training and validation rows stacked.

        Ridge regression selects its penalty by internal cross-validation,
        so it is fitted on these rows. The arrays are new, so they may be
        passed to ``fit_ridge(..., copy=False)``, which centres them in
        place.
        """
        X = np.concatenate([self.X_train, self.X_val])
        Y = np.concatenate([self.Y_train, self.Y_val])
        return X, Y

    def save(self, path):
        """Write all arrays to one HDF5 file, atomically."""
        strings = h5py.string_dtype()
        with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
            f.attrs["format_version"] = FORMAT_VERSION
            f.attrs["dataset"] = self.dataset
            f.attrs["subject"] = self.subject
            f.attrs["layer"] = self.layer
            f.attrs["simulated"] = bool(self.simulated)
            f.attrs["settings"] = json.dumps(self.settings, sort_keys=True)
            for name in SPLITS:
                group = f.create_group(name)
                X, Y = self.split(name)
                group.create_dataset("X", data=X)
                group.create_dataset("Y", data=Y)
                group.create_dataset(
                    "stimulus_id",
                    data=np.asarray(self.stimulus_id[name], dtype=object),
                    dtype=strings,
                )
                group.create_dataset(
                    "category",
                    data=np.asarray(self.category[name], dtype=object),
                    dtype=strings,
                )
            f.create_dataset("voxel_index", data=self.voxel_index)
            f.create_dataset("noise_ceiling", data=self.noise_ceiling)
            f.create_dataset("ncsnr", data=self.ncsnr)
            f.create_dataset("n_repeats_test", data=self.n_repeats_test)
            if self.feature_projection is not None:
                group = f.create_group("features")
                group.create_dataset("mean", data=self.feature_mean)
                group.create_dataset(
                    "projection", data=self.feature_projection
                )
        logger.info("Wrote prepared data to %s.", path)

    @classmethod
    def load(cls, path):
        """Read a file written by :meth:`save`."""
        try:
            handle = h5py.File(path, "r")
        except OSError as error:
            raise DataError(
                f"{path} could not be opened as HDF5 ({error}). Pass the "
                "prepared.h5 that the prepare step wrote."
            ) from error
        with handle as f:
            if any(name not in f for name in SPLITS):
                raise DataError(
                    f"{path} is not a prepared-data file: it has no "
                    f"'train', 'val' and 'test' groups (found: "
                    f"{', '.join(f.keys())}). Pass the prepared.h5 that the "
                    "prepare step wrote, not dataset.h5."
                )
            version = int(f.attrs.get("format_version", 0))
            if version != FORMAT_VERSION:
                raise DataError(
                    f"{path} was written with prepared-data format "
                    f"{version}, this jne reads format {FORMAT_VERSION}. "
                    "Delete it and rerun the prepare step."
                )
            arrays = {}
            ids = {}
            categories = {}
            for name in SPLITS:
                arrays[f"X_{name}"] = f[name]["X"][()]
                arrays[f"Y_{name}"] = f[name]["Y"][()]
                ids[name] = f[name]["stimulus_id"].asstr()[()].astype(str)
                categories[name] = f[name]["category"].asstr()[()].astype(str)
            return cls(
                **arrays,
                stimulus_id=ids,
                category=categories,
                voxel_index=f["voxel_index"][()],
                noise_ceiling=f["noise_ceiling"][()],
                ncsnr=f["ncsnr"][()],
                n_repeats_test=f["n_repeats_test"][()],
                dataset=str(f.attrs["dataset"]),
                subject=str(f.attrs["subject"]),
                layer=str(f.attrs["layer"]),
                simulated=bool(f.attrs["simulated"]),
                settings=json.loads(f.attrs["settings"]),
                feature_mean=(
                    f["features/mean"][()] if "features" in f else None
                ),
                feature_projection=(
                    f["features/projection"][()] if "features" in f else None
                ),
            )
