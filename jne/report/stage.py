"""The workflow's report stage: read stage outputs, write maps, figures and
tables.

The other modules of :mod:`jne.report` take arrays. This module reads the
files that earlier stages wrote (``dataset.h5``, ``scores.tsv``,
``jne_summary.tsv``, ``jne_ss.h5``), lines them up voxel by voxel and calls
those functions, so that the Snakemake scripts stay a few lines long.
"""

import logging
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from jne._atomic import write_table
from jne.dataset import Dataset
from jne.errors import ConfigError, DataError
from jne.report.categories import (
    category_roi_matrix,
    plot_category_heatmap,
    write_category_table,
)
from jne.report.context import DataLabel
from jne.report.hierarchy import ordering_test, resolve_groups
from jne.report.hierarchy_figures import plot_hierarchy
from jne.report.maps import write_maps
from jne.report.meshes import load_template
from jne.report.recovery import (
    plot_recovery,
    recovery_table,
    write_recovery_table,
)
from jne.report.roi import roi_masks, roi_table, write_roi_table
from jne.report.scatter import plot_r2_scatter

logger = logging.getLogger(__name__)

# Maps drawn as figures, in this order. The others are written as map files
# only, to keep the report within its time budget.
FIGURE_MAPS = ("jne", "jne_normalised", "r2_difference", "noise_ceiling")


@dataclass
class ModelResults:
    """Per-voxel results of one subject, layer and model, lined up.

    Attributes
    ----------
    dataset : Dataset
        Loaded without betas.
    voxel : array of int of shape (n_voxels,)
        Dataset column of each analysed voxel.
    space, atlas
        The analysed voxels' :class:`Space` and :class:`Atlas`.
    values : dict of str to array of shape (n_voxels,)
        ``jne``, ``jne_normalised``, ``r2_linear``, ``r2_nonlinear``,
        ``noise_ceiling``, and ``jne_above_null`` when a null was fitted.
    significant : array of bool of shape (n_voxels,)
        Test R² of the nonlinear model passed the FDR threshold.
    jne_ss : array of shape (n_categories, n_voxels) or None
        Mean JNE-SS per stimulus category, averaged over seeds.
    categories : list of str
    truth : dict
        For simulated data, ``jne`` (n_voxels,) and, when the categories
        match, ``jne_ss`` (n_categories, n_voxels) of the ground truth.
    label : DataLabel
    """

    dataset: Dataset
    voxel: np.ndarray
    space: object
    atlas: object
    values: dict
    significant: np.ndarray
    jne_ss: np.ndarray | None
    categories: list
    label: DataLabel
    truth: dict = field(default_factory=dict)


def _aligned(table, voxel, column, path):
    indexed = table.set_index("voxel")
    missing = np.setdiff1d(voxel, indexed.index.to_numpy())
    if len(missing):
        raise DataError(
            f"{path} has no row for {len(missing)} analysed voxels (e.g. "
            f"voxel {missing[0]}). Rerun the step that wrote it."
        )
    return indexed.loc[voxel, column].to_numpy()


def _read_category_means(paths):
    """Average ``jne_ss_category`` over the seeds' ``jne_ss.h5`` files."""
    means, categories = [], None
    for path in paths:
        with h5py.File(path, "r") as f:
            names = [str(c) for c in f["categories"].asstr()[()]]
            if categories is None:
                categories = names
            elif names != categories:
                raise DataError(
                    f"{path} groups stimuli into other categories than "
                    f"{paths[0]}; rerun the jacobian step of every seed."
                )
            means.append(f["jne_ss_category"][()])
    return np.mean(means, axis=0), categories


