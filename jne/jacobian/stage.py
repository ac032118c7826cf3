"""The workflow's jacobian stage: JNE, intervals and JNE-SS on disk.

``run_jacobian`` writes two files, each atomically:

``jne.tsv``, one row per voxel, tab-separated:
    ``voxel``, ``jne``, ``jne_normalised``, ``mean_jacobian_l1``,
    ``jne_ci_low``, ``jne_ci_high``.

``jne_ss.h5``:
    ``deviation``, ``jne_ss``: arrays of shape (n_rows, n_voxels),
    chunked, in the compute dtype. Rows are all stimuli, or in the
    approximate mode the sampled ones.
    ``jne``, ``jne_normalised``, ``mean_jacobian_l1``: (n_voxels,).
    ``voxel``: (n_voxels,) model output column of each voxel.
    ``stimulus_index``: (n_rows,) input row of each row.
    ``stimulus_id``, ``category``: (n_rows,) strings.
    ``categories``: (n_categories,) sorted category names.
    ``category_count``: (n_categories,) stimuli per category.
    ``jne_ss_category``: (n_categories, n_voxels) mean JNE-SS per category.
    attrs ``mode``, ``dtype``, ``device``, ``plan`` (JSON),
    ``category_source`` (``"given"`` or ``"tsne-kmeans"``),
    ``n_clusters_silhouette`` (JSON, when clustered), ``approximation``
    (JSON, in the approximate mode).
"""

import json
import logging
import time

import h5py
import numpy as np
import pandas as pd

from jne._atomic import atomic_path, write_table
from jne.errors import DataError
from jne.jacobian.api import compute_jne
from jne.jacobian.bootstrap import bootstrap_jne
from jne.jacobian.categories import average_by_category, cluster_stimuli

logger = logging.getLogger(__name__)


def _resolve_categories(categories, features, n_stimuli, k_min, k_max, seed):
    """Return (labels as str, source, silhouette scores or None)."""
    if categories is not None:
        labels = pd.Series(np.asarray(categories, dtype=object))
        if len(labels) != n_stimuli:
            raise DataError(
                f"Invalid categories: {len(labels)} labels for {n_stimuli} "
                "stimuli. Pass one label per stimulus, in input order."
            )
        missing = labels.isna() | (labels.astype(str) == "")
        if missing.all():
            logger.info("all category labels are missing: clustering instead")
        elif missing.any():
            raise DataError(
                f"{int(missing.sum())} of {n_stimuli} stimuli have no "
                "category label. Fill them in the stimulus table, or pass "
                "categories=None to cluster the stimuli instead."
            )
        else:
            return labels.astype(str).to_numpy(), "given", None
    clusters = cluster_stimuli(features, k_min=k_min, k_max=k_max, seed=seed)
    width = len(str(clusters.n_clusters - 1))
    labels = np.array(
        [f"cluster-{label:0{width}d}" for label in clusters.labels]
    )
    return labels, "tsne-kmeans", clusters.silhouette


ROI_TABLE_COLUMNS = [
    "roi",
    "n_voxels",
    "jne_mean",
    "jne_ci_low",
    "jne_ci_high",
    "jne_standard_error",
]


