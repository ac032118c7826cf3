"""``compute_jne``: JNE and JNE-SS of an encoding model, within a budget.

JNE (Gao et al., NeurIPS 2025, "Jacobian-Based Interpretation of
Nonlinear Neural Encoding Model") for a model f and stimuli x_1..x_N,
with J_i = df(x_i)/dx_i::

    d[i, m]     = ||J_i[m] - Jbar[m]||_1       (Jbar = mean_i J_i)
    JNE[m]      = sqrt(mean_i (d[i, m] - mean_k d[k, m])**2)
    JNESS[i, m] = (d[i, m] - mean_k d[k, m])**2

``jne.jacobian.dense`` writes this out literally; this module computes the
same numbers without ever holding all Jacobians.
"""

import logging
import time

import torch

from jne.errors import ConfigError, DataError
from jne.jacobian import approximate as approx
from jne.jacobian.chunking import budget_bytes
from jne.jacobian.engine import (
    check_with_reverse_mode,
    compute_into_store,
    numpy_dtype,
    summarise_check,
)
from jne.jacobian.generic import module_function
from jne.jacobian.spill import resolve_scratch_dir
from jne.jacobian.store import DeviationStore
from jne.jacobian.validation import (
    as_inputs,
    as_voxels,
    resolve_device,
    resolve_dtype,
)
from jne.models.mlp import ResidualMLP

logger = logging.getLogger(__name__)

# Share of max_memory_gb that the chunk plans may fill.
PLANNED_FRACTION = 0.9

MODES = ("auto", "fast", "forward", "reverse", "approximate")


def _model_outputs(model, function, x):
    if isinstance(model, ResidualMLP):
        expected = model.config["n_features"]
        if x.shape[1] != expected:
            raise DataError(
                f"The inputs have {x.shape[1]} features, but the model was "
                f"built for {expected}. Pass the features the model was "
                "fitted on (after the same preparation, e.g. the same "
                "principal components)."
            )
        return model.config["n_voxels"]
    with torch.no_grad():
        try:
            output = function(x[:1])
        except RuntimeError as error:
            raise DataError(
                f"The model failed on one stimulus of shape "
                f"{tuple(x[:1].shape)}: {error}. Check that the inputs have "
                "the number of features the model expects."
            ) from error
    if not torch.is_tensor(output) or output.ndim != 2 or output.shape[0] != 1:
        raise DataError(
            f"The model must map inputs of shape (n, n_features) to (n, "
            f"n_outputs), but one stimulus gave "
            f"{getattr(output, 'shape', type(output))}."
        )
    return output.shape[1]


def _choose_mode(mode, model, n_features, n_voxels):
    if mode not in MODES:
        raise ConfigError(
            f"Invalid jacobian.mode {mode!r}: choose one of {', '.join(MODES)}."
        )
    is_residual = isinstance(model, ResidualMLP)
    if mode == "fast" and not is_residual:
        raise ConfigError(
            f"jacobian.mode 'fast' needs a jne.models.ResidualMLP, got "
            f"{type(model).__name__}. Use 'auto', 'forward' or 'reverse'."
        )
    if mode == "auto":
        if is_residual:
            return "fast"
        return "forward" if n_features <= n_voxels else "reverse"
    if mode == "approximate":
        return "fast" if is_residual else "forward"
    return mode


