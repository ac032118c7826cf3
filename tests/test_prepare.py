import numpy as np
import pandas as pd
import pytest

from jne import scoring
from jne.errors import ConfigError, DataError
from jne.prepare import Prepared, prepare
from tests.conftest import build_small_dataset


def _zscore_by(values, trials, columns):
    """Z-score the rows of ``values`` within groups of trial columns."""
    frame = pd.DataFrame(values)
    groups = [trials[c].to_numpy() for c in columns]
    grouped = frame.groupby(groups)
    mean = grouped.transform("mean")
    std = grouped.transform(lambda column: column.std(ddof=0))
    return ((frame - mean) / std).to_numpy()


def _rows_of(prepared, dataset):
    """Map each prepared stimulus id to its (split, row)."""
    rows = {}
    for name in ("train", "val", "test"):
        for row, stimulus in enumerate(prepared.stimulus_id[name]):
            rows[stimulus] = (name, row)
    return rows


def _response_of(prepared, stimulus, rows):
    name, row = rows[stimulus]
    return prepared.split(name)[1][row]


def test_shapes_and_dtypes(small_dataset):
    prepared = prepare(small_dataset, "1")
    assert prepared.X_train.shape == (26, 6)
    assert prepared.X_val.shape == (4, 6)
    assert prepared.X_test.shape == (10, 6)
    assert prepared.Y_train.shape == (26, 30)
    for name in ("train", "val", "test"):
        X, Y = prepared.split(name)
        assert X.dtype == np.float32
        assert Y.dtype == np.float32
        assert len(prepared.stimulus_id[name]) == len(X)
        assert len(prepared.category[name]) == len(X)
    np.testing.assert_array_equal(prepared.voxel_index, np.arange(30))
    assert prepared.noise_ceiling.shape == (30,)
    assert prepared.ncsnr.shape == (30,)
    np.testing.assert_array_equal(prepared.n_repeats_test, np.full(10, 3))
    assert prepared.dataset == "tiny"
    assert prepared.subject == "01"
    assert prepared.layer == "1"
    assert prepared.simulated is True


def test_session_zscoring_removes_offsets():
    dataset = build_small_dataset(repeats_test=1)
    shifted = build_small_dataset(repeats_test=1)
    second = shifted.trials["session"].to_numpy() == 2
    gain = np.linspace(1, 5, shifted.n_voxels).astype("float32")
    shifted.betas[second] = shifted.betas[second] * gain + 7.0
    reference = prepare(dataset, "1")
    prepared = prepare(shifted, "1")
    np.testing.assert_allclose(prepared.Y_train, reference.Y_train, atol=1e-5)
    np.testing.assert_allclose(prepared.Y_test, reference.Y_test, atol=1e-5)


@pytest.mark.parametrize(
    "mode, columns", [("session", ["session"]), ("run", ["session", "run"])]
)
def test_response_zscoring_by_group(mode, columns):
    dataset = build_small_dataset(repeats_test=1)
    prepared = prepare(dataset, "1", zscore_responses=mode)
    expected = _zscore_by(dataset.betas, dataset.trials, columns)
    rows = _rows_of(prepared, dataset)
    for trial, stimulus in enumerate(dataset.trials["stimulus_id"]):
        np.testing.assert_allclose(
            _response_of(prepared, stimulus, rows),
            expected[trial],
            rtol=1e-5,
            atol=1e-5,
        )


def test_no_response_zscoring_keeps_betas():
    dataset = build_small_dataset(repeats_test=1)
    prepared = prepare(dataset, "1", zscore_responses="none")
    rows = _rows_of(prepared, dataset)
    for trial, stimulus in enumerate(dataset.trials["stimulus_id"]):
        np.testing.assert_allclose(
            _response_of(prepared, stimulus, rows), dataset.betas[trial]
        )


def test_repeats_are_averaged(small_dataset):
    prepared = prepare(small_dataset, "1")
    zscored = _zscore_by(
        small_dataset.betas, small_dataset.trials, ["session"]
    )
    trials = small_dataset.trials["stimulus_id"].to_numpy()
    rows = _rows_of(prepared, small_dataset)
    for stimulus in ("s000", "s004", "s009"):
        shown = trials == stimulus
        assert shown.sum() == 3
        np.testing.assert_allclose(
            _response_of(prepared, stimulus, rows),
            zscored[shown].mean(axis=0),
            rtol=1e-5,
            atol=1e-6,
        )


