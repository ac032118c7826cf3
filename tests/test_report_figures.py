import numpy as np
import pandas as pd
import pytest
from matplotlib.image import imread

from jne.dataset import Atlas
from jne.errors import DataError
from jne.report.categories import (
    category_roi_matrix, category_table, normalise_within_roi,
    plot_category_heatmap, write_category_table,
)
from jne.report.layers import layer_table, plot_layers
from jne.report.recovery import (
    plot_recovery, recovery_table, write_recovery_table,
)
from jne.report.roi import roi_table
from jne.report.scatter import plot_r2_scatter
from tests.report_inputs import (
    CATEGORIES, GROUPS, image_variance, label, surface_space_and_atlas,
    voxel_values,
)

DPI = 50


@pytest.fixture(scope="module")
def inputs():
    _, atlas = surface_space_and_atlas(stride=3)
    return atlas, voxel_values(atlas)


def test_category_matrix_matches_arrays(inputs):
    atlas, values = inputs
    matrix = category_roi_matrix(
        values["jne_ss"], CATEGORIES, atlas, roi_groups=GROUPS,
        significant=values["significant"],
    )

    assert matrix.index.tolist() == CATEGORIES
    assert matrix.columns.tolist() == [r for g in GROUPS.values() for r in g]
    used = (atlas.voxel_names() == "FFC") & values["significant"]
    np.testing.assert_allclose(
        matrix["FFC"].to_numpy(), values["jne_ss"][:, used].mean(axis=1)
    )
    # The inputs give FFC faces and PHA1 places three times the JNE-SS.
    assert matrix["FFC"].idxmax() == "faces"
    assert matrix["PHA1"].idxmax() == "places"


def test_normalise_within_roi():
    matrix = pd.DataFrame({"A": [1.0, 3.0], "B": [2.0, 2.0]},
                          index=["x", "y"])
    normalised = normalise_within_roi(matrix)
    np.testing.assert_allclose(normalised["A"], np.log2([0.5, 1.5]))
    np.testing.assert_allclose(normalised["B"], [0.0, 0.0])


def test_category_matrix_rejects_shape(inputs):
    atlas, values = inputs
    with pytest.raises(DataError, match="one row per category"):
        category_roi_matrix(values["jne_ss"][:2], CATEGORIES, atlas)


def test_category_table_and_file(tmp_path, inputs):
    atlas, values = inputs
    matrix = category_roi_matrix(values["jne_ss"], CATEGORIES, atlas)
    table = category_table(matrix, label())
    assert len(table) == matrix.size
    row = table[(table["roi"] == "V2") & (table["category"] == "food")]
    assert row["jne_ss_mean"].iloc[0] == pytest.approx(
        matrix.loc["food", "V2"]
    )
    assert (table["responses"] == "simulated").all()
    path = write_category_table(tmp_path / "categories.tsv", matrix)
    assert len(pd.read_csv(path, sep="\t")) == matrix.size


def test_category_heatmap(tmp_path, inputs):
    atlas, values = inputs
    matrix = category_roi_matrix(values["jne_ss"], CATEGORIES, atlas)
    paths = plot_category_heatmap(matrix, tmp_path / "heatmap.png",
                                  label=label(), dpi=DPI)
    assert image_variance(paths[0]) > 1e-3
    svg = paths[1].read_text()
    assert "Normalised within ROI" in svg
    assert "SIMULATED RESPONSES" in svg


def test_r2_scatter(tmp_path, inputs):
    _, values = inputs
    paths = plot_r2_scatter(
        values["r2_linear"], values["r2_nonlinear"], tmp_path / "r2.png",
        label=label(), significant=values["significant"], dpi=DPI,
    )
    assert image_variance(paths[0]) > 1e-3
    svg = paths[1].read_text()
    assert "Wilcoxon" in svg
    assert "nonlinear better in" in svg