def run_jacobian(
    model,
    inputs,
    stimulus_ids,
    categories,
    out_table,
    out_h5,
    *,
    voxels=None,
    voxel_ids=None,
    roi=None,
    out_roi_table=None,
    cluster_features=None,
    k_min=2,
    k_max=30,
    mode="auto",
    max_memory_gb=2.0,
    dtype="float32",
    device="cpu",
    n_bootstrap=1000,
    ci_level=0.95,
    seed=0,
    n_sampled_stimuli=100,
    n_check_voxels=64,
    scratch_dir="auto",
):
    """Compute JNE, bootstrap intervals and JNE-SS, and write them.

    Parameters
    ----------
    model : torch.nn.Module
        Fitted encoding model (see ``compute_jne``).
    inputs : array of shape (n_stimuli, n_features)
        Features of the stimuli at which Jacobians are taken.
    stimulus_ids : array of str of shape (n_stimuli,)
    categories : array of shape (n_stimuli,) or None
        Category per stimulus. None, or all labels missing, clusters the
        stimuli by k-means on a 2-D t-SNE of ``cluster_features``.
    out_table, out_h5 : str or Path
        Destinations of ``jne.tsv`` and ``jne_ss.h5`` (see module doc).
    voxels : array of int or bool, optional
        Model output columns to compute (``compute_jne``'s ``voxels``).
    voxel_ids : array of shape (n_voxels,), optional
        Values of the ``voxel`` column. Model output columns by default.
    roi : array of str of shape (n_voxels,), optional
        ROI name per computed voxel, ``""`` for none.
    out_roi_table : str or Path, optional
        Where to write per-ROI bootstrap intervals (needs ``roi``).
    cluster_features : array of shape (n_stimuli, n_any), optional
        Features to cluster when categories are missing. ``inputs`` by
        default.
    k_min, k_max : int, default=2, 30
        Range of cluster counts scanned by the silhouette score.
    mode, max_memory_gb, dtype, device, n_sampled_stimuli, n_check_voxels,
    scratch_dir
        Passed to ``compute_jne``.
    n_bootstrap : int, default=1000
        Resamples of the stimuli for the intervals.
    ci_level : float, default=0.95
    seed : int, default=0
        Seed of clustering, bootstrap and approximate sampling.

    Returns
    -------
    dict
        ``mode``, ``n_stimuli``, ``n_voxels``, ``n_categories``,
        ``category_source``, ``elapsed_s`` and ``approximation``.
    """
    start = time.perf_counter()
    inputs = np.asarray(inputs)
    stimulus_ids = np.asarray(stimulus_ids).astype(str)
    n_stimuli = inputs.shape[0]
    if stimulus_ids.shape != (n_stimuli,):
        raise DataError(
            f"Invalid stimulus_ids of shape {stimulus_ids.shape}: expected "
            f"one id per input row, shape ({n_stimuli},)."
        )
    if out_roi_table is not None and roi is None:
        raise DataError(
            "out_roi_table was given without roi: pass the ROI name of "
            "each voxel to write per-ROI intervals."
        )
    features = inputs if cluster_features is None else cluster_features
    labels, source, silhouette = _resolve_categories(
        categories, features, n_stimuli, k_min, k_max, seed
    )

    with atomic_path(out_h5) as tmp_h5:
        result = compute_jne(
            model,
            inputs,
            mode=mode,
            max_memory_gb=max_memory_gb,
            dtype=dtype,
            device=device,
            jne_ss_path=tmp_h5,
            voxels=voxels,
            n_sampled_stimuli=n_sampled_stimuli,
            n_check_voxels=n_check_voxels,
            seed=seed,
            scratch_dir=scratch_dir,
        )
        with result:
            intervals = bootstrap_jne(
                result.deviation,
                n_bootstrap=n_bootstrap,
                ci_level=ci_level,
                seed=seed,
                roi=roi,
            )
            # Rows are all stimuli, or the sampled ones when approximate.
            row_labels = labels[result.stimuli]
            names, means, counts = average_by_category(
                result.jne_ss, row_labels
            )
        _add_stimulus_data(
            tmp_h5,
            stimulus_ids[result.stimuli],
            row_labels,
            names,
            counts,
            means,
            source,
        )
        with h5py.File(tmp_h5, "a") as handle:
            if silhouette is not None:
                handle.attrs["n_clusters_silhouette"] = json.dumps(silhouette)
            if result.approximation is not None:
                handle.attrs["approximation"] = json.dumps(
                    result.approximation
                )

    table = pd.DataFrame(
        {
            "voxel": result.voxels if voxel_ids is None else voxel_ids,
            "jne": result.jne,
            "jne_normalised": result.jne_normalised,
            "mean_jacobian_l1": result.mean_jacobian_l1,
            "jne_ci_low": intervals.ci_low,
            "jne_ci_high": intervals.ci_high,
        }
    )
    write_table(out_table, table)
    if out_roi_table is not None:
        roi_table = intervals.roi_table
        if roi_table is None:
            # No voxel lies in an atlas ROI: write the header only, so the
            # workflow's declared output exists.
            logger.warning(
                "No voxel has an atlas ROI: %s lists no ROI.", out_roi_table
            )
            roi_table = pd.DataFrame(columns=ROI_TABLE_COLUMNS)
        write_table(out_roi_table, roi_table)
    elapsed = time.perf_counter() - start
    logger.info(
        "jacobian stage: %d voxels, %d stimuli, %d categories (%s) in "
        "%.1f s, wrote %s and %s",
        result.n_voxels,
        n_stimuli,
        len(names),
        source,
        elapsed,
        out_table,
        out_h5,
    )
    return {
        "mode": result.mode,
        "n_stimuli": n_stimuli,
        "n_voxels": len(result.voxels),
        "n_categories": len(names),
        "category_source": source,
        "elapsed_s": elapsed,
        "approximation": result.approximation,
    }


def _add_stimulus_data(
    path, stimulus_ids, labels, names, counts, means, source
):
    """Add stimulus and category datasets to the JNE-SS file."""
    strings = h5py.string_dtype()
    with h5py.File(path, "a") as handle:
        handle.create_dataset(
            "stimulus_id", data=stimulus_ids.astype(object), dtype=strings
        )
        handle.create_dataset(
            "category", data=labels.astype(object), dtype=strings
        )
        handle.create_dataset(
            "categories", data=names.astype(str).astype(object), dtype=strings
        )
        handle.create_dataset("category_count", data=counts)
        handle.create_dataset("jne_ss_category", data=means)
        handle.attrs["category_source"] = source
