"""Hierarchy figures: JNE per ROI in hierarchy order, per subject and group.

:func:`plot_hierarchy` shows one subject and :func:`plot_subjects` puts
the subjects side by side. :func:`plot_subject_group` overlays every
subject's ROI medians, because a finding counts only when every subject
shows it.
"""

import logging
from dataclasses import replace

import numpy as np

from .context import figure_title, get_quantity
from .hierarchy import (
    TEST_NAMES, combine_subject_tests, ordering_test, resolve_groups,
)
from .roi import roi_masks
from .style import (
    FONT_SIZE, GROUP_COLORS, TITLE_SIZE, add_simulated_footer, format_p,
    new_figure, save_figure,
)

logger = logging.getLogger(__name__)


def plot_hierarchy(
    values,
    atlas,
    png_path,
    *,
    label,
    roi_groups=None,
    significant=None,
    test="mannwhitney",
    tests=None,
    quantity="jne",
    dpi=100,
    vector_format="svg",
):
    """Plot the distribution of a quantity per ROI, early to higher areas.

    Parameters
    ----------
    values : array of shape (n_voxels,)
    atlas : jne.dataset.Atlas
    png_path : str or Path
    label : DataLabel
    roi_groups : dict of str to list of str, optional
        Ordered groups, early to higher; default from the atlas names.
    significant : array of bool of shape (n_voxels,), optional
        Only these voxels are shown and tested.
    test : {"mannwhitney", "roi_permutation"}
    tests : DataFrame, optional
        Precomputed :func:`ordering_test` result; computed when None.
    quantity : str or Quantity
    dpi : int
    vector_format : {"svg", "pdf"} or None

    Returns
    -------
    paths : list of Path
    tests : DataFrame
        The ordering test shown on the figure.
    """
    quantity = get_quantity(quantity)
    groups = resolve_groups(atlas, roi_groups)
    if tests is None:
        tests = ordering_test(
            values, atlas, groups, significant=significant, test=test,
            label=label,
        )
    n_rois = sum(len(rois) for rois in groups.values())
    width = max(7.5, 0.5 * n_rois + 2.5)
    figure = new_figure(width, 5.6)
    axes = figure.add_axes((0.1, 0.3, 0.86, 0.5))
    draw_hierarchy(axes, values, atlas, groups, significant, tests, quantity)
    figure.suptitle(
        figure_title(
            f"{quantity.title} by ROI, early to higher visual areas", label,
            _selection_text(significant), width=int(width * 11),
        ),
        fontsize=TITLE_SIZE,
    )
    add_simulated_footer(figure, label)
    paths = save_figure(figure, png_path, vector_format=vector_format,
                        dpi=dpi)
    return paths, tests


def draw_hierarchy(axes, values, atlas, groups, significant, tests, quantity):
    """Draw box plots per ROI, coloured by group, with test results.

    Boxes span the quartiles, whiskers the 5th to 95th percentiles, and
    the line inside is the median; tick labels give each ROI's voxel
    count.
    """
    values = np.asarray(values, float)
    keep = np.isfinite(values)
    if significant is not None:
        keep &= np.asarray(significant, bool)
    order = [roi for rois in groups.values() for roi in rois]
    masks = roi_masks(atlas, order)
    data, colours, ticks = [], [], []
    for index, (group, rois) in enumerate(groups.items()):
        for roi in rois:
            roi_values = values[masks[roi] & keep]
            data.append(roi_values if roi_values.size else [np.nan])
            colours.append(GROUP_COLORS[index % len(GROUP_COLORS)])
            ticks.append(f"{roi}\nn={roi_values.size}")
    boxes = axes.boxplot(
        data, whis=(5, 95), showfliers=False, patch_artist=True,
        widths=0.6, medianprops={"color": "black", "linewidth": 1.2},
    )
    for patch, colour in zip(boxes["boxes"], colours):
        patch.set_facecolor(colour)
        patch.set_alpha(0.85)
    axes.set_xticks(np.arange(1, len(order) + 1), ticks,
                    fontsize=FONT_SIZE - 1, rotation=0)
    if len(order) > 12:
        for tick in axes.get_xticklabels():
            tick.set_rotation(60)
            tick.set_ha("right")
    axes.set_ylabel(quantity.units, fontsize=FONT_SIZE)
    axes.tick_params(axis="y", labelsize=FONT_SIZE - 1)
    axes.spines[["top", "right"]].set_visible(False)
    _label_groups(axes, groups)
    _write_tests(axes, tests)


