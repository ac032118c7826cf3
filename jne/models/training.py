"""Training of the residual MLP with AdamW and early stopping.

Training follows Gao et al. (NeurIPS 2025): mean squared error, full-batch
AdamW, at most 512 epochs, early stopping with patience 8 on the
validation MSE, and the weights of the best validation epoch are the ones
returned.
"""

import contextlib
import copy
import logging
import math
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

from jne.errors import ConfigError, DataError
from jne.log import progress
from jne.models.io import data_checksum
from jne.models.mlp import ResidualMLP

logger = logging.getLogger(__name__)

# Defaults for z-scored features and responses, compared on simulated data
# by benchmarks/fit/tune_mlp_defaults.py (results in docs/models.md): 1e-4
# gave the best test R², and 3e-3 failed. Weight decay barely mattered
# under early stopping, so torch's AdamW default of 1e-2 is kept.
DEFAULT_LEARNING_RATE = 1e-4
DEFAULT_WEIGHT_DECAY = 1e-2
HISTORY_COLUMNS = ["epoch", "train_loss", "val_loss", "val_r2"]
_DTYPES = {"float32": torch.float32, "float64": torch.float64}


@dataclass
class MLPFit:
    """A trained residual MLP and how it was trained.

    Attributes
    ----------
    model : ResidualMLP
        The network with the weights of ``best_epoch``, in eval mode.
    history : DataFrame
        One row per epoch: ``epoch``, ``train_loss`` (mean MSE over the
        epoch's batches, measured before each update), ``val_loss``
        (validation MSE after the epoch) and ``val_r2`` (validation R²
        averaged over voxels, a fraction).
    best_epoch : int
        Epoch (from 1) with the lowest validation MSE.
    best_val_loss : float
    stopped_early : bool
        True when training stopped because of ``patience``.
    seconds : float
        Wall-clock training time.
    seed : int
    settings : dict
        Training settings: learning_rate, weight_decay, max_epochs,
        patience, batch_size, device and dtype.
    data_checksum : str
        SHA-256 of the training and validation arrays.
    n_train, n_val : int
        Number of training and validation stimuli.
    """

    model: ResidualMLP
    history: pd.DataFrame
    best_epoch: int
    best_val_loss: float
    stopped_early: bool
    seconds: float
    seed: int
    settings: dict = field(default_factory=dict)
    data_checksum: str = ""
    n_train: int = 0
    n_val: int = 0

    def predict(self, X, batch_size=4096):
        """Predict responses with the best-validation weights.

        Parameters
        ----------
        X : array of shape (n_stimuli, n_features)
        batch_size : int, default=4096
            Stimuli per forward pass.

        Returns
        -------
        array of float32 of shape (n_stimuli, n_voxels)
        """
        return predict(self.model, X, batch_size=batch_size)


def predict(model, X, batch_size=4096):
    """Predict responses of ``model`` in eval mode, in batches of stimuli.

    Returns
    -------
    array of float32 of shape (n_stimuli, n_voxels)
    """
    parameter = next(model.parameters())
    model.eval()
    outputs = []
    with torch.no_grad():
        for start in range(0, len(X), batch_size):
            batch = torch.as_tensor(
                np.asarray(X[start : start + batch_size]),
                dtype=parameter.dtype,
                device=parameter.device,
            )
            outputs.append(model(batch).cpu().numpy().astype(np.float32))
    if not outputs:
        return np.empty((0, model.config["n_voxels"]), dtype=np.float32)
    return np.concatenate(outputs)