def load_model_results(
    dataset_path,
    summary_path,
    linear_scores_path,
    jne_ss_paths,
    *,
    layer,
    model,
):
    """Read and line up everything one subject, layer and model needs.

    Parameters
    ----------
    dataset_path : path of ``data/dataset.h5``
    summary_path : path of the model's ``jne_summary.tsv``
    linear_scores_path : path of the linear model's ``scores.tsv``
    jne_ss_paths : list of paths of each seed's ``jne_ss.h5``
        May be empty when JNE-SS is not needed (the group report).
    layer, model : str

    Returns
    -------
    ModelResults
    """
    dataset = Dataset.load(dataset_path, betas=False)
    summary = pd.read_csv(summary_path, sep="\t")
    voxel = summary["voxel"].to_numpy()
    linear = pd.read_csv(linear_scores_path, sep="\t")
    values = {
        "jne": summary["jne"].to_numpy(),
        "jne_normalised": summary["jne_normalised"].to_numpy(),
        "r2_nonlinear": summary["r2"].to_numpy(),
        "r2_linear": _aligned(linear, voxel, "r2", linear_scores_path),
        "noise_ceiling": summary["noise_ceiling"].to_numpy(),
    }
    if "jne_above_null" in summary:
        values["jne_above_null"] = summary["jne_above_null"].to_numpy()
    jne_ss, categories = None, []
    if jne_ss_paths:
        jne_ss, categories = _read_category_means(list(jne_ss_paths))
    label = DataLabel(
        dataset=dataset.name,
        subject=dataset.subject,
        layer=layer,
        model=model,
        simulated=dataset.simulated,
    )
    truth = {}
    if dataset.simulated and "jne" in dataset.ground_truth:
        truth["jne"] = np.asarray(dataset.ground_truth["jne"])[voxel]
        true_categories = [
            str(c) for c in dataset.ground_truth.get("categories", [])
        ]
        if true_categories and sorted(true_categories) == sorted(categories):
            order = [true_categories.index(c) for c in categories]
            true_ss = np.asarray(dataset.ground_truth["jne_ss_category"])
            truth["jne_ss"] = true_ss[order][:, voxel]
    return ModelResults(
        dataset=dataset,
        voxel=voxel,
        space=dataset.space.subset(voxel),
        atlas=dataset.atlas.subset(voxel),
        values=values,
        significant=summary["significant"].to_numpy().astype(bool),
        jne_ss=jne_ss,
        categories=categories,
        label=label,
        truth=truth,
    )


def write_subject_report(
    results,
    out_dir,
    *,
    roi_groups=None,
    surface_maps=True,
    allow_mesh_download=False,
    fdr_q=0.05,
    dpi=100,
    vector_format="svg",
    ordering_test_name="mannwhitney",
    volume_template="native",
    roi_intervals=None,
    seed=0,
):
    """Write maps, figures and tables of one subject, layer and model.

    Parameters
    ----------
    results : ModelResults
    out_dir : str or Path
        Receives ``maps/`` (map files and sidecars), ``figures/`` (PNG and
        ``vector_format``), ``tables/`` and ``roi_summary.tsv``, as listed
        in ``docs/outputs.md``.
    roi_groups : dict of str to list of str, optional
        Ordered ROI groups; None picks the preset for the atlas.
    surface_maps : bool
        Draw brain figures of the maps in ``FIGURE_MAPS`` and JNE-SS.
    allow_mesh_download : bool
        Let nilearn download fsaverage meshes that it does not ship
        (``fsaverage``, ``fsaverage6``, ...) for surface figures.
    fdr_q : float
        The FDR level behind ``results.significant``, for labels.
    volume_template : {"native", "MNI152"}
        Background of volume figures; see :func:`jne.report.plot_map`.
    roi_intervals : DataFrame, optional
        The engine's per-ROI intervals over stimuli (``jne_roi.tsv``),
        added to the ROI table.
    """
    from jne.report.brain import plot_map
    from jne.report.surface import plot_surface_categories

    out_dir = Path(out_dir)
    figure_dir = out_dir / "figures"
    table_dir = out_dir / "tables"
    figure_dir.mkdir(parents=True, exist_ok=True)
    table_dir.mkdir(parents=True, exist_ok=True)
    label = results.label
    values = results.values
    significant = results.significant
    significance = (
        f"test R² of model {label.model} above 0, Benjamini-Hochberg "
        f"FDR q < {fdr_q}"
    )
    groups = roi_groups or None
    if groups:
        # Fails early, naming the atlas ROIs, when no group is usable.
        resolve_groups(results.atlas, groups)

    write_maps(
        out_dir / "maps",
        results.space,
        label,
        r2_linear=values["r2_linear"],
        r2_nonlinear=values["r2_nonlinear"],
        noise_ceiling=values["noise_ceiling"],
        jne=values["jne"],
        jne_normalised=values["jne_normalised"],
        jne_ss=results.jne_ss,
        categories=results.categories,
        significant=significant,
        significance=significance,
    )

    if surface_maps:
        template = None
        if results.space.kind == "surface":
            template = load_template(
                results.space.mesh, allow_download=allow_mesh_download
            )
        figure_values = dict(values)
        figure_values["r2_difference"] = (
            values["r2_nonlinear"] - values["r2_linear"]
        )
        for quantity in FIGURE_MAPS:
            plot_map(
                figure_values[quantity],
                results.space,
                figure_dir / f"map_{quantity}.png",
                quantity=quantity,
                label=label,
                atlas=results.atlas,
                significant=None if quantity == "noise_ceiling" else significant,
                significance_label=significance,
                volume_template=volume_template,
                template=template,
                dpi=dpi,
                vector_format=vector_format,
            )
        if results.space.kind == "surface":
            plot_surface_categories(
                results.jne_ss,
                results.categories,
                results.space,
                figure_dir / "map_jne_ss_categories.png",
                label=label,
                atlas=results.atlas,
                significant=significant,
                significance_label=significance,
                template=template,
                dpi=dpi,
                vector_format=vector_format,
            )

    table_groups, table_rois = _table_groups(results.atlas, groups)
    table = roi_table(
        results.atlas,
        jne=values["jne"],
        r2_linear=values["r2_linear"],
        r2_nonlinear=values["r2_nonlinear"],
        noise_ceiling=values["noise_ceiling"],
        significant=significant,
        roi_groups=table_groups,
        rois=table_rois,
        seed=seed,
        label=label,
    )
    table = _add_roi_columns(table, results, roi_intervals)
    write_roi_table(out_dir / "roi_summary.tsv", table)

    tests = ordering_test(
        values["jne"],
        results.atlas,
        groups,
        significant=significant,
        test=ordering_test_name,
        seed=seed,
        label=label,
    )
    write_table(table_dir / "hierarchy_tests.tsv", tests)
    plot_hierarchy(
        values["jne"],
        results.atlas,
        figure_dir / "hierarchy.png",
        label=label,
        roi_groups=groups,
        significant=significant,
        test=ordering_test_name,
        tests=tests,
        dpi=dpi,
        vector_format=vector_format,
    )

    matrix = category_roi_matrix(
        results.jne_ss,
        results.categories,
        results.atlas,
        roi_groups=groups,
        significant=significant,
    )
    write_category_table(table_dir / "category_roi.tsv", matrix, label)
    plot_category_heatmap(
        matrix,
        figure_dir / "category_heatmap.png",
        label=label,
        dpi=dpi,
        vector_format=vector_format,
    )

    plot_r2_scatter(
        values["r2_linear"],
        values["r2_nonlinear"],
        figure_dir / "r2_scatter.png",
        label=label,
        significant=significant,
        dpi=dpi,
        vector_format=vector_format,
    )

    if "jne" in results.truth:
        recovery = recovery_table(
            values["jne"],
            results.truth["jne"],
            results.atlas,
            significant=significant,
            recovered_ss=results.jne_ss if "jne_ss" in results.truth else None,
            truth_ss=results.truth.get("jne_ss"),
            label=label,
        )
        write_recovery_table(table_dir / "recovery.tsv", recovery)
        plot_recovery(
            values["jne"],
            results.truth["jne"],
            results.atlas,
            figure_dir / "recovery.png",
            label=label,
            significant=significant,
            roi_groups=groups,
            dpi=dpi,
            vector_format=vector_format,
        )
    logger.info("Wrote the report of %s to %s", label.text(), out_dir)
    return table