def compute_jne(
    model,
    inputs,
    *,
    mode="auto",
    max_memory_gb=2.0,
    dtype=torch.float32,
    device="cpu",
    jne_ss_path=None,
    voxels=None,
    stimulus_chunk=None,
    voxel_chunk=None,
    feature_chunk=None,
    n_sampled_stimuli=100,
    n_check_voxels=64,
    seed=0,
    scratch_dir="auto",
):
    """Compute JNE per voxel and JNE-SS per stimulus and voxel.

    Parameters
    ----------
    model : torch.nn.Module
        Maps inputs of shape (n, n_features) to responses of shape (n,
        n_outputs), row by row. It is evaluated in eval mode (dropout off)
        and left unchanged. A ``jne.models.ResidualMLP`` gets the
        closed-form path.
    inputs : tensor or array of shape (n_stimuli, n_features)
        Stimuli at which the Jacobians are taken (the test stimuli, as in
        Gao et al.).
    mode : {"auto", "fast", "forward", "reverse", "approximate"}
        ``"auto"`` takes ``"fast"`` for a ``ResidualMLP``, otherwise
        ``"forward"`` if n_features <= n_voxels and ``"reverse"`` if not.
        ``"approximate"`` computes deviations for ``n_sampled_stimuli``
        random stimuli only (see ``jne.jacobian.approximate``) and reports
        its error on ``n_check_voxels`` voxels computed exactly.
    max_memory_gb : float, default=2.0
        Budget of the working arrays in GB (10**9 bytes). Chunk sizes
        follow from it. Weights, inputs and outputs come on top.
    dtype : torch.dtype or {"float32", "float64"}, default=torch.float32
    device : str or torch.device, default="cpu"
        NOTE: the code is device-agnostic, but "cuda" has not been run
        yet (no GPU was available). Compare a small run with "cpu" first.
    jne_ss_path : str or Path, optional
        HDF5 file for ``deviation`` and ``jne_ss``, written atomically in
        chunks. The result then contains open datasets instead of arrays.
    voxels : array of int or bool, optional
        Sorted output columns (or a mask of length n_outputs) whose JNE is
        computed. All outputs by default.
    stimulus_chunk, voxel_chunk, feature_chunk : int, optional
        Fixed block sizes (see ``jne.jacobian.engine.plan_run``), for tests and tuning.
        Planned from ``max_memory_gb`` when None.
    n_sampled_stimuli : int, default=100
        Stimuli of the deviation pass in the approximate mode. With as
        many as there are stimuli, the exact path runs.
    n_check_voxels : int, default=64
        Voxels computed exactly to measure the approximation error.
    seed : int, default=0
        Seed of the stimulus and voxel samples of the approximate mode.
    scratch_dir : str, Path, "auto" or None, default="auto"
        Closed-form path only: directory of a scratch file for the
        hidden-space products that do not fit in ``max_memory_gb``
        between the two passes (see ``jne.jacobian.spill``). ``"auto"``
        is the system's temporary directory. None, or too little free
        space, builds them again instead.

    Returns
    -------
    JNEResult

    Raises
    ------
    ConfigError
        For an unknown mode, dtype or device, or a budget too small.
    DataError
        For inputs, voxels or model outputs of the wrong shape, or
        non-finite inputs.
    """
    start = time.perf_counter()
    dtype = resolve_dtype(dtype)
    device = resolve_device(device)
    # Plan for 90 % of the budget. The rest covers what the plans do not
    # count: h5py's chunk buffers, allocator slack and small temporaries,
    # which took 3 % of a 1.25 GB budget at 200,000 voxels.
    budget = int(budget_bytes(max_memory_gb) * PLANNED_FRACTION)
    x = as_inputs(inputs, dtype, device)
    n_stimuli, n_features = x.shape
    was_training = model.training
    model.eval()
    try:
        function = module_function(model, dtype, device)
        n_outputs = _model_outputs(model, function, x)
        voxel_index = as_voxels(voxels, n_outputs)
        path = _choose_mode(mode, model, n_features, len(voxel_index))
        sample = None
        label = path
        if mode == "approximate" and n_sampled_stimuli >= n_stimuli:
            logger.info(
                "approximate JNE: %d sampled stimuli cover all %d, so the "
                "exact path runs",
                n_sampled_stimuli,
                n_stimuli,
            )
        elif mode == "approximate":
            sample = approx.sample_stimuli(n_stimuli, n_sampled_stimuli, seed)
            label = f"approximate-{path}"
        logger.info(
            "JNE (%s path) on %d stimuli x %d voxels, %d features, %s on "
            "%s: started",
            label,
            n_stimuli,
            len(voxel_index),
            n_features,
            str(dtype).removeprefix("torch."),
            device,
        )
        run = dict(
            model=model,
            function=function,
            x=x,
            path=path,
            n_outputs=n_outputs,
            voxels=voxel_index,
            sample=sample,
            chunks=dict(
                stimulus_chunk=stimulus_chunk,
                voxel_chunk=voxel_chunk,
                feature_chunk=feature_chunk,
            ),
            budget=budget,
            scratch_dir=resolve_scratch_dir(scratch_dir),
        )
        check_positions = None
        if sample is not None:
            check_positions = approx.sample_voxels(
                len(voxel_index), n_check_voxels, seed
            )
        if sample is not None and path == "fast":
            # The closed-form path checks its estimate in the same run.
            check_store = DeviationStore.in_memory(
                n_stimuli, len(check_positions), numpy_dtype(x.dtype)
            )
            run["check"] = (torch.as_tensor(check_positions), check_store)
        result = compute_into_store(run, jne_ss_path, label)
        if sample is not None and path == "fast":
            exact_jne, _ = check_store.finish()
            result.approximation = summarise_check(
                run, result, check_positions, exact_jne
            )
        elif sample is not None:
            result.approximation = check_with_reverse_mode(
                run, result, check_positions
            )
    finally:
        model.train(was_training)
    result.elapsed_s = time.perf_counter() - start
    logger.info(
        "JNE (%s path): done in %.1f s%s",
        label,
        result.elapsed_s,
        f", JNE-SS written to {result.path}" if result.path else "",
    )
    return result