def fit_mlp(
    X_train,
    Y_train,
    X_val,
    Y_val,
    *,
    hidden_size=1024,
    n_blocks=2,
    activation="relu",
    bias=False,
    dropout=0.0,
    learning_rate=DEFAULT_LEARNING_RATE,
    weight_decay=DEFAULT_WEIGHT_DECAY,
    max_epochs=512,
    patience=8,
    batch_size=None,
    seed=0,
    device="cpu",
    dtype=torch.float32,
):
    """Train a residual MLP with AdamW and early stopping.

    With the same seed, inputs, torch version and number of CPU threads,
    two CPU runs return bitwise identical weights: the seed fixes the
    initialisation, dropout and batch order, and torch's deterministic
    algorithms are switched on during training. CUDA runs are not
    bitwise reproducible.

    Parameters
    ----------
    X_train : array of shape (n_train, n_features)
    Y_train : array of shape (n_train, n_voxels)
    X_val : array of shape (n_val, n_features)
    Y_val : array of shape (n_val, n_voxels)
    hidden_size, n_blocks, activation, bias, dropout
        Architecture, see :class:`jne.models.ResidualMLP`.
        ``activation="identity"`` gives the linear residual network.
    learning_rate : float, default=1e-4
    weight_decay : float, default=1e-2
        AdamW's decoupled weight decay.
    max_epochs : int, default=512
    patience : int, default=8
        Epochs without a lower validation MSE before training stops.
    batch_size : int, optional
        Stimuli per update. None means full batch (one update per epoch).
    seed : int, default=0
    device : {"cpu", "cuda"} or torch.device, default="cpu"
    dtype : torch.dtype or {"float32", "float64"}, default=torch.float32

    Returns
    -------
    MLPFit
    """
    _check_inputs(X_train, Y_train, X_val, Y_val)
    settings, dtype = _check_settings(
        learning_rate,
        weight_decay,
        max_epochs,
        patience,
        batch_size,
        device,
        dtype,
    )
    device = torch.device(device)
    checksum = data_checksum(X_train, Y_train, X_val, Y_val)
    n_features = X_train.shape[1]
    n_voxels = Y_train.shape[1]
    logger.info(
        "Training %s MLP (%d blocks of %d, seed %d, %s) on %d train and "
        "%d val stimuli, %d features, %d voxels.",
        activation,
        n_blocks,
        hidden_size,
        seed,
        device,
        len(X_train),
        len(X_val),
        n_features,
        n_voxels,
    )
    start = time.perf_counter()
    # NOTE: training on cuda is covered by a test that is skipped without a
    # GPU, and no GPU was available when this was written.
    cuda_devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda_devices), _deterministic(device):
        torch.manual_seed(seed)
        model = ResidualMLP(
            n_features,
            n_voxels,
            hidden_size=hidden_size,
            n_blocks=n_blocks,
            activation=activation,
            bias=bias,
            dropout=dropout,
        ).to(device=device, dtype=dtype)
        arrays = [
            torch.as_tensor(np.asarray(a), dtype=dtype, device=device)
            for a in (X_train, Y_train, X_val, Y_val)
        ]
        generator = torch.Generator().manual_seed(seed)
        history, best = _train(model, arrays, settings, generator)
    model.load_state_dict(best["state"])
    model.eval()
    seconds = time.perf_counter() - start
    stopped_early = len(history) < max_epochs
    logger.info(
        "Trained for %d epochs in %.1f s (%.2f s per epoch); best epoch "
        "%d with validation MSE %.4f and mean R² %.4f%s.",
        len(history),
        seconds,
        seconds / len(history),
        best["epoch"],
        best["loss"],
        history.loc[best["epoch"] - 1, "val_r2"],
        ", stopped early" if stopped_early else "",
    )
    return MLPFit(
        model=model,
        history=history,
        best_epoch=best["epoch"],
        best_val_loss=best["loss"],
        stopped_early=stopped_early,
        seconds=seconds,
        seed=int(seed),
        settings=settings,
        data_checksum=checksum,
        n_train=len(X_train),
        n_val=len(X_val),
    )


def _train(model, arrays, settings, generator):
    """Run the epochs and return the history and the best state."""
    X, Y, X_val, Y_val = arrays
    optimizer = torch.optim.AdamW(
        model.parameters(),
        lr=settings["learning_rate"],
        weight_decay=settings["weight_decay"],
    )
    val_sst = ((Y_val - Y_val.mean(dim=0)) ** 2).sum(dim=0)
    informative = val_sst > 0

    rows = []
    best = {"loss": math.inf, "epoch": 0, "state": None}
    epochs_without_gain = 0
    epochs = range(1, settings["max_epochs"] + 1)
    for epoch in progress(epochs, desc="epochs", unit="epoch"):
        model.train()
        train_loss = _train_epoch(
            model, optimizer, X, Y, settings["batch_size"], generator
        )
        if not math.isfinite(train_loss):
            raise ConfigError(
                f"Training diverged at epoch {epoch} (training loss "
                f"{train_loss}). Lower learning_rate (now "
                f"{settings['learning_rate']:g})."
            )

        model.eval()
        with torch.no_grad():
            sse = ((model(X_val) - Y_val) ** 2).sum(dim=0)
        val_loss = float(sse.sum()) / Y_val.numel()
        val_r2 = float((1 - sse[informative] / val_sst[informative]).mean())
        rows.append((epoch, train_loss, val_loss, val_r2))

        if val_loss < best["loss"]:
            # A deep copy, because state_dict() tensors share storage with
            # the parameters that later updates change in place.
            best = {
                "loss": val_loss,
                "epoch": epoch,
                "state": copy.deepcopy(model.state_dict()),
            }
            epochs_without_gain = 0
        else:
            epochs_without_gain += 1
            if epochs_without_gain >= settings["patience"]:
                break
    history = pd.DataFrame(rows, columns=HISTORY_COLUMNS)
    return history, best


