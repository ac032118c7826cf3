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

import json
import logging
import time
from pathlib import Path

import h5py
import numpy as np
import torch

from jne._atomic import atomic_path
from jne.errors import ConfigError, DataError
from jne.jacobian import approximate as approx
from jne.jacobian.chunking import (
    FastPlan,
    budget_bytes,
    plan_fast,
    plan_generic,
)
from jne.jacobian.fast import compute_fast, extract_weights
from jne.jacobian.generic import (
    compute_generic_forward,
    compute_generic_reverse,
    estimate_activation_size,
    module_function,
)
from jne.jacobian.result import JNEResult
from jne.jacobian.store import DeviationStore, hdf5_chunk_shape
from jne.jacobian.validation import (
    as_inputs,
    as_voxels,
    resolve_device,
    resolve_dtype,
)
from jne.models.mlp import ResidualMLP

logger = logging.getLogger(__name__)

MODES = ("auto", "fast", "forward", "reverse", "approximate")


def _model_outputs(model, function, x):
    if isinstance(model, ResidualMLP):
        return model.config["n_voxels"]
    with torch.no_grad():
        output = function(x[:1])
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


def _plan(run):
    """Plan the path in ``run`` from its budget and fixed chunk sizes.

    ``voxel_chunk`` sets the voxels per matrix product (fast), per
    ``vjp`` batch (reverse) or per mean-Jacobian block (forward).
    ``feature_chunk`` sets the input directions per ``jvp`` batch
    (forward).

    Returns
    -------
    FastPlan or GenericPlan
    """
    x, model, chunks = run["x"], run["model"], run["chunks"]
    n_stimuli, n_features = x.shape
    n_voxels = len(run["voxels"])
    if run["path"] == "fast":
        return plan_fast(
            n_stimuli,
            n_voxels,
            n_features,
            model.config["hidden_size"],
            model.config["n_blocks"],
            x.element_size(),
            run["budget"],
            stimulus_chunk=chunks["stimulus_chunk"],
            voxel_chunk=chunks["voxel_chunk"],
            cache=run["sample"] is None,
        )
    forward = run["path"] == "forward"
    return plan_generic(
        run["path"],
        n_stimuli,
        n_voxels,
        run["n_outputs"],
        n_features,
        estimate_activation_size(model, run["function"], x),
        x.element_size(),
        run["budget"],
        stimulus_chunk=chunks["stimulus_chunk"],
        inner_chunk=chunks["feature_chunk" if forward else "voxel_chunk"],
        voxel_block=chunks["voxel_chunk"] if forward else None,
    )


def _execute(run, plan, store):
    """Run the planned path, filling ``store``."""
    x = run["x"]
    voxels = torch.as_tensor(run["voxels"], device=x.device)
    selected = None if len(voxels) == run["n_outputs"] else voxels
    sample = run["sample"]
    if sample is not None:
        sample = sample.to(x.device)
    if run["path"] == "fast":
        weights = extract_weights(run["model"], x.dtype, x.device, selected)
        compute_fast(weights, x, store, plan, sample)
    elif run["path"] == "forward":
        compute_generic_forward(
            run["function"], x, selected, store, plan, sample
        )
    else:
        compute_generic_reverse(
            run["function"], x, voxels, store, plan, sample
        )


def _block_shape(plan):
    """Return the (stimuli, voxels) shape of the blocks a plan writes."""
    if isinstance(plan, FastPlan):
        return plan.stimulus_chunk, plan.voxel_chunk
    return plan.stimulus_chunk, plan.voxel_block


