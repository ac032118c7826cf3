"""Reports across subjects, feature layers and models.

A finding counts when it holds in every subject, so the hierarchy test is
repeated per subject and summarised; layer and model comparisons are
tables and figures over the per-subject outputs.
"""

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from jne._atomic import write_table
from jne.report.context import DataLabel
from jne.report.hierarchy import combine_subject_tests, ordering_test
from jne.report.hierarchy_figures import plot_subject_group, plot_subjects
from jne.report.layers import layer_table, plot_layers

logger = logging.getLogger(__name__)


def write_group_report(
    results_by_subject,
    out_dir,
    *,
    roi_groups=None,
    ordering_test_name="mannwhitney",
    dpi=100,
    vector_format="svg",
    seed=0,
):
    """Compare the JNE hierarchy across subjects for one layer and model.

    Parameters
    ----------
    results_by_subject : dict of str to ModelResults
    out_dir : str or Path
        Receives ``figures/hierarchy_subjects.png``,
        ``figures/hierarchy_group.png`` and ``ordering_tests.tsv`` (one row per pair of ROI groups: in how
        many subjects the ordering holds, and Fisher's combined p).

    Returns
    -------
    DataFrame
        The combined ordering tests.
    """
    out_dir = Path(out_dir)
    first = next(iter(results_by_subject.values())).label
    label = DataLabel(
        dataset=first.dataset,
        subject=", ".join(results_by_subject),
        layer=first.layer,
        model=first.model,
        simulated=first.simulated,
    )
    subjects = {
        subject: {
            "values": results.values["jne"],
            "atlas": results.atlas,
            "significant": results.significant,
        }
        for subject, results in results_by_subject.items()
    }
    plot_subjects(
        subjects,
        out_dir / "figures" / "hierarchy_subjects.png",
        label=label,
        roi_groups=roi_groups,
        test=ordering_test_name,
        dpi=dpi,
        vector_format=vector_format,
    )
    plot_subject_group(
        subjects,
        out_dir / "figures" / "hierarchy_group.png",
        label=label,
        roi_groups=roi_groups,
        test=ordering_test_name,
        dpi=dpi,
        vector_format=vector_format,
    )
    tests = {
        subject: ordering_test(
            results.values["jne"],
            results.atlas,
            roi_groups,
            significant=results.significant,
            test=ordering_test_name,
            seed=seed,
            label=results.label,
        )
        for subject, results in results_by_subject.items()
    }
    combined = combine_subject_tests(tests, label=label)
    write_table(out_dir / "ordering_tests.tsv", combined)
    logger.info("Wrote the group report of %s to %s", label.text(), out_dir)
    return combined


def write_layer_report(
    roi_table_paths,
    summary_paths,
    linear_score_paths,
    png_path,
    table_path,
    *,
    label,
    dpi=100,
    vector_format="svg",
):
    """Compare ROI medians of JNE and test R² across feature layers.

    Parameters
    ----------
    roi_table_paths, summary_paths, linear_score_paths : dict of str to path
        Per layer, in layer order: the ``roi_summary.tsv`` of the report,
        the model's ``jne_summary.tsv`` and the linear model's
        ``scores.tsv``.
    png_path, table_path : str or Path
    label : DataLabel
        With ``layer`` set to None.
    """
    roi_tables = {}
    for layer, path in roi_table_paths.items():
        table = pd.read_csv(path, sep="\t")
        # An ROI outside every group is written as an empty cell.
        table["group"] = table["group"].fillna("")
        roi_tables[layer] = table
    r2_by_layer = {}
    for layer, path in summary_paths.items():
        summary = pd.read_csv(path, sep="\t")
        linear = pd.read_csv(linear_score_paths[layer], sep="\t")
        linear = linear.set_index("voxel").loc[summary["voxel"], "r2"]
        r2_by_layer[layer] = {
            "linear": linear.to_numpy(),
            "nonlinear": summary["r2"].to_numpy(),
        }
    plot_layers(
        roi_tables,
        png_path,
        label=label,
        r2_by_layer=r2_by_layer,
        dpi=dpi,
        vector_format=vector_format,
    )
    write_table(table_path, layer_table(roi_tables, r2_by_layer, label))


def model_comparison_table(entries, *, simulated):
    """Summarise every fitted model of a dataset in one table.

    Parameters
    ----------
    entries : list of dict
        One per subject, layer and model, with keys ``subject``,
        ``layer``, ``model``, ``scores`` (path of ``scores.tsv``) and
        optionally ``summary`` (``jne_summary.tsv``) and ``recovery``
        (``recovery.tsv``).
    simulated : bool
        Written in a ``responses`` column.

    Returns
    -------
    DataFrame
        One row per entry: voxel counts, median test R² over all and over
        significant voxels, median JNE and JNE above the null over the
        significant voxels, and for simulated data the Spearman
        correlation of recovered with true JNE.
    """
    rows = []
    for entry in entries:
        scores = pd.read_csv(entry["scores"], sep="\t")
        significant = scores["significant"].to_numpy().astype(bool)
        row = {
            "subject": entry["subject"],
            "layer": entry["layer"],
            "model": entry["model"],
            "n_voxels": len(scores),
            "n_significant": int(significant.sum()),
            "r2_median": float(np.median(scores["r2"])),
            "r2_median_significant": _median(scores["r2"], significant),
        }
        if entry.get("summary"):
            summary = pd.read_csv(entry["summary"], sep="\t")
            keep = summary["significant"].to_numpy().astype(bool)
            row["jne_median_significant"] = _median(summary["jne"], keep)
            if "jne_above_null" in summary:
                row["jne_above_null_median_significant"] = _median(
                    summary["jne_above_null"], keep
                )
        if entry.get("recovery"):
            recovery = pd.read_csv(entry["recovery"], sep="\t")
            for level in ("voxel", "roi"):
                match = recovery[recovery["level"] == level]
                if len(match):
                    row[f"recovery_spearman_{level}"] = float(
                        match["spearman_rho"].iloc[0]
                    )
        rows.append(row)
    table = pd.DataFrame(rows)
    table["responses"] = "simulated" if simulated else "measured"
    return table


def _median(values, keep):
    values = np.asarray(values, dtype=float)[keep]
    return float(np.median(values)) if len(values) else np.nan
