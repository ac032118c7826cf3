"""The visual hierarchy: JNE per ROI, early to higher, and ordering tests.

Gao et al. (NeurIPS 2025) report that JNE rises from V1 to V2-V4 to
higher visual areas in every NSD subject. :func:`ordering_test` tests
this one-sidedly between consecutive ROI groups (e.g. primary <
intermediate < higher), and :func:`plot_hierarchy` draws the JNE
distribution of every ROI in that order with the test results.

Two tests are offered:

``"mannwhitney"``
    One-sided Mann-Whitney U test on the pooled voxels of the two groups
    (:func:`scipy.stats.mannwhitneyu`, ``alternative="less"``). Voxels are
    spatially correlated, so the p-value overstates the evidence. Read it
    as a description of one subject, and count the subjects in which the
    ordering is found.
``"roi_permutation"``
    Permutation test on ROI medians: the statistic is the mean ROI median
    of the higher group minus that of the lower group, and the null
    distribution reassigns ROIs to the two groups (all assignments when
    there are at most ``n_permutations``). ROIs, not voxels, are the
    units, so the test respects spatial correlation, but with few ROIs
    its smallest possible p-value is large (1/4 for 1 versus 3 ROIs).
"""

import itertools
import logging
import math

import numpy as np
import pandas as pd
from scipy import stats

from jne.errors import ConfigError

from .roi import base_name, roi_masks

logger = logging.getLogger(__name__)

TESTS = ("mannwhitney", "roi_permutation")
TEST_NAMES = {
    "mannwhitney": "one-sided Mann-Whitney U on voxels",
    "roi_permutation": "one-sided permutation test on ROI medians",
}

# Default groups, early to higher. ROIs missing from an atlas are skipped.
DEFAULT_ROI_GROUPS = {
    # HCP-MMP 1.0 (Glasser et al., 2016) names without hemisphere prefix.
    "hcp_mmp": {
        "primary": ["V1"],
        # Retinotopic areas beyond V1, including the dorsal V3A and V3B.
        "intermediate": ["V2", "V3", "V4", "V3A", "V3B"],
        "higher": [
            "V8", "PIT", "FFC", "VVC", "VMV1", "VMV2", "VMV3", "PHA1",
            "PHA2", "PHA3", "PH", "LO1", "LO2", "LO3", "V4t", "MT", "MST",
            "FST", "PHT", "TPOJ1", "RSC", "POS1", "POS2", "ProS",
        ],
    },
    # NSD ROI files: prf-visualrois and the floc-* localisers.
    "nsd": {
        "primary": ["V1v", "V1d"],
        "intermediate": ["V2v", "V2d", "V3v", "V3d", "hV4"],
        "higher": [
            "OFA", "FFA-1", "FFA-2", "mTL-faces", "aTL-faces", "EBA",
            "FBA-1", "FBA-2", "mTL-bodies", "OPA", "PPA", "RSC", "OWFA",
            "VWFA-1", "VWFA-2", "mfs-words", "mTL-words",
        ],
    },
}


def default_roi_groups(atlas):
    """Return the default groups whose ROI names best match the atlas.

    Raises
    ------
    ConfigError
        If no default shares an ROI with the atlas.
    """
    present = {base_name(name) for name in atlas.names.values()}
    best, best_count = None, 0
    for key, groups in DEFAULT_ROI_GROUPS.items():
        count = sum(roi in present for rois in groups.values() for roi in rois)
        if count > best_count:
            best, best_count = key, count
    if best is None:
        raise ConfigError(
            "The atlas shares no ROI name with the default ROI groups "
            f"({', '.join(DEFAULT_ROI_GROUPS)}). Set report.roi_groups, "
            f"e.g. {{primary: [...], higher: [...]}}, using the atlas's "
            f"names: {', '.join(sorted(present)[:20])}."
        )
    logger.info("Using the %s ROI groups", best)
    return DEFAULT_ROI_GROUPS[best]


