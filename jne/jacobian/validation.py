"""Checks and conversions of the arguments of ``compute_jne``."""

import numpy as np
import torch

from jne.errors import ConfigError, DataError

DTYPES = {"float32": torch.float32, "float64": torch.float64}


def resolve_dtype(dtype):
    """Return the torch dtype for a torch dtype or its name."""
    if isinstance(dtype, str):
        dtype = DTYPES.get(dtype.removeprefix("torch."), dtype)
    if dtype not in DTYPES.values():
        raise ConfigError(
            f"Invalid jacobian.dtype {dtype!r}: use 'float32' (default) or "
            "'float64'."
        )
    return dtype


def resolve_device(device):
    """Return a torch device, raising ConfigError if it is unavailable."""
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError):
        raise ConfigError(
            f"Invalid jacobian.device {device!r}: use 'cpu' or 'cuda'."
        ) from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            "jacobian.device is 'cuda' but torch finds no CUDA device. Set "
            "jacobian.device to 'cpu' or install a CUDA build of torch."
        )
    if device.type not in ("cpu", "cuda"):
        raise ConfigError(
            f"Invalid jacobian.device {str(device)!r}: use 'cpu' or 'cuda'."
        )
    return device


def as_inputs(inputs, dtype, device):
    """Return ``inputs`` as a finite 2-D tensor, or raise DataError."""
    if not torch.is_tensor(inputs):
        inputs = np.asarray(inputs)
    tensor = torch.as_tensor(inputs)
    if tensor.ndim != 2 or tensor.shape[0] < 1 or tensor.shape[1] < 1:
        raise DataError(
            f"Invalid inputs of shape {tuple(tensor.shape)}: expected "
            "(n_stimuli, n_features) with at least one of each."
        )
    tensor = tensor.detach().to(device=device, dtype=dtype)
    if not torch.isfinite(tensor).all():
        raise DataError(
            "Inputs contain NaN or infinite values: remove or impute those "
            "stimuli before computing JNE."
        )
    return tensor


def as_voxels(voxels, n_outputs):
    """Return sorted output columns from an index, a mask or None (all)."""
    if voxels is None:
        return np.arange(n_outputs)
    index = np.asarray(voxels)
    if index.dtype == bool:
        if index.shape != (n_outputs,):
            raise DataError(
                f"Invalid voxel mask of shape {index.shape}: expected "
                f"({n_outputs},), one entry per model output."
            )
        index = np.flatnonzero(index)
    if index.ndim != 1 or index.size == 0:
        raise DataError("Invalid voxels: expected a non-empty 1-D index.")
    if not np.issubdtype(index.dtype, np.integer):
        raise DataError(
            f"Invalid voxels of dtype {index.dtype}: expected int."
        )
    if index.min() < 0 or index.max() >= n_outputs:
        raise DataError(
            f"Invalid voxels: indices must lie in [0, {n_outputs}) for a "
            f"model with {n_outputs} outputs, got {index.min()}.."
            f"{index.max()}."
        )
    if np.any(np.diff(index) <= 0):
        raise DataError("Invalid voxels: indices must be sorted and unique.")
    return index