def _table_groups(atlas, roi_groups):
    """Return the ROI groups and the ROI order of the ROI table.

    The groups are those of the hierarchy test (the configured ones, else
    the preset that matches the atlas), so that the table's ``group``
    column and the layer figure's colours follow them. Every atlas ROI
    stays in the table: grouped ROIs first, in group order, then the rest.
    Without usable groups the column stays empty.
    """
    all_rois = list(roi_masks(atlas, None))
    try:
        groups = resolve_groups(atlas, roi_groups)
    except ConfigError:
        return None, all_rois
    grouped = [roi for members in groups.values() for roi in members]
    rest = [roi for roi in all_rois if roi not in grouped]
    return groups, [roi for roi in grouped if roi in all_rois] + rest


def _add_roi_columns(table, results, roi_intervals):
    """Add JNE above the null and the engine's stimulus intervals."""
    from jne.report.roi import base_name

    if "jne_above_null" in results.values:
        names = np.array([base_name(n) for n in results.atlas.voxel_names()])
        keep = results.significant
        above = results.values["jne_above_null"]
        table["jne_above_null_median"] = [
            float(np.median(above[(names == roi) & keep]))
            if np.any((names == roi) & keep)
            else np.nan
            for roi in table["roi"]
        ]
    if roi_intervals is not None and len(roi_intervals):
        intervals = roi_intervals.copy()
        intervals["roi"] = [base_name(n) for n in intervals["roi"]]
        keep = [c for c in intervals.columns if c != "n_voxels"]
        intervals = intervals[keep].groupby("roi").mean(numeric_only=True)
        intervals.columns = [f"stimulus_bootstrap_{c}" for c in intervals]
        table = table.merge(
            intervals, left_on="roi", right_index=True, how="left"
        )
    return table
