import json

import numpy as np
import pandas as pd
import pytest
import torch

from jne.errors import ConfigError, DataError
from jne.models import (
    data_checksum,
    fit_mlp,
    load_mlp,
    load_predictions,
    save_mlp,
    save_predictions,
)


@pytest.fixture(scope="module")
def small_fit():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((90, 5)).astype(np.float32)
    Y = np.tanh(X[:, :3] * 2).astype(np.float32)
    fit = fit_mlp(
        X[:60],
        Y[:60],
        X[60:],
        Y[60:],
        hidden_size=16,
        activation="gelu",
        max_epochs=4,
        seed=5,
    )
    torch.set_num_threads(threads)
    return fit, X, Y


def test_save_mlp_writes_three_files(tmp_path, small_fit):
    fit, _, _ = small_fit
    paths = save_mlp(fit, tmp_path / "model", metadata={"layer": "7"})
    names = sorted(p.name for p in (tmp_path / "model").iterdir())
    assert names == ["history.tsv", "model.json", "weights.pt"]
    assert paths["weights"] == tmp_path / "model" / "weights.pt"


def test_model_json_contents(tmp_path, small_fit):
    fit, X, Y = small_fit
    paths = save_mlp(fit, tmp_path, metadata={"subject": "01"})
    document = json.loads(paths["metadata"].read_text())
    assert document["kind"] == "mlp"
    assert document["architecture"] == fit.model.config
    assert document["architecture"]["activation"] == "gelu"
    assert document["seed"] == 5
    assert document["training"]["optimizer"] == "AdamW"
    assert document["training"]["max_epochs"] == 4
    assert document["best_epoch"] == fit.best_epoch
    assert document["n_epochs"] == 4
    assert document["device"] == "cpu"
    assert document["versions"]["torch"] == torch.__version__
    assert document["metadata"] == {"subject": "01"}
    expected = data_checksum(X[:60], Y[:60], X[60:], Y[60:])
    assert document["data_checksum"] == expected


def test_history_tsv_roundtrip(tmp_path, small_fit):
    fit, _, _ = small_fit
    paths = save_mlp(fit, tmp_path)
    history = pd.read_csv(paths["history"], sep="\t")
    pd.testing.assert_frame_equal(history, fit.history)


def test_load_mlp_reproduces_predictions(tmp_path, small_fit):
    fit, X, _ = small_fit
    paths = save_mlp(fit, tmp_path)
    model = load_mlp(paths["weights"], paths["metadata"])
    assert not model.training
    with torch.no_grad():
        loaded = model(torch.as_tensor(X)).numpy()
    np.testing.assert_array_equal(loaded, fit.predict(X))


def test_save_mlp_explicit_paths(tmp_path, small_fit):
    fit, _, _ = small_fit
    paths = save_mlp(
        fit,
        weights_path=tmp_path / "a.pt",
        metadata_path=tmp_path / "b.json",
        history_path=tmp_path / "c.tsv",
    )
    assert paths["metadata"] == tmp_path / "b.json"
    assert (tmp_path / "c.tsv").exists()
    with pytest.raises(ConfigError, match="out_dir"):
        save_mlp(fit, weights_path=tmp_path / "a.pt")


def test_load_mlp_mismatched_files(tmp_path, small_fit):
    fit, _, _ = small_fit
    paths = save_mlp(fit, tmp_path)
    document = json.loads(paths["metadata"].read_text())
    document["architecture"]["hidden_size"] = 8
    paths["metadata"].write_text(json.dumps(document))
    with pytest.raises(DataError, match="do not fit the architecture"):
        load_mlp(paths["weights"], paths["metadata"])


def test_load_mlp_rejects_other_format(tmp_path, small_fit):
    fit, _, _ = small_fit
    paths = save_mlp(fit, tmp_path)
    document = json.loads(paths["metadata"].read_text())
    document["format_version"] = 99
    paths["metadata"].write_text(json.dumps(document))
    with pytest.raises(DataError, match="model format 99"):
        load_mlp(paths["weights"], paths["metadata"])


def test_checksum_depends_on_data():
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    b = a.copy()
    b[1, 2] += 1
    assert data_checksum(a) == data_checksum(a.astype(np.float64))
    assert data_checksum(a) != data_checksum(b)
    assert data_checksum(a) != data_checksum(a.reshape(4, 3))
    assert data_checksum(a, a) != data_checksum(a)


def test_predictions_roundtrip(tmp_path):
    y_pred = np.random.default_rng(0).standard_normal((4, 3))
    ids = np.array(["s1", "s2", "é3", "s4"])
    path = tmp_path / "predictions.h5"
    save_predictions(path, y_pred, ids, voxel_index=[5, 7, 9], model="relu")
    loaded = load_predictions(path)
    assert loaded["y_pred"].dtype == np.float32
    np.testing.assert_allclose(loaded["y_pred"], y_pred, rtol=1e-6)
    np.testing.assert_array_equal(loaded["stimulus_id"], ids)
    np.testing.assert_array_equal(loaded["voxel_index"], [5, 7, 9])
    assert loaded["attrs"] == {"model": "relu"}
    assert [p.name for p in tmp_path.iterdir()] == ["predictions.h5"]


def test_predictions_need_one_id_per_row(tmp_path):
    with pytest.raises(DataError, match="one id per row"):
        save_predictions(tmp_path / "p.h5", np.zeros((3, 2)), ["a", "b"])


def test_load_mlp_swapped_files_named(tmp_path, small_fit):
    fit, _, _ = small_fit
    save_mlp(fit, tmp_path)
    weights = tmp_path / "weights.pt"
    metadata = tmp_path / "model.json"
    with pytest.raises(DataError, match="torch weights") as error:
        load_mlp(metadata, metadata)
    assert str(metadata) in str(error.value)
    with pytest.raises(DataError, match="model.json") as error:
        load_mlp(weights, tmp_path / "history.tsv")
    assert "history.tsv" in str(error.value)


def test_dataset_file_is_not_prepared(tmp_path, small_dataset):
    from jne.prepared import Prepared

    path = tmp_path / "dataset.h5"
    small_dataset.save(path)
    with pytest.raises(DataError, match="not a prepared-data file"):
        Prepared.load(path)
    with pytest.raises(DataError, match="could not be opened"):
        Prepared.load(tmp_path / "absent.h5")