def _train_epoch(model, optimizer, X, Y, batch_size, generator):
    n = len(X)
    if batch_size is None or batch_size >= n:
        batches = [None]
    else:
        order = torch.randperm(n, generator=generator).to(X.device)
        batches = torch.split(order, batch_size)
    total = 0.0
    for index in batches:
        inputs = X if index is None else X[index]
        targets = Y if index is None else Y[index]
        optimizer.zero_grad(set_to_none=True)
        loss = torch.nn.functional.mse_loss(model(inputs), targets)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(inputs)
    return total / n


@contextlib.contextmanager
def _deterministic(device):
    """Switch on torch's deterministic algorithms on CPU for the block.

    On CUDA this would need CUBLAS_WORKSPACE_CONFIG set before CUDA starts,
    so CUDA runs are left as they are.
    """
    if device.type != "cpu":
        yield
        return
    previous = torch.are_deterministic_algorithms_enabled()
    previous_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(previous, warn_only=previous_warn)


def _check_inputs(X_train, Y_train, X_val, Y_val):
    shapes = {
        name: np.shape(array)
        for name, array in (
            ("X_train", X_train),
            ("Y_train", Y_train),
            ("X_val", X_val),
            ("Y_val", Y_val),
        )
    }
    if any(len(shape) != 2 for shape in shapes.values()):
        raise DataError(f"All inputs must be 2-D arrays, got {shapes}.")
    if shapes["X_train"][0] != shapes["Y_train"][0] or (
        shapes["X_val"][0] != shapes["Y_val"][0]
    ):
        raise DataError(
            f"Features and responses need one row per stimulus, got {shapes}."
        )
    if shapes["X_train"][1] != shapes["X_val"][1] or (
        shapes["Y_train"][1] != shapes["Y_val"][1]
    ):
        raise DataError(
            "Training and validation arrays must have the same number of "
            f"features and voxels, got {shapes}."
        )
    for name, array in (
        ("X_train", X_train),
        ("Y_train", Y_train),
        ("X_val", X_val),
        ("Y_val", Y_val),
    ):
        if not np.isfinite(array).all():
            raise DataError(
                f"{name} contains NaN or Inf. Rerun the prepare step, which "
                "drops voxels with non-finite responses."
            )
    if shapes["X_val"][0] == 0:
        raise DataError(
            "The validation set is empty, but early stopping needs it. Set "
            "val_fraction above 0 or label stimuli 'val' in the split "
            "column."
        )


def _check_settings(
    learning_rate,
    weight_decay,
    max_epochs,
    patience,
    batch_size,
    device,
    dtype,
):
    if not learning_rate > 0:
        raise ConfigError(f"learning_rate must be > 0, got {learning_rate}.")
    if not weight_decay >= 0:
        raise ConfigError(f"weight_decay must be >= 0, got {weight_decay}.")
    if max_epochs < 1 or patience < 1:
        raise ConfigError(
            f"max_epochs and patience must be >= 1, got {max_epochs} and "
            f"{patience}."
        )
    if batch_size is not None and batch_size < 1:
        raise ConfigError(
            f"batch_size must be >= 1 or None (full batch), got "
            f"{batch_size}."
        )
    try:
        device = torch.device(device)
    except RuntimeError:
        device = None
    if device is None or device.type not in ("cpu", "cuda"):
        raise ConfigError(f"Invalid device {device!r}: use 'cpu' or 'cuda'.")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            "device is 'cuda' but torch finds no CUDA device. Set device to "
            "'cpu' or install a CUDA build of torch."
        )
    dtype = _DTYPES.get(dtype, dtype)
    if dtype not in (torch.float32, torch.float64):
        raise ConfigError(
            f"Invalid dtype {dtype!r}: use 'float32' or 'float64'."
        )
    settings = dict(
        learning_rate=float(learning_rate),
        weight_decay=float(weight_decay),
        max_epochs=int(max_epochs),
        patience=int(patience),
        batch_size=None if batch_size is None else int(batch_size),
        device=str(device),
        dtype=str(dtype).replace("torch.", ""),
    )
    return settings, dtype