def _normalise(jne, mean_l1):
    normalised = np.full_like(jne, np.nan)
    np.divide(jne, mean_l1, out=normalised, where=mean_l1 > 0)
    return normalised


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
    jne_ss_path : str or Path, optional
        HDF5 file for ``deviation`` and ``jne_ss``, written atomically in
        chunks. The result then holds open datasets instead of arrays.
    voxels : array of int or bool, optional
        Sorted output columns (or a mask of length n_outputs) whose JNE is
        computed. All outputs by default.
    stimulus_chunk, voxel_chunk, feature_chunk : int, optional
        Fixed block sizes (see ``_plan``), for tests and tuning.
        Planned from ``max_memory_gb`` when None.
    n_sampled_stimuli : int, default=100
        Stimuli of the deviation pass in the approximate mode. With as
        many as there are stimuli, the exact path runs.
    n_check_voxels : int, default=64
        Voxels computed exactly to measure the approximation error.
    seed : int, default=0
        Seed of the stimulus and voxel samples of the approximate mode.

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
    budget = budget_bytes(max_memory_gb)
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
        )
        result = _compute_into_store(run, jne_ss_path, label)
        if sample is not None:
            result.approximation = _check_approximation(
                run, result, n_check_voxels, seed
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


def _compute_into_store(run, path, label):
    """Plan and run ``run``, in memory or into the HDF5 file ``path``."""
    x = run["x"]
    sample = run["sample"]
    if sample is None:
        stimuli = np.arange(x.shape[0])
    else:
        stimuli = sample.numpy()
    n_voxels = len(run["voxels"])
    np_dtype = np.float32 if x.dtype == torch.float32 else np.float64
    plan = _plan(run)
    logger.info("JNE chunk plan: %s", plan)
    options = dict(
        # The JNE-SS pass runs after the engine, so it may use half the
        # budget.
        block_bytes=max(1, run["budget"] // 2),
        population_size=None if sample is None else x.shape[0],
    )
    common = dict(
        mode=label,
        dtype=str(x.dtype).removeprefix("torch."),
        device=str(x.device),
        voxels=run["voxels"],
        stimuli=stimuli,
        plan=plan.as_dict(),
        elapsed_s=0.0,
    )
    if path is None:
        store = DeviationStore.in_memory(
            len(stimuli), n_voxels, np_dtype, **options
        )
        _execute(run, plan, store)
        jne, mean_l1 = store.finish()
        return JNEResult(
            jne=jne,
            jne_ss=store.jne_ss,
            deviation=store.deviation,
            mean_jacobian_l1=mean_l1,
            jne_normalised=_normalise(jne, mean_l1),
            **common,
        )

    path = Path(path)
    chunks = hdf5_chunk_shape(
        len(stimuli),
        n_voxels,
        *_block_shape(plan),
        np.dtype(np_dtype).itemsize,
    )
    with atomic_path(path) as tmp:
        store = DeviationStore.create(
            tmp, len(stimuli), n_voxels, np_dtype, chunks, **options
        )
        try:
            _execute(run, plan, store)
            jne, mean_l1 = store.finish()
            normalised = _normalise(jne, mean_l1)
            handle = store.file
            handle.create_dataset("jne", data=jne)
            handle.create_dataset("mean_jacobian_l1", data=mean_l1)
            handle.create_dataset("jne_normalised", data=normalised)
            handle.create_dataset("voxel", data=run["voxels"])
            handle.create_dataset("stimulus_index", data=stimuli)
            handle.attrs["mode"] = label
            handle.attrs["dtype"] = common["dtype"]
            handle.attrs["device"] = common["device"]
            handle.attrs["plan"] = json.dumps(common["plan"])
        finally:
            store.close()
    handle = h5py.File(path, "r")
    return JNEResult(
        jne=jne,
        jne_ss=handle["jne_ss"],
        deviation=handle["deviation"],
        mean_jacobian_l1=mean_l1,
        jne_normalised=normalised,
        path=path,
        file=handle,
        **common,
    )


def _check_approximation(run, result, n_check_voxels, seed):
    """Compute exact JNE on sampled voxels and summarise the error.

    The check runs the same path restricted to the checked voxels, with
    reverse mode in place of forward mode, so for a dense output layer
    its cost grows with ``n_check_voxels`` and not with the number of
    voxels.
    """
    positions = approx.sample_voxels(len(run["voxels"]), n_check_voxels, seed)
    exact_run = dict(run)
    exact_run.update(
        voxels=run["voxels"][positions],
        sample=None,
        path="fast" if run["path"] == "fast" else "reverse",
        chunks=dict(stimulus_chunk=None, voxel_chunk=None, feature_chunk=None),
    )
    logger.info(
        "approximate JNE: checking %d voxels exactly (%s path)",
        len(positions),
        exact_run["path"],
    )
    exact = _compute_into_store(exact_run, None, exact_run["path"])
    summary = approx.summarise_error(result.jne[positions], exact.jne)
    summary.update(
        n_sampled_stimuli=len(run["sample"]),
        n_stimuli=int(run["x"].shape[0]),
        checked_voxels=exact_run["voxels"].tolist(),
        exact_jne=exact.jne.tolist(),
        approximate_jne=result.jne[positions].tolist(),
    )
    logger.info(
        "approximate JNE: median relative error %.3g, 90th percentile "
        "%.3g, max %.3g, mean bias %+.3g, r = %.3f on %d voxels",
        summary["median_relative_error"],
        summary["p90_relative_error"],
        summary["max_relative_error"],
        summary["mean_relative_bias"],
        summary["correlation"],
        summary["n_checked"],
    )
    return summary
