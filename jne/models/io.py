"""Files of fitted models and their test predictions.

An MLP fit is stored as three files in one folder:

- ``weights.pt``: the ``state_dict`` of the :class:`ResidualMLP`, on CPU.
- ``model.json``: architecture (``ResidualMLP.config``), seed, training
  settings, best epoch, a SHA-256 of the training arrays, package
  versions, device and caller metadata.
- ``history.tsv``: one row per epoch (epoch, train_loss, val_loss,
  val_r2).

A ridge fit is ``ridge.h5`` (see :meth:`RidgeFit.save`) plus a
``model.json``. Test predictions are ``predictions.h5`` with ``y_pred``
and ``stimulus_id``. Every file is written atomically.
"""

import datetime
import hashlib
import json
import logging
import pickle
import platform
from importlib import metadata as importlib_metadata
from pathlib import Path

import h5py
import numpy as np
import torch

from jne._atomic import atomic_path, write_json, write_table
from jne.errors import ConfigError, DataError
from jne.models.mlp import ResidualMLP

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
_PACKAGES = ("jne", "torch", "numpy", "himalaya", "h5py", "scipy", "pandas")


def data_checksum(*arrays):
    """Return a SHA-256 of arrays' dtypes, shapes and float32 contents.

    Arrays are cast to C-contiguous float32 first, so the same data passed
    as float32 or float64 hash alike.

    Returns
    -------
    str
        ``"sha256:"`` followed by 64 hex digits.
    """
    digest = hashlib.sha256()
    for array in arrays:
        array = np.ascontiguousarray(array, dtype=np.float32)
        digest.update(str(array.shape).encode())
        digest.update(memoryview(array).cast("B"))
    return "sha256:" + digest.hexdigest()


