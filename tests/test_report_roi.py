import numpy as np
import pandas as pd
import pytest

from jne.dataset import Atlas
from jne.errors import ConfigError, DataError
from jne.report.roi import base_name, roi_masks, roi_table, write_roi_table
from tests.report_inputs import (
    GROUPS, label, surface_space_and_atlas, voxel_values,
)


@pytest.fixture(scope="module")
def inputs():
    _, atlas = surface_space_and_atlas(stride=3)
    return atlas, voxel_values(atlas)


def test_base_name_strips_hemisphere():
    assert base_name("L_V1") == "V1"
    assert base_name("rh.FFA-1") == "FFA-1"
    assert base_name("V1v") == "V1v"
    assert base_name("LO1") == "LO1"


def test_roi_masks_merge_hemispheres():
    atlas = Atlas(
        labels=np.array([1, 2, 181, 0, 182]),
        names={1: "L_V1", 2: "L_V2", 181: "R_V1", 182: "R_V2"},
    )
    masks = roi_masks(atlas)
    assert list(masks) == ["V1", "V2"]
    np.testing.assert_array_equal(masks["V1"], [1, 0, 1, 0, 0])
    np.testing.assert_array_equal(masks["V2"], [0, 1, 0, 0, 1])


def test_roi_masks_order_and_missing():
    atlas = Atlas(labels=np.array([1, 2]), names={1: "V1", 2: "FFC"})
    masks = roi_masks(atlas, ["FFC", "PPA", "V1"])
    assert list(masks) == ["FFC", "V1"]


def test_roi_table_matches_arrays(inputs):
    atlas, values = inputs
    table = roi_table(
        atlas, jne=values["jne"], r2_linear=values["r2_linear"],
        r2_nonlinear=values["r2_nonlinear"],
        noise_ceiling=values["noise_ceiling"],
        significant=values["significant"], roi_groups=GROUPS,
        n_bootstrap=200, label=label(),
    )

    expected_order = [roi for rois in GROUPS.values() for roi in rois]
    assert table["roi"].tolist() == expected_order
    names = atlas.voxel_names()
    for row in table.itertuples():
        in_roi = names == row.roi
        used = in_roi & values["significant"]
        assert row.n_voxels == in_roi.sum()
        assert row.n_significant == used.sum()
        assert row.n_used == used.sum()
        assert row.jne_median == pytest.approx(np.median(values["jne"][used]))
        assert row.jne_mean == pytest.approx(np.mean(values["jne"][used]))
        assert row.r2_linear_median == pytest.approx(
            np.median(values["r2_linear"][used])
        )
        assert row.r2_nonlinear_median == pytest.approx(
            np.median(values["r2_nonlinear"][used])
        )
        assert row.noise_ceiling_median == pytest.approx(
            np.median(values["noise_ceiling"][used])
        )
        assert row.jne_median_ci_low < row.jne_median < row.jne_median_ci_high
        assert row.jne_mean_ci_low < row.jne_mean < row.jne_mean_ci_high
    assert set(table["group"]) == set(GROUPS)
    assert (table["responses"] == "simulated").all()
    assert (table["subject"] == "01").all()
    assert table["ci_method"].str.contains("over voxels").all()


def test_roi_table_voxel_ci_width_shrinks(inputs):
    atlas, values = inputs
    table = roi_table(atlas, jne=values["jne"], n_bootstrap=300)
    width = table["jne_mean_ci_high"] - table["jne_mean_ci_low"]
    # The standard error of a mean falls as 1 / sqrt(n): the largest ROI
    # (V1) has a narrower interval than the smallest (LO1).
    by_roi = dict(zip(table["roi"], width))
    assert by_roi["V1"] < by_roi["LO1"]


def test_roi_table_uses_bootstrap_replicates(inputs):
    atlas, values = inputs
    rng = np.random.default_rng(1)
    replicates = values["jne"] * rng.normal(1.0, 0.05, (50, len(atlas.labels)))
    table = roi_table(
        atlas, jne=values["jne"], jne_bootstrap=replicates, selection="all",
        ci_level=0.9,
    )

    assert table["ci_method"].str.contains("over stimuli").all()
    v1 = atlas.voxel_names() == "V1"
    medians = np.median(replicates[:, v1], axis=1)
    row = table.set_index("roi").loc["V1"]
    assert row["jne_median_ci_low"] == pytest.approx(
        np.quantile(medians, 0.05)
    )
    assert row["jne_median_ci_high"] == pytest.approx(
        np.quantile(medians, 0.95)
    )
    assert row["n_used"] == v1.sum()


def test_roi_table_empty_roi_gives_nan():
    atlas = Atlas(labels=np.array([1, 1, 2]), names={1: "V1", 2: "FFC"})
    table = roi_table(
        atlas, jne=np.array([1.0, 2.0, 3.0]),
        significant=np.array([True, True, False]), n_bootstrap=20,
    )
    ffc = table.set_index("roi").loc["FFC"]
    assert ffc["n_used"] == 0
    assert np.isnan(ffc["jne_median"])
    assert np.isnan(ffc["jne_median_ci_low"])


def test_roi_table_rejects_bad_inputs(inputs):
    atlas, values = inputs
    with pytest.raises(ConfigError, match="selection"):
        roi_table(atlas, jne=values["jne"], selection="best")
    with pytest.raises(DataError, match="jne has shape"):
        roi_table(atlas, jne=values["jne"][:-1])
    with pytest.raises(DataError, match="jne_bootstrap"):
        roi_table(atlas, jne=values["jne"], jne_bootstrap=np.ones((3, 2)))


def test_write_roi_table(tmp_path, inputs):
    atlas, values = inputs
    table = roi_table(atlas, jne=values["jne"], n_bootstrap=20,
                      label=label())
    path = write_roi_table(tmp_path / "rois.tsv", table)
    loaded = pd.read_csv(path, sep="\t", dtype={"subject": str})
    assert loaded["roi"].tolist() == table["roi"].tolist()
    np.testing.assert_allclose(loaded["jne_median"], table["jne_median"],
                               rtol=1e-5)
    assert loaded["responses"].iloc[0] == "simulated"