def test_features_zscored_within_runs():
    dataset = build_small_dataset(repeats_test=1)
    prepared = prepare(dataset, "1")
    rows = _rows_of(prepared, dataset)
    features = np.stack(
        [
            prepared.split(rows[s][0])[0][rows[s][1]]
            for s in dataset.trials["stimulus_id"]
        ]
    )
    for _, group in dataset.trials.groupby(["session", "run"]):
        run = features[group.index.to_numpy()]
        np.testing.assert_allclose(run.mean(axis=0), 0, atol=1e-5)
        np.testing.assert_allclose(run.std(axis=0), 1, atol=1e-5)


def test_features_without_zscoring(small_dataset):
    prepared = prepare(small_dataset, "1", zscore_features="none")
    ids = small_dataset.stimuli["stimulus_id"].tolist()
    index = [ids.index(s) for s in prepared.stimulus_id["train"]]
    np.testing.assert_array_equal(
        prepared.X_train, small_dataset.embeddings["1"][index]
    )


def test_splits_disjoint_and_complete(small_dataset):
    prepared = prepare(small_dataset, "1")
    sets = {
        name: set(prepared.stimulus_id[name]) for name in prepared.stimulus_id
    }
    assert not sets["train"] & sets["val"]
    assert not sets["train"] & sets["test"]
    assert not sets["val"] & sets["test"]
    union = sets["train"] | sets["val"] | sets["test"]
    assert union == set(small_dataset.stimuli["stimulus_id"])
    labelled = small_dataset.stimuli["split"] == "test"
    assert sets["test"] == set(small_dataset.stimuli["stimulus_id"][labelled])


def test_partial_split_column():
    dataset = build_small_dataset(n_stimuli=100, n_test=12)
    test_ids = set(dataset.stimuli["stimulus_id"][:12])
    dataset.stimuli.loc[12:, "split"] = ""
    dataset.stimuli.loc[50:, "split"] = np.nan
    prepared = prepare(dataset, "1", val_fraction=0.2, seed=1)
    assert set(prepared.stimulus_id["test"]) == test_ids
    assert len(prepared.stimulus_id["val"]) == 20
    assert len(prepared.stimulus_id["train"]) == 68
    again = prepare(dataset, "1", val_fraction=0.2, seed=1)
    other = prepare(dataset, "1", val_fraction=0.2, seed=2)
    assert list(again.stimulus_id["val"]) == list(prepared.stimulus_id["val"])
    assert set(other.stimulus_id["val"]) != set(prepared.stimulus_id["val"])


def test_split_without_column():
    dataset = build_small_dataset(n_stimuli=100)
    dataset.stimuli = dataset.stimuli.drop(columns="split")
    prepared = prepare(dataset, "1", test_fraction=0.2, val_fraction=0.1)
    assert len(prepared.stimulus_id["test"]) == 20
    assert len(prepared.stimulus_id["val"]) == 10
    assert len(prepared.stimulus_id["train"]) == 70


def test_split_column_with_all_sets():
    dataset = build_small_dataset(n_stimuli=60, n_test=10)
    dataset.stimuli.loc[10:14, "split"] = "val"
    prepared = prepare(dataset, "1")
    expected = set(dataset.stimuli["stimulus_id"][10:15])
    assert set(prepared.stimulus_id["val"]) == expected


def test_invalid_split_value(small_dataset):
    small_dataset.stimuli.loc[3, "split"] = "training"
    with pytest.raises(DataError, match="'training'"):
        prepare(small_dataset, "1")


def test_too_few_test_stimuli():
    dataset = build_small_dataset(n_test=5)
    with pytest.raises(DataError, match="5 test stimuli"):
        prepare(dataset, "1")


def test_too_few_test_from_fraction():
    dataset = build_small_dataset()
    dataset.stimuli = dataset.stimuli.drop(columns="split")
    with pytest.raises(DataError, match="Raise test_fraction"):
        prepare(dataset, "1", test_fraction=0.05)


def test_too_few_train_stimuli():
    dataset = build_small_dataset(n_stimuli=24, n_test=10)
    with pytest.raises(DataError, match="training stimuli"):
        prepare(dataset, "1", val_fraction=0.4)


