"""The jacobian workflow stage: jne.tsv and jne_ss.h5."""

import json

import h5py
import numpy as np
import pandas as pd
import pytest
import torch

from jne.errors import DataError
from jne.jacobian import compute_jne, run_jacobian
from jne.models import ResidualMLP

N_STIMULI, N_FEATURES, N_VOXELS = 40, 6, 9


@pytest.fixture
def model_and_inputs():
    torch.manual_seed(0)
    model = ResidualMLP(N_FEATURES, N_VOXELS, 16, 2, "relu")
    rng = np.random.default_rng(1)
    inputs = rng.standard_normal((N_STIMULI, N_FEATURES)).astype("float32")
    return model, inputs


def stimulus_ids():
    return np.array([f"s{i:03d}" for i in range(N_STIMULI)])


def test_stage_writes_table_and_hdf5(tmp_path, model_and_inputs):
    model, inputs = model_and_inputs
    categories = np.array(["faces", "places"])[np.arange(N_STIMULI) % 2]
    table_path = tmp_path / "jne.tsv"
    h5_path = tmp_path / "jne_ss.h5"
    roi = np.array(["V1"] * 4 + ["FFC"] * 5)

    summary = run_jacobian(
        model,
        inputs,
        stimulus_ids(),
        categories,
        table_path,
        h5_path,
        roi=roi,
        out_roi_table=tmp_path / "jne_roi.tsv",
        n_bootstrap=200,
        voxel_ids=[f"v{i}" for i in range(N_VOXELS)],
    )

    expected = compute_jne(model, inputs)
    table = pd.read_csv(table_path, sep="\t")
    assert list(table.columns) == [
        "voxel",
        "jne",
        "jne_normalised",
        "mean_jacobian_l1",
        "jne_ci_low",
        "jne_ci_high",
    ]
    assert table["voxel"].tolist() == [f"v{i}" for i in range(N_VOXELS)]
    np.testing.assert_allclose(table["jne"], expected.jne, rtol=1e-6)
    assert (table["jne_ci_low"] <= table["jne"]).all()
    assert (table["jne"] <= table["jne_ci_high"]).all()
    assert summary["category_source"] == "given"
    assert summary["n_categories"] == 2

    with h5py.File(h5_path, "r") as handle:
        assert handle["jne_ss"].shape == (N_STIMULI, N_VOXELS)
        assert handle["deviation"].shape == (N_STIMULI, N_VOXELS)
        assert handle["stimulus_id"].asstr()[3] == "s003"
        assert list(handle["categories"].asstr()[:]) == ["faces", "places"]
        np.testing.assert_array_equal(handle["category_count"][:], [20, 20])
        np.testing.assert_allclose(
            handle["jne_ss_category"][1],
            expected.jne_ss[1::2].mean(axis=0),
            rtol=1e-5,
        )
        assert handle.attrs["category_source"] == "given"
        assert handle.attrs["mode"] == "fast"
        assert handle.attrs["dtype"] == "float32"
    roi_table = pd.read_csv(tmp_path / "jne_roi.tsv", sep="\t")
    assert sorted(roi_table["roi"]) == ["FFC", "V1"]
    leftovers = {p.name for p in tmp_path.iterdir()}
    assert leftovers == {"jne.tsv", "jne_ss.h5", "jne_roi.tsv"}


def test_stage_clusters_without_categories(tmp_path, model_and_inputs):
    model, inputs = model_and_inputs
    h5_path = tmp_path / "jne_ss.h5"

    summary = run_jacobian(
        model,
        inputs,
        stimulus_ids(),
        None,
        tmp_path / "jne.tsv",
        h5_path,
        k_max=5,
        n_bootstrap=20,
    )

    assert summary["category_source"] == "tsne-kmeans"
    with h5py.File(h5_path, "r") as handle:
        scores = json.loads(handle.attrs["n_clusters_silhouette"])
        n_categories = len(handle["categories"])
        assert handle.attrs["category_source"] == "tsne-kmeans"
        assert handle["category"].asstr()[0].startswith("cluster-")
        assert handle["jne_ss_category"].shape == (n_categories, N_VOXELS)
    assert set(scores) == {"2", "3", "4", "5"}
    assert 2 <= n_categories <= 5


def test_stage_approximate_mode_records_error(tmp_path):
    torch.manual_seed(0)
    model = ResidualMLP(32, 12, 16, 1, "gelu")
    inputs = np.random.default_rng(0).standard_normal((30, 32))
    categories = np.array(["a", "b", "c"] * 10)

    summary = run_jacobian(
        model,
        inputs,
        [f"s{i}" for i in range(30)],
        categories,
        tmp_path / "jne.tsv",
        tmp_path / "jne_ss.h5",
        mode="approximate",
        n_sampled_stimuli=12,
        n_check_voxels=5,
        n_bootstrap=20,
    )

    assert summary["mode"] == "approximate-fast"
    with h5py.File(tmp_path / "jne_ss.h5", "r") as handle:
        stored = json.loads(handle.attrs["approximation"])
        rows = handle["stimulus_index"][:]
        assert handle["jne_ss"].shape == (12, 12)
        assert list(handle["stimulus_id"].asstr()[:]) == [
            f"s{i}" for i in rows
        ]
        assert list(handle["category"].asstr()[:]) == list(categories[rows])
        assert handle["category_count"][:].sum() == 12
    assert stored["n_checked"] == 5
    assert stored["n_sampled_stimuli"] == 12


def test_stage_rejects_partial_categories(tmp_path, model_and_inputs):
    model, inputs = model_and_inputs
    categories = np.array(["a"] * N_STIMULI, dtype=object)
    categories[4] = None

    with pytest.raises(DataError, match="no category label"):
        run_jacobian(
            model,
            inputs,
            stimulus_ids(),
            categories,
            tmp_path / "jne.tsv",
            tmp_path / "jne_ss.h5",
        )
    with pytest.raises(DataError, match="stimulus_ids"):
        run_jacobian(
            model,
            inputs,
            stimulus_ids()[:5],
            None,
            tmp_path / "jne.tsv",
            tmp_path / "jne_ss.h5",
        )
    assert list(tmp_path.iterdir()) == []


def test_stage_without_atlas_rois_writes_header(tmp_path, model_and_inputs):
    model, inputs = model_and_inputs
    categories = np.array(["faces", "places"])[np.arange(N_STIMULI) % 2]
    roi_path = tmp_path / "jne_roi.tsv"
    run_jacobian(
        model,
        inputs,
        stimulus_ids(),
        categories,
        tmp_path / "jne.tsv",
        tmp_path / "jne_ss.h5",
        roi=np.full(N_VOXELS, ""),
        out_roi_table=roi_path,
        n_bootstrap=20,
    )
    table = pd.read_csv(roi_path, sep="\t")
    assert len(table) == 0
    assert "jne_ci_low" in table.columns