def package_versions():
    """Return the versions of Python and the packages behind a fit."""
    versions = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            versions[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            versions[name] = None
    if versions["jne"] is None:
        import jne

        versions["jne"] = jne.__version__
    return versions


def _paths(out_dir, weights_path, metadata_path, history_path):
    if out_dir is not None:
        out_dir = Path(out_dir)
        weights_path = weights_path or out_dir / "weights.pt"
        metadata_path = metadata_path or out_dir / "model.json"
        history_path = history_path or out_dir / "history.tsv"
    if None in (weights_path, metadata_path, history_path):
        raise ConfigError(
            "save_mlp needs out_dir, or all of weights_path, metadata_path "
            "and history_path."
        )
    return Path(weights_path), Path(metadata_path), Path(history_path)


def save_mlp(
    fit,
    out_dir=None,
    *,
    weights_path=None,
    metadata_path=None,
    history_path=None,
    metadata=None,
):
    """Write an :class:`MLPFit` as weights, metadata and history files.

    Parameters
    ----------
    fit : MLPFit
    out_dir : str or Path, optional
        Folder for ``weights.pt``, ``model.json`` and ``history.tsv``.
    weights_path, metadata_path, history_path : str or Path, optional
        Explicit paths, which take precedence over ``out_dir``.
    metadata : dict, optional
        Extra JSON-serialisable fields stored under ``"metadata"`` in
        ``model.json``, e.g. dataset, subject, layer and model name.

    Returns
    -------
    dict of str to Path
        Keys ``"weights"``, ``"metadata"`` and ``"history"``.
    """
    weights_path, metadata_path, history_path = _paths(
        out_dir, weights_path, metadata_path, history_path
    )
    state = {k: v.detach().cpu() for k, v in fit.model.state_dict().items()}
    with atomic_path(weights_path) as tmp:
        torch.save(state, tmp)
    document = {
        "format_version": FORMAT_VERSION,
        "kind": "mlp",
        "architecture": dict(fit.model.config),
        "seed": fit.seed,
        "training": {
            "optimizer": "AdamW",
            "loss": "mse",
            "early_stopping": "validation mse",
            **fit.settings,
        },
        "best_epoch": fit.best_epoch,
        "best_val_loss": fit.best_val_loss,
        "n_epochs": len(fit.history),
        "stopped_early": fit.stopped_early,
        "seconds": fit.seconds,
        "n_train": fit.n_train,
        "n_val": fit.n_val,
        "data_checksum": fit.data_checksum,
        "device": fit.settings.get("device"),
        "versions": package_versions(),
        "created_utc": _now(),
        "metadata": metadata or {},
    }
    write_json(metadata_path, document)
    write_table(history_path, fit.history)
    logger.info("Wrote MLP weights, metadata and history to %s.", weights_path)
    return {
        "weights": weights_path,
        "metadata": metadata_path,
        "history": history_path,
    }


def load_mlp(weights, metadata, device="cpu"):
    """Rebuild a saved MLP from ``weights.pt`` and ``model.json``.

    Returns
    -------
    ResidualMLP
        In eval mode, on ``device``.
    """
    document = read_metadata(metadata)
    if document.get("kind") != "mlp":
        raise DataError(
            f"{metadata} describes a {document.get('kind')!r} model, not an "
            "MLP. Pass the model.json written next to weights.pt."
        )
    model = ResidualMLP(**document["architecture"])
    try:
        state = torch.load(weights, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, pickle.UnpicklingError) as error:
        raise DataError(
            f"{weights} could not be read as torch weights ({error}). Pass "
            "the weights.pt written by the fit."
        ) from error
    try:
        model.load_state_dict(state)
    except RuntimeError as error:
        raise DataError(
            f"The weights in {weights} do not fit the architecture in "
            f"{metadata} ({error}). Save both files from the same fit."
        ) from error
    return model.to(device).eval()


def read_metadata(path):
    """Read a ``model.json`` and check its format version."""
    try:
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DataError(
            f"{path} could not be read as a model.json ({error}). Pass the "
            "model.json written next to weights.pt."
        ) from error
    if not isinstance(document, dict):
        raise DataError(
            f"{path} contains a JSON {type(document).__name__}, not a "
            "model.json object. Pass the model.json written by the fit."
        )
    version = document.get("format_version")
    if version != FORMAT_VERSION:
        raise DataError(
            f"{path} has model format {version}, this jne reads format "
            f"{FORMAT_VERSION}. Refit the model."
        )
    return document


def save_ridge(fit, out_dir, *, X_train=None, Y_train=None, metadata=None):
    """Write a :class:`RidgeFit` as ``ridge.h5`` and ``model.json``.

    ``X_train`` and ``Y_train``, when given, are hashed into the metadata.

    Returns
    -------
    dict of str to Path
        Keys ``"model"`` and ``"metadata"``.
    """
    out_dir = Path(out_dir)
    fit.save(out_dir / "ridge.h5")
    checksum = None
    if X_train is not None and Y_train is not None:
        checksum = data_checksum(X_train, Y_train)
    document = {
        "format_version": FORMAT_VERSION,
        "kind": "ridge",
        "solver": fit.solver,
        "n_features": fit.n_features,
        "n_voxels": fit.n_voxels,
        "alpha_grid": fit.alpha_grid.tolist(),
        "seconds": fit.seconds,
        "data_checksum": checksum,
        "versions": package_versions(),
        "created_utc": _now(),
        "metadata": metadata or {},
    }
    write_json(out_dir / "model.json", document)
    return {"model": out_dir / "ridge.h5", "metadata": out_dir / "model.json"}


def save_predictions(path, y_pred, stimulus_id, *, voxel_index=None, **attrs):
    """Write test predictions to HDF5, atomically.

    Parameters
    ----------
    path : str or Path
        Usually ``predictions.h5``.
    y_pred : array of shape (n_stimuli, n_voxels)
        Stored as float32 dataset ``y_pred``.
    stimulus_id : array of str of shape (n_stimuli,)
        Stored as dataset ``stimulus_id`` (UTF-8).
    voxel_index : array of int of shape (n_voxels,), optional
        Stored as dataset ``voxel_index`` when given.
    **attrs
        Scalar HDF5 attributes, e.g. ``model="relu"``.
    """
    y_pred = np.asarray(y_pred, dtype=np.float32)
    stimulus_id = np.asarray(stimulus_id).astype(str)
    if y_pred.ndim != 2 or len(stimulus_id) != len(y_pred):
        raise DataError(
            f"y_pred has shape {y_pred.shape} but there are "
            f"{len(stimulus_id)} stimulus ids: expected (n_stimuli, "
            "n_voxels) with one id per row."
        )
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        f.attrs["format_version"] = FORMAT_VERSION
        for key, value in attrs.items():
            f.attrs[key] = value
        f.create_dataset("y_pred", data=y_pred)
        f.create_dataset(
            "stimulus_id",
            data=stimulus_id.astype(object),
            dtype=h5py.string_dtype(),
        )
        if voxel_index is not None:
            f.create_dataset("voxel_index", data=np.asarray(voxel_index))
    logger.info("Wrote predictions %s to %s.", y_pred.shape, path)


def load_predictions(path):
    """Read a file written by :func:`save_predictions`.

    Returns
    -------
    dict
        ``y_pred`` (float32 array), ``stimulus_id`` (str array),
        ``voxel_index`` (int array or None) and ``attrs`` (dict).
    """
    with h5py.File(path, "r") as f:
        version = f.attrs.get("format_version")
        if version != FORMAT_VERSION:
            raise DataError(
                f"{path} has predictions format {version}, this jne reads "
                f"format {FORMAT_VERSION}. Rerun the prediction step."
            )
        return {
            "y_pred": f["y_pred"][()],
            "stimulus_id": f["stimulus_id"].asstr()[()].astype(str),
            "voxel_index": (
                f["voxel_index"][()] if "voxel_index" in f else None
            ),
            "attrs": {
                k: v for k, v in f.attrs.items() if k != "format_version"
            },
        }


def _now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(
        timespec="seconds"
    )