def test_r2_scatters_differ(tmp_path, inputs):
    _, values = inputs
    first = plot_r2_scatter(values["r2_linear"], values["r2_nonlinear"],
                            tmp_path / "a.png", label=label(), dpi=DPI,
                            vector_format=None)[0]
    second = plot_r2_scatter(values["r2_linear"], values["r2_linear"] * 0.5,
                             tmp_path / "b.png", label=label(), dpi=DPI,
                             vector_format=None)[0]
    a, b = imread(first), imread(second)
    assert np.abs(a - b).mean() > 0.005


def test_layers_table_and_figure(tmp_path, inputs):
    atlas, _ = inputs
    tables, r2 = {}, {}
    for index, layer in enumerate(["1", "3", "5"]):
        values = voxel_values(atlas, seed=index)
        tables[layer] = roi_table(
            atlas, jne=values["jne"] * (1 + index), roi_groups=GROUPS,
            significant=values["significant"], n_bootstrap=20,
        )
        r2[layer] = {"linear": values["r2_linear"],
                     "nonlinear": values["r2_nonlinear"]}

    table = layer_table(tables, r2, label())
    v1 = table[(table["roi"] == "V1")].set_index("layer")["jne_median"]
    assert v1.index.tolist() == ["1", "3", "5"]
    assert v1["5"] == pytest.approx(tables["5"].set_index("roi").loc[
        "V1", "jne_median"])
    overall = table[table["roi"] == "all voxels"].set_index("layer")
    assert overall.loc["3", "r2_linear_median"] == pytest.approx(
        np.median(r2["3"]["linear"])
    )

    paths = plot_layers(tables, tmp_path / "layers.png", label=label(),
                        r2_by_layer=r2, dpi=DPI)
    assert image_variance(paths[0]) > 1e-3
    assert "feature layer" in paths[1].read_text()


def test_recovery_table_values(inputs):
    atlas, values = inputs
    table = recovery_table(values["jne"], values["true_jne"], atlas,
                           label=label())
    voxel = table.set_index("level").loc["voxel"]
    assert voxel["n"] == len(atlas.labels)
    assert voxel["spearman_rho"] > 0.9
    from scipy.stats import spearmanr

    assert voxel["spearman_rho"] == pytest.approx(
        spearmanr(values["jne"], values["true_jne"]).statistic
    )
    assert table.set_index("level").loc["roi", "n"] == 9
    assert (table["responses"] == "simulated").all()


def test_recovery_of_noise_is_poor(inputs):
    atlas, values = inputs
    rng = np.random.default_rng(5)
    table = recovery_table(rng.permutation(values["jne"]),
                           values["true_jne"], atlas)
    assert abs(table.set_index("level").loc["voxel", "spearman_rho"]) < 0.1


def test_recovery_with_categories(inputs):
    atlas, values = inputs
    table = recovery_table(
        values["jne"], values["true_jne"], atlas,
        recovered_ss=values["jne_ss"], truth_ss=values["jne_ss"] * 2.0,
    )
    row = table.set_index("level").loc["voxel x category"]
    assert row["spearman_rho"] == pytest.approx(1.0)
    assert row["n"] == values["jne_ss"].size


def test_recovery_rejects_shapes():
    atlas = Atlas(labels=np.array([1, 1]), names={1: "V1"})
    with pytest.raises(DataError, match="both must be"):
        recovery_table(np.ones(2), np.ones(3), atlas)


def test_recovery_figure_and_file(tmp_path, inputs):
    atlas, values = inputs
    paths, table = plot_recovery(
        values["jne"], values["true_jne"], atlas, tmp_path / "recovery.png",
        label=label(), significant=values["significant"],
        roi_groups=GROUPS, dpi=DPI,
    )
    assert image_variance(paths[0]) > 1e-3
    rho = table.set_index("level").loc["voxel", "spearman_rho"]
    assert f"ρ = {rho:.3f}" in paths[1].read_text()
    written = write_recovery_table(tmp_path / "recovery.tsv", table)
    assert pd.read_csv(written, sep="\t")["level"].tolist() == [
        "voxel", "roi"
    ]
