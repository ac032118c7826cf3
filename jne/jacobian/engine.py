"""The planned run behind ``compute_jne``: plan, execute, store, check.

A run is a dict. Its keys:

- ``model``, and ``function``, the module as a pure function;
- ``x``, the inputs in the compute dtype and device;
- ``path``: ``"fast"``, ``"forward"`` or ``"reverse"``;
- ``n_outputs``, and ``voxels``, the output columns;
- ``sample``: the sampled stimuli, or None;
- ``chunks``: fixed block sizes, and ``budget`` in bytes;
- ``scratch_dir``: the directory for spilled products, or None;
- optionally ``check``.
"""

import json
import logging
import math
from pathlib import Path

import h5py
import numpy as np
import torch

from jne._atomic import atomic_path
from jne.jacobian import approximate as approx
from jne.jacobian.chunking import FastPlan, plan_fast, plan_generic
from jne.jacobian.fast import compute_fast, extract_weights
from jne.jacobian.generic import (
    compute_generic_forward,
    compute_generic_reverse,
    estimate_activation_size,
)
from jne.jacobian.result import JNEResult
from jne.jacobian.spill import ProductSpill
from jne.jacobian.store import DeviationStore, hdf5_chunk_shape

logger = logging.getLogger(__name__)


def plan_run(run):
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
            cache=run["sample"] is None or run.get("check") is not None,
            staging=run["sample"] is not None and run.get("check") is not None,
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


def execute_run(run, plan, store):
    """Run the planned path, filling ``store``.

    Returns
    -------
    dict
        ``spilled_chunks``: stimulus chunks whose products went through
        a scratch file.
    """
    x = run["x"]
    voxels = torch.as_tensor(run["voxels"], device=x.device)
    selected = None if len(voxels) == run["n_outputs"] else voxels
    sample = run["sample"]
    if sample is not None:
        sample = sample.to(x.device)
    if run["path"] == "fast":
        weights = extract_weights(run["model"], x.dtype, x.device, selected)
        spill, n_spilled = _open_spill(run, plan)
        try:
            compute_fast(
                weights, x, store, plan, sample, run.get("check"), spill
            )
        finally:
            if spill is not None:
                spill.close()
        return {"spilled_chunks": n_spilled if spill is not None else 0}
    elif run["path"] == "forward":
        compute_generic_forward(
            run["function"], x, selected, store, plan, sample
        )
    else:
        compute_generic_reverse(
            run["function"], x, voxels, store, plan, sample
        )
    return {"spilled_chunks": 0}


def _open_spill(run, plan):
    """Return a scratch file for the products beyond the plan's cache.

    Returns
    -------
    spill : ProductSpill or None
    n_spilled : int
        Chunks that will go through it.
    """
    if run["sample"] is not None and run.get("check") is None:
        return None, 0
    x = run["x"]
    n_chunks = math.ceil(x.shape[0] / plan.stimulus_chunk)
    n_spilled = n_chunks - plan.cached_chunks
    chunk_bytes = (
        run["model"].config["hidden_size"]
        * plan.stimulus_chunk
        * x.shape[1]
        * x.element_size()
    )
    spill = ProductSpill.open_if_space(
        run["scratch_dir"], n_spilled * chunk_bytes
    )
    return spill, n_spilled


def _block_shape(plan):
    """Return the (stimuli, voxels) shape of the blocks a plan writes."""
    if isinstance(plan, FastPlan):
        return plan.stimulus_chunk, plan.voxel_chunk
    return plan.stimulus_chunk, plan.voxel_block


def _normalise(jne, mean_l1):
    normalised = np.full_like(jne, np.nan)
    np.divide(jne, mean_l1, out=normalised, where=mean_l1 > 0)
    return normalised


def compute_into_store(run, path, label):
    """Plan and run ``run``, in memory or into the HDF5 file ``path``."""
    x = run["x"]
    sample = run["sample"]
    if sample is None:
        stimuli = np.arange(x.shape[0])
    else:
        stimuli = sample.numpy()
    n_voxels = len(run["voxels"])
    np_dtype = numpy_dtype(x.dtype)
    plan = plan_run(run)
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
        common["plan"].update(execute_run(run, plan, store))
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
            common["plan"].update(execute_run(run, plan, store))
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


def numpy_dtype(dtype):
    return np.float32 if dtype == torch.float32 else np.float64


def check_with_reverse_mode(run, result, positions):
    """Compute exact JNE on the checked voxels with reverse mode.

    Costs one backward pass per checked voxel and stimulus, on top of
    the approximate run.
    """
    exact_run = dict(run)
    exact_run.update(
        voxels=run["voxels"][positions],
        sample=None,
        path="reverse",
        chunks=dict(stimulus_chunk=None, voxel_chunk=None, feature_chunk=None),
    )
    logger.info(
        "approximate JNE: checking %d voxels exactly (reverse mode)",
        len(positions),
    )
    exact = compute_into_store(exact_run, None, "reverse")
    return summarise_check(run, result, positions, exact.jne)


def summarise_check(run, result, positions, exact_jne):
    """Compare approximate and exact JNE on the checked voxels, and log."""
    summary = approx.summarise_error(result.jne[positions], exact_jne)
    summary.update(
        n_sampled_stimuli=len(run["sample"]),
        n_stimuli=int(run["x"].shape[0]),
        checked_voxels=run["voxels"][positions].tolist(),
        exact_jne=np.asarray(exact_jne).tolist(),
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