def _label_groups(axes, groups):
    start = 1
    transform = axes.get_xaxis_transform()
    for index, (group, rois) in enumerate(groups.items()):
        stop = start + len(rois) - 1
        colour = GROUP_COLORS[index % len(GROUP_COLORS)]
        axes.plot([start - 0.3, stop + 0.3], [1.02, 1.02], color=colour,
                  linewidth=3, transform=transform, clip_on=False)
        axes.text((start + stop) / 2, 1.04, group, ha="center",
                  va="bottom", fontsize=FONT_SIZE, transform=transform)
        if index:
            axes.axvline(start - 0.5, color="0.8", linewidth=0.8, zorder=0)
        start = stop + 1


def _write_tests(axes, tests):
    # Written below the tick labels, where it cannot cover a box.
    if tests is None or tests.empty:
        return
    lines = [str(tests["test"].iloc[0])]
    for row in tests.itertuples():
        effect = (
            f"P(higher > lower) = {row.effect_size:.2f}"
            if row.units == "voxels"
            else f"difference of mean ROI medians = "
            f"{row.effect_size:.3g}, smallest possible p = "
            f"{row.min_p_value:.3g}"
        )
        lines.append(f"{row.alternative}: {format_p(row.p_value)}, {effect}")
    axes.annotate(
        "\n".join(lines), xy=(0, 0), xycoords="axes fraction",
        xytext=(0, -40), textcoords="offset points", va="top", ha="left",
        fontsize=FONT_SIZE - 1, annotation_clip=False,
    )


def _selection_text(significant):
    if significant is None:
        return "all analysed voxels"
    return f"significant voxels only ({int(np.sum(significant))})"


def plot_subjects(
    subjects,
    png_path,
    *,
    label,
    roi_groups=None,
    test="mannwhitney",
    quantity="jne",
    dpi=100,
    vector_format="svg",
):
    """Plot the hierarchy figure of every subject side by side.

    Parameters
    ----------
    subjects : dict of str to dict
        Per subject: ``"values"`` (array of shape (n_voxels,)),
        ``"atlas"`` and optionally ``"significant"``.
    png_path : str or Path
    label : DataLabel
        The label of the group, e.g. with ``subject="01, 02"``.
    roi_groups, test, quantity, dpi, vector_format
        As in :func:`plot_hierarchy`.

    Returns
    -------
    paths : list of Path
    tests : dict of str to DataFrame
        The ordering test of each subject.
    """
    quantity = get_quantity(quantity)
    n_subjects = len(subjects)
    first = next(iter(subjects.values()))
    groups = resolve_groups(first["atlas"], roi_groups)
    n_rois = sum(len(rois) for rois in groups.values())
    panel_width = max(4.0, 0.4 * n_rois + 1.5)
    figure = new_figure(panel_width * n_subjects + 0.6, 6.0)
    tests = {}
    for index, (subject, inputs) in enumerate(subjects.items()):
        subject_groups = resolve_groups(inputs["atlas"], groups)
        tests[subject] = ordering_test(
            inputs["values"], inputs["atlas"], subject_groups,
            significant=inputs.get("significant"), test=test,
            label=replace(label, subject=subject),
        )
        left = (0.6 + index * panel_width + 0.55) / figure.get_figwidth()
        width = (panel_width - 0.8) / figure.get_figwidth()
        axes = figure.add_axes((left, 0.3, width, 0.5))
        draw_hierarchy(
            axes, inputs["values"], inputs["atlas"], subject_groups,
            inputs.get("significant"), tests[subject], quantity,
        )
        axes.set_title(f"sub-{subject}", fontsize=TITLE_SIZE, pad=22)
    figure.suptitle(
        figure_title(
            f"{quantity.title} by ROI in each subject", label,
            "significant voxels only",
        ),
        fontsize=TITLE_SIZE,
    )
    add_simulated_footer(figure, label)
    paths = save_figure(figure, png_path, vector_format=vector_format,
                        dpi=dpi)
    return paths, tests