def resolve_groups(atlas, roi_groups=None):
    """Keep the ROIs of each group that the atlas has, in order.

    Parameters
    ----------
    atlas : jne.dataset.Atlas
    roi_groups : dict of str to list of str, optional
        Ordered groups, early to higher; default :func:`default_roi_groups`.

    Returns
    -------
    dict of str to list of str
        Groups with at least one ROI present, in the given order.

    Raises
    ------
    ConfigError
        If fewer than two groups have ROIs in the atlas.
    """
    if not roi_groups:
        roi_groups = default_roi_groups(atlas)
    present = {base_name(name) for name in atlas.names.values()}
    resolved = {}
    for group, rois in roi_groups.items():
        present_rois = [roi for roi in rois if roi in present]
        if present_rois:
            resolved[group] = present_rois
        else:
            logger.warning(
                "ROI group %r has no ROI in the atlas (wanted %s); it is "
                "left out", group, ", ".join(rois),
            )
    if len(resolved) < 2:
        raise ConfigError(
            f"Only {len(resolved)} ROI group(s) of {list(roi_groups)} have "
            "ROIs in the atlas; the ordering test needs two. Atlas ROIs: "
            f"{', '.join(sorted(present)[:30])}."
        )
    return resolved


def ordering_test(
    values,
    atlas,
    roi_groups=None,
    *,
    significant=None,
    test="mannwhitney",
    n_permutations=10000,
    seed=0,
    label=None,
):
    """Test that values rise between consecutive ROI groups.

    Parameters
    ----------
    values : array of shape (n_voxels,)
        Usually JNE.
    atlas : jne.dataset.Atlas
    roi_groups : dict of str to list of str, optional
        Ordered groups, early to higher.
    significant : array of bool of shape (n_voxels,), optional
        Only these voxels enter the test.
    test : {"mannwhitney", "roi_permutation"}
        See the module docstring.
    n_permutations : int
        Upper bound on the permutations of ``"roi_permutation"``.
    seed : int
    label : DataLabel, optional
        Adds the label columns (see :meth:`DataLabel.add_columns`).

    Returns
    -------
    DataFrame
        One row per pair of consecutive groups: ``lower``, ``higher``,
        ``test``, ``alternative``, ``statistic``, ``p_value``,
        ``n_lower``, ``n_higher`` (voxels or ROIs), ``units``,
        ``median_lower``, ``median_higher`` (of voxel values), and
        ``effect_size``: for Mann-Whitney the probability that a voxel of
        the higher group exceeds one of the lower group (0.5 = no
        difference), for the permutation test the difference of mean ROI
        medians. The permutation test adds ``min_p_value``, the smallest
        p-value its number of permutations allows.
    """
    if test not in TESTS:
        raise ConfigError(
            f"Invalid ordering test {test!r}: use {' or '.join(TESTS)}."
        )
    groups = resolve_groups(atlas, roi_groups)
    values = np.asarray(values, float)
    keep = np.isfinite(values)
    if significant is not None:
        keep &= np.asarray(significant, bool)
    masks = roi_masks(atlas, [roi for rois in groups.values() for roi in rois])
    rng = np.random.default_rng(seed)
    rows = []
    names = list(groups)
    for lower, higher in zip(names[:-1], names[1:]):
        low_rois = [masks[roi] & keep for roi in groups[lower]]
        high_rois = [masks[roi] & keep for roi in groups[higher]]
        low = values[np.any(low_rois, axis=0)]
        high = values[np.any(high_rois, axis=0)]
        row = {
            "lower": lower,
            "higher": higher,
            "test": TEST_NAMES[test],
            "alternative": f"{lower} < {higher}",
            "median_lower": float(np.median(low)) if low.size else np.nan,
            "median_higher": float(np.median(high)) if high.size else np.nan,
        }
        if test == "mannwhitney":
            row.update(_mann_whitney(low, high))
        else:
            row.update(_roi_permutation(
                [values[m] for m in low_rois], [values[m] for m in high_rois],
                n_permutations, rng,
            ))
        rows.append(row)
    table = pd.DataFrame(rows)
    return table if label is None else label.add_columns(table)


