import numpy as np
import pytest

from jne.dataset import Dataset, Space
from jne.errors import DataError
from tests.conftest import build_small_dataset


def test_save_load_roundtrip(tmp_path, small_dataset):
    path = tmp_path / "dataset.h5"
    small_dataset.save(path)
    loaded = Dataset.load(path)

    np.testing.assert_array_equal(loaded.betas, small_dataset.betas)
    assert loaded.trials.equals(small_dataset.trials)
    assert loaded.stimuli.equals(small_dataset.stimuli)
    assert loaded.layers == small_dataset.layers
    np.testing.assert_array_equal(
        loaded.embeddings["2"], small_dataset.embeddings["2"]
    )
    np.testing.assert_array_equal(
        loaded.space.hemisphere, small_dataset.space.hemisphere
    )
    assert loaded.atlas.names == small_dataset.atlas.names
    assert loaded.simulated is True
    np.testing.assert_allclose(
        loaded.ground_truth["weights_norm"],
        small_dataset.ground_truth["weights_norm"],
    )


def test_save_leaves_no_temporary_files(tmp_path, small_dataset):
    small_dataset.save(tmp_path / "dataset.h5")
    assert [p.name for p in tmp_path.iterdir()] == ["dataset.h5"]


def test_validate_accepts_small_dataset(small_dataset):
    small_dataset.validate()


def test_validate_trial_count_mismatch():
    dataset = build_small_dataset()
    dataset.trials = dataset.trials.iloc[:-1]
    with pytest.raises(DataError, match="one row per trial"):
        dataset.validate()


def test_validate_unknown_stimulus():
    dataset = build_small_dataset()
    dataset.trials.loc[0, "stimulus_id"] = "nope"
    with pytest.raises(DataError, match="'nope'"):
        dataset.validate()


def test_validate_nan_embeddings():
    dataset = build_small_dataset()
    dataset.embeddings["1"][3, 0] = np.nan
    with pytest.raises(DataError, match="s003"):
        dataset.validate()


def test_subset_voxels_keeps_space_and_atlas():
    dataset = build_small_dataset()
    index = np.array([0, 5, 29])
    subset = dataset.subset_voxels(index)

    assert subset.betas.shape == (dataset.n_trials, 3)
    np.testing.assert_array_equal(subset.space.vertex, [0, 5, 29])
    np.testing.assert_array_equal(
        subset.atlas.labels, dataset.atlas.labels[index]
    )
    assert subset.ground_truth["weights_norm"].shape == (3,)


def test_space_rejects_bad_hemisphere():
    space = Space(
        kind="surface",
        mesh="fsLR32k",
        hemisphere=np.array(["L", "X"]),
        vertex=np.array([0, 1]),
        n_mesh_vertices={"L": 10, "R": 10},
    )
    with pytest.raises(DataError, match="'X'"):
        space.validate()


def test_saved_file_follows_umask(tmp_path, small_dataset):
    import os

    previous = os.umask(0o022)
    try:
        small_dataset.save(tmp_path / "dataset.h5")
    finally:
        os.umask(previous)
    mode = (tmp_path / "dataset.h5").stat().st_mode & 0o777
    assert mode == 0o644


def test_subset_voxels_keeps_string_truth_whole():
    dataset = build_small_dataset(n_voxels=2)
    dataset.ground_truth["categories"] = np.array(["faces", "places"])
    subset = dataset.subset_voxels(np.array([1]))
    assert list(subset.ground_truth["categories"]) == ["faces", "places"]


def test_load_without_betas(tmp_path, small_dataset):
    path = tmp_path / "dataset.h5"
    small_dataset.save(path)
    light = Dataset.load(path, betas=False)
    assert light.betas.shape == (0, small_dataset.n_voxels)
    assert light.n_voxels == small_dataset.n_voxels
    assert light.stimuli.equals(small_dataset.stimuli)
    np.testing.assert_array_equal(
        light.atlas.labels, small_dataset.atlas.labels
    )