def test_drops_nan_and_constant_voxels(caplog):
    dataset = build_small_dataset()
    dataset.betas[2, 3] = np.nan
    dataset.betas[:, 7] = 1.5
    first = dataset.trials["session"].to_numpy() == 1
    dataset.betas[first, 11] = -2.0
    caplog.set_level("INFO", logger="jne.prepare")
    prepared = prepare(dataset, "1")
    assert 3 not in prepared.voxel_index
    assert 7 not in prepared.voxel_index
    assert 11 not in prepared.voxel_index
    assert len(prepared.voxel_index) == 27
    assert prepared.Y_train.shape[1] == 27
    assert np.isfinite(prepared.Y_train).all()
    assert "Dropped 3 of 30 voxels: 1 with NaN" in caplog.text


def test_all_voxels_dropped():
    dataset = build_small_dataset()
    dataset.betas[:] = 0.0
    with pytest.raises(DataError, match="All 30 voxels"):
        prepare(dataset, "1")


def test_rois_restrict_voxels(small_dataset):
    prepared = prepare(small_dataset, "1", rois=["V1", "FFC"])
    labels = small_dataset.atlas.labels[prepared.voxel_index]
    assert set(labels) == {1, 3}
    assert len(prepared.voxel_index) == 20
    single = prepare(small_dataset, "1", rois="V2")
    assert set(small_dataset.atlas.labels[single.voxel_index]) == {2}


def test_roi_absent(small_dataset):
    with pytest.raises(ConfigError, match="'V9'.*Known ROIs: FFC, V1, V2"):
        prepare(small_dataset, "1", rois=["V1", "V9"])


def test_roi_empty(small_dataset):
    small_dataset.atlas.names[4] = "V4"
    with pytest.raises(ConfigError, match="'V4'.* has no voxels"):
        prepare(small_dataset, "1", rois=["V4"])


def test_unknown_layer(small_dataset):
    with pytest.raises(ConfigError, match="Available layers: '1', '2'"):
        prepare(small_dataset, "3")


@pytest.mark.parametrize(
    "options, key",
    [
        ({"zscore_responses": "trial"}, "zscore_responses"),
        ({"zscore_features": "session"}, "zscore_features"),
        ({"test_fraction": 1.2}, "test_fraction"),
        ({"test_fraction": 0.5, "val_fraction": 0.5}, "val_fraction"),
    ],
)
def test_invalid_options(small_dataset, options, key):
    with pytest.raises(ConfigError, match=key):
        prepare(small_dataset, "1", **options)


def test_single_trial_group():
    dataset = build_small_dataset()
    dataset.trials.loc[0, "session"] = 3
    with pytest.raises(DataError, match="group of one trial"):
        prepare(dataset, "1")


def test_noise_ceiling_from_test_repeats(small_dataset):
    prepared = prepare(small_dataset, "1")
    zscored = _zscore_by(
        small_dataset.betas, small_dataset.trials, ["session"]
    )
    stimulus = small_dataset.trials["stimulus_id"].to_numpy()
    test = np.isin(stimulus, prepared.stimulus_id["test"])
    ncsnr = scoring.ncsnr_from_repeats(zscored[test], stimulus[test])
    np.testing.assert_allclose(prepared.ncsnr, ncsnr, rtol=1e-6)
    np.testing.assert_allclose(
        prepared.noise_ceiling, 100 * 3 * ncsnr**2 / (1 + 3 * ncsnr**2)
    )
    # Signal variance is high in the fixture, so the ceiling is too.
    assert np.all(prepared.noise_ceiling > 50)


def test_noise_ceiling_nan_without_repeats(caplog):
    dataset = build_small_dataset(repeats_test=1)
    caplog.set_level("INFO", logger="jne.prepare")
    prepared = prepare(dataset, "1")
    assert np.isnan(prepared.noise_ceiling).all()
    assert "noise ceiling is NaN" in caplog.text


def test_noise_ceiling_falls_back_to_dataset_ncsnr():
    dataset = build_small_dataset(repeats_test=1)
    dataset.extra["ncsnr"] = np.linspace(0.1, 1.0, dataset.n_voxels)
    dataset.betas[:, 0] = 0.0
    prepared = prepare(dataset, "1")
    np.testing.assert_allclose(prepared.ncsnr, dataset.extra["ncsnr"][1:])
    np.testing.assert_allclose(
        prepared.noise_ceiling,
        scoring.noise_ceiling(dataset.extra["ncsnr"][1:], 1),
    )


