import math

import numpy as np
import pytest

from jne.dataset import Atlas
from jne.errors import ConfigError
from jne.report import DataLabel
from jne.report.hierarchy import (
    DEFAULT_ROI_GROUPS, combine_subject_tests, default_roi_groups,
    ordering_test, resolve_groups,
)
from jne.report.hierarchy_figures import (
    plot_hierarchy, plot_subject_group, plot_subjects,
)
from tests.report_inputs import (
    GROUPS, image_variance, label, surface_space_and_atlas, voxel_values,
)

DPI = 50


@pytest.fixture(scope="module")
def atlas():
    return surface_space_and_atlas(stride=3)[1]


def test_ordered_data_give_small_p(atlas):
    values = voxel_values(atlas, ordered=True)
    tests = ordering_test(values["jne"], atlas, GROUPS,
                          significant=values["significant"])

    assert tests[["lower", "higher"]].values.tolist() == [
        ["primary", "intermediate"], ["intermediate", "higher"]
    ]
    assert (tests["p_value"] < 1e-10).all()
    assert (tests["effect_size"] > 0.7).all()
    assert (tests["units"] == "voxels").all()
    assert (tests["median_higher"] > tests["median_lower"]).all()


def test_shuffled_data_give_large_p(atlas):
    values = voxel_values(atlas, ordered=False)
    tests = ordering_test(values["jne"], atlas, GROUPS)
    assert (tests["p_value"] > 0.05).all()
    assert (tests["effect_size"] - 0.5).abs().max() < 0.05


def test_reversed_data_give_p_near_one(atlas):
    values = voxel_values(atlas)
    tests = ordering_test(-values["jne"], atlas, GROUPS)
    assert (tests["p_value"] > 0.999).all()


def test_roi_permutation_exact_minimum(atlas):
    values = voxel_values(atlas)
    tests = ordering_test(values["jne"], atlas, GROUPS,
                          test="roi_permutation")
    first, second = tests.to_dict("records")
    # Fully ordered ROIs: the observed split is the most extreme of all.
    assert first["n_lower"] == 1
    assert first["n_higher"] == 3
    assert first["p_value"] == pytest.approx(1 / math.comb(4, 1))
    assert second["p_value"] == pytest.approx(1 / math.comb(8, 3))
    assert second["min_p_value"] == pytest.approx(second["p_value"])
    assert (tests["units"] == "ROIs").all()


def test_roi_permutation_sampled(atlas):
    values = voxel_values(atlas)
    tests = ordering_test(values["jne"], atlas, GROUPS,
                          test="roi_permutation", n_permutations=20, seed=3)
    # C(8, 3) = 56 > 20, so 20 random permutations plus the observed one.
    assert tests["p_value"].iloc[1] == pytest.approx(1 / 21)


def test_ordering_test_rejects_unknown_test(atlas):
    with pytest.raises(ConfigError, match="mannwhitney"):
        ordering_test(np.ones(len(atlas.labels)), atlas, GROUPS, test="t")


def test_default_groups_pick_atlas_naming():
    hcp = Atlas(labels=np.array([1, 2]), names={1: "L_V1", 2: "R_FFC"})
    nsd = Atlas(labels=np.array([1, 2, 3]),
                names={1: "V1v", 2: "hV4", 3: "PPA"})
    assert default_roi_groups(hcp) is DEFAULT_ROI_GROUPS["hcp_mmp"]
    assert default_roi_groups(nsd) is DEFAULT_ROI_GROUPS["nsd"]
    with pytest.raises(ConfigError, match="report.roi_groups"):
        default_roi_groups(Atlas(labels=np.array([1]), names={1: "Amyg"}))


def test_resolve_groups_drops_absent(atlas):
    groups = resolve_groups(atlas)
    assert groups == {
        "primary": ["V1"],
        "intermediate": ["V2", "V3", "V4"],
        "higher": ["PIT", "FFC", "VVC", "PHA1", "LO1"],
    }
    with pytest.raises(ConfigError, match="needs two"):
        resolve_groups(atlas, {"early": ["V1"], "late": ["PPA"]})


def test_combine_subject_tests(atlas):
    tests = {
        str(seed): ordering_test(
            voxel_values(atlas, seed=seed, ordered=seed < 2)["jne"], atlas,
            GROUPS,
        )
        for seed in range(3)
    }
    summary = combine_subject_tests(tests)

    assert summary["n_subjects"].tolist() == [3, 3]
    assert summary["n_subjects_significant"].tolist() == [2, 2]
    assert (summary["fisher_p_value"] < 1e-10).all()
    assert (summary["max_p_value"] > 0.05).all()


def test_hierarchy_figure(tmp_path, atlas):
    values = voxel_values(atlas)
    paths, tests = plot_hierarchy(
        values["jne"], atlas, tmp_path / "hierarchy.png", label=label(),
        roi_groups=GROUPS, significant=values["significant"], dpi=DPI,
    )

    assert image_variance(paths[0]) > 1e-3
    svg = paths[1].read_text()
    assert "Mann-Whitney" in svg
    assert "SIMULATED RESPONSES" in svg
    assert len(tests) == 2


def test_subject_figures(tmp_path, atlas):
    subjects = {}
    for seed, subject in enumerate(["01", "02"]):
        values = voxel_values(atlas, seed=seed)
        subjects[subject] = {
            "values": values["jne"], "atlas": atlas,
            "significant": values["significant"],
        }
    group = DataLabel("demo", "01, 02", layer="6", model="relu",
                      simulated=True)

    paths, tests = plot_subjects(subjects, tmp_path / "subjects.png",
                                 label=group, dpi=DPI)
    assert sorted(tests) == ["01", "02"]
    assert tests["02"]["subject"].unique().tolist() == ["02"]
    assert (tests["02"]["responses"] == "simulated").all()
    assert image_variance(paths[0]) > 1e-3
    assert "sub-02" in paths[1].read_text()

    paths, summary = plot_subject_group(
        subjects, tmp_path / "group.png", label=group, dpi=DPI
    )
    assert image_variance(paths[0]) > 1e-3
    assert summary["n_subjects_significant"].tolist() == [2, 2]
    assert (summary["subject"] == "01, 02").all()
    assert "2 of 2 subjects" in paths[1].read_text()