def _mann_whitney(low, high):
    result = {"units": "voxels", "n_lower": low.size, "n_higher": high.size}
    if low.size == 0 or high.size == 0:
        return {**result, "statistic": np.nan, "p_value": np.nan,
                "effect_size": np.nan}
    u, p = stats.mannwhitneyu(low, high, alternative="less")
    return {
        **result,
        "statistic": float(u),
        "p_value": float(p),
        "effect_size": 1.0 - float(u) / (low.size * high.size),
    }


def _roi_permutation(low_rois, high_rois, n_permutations, rng):
    medians = np.array(
        [np.median(v) for v in low_rois + high_rois if v.size]
    )
    n_low = sum(v.size > 0 for v in low_rois)
    n_high = sum(v.size > 0 for v in high_rois)
    result = {"units": "ROIs", "n_lower": n_low, "n_higher": n_high}
    if n_low == 0 or n_high == 0:
        return {**result, "statistic": np.nan, "p_value": np.nan,
                "effect_size": np.nan, "min_p_value": np.nan}
    observed = medians[n_low:].mean() - medians[:n_low].mean()
    n_total = n_low + n_high
    n_splits = math.comb(n_total, n_low)
    if n_splits <= n_permutations:
        min_p = 1.0 / n_splits
        splits = itertools.combinations(range(n_total), n_low)
        null = []
        for chosen in splits:
            is_low = np.zeros(n_total, bool)
            is_low[list(chosen)] = True
            null.append(medians[~is_low].mean() - medians[is_low].mean())
        null = np.array(null)
        p = float(np.mean(null >= observed - 1e-12))
    else:
        null = np.empty(n_permutations)
        for k in range(n_permutations):
            order = rng.permutation(medians)
            null[k] = order[n_low:].mean() - order[:n_low].mean()
        # The observed split counts as one permutation.
        exceed = np.sum(null >= observed - 1e-12)
        p = float((exceed + 1) / (n_permutations + 1))
        min_p = 1.0 / (n_permutations + 1)
    return {
        **result,
        "statistic": float(observed),
        "p_value": p,
        "effect_size": float(observed),
        "min_p_value": min_p,
    }


def combine_subject_tests(tests_by_subject, alpha=0.05, label=None):
    """Summarise one ordering test per subject into a group result.

    Parameters
    ----------
    tests_by_subject : dict of str to DataFrame
        Output of :func:`ordering_test` per subject.
    alpha : float
        Level at which a subject counts as showing the ordering.
    label : DataLabel, optional
        Label of the group (e.g. ``subject="01, 02"``), added as columns.

    Returns
    -------
    DataFrame
        One row per pair of groups: ``lower``, ``higher``, ``test``,
        ``n_subjects``, ``n_subjects_significant`` (p < alpha),
        ``n_subjects_higher_median`` (median of the higher group above
        that of the lower group), ``max_p_value``, and Fisher's combined
        ``fisher_statistic`` and ``fisher_p_value``
        (:func:`scipy.stats.combine_pvalues`), which treat the subjects as
        independent.
    """
    stacked = pd.concat(
        [t.assign(subject=s) for s, t in tests_by_subject.items()],
        ignore_index=True,
    )
    rows = []
    for (lower, higher), pair in stacked.groupby(
        ["lower", "higher"], sort=False
    ):
        p_values = pair["p_value"].to_numpy(float)
        finite = p_values[np.isfinite(p_values)]
        if finite.size:
            fisher = stats.combine_pvalues(
                np.clip(finite, 1e-300, 1.0), method="fisher"
            )
            fisher_statistic, fisher_p = fisher.statistic, fisher.pvalue
        else:
            fisher_statistic = fisher_p = np.nan
        rows.append({
            "lower": lower,
            "higher": higher,
            "test": pair["test"].iloc[0],
            "n_subjects": len(pair),
            "n_subjects_significant": int(np.sum(finite < alpha)),
            "n_subjects_higher_median": int(
                np.sum(pair["median_higher"] > pair["median_lower"])
            ),
            "max_p_value": float(finite.max()) if finite.size else np.nan,
            "fisher_statistic": float(fisher_statistic),
            "fisher_p_value": float(fisher_p),
            "alpha": alpha,
        })
    table = pd.DataFrame(rows)
    return table if label is None else label.add_columns(table)