def plot_subject_group(
    subjects,
    png_path,
    *,
    label,
    roi_groups=None,
    test="mannwhitney",
    alpha=0.05,
    quantity="jne",
    dpi=100,
    vector_format="svg",
):
    """Plot every subject's ROI medians on one axis, early to higher.

    The left panel shows the medians; the right panel divides them by
    each subject's median over all shown voxels, which removes gain
    differences between subjects. The text under the panels gives the
    number of subjects in which each one-sided test reached ``alpha``.

    Parameters
    ----------
    subjects : dict of str to dict
        As in :func:`plot_subjects`.
    png_path : str or Path
    label : DataLabel
    roi_groups, test, quantity, dpi, vector_format
        As in :func:`plot_hierarchy`.
    alpha : float

    Returns
    -------
    paths : list of Path
    summary : DataFrame
        :func:`jne.report.hierarchy.combine_subject_tests` of the subjects.
    """
    quantity = get_quantity(quantity)
    first = next(iter(subjects.values()))
    groups = resolve_groups(first["atlas"], roi_groups)
    order = [roi for rois in groups.values() for roi in rois]
    medians, tests = {}, {}
    for subject, inputs in subjects.items():
        values = np.asarray(inputs["values"], float)
        keep = np.isfinite(values)
        if inputs.get("significant") is not None:
            keep &= np.asarray(inputs["significant"], bool)
        masks = roi_masks(inputs["atlas"], order)
        medians[subject] = np.array([
            np.median(values[masks[roi] & keep])
            if roi in masks and np.any(masks[roi] & keep) else np.nan
            for roi in order
        ])
        tests[subject] = ordering_test(
            values, inputs["atlas"], resolve_groups(inputs["atlas"], groups),
            significant=inputs.get("significant"), test=test,
        )
    summary = combine_subject_tests(tests, alpha=alpha, label=label)

    figure = new_figure(max(9.0, 0.5 * len(order) * 2 + 2.0), 5.6)
    x = np.arange(len(order))
    for column, relative in enumerate((False, True)):
        axes = figure.add_subplot(1, 2, column + 1)
        stacked = []
        for subject, values in medians.items():
            curve = values / np.nanmedian(values) if relative else values
            stacked.append(curve)
            axes.plot(x, curve, marker="o", linewidth=1, markersize=3,
                      alpha=0.8, label=f"sub-{subject}")
        axes.plot(x, np.nanmean(stacked, axis=0), color="black",
                  linewidth=2.5, label="mean")
        axes.set_xticks(x, order, rotation=60, ha="right",
                        fontsize=FONT_SIZE - 1)
        axes.set_ylabel(
            f"median {quantity.title} / subject median" if relative
            else f"median {quantity.units}",
            fontsize=FONT_SIZE,
        )
        axes.spines[["top", "right"]].set_visible(False)
        _shade_groups(axes, groups)
        if column == 0:
            axes.legend(fontsize=FONT_SIZE - 1, frameon=False)
    lines = [f"{TEST_NAMES[test]}, per subject:"] + [
        f"{row.lower} < {row.higher}: p < {alpha} in "
        f"{row.n_subjects_significant} of {row.n_subjects} subjects, "
        f"higher median in {row.n_subjects_higher_median} of "
        f"{row.n_subjects}, Fisher's combined {format_p(row.fisher_p_value)}"
        for row in summary.itertuples()
    ]
    figure.text(0.08, 0.15, "\n".join(lines), ha="left", va="top",
                fontsize=FONT_SIZE - 1)
    figure.suptitle(
        figure_title(
            f"{quantity.title} per ROI across subjects", label,
            "significant voxels only", width=int(figure.get_figwidth() * 11),
        ),
        fontsize=TITLE_SIZE,
    )
    figure.subplots_adjust(left=0.08, right=0.98, bottom=0.32, top=0.82,
                           wspace=0.25)
    add_simulated_footer(figure, label)
    paths = save_figure(figure, png_path, vector_format=vector_format,
                        dpi=dpi)
    return paths, summary


def _shade_groups(axes, groups):
    start = 0
    transform = axes.get_xaxis_transform()
    for index, (group, rois) in enumerate(groups.items()):
        stop = start + len(rois) - 1
        axes.axvspan(start - 0.5, stop + 0.5, alpha=0.12, lw=0,
                     color=GROUP_COLORS[index % len(GROUP_COLORS)])
        axes.text((start + stop) / 2, 1.02, group, ha="center",
                  va="bottom", fontsize=FONT_SIZE - 1, transform=transform)
        start = stop + 1