def test_save_load_roundtrip(tmp_path, small_dataset):
    prepared = prepare(small_dataset, "2", seed=4)
    path = tmp_path / "prepared.h5"
    prepared.save(path)
    loaded = Prepared.load(path)
    assert [p.name for p in tmp_path.iterdir()] == ["prepared.h5"]
    for name in ("train", "val", "test"):
        for a, b in zip(loaded.split(name), prepared.split(name)):
            np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(
            loaded.stimulus_id[name], prepared.stimulus_id[name]
        )
        np.testing.assert_array_equal(
            loaded.category[name], prepared.category[name]
        )
    np.testing.assert_array_equal(loaded.voxel_index, prepared.voxel_index)
    np.testing.assert_array_equal(loaded.ncsnr, prepared.ncsnr)
    np.testing.assert_array_equal(loaded.noise_ceiling, prepared.noise_ceiling)
    np.testing.assert_array_equal(
        loaded.n_repeats_test, prepared.n_repeats_test
    )
    assert loaded.layer == "2"
    assert loaded.settings["seed"] == 4
    assert loaded.simulated is True


def test_train_val_stacks_rows(small_dataset):
    prepared = prepare(small_dataset, "1")
    X, Y = prepared.train_val()
    np.testing.assert_array_equal(X[:26], prepared.X_train)
    np.testing.assert_array_equal(Y[26:], prepared.Y_val)


def test_empty_validation_roundtrip(tmp_path):
    dataset = build_small_dataset()
    dataset.stimuli = dataset.stimuli.drop(columns="category")
    prepared = prepare(dataset, "1", val_fraction=0)
    assert prepared.X_val.shape == (0, 6)
    assert prepared.Y_val.shape == (0, 30)
    prepared.save(tmp_path / "prepared.h5")
    loaded = Prepared.load(tmp_path / "prepared.h5")
    assert loaded.Y_val.shape == (0, 30)
    assert len(loaded.stimulus_id["val"]) == 0
    assert set(loaded.category["test"]) == {""}


def test_principal_components_fitted_on_training_stimuli(small_dataset):
    full = prepare(small_dataset, "1")
    reduced = prepare(small_dataset, "1", n_components=3)
    assert reduced.X_train.shape == (26, 3)
    assert reduced.X_test.shape == (10, 3)
    # Unit variance and uncorrelated over the training stimuli only.
    covariance = np.cov(reduced.X_train, rowvar=False, bias=True)
    np.testing.assert_allclose(covariance, np.eye(3), atol=1e-5)
    assert abs(np.cov(reduced.X_test, rowvar=False, bias=True)[0, 0] - 1) > 1e-3
    # Every split goes through the same affine map of the full features.
    for name in ("train", "val", "test"):
        expected = (
            full.split(name)[0] - reduced.feature_mean
        ) @ reduced.feature_projection
        np.testing.assert_allclose(reduced.split(name)[0], expected, atol=1e-5)
    # The first axis is the direction of largest training variance.
    centred = full.X_train - full.X_train.mean(axis=0)
    top = np.linalg.svd(centred, full_matrices=False)[2][0]
    axis = reduced.feature_projection[:, 0]
    cosine = abs(axis @ top) / np.linalg.norm(axis)
    assert cosine == pytest.approx(1, abs=1e-6)
    np.testing.assert_array_equal(reduced.Y_train, full.Y_train)


def test_principal_components_roundtrip(tmp_path, small_dataset):
    prepared = prepare(small_dataset, "1", n_components=2)
    prepared.save(tmp_path / "prepared.h5")
    loaded = Prepared.load(tmp_path / "prepared.h5")
    np.testing.assert_array_equal(loaded.X_val, prepared.X_val)
    np.testing.assert_array_equal(
        loaded.feature_projection, prepared.feature_projection
    )
    assert loaded.settings["n_components"] == 2
    plain = prepare(small_dataset, "1")
    plain.save(tmp_path / "plain.h5")
    assert Prepared.load(tmp_path / "plain.h5").feature_projection is None


@pytest.mark.parametrize("n_components", [0, 7, 27])
def test_too_many_principal_components(small_dataset, n_components):
    with pytest.raises(ConfigError, match="n_components is") as error:
        prepare(small_dataset, "1", n_components=n_components)
    assert "from 1 to 6" in str(error.value)
