"""The jne command, run as a real subprocess."""

import os
import subprocess
import sys
from pathlib import Path

import h5py
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parent.parent


def jne(*args, check=True):
    result = subprocess.run(
        [sys.executable, "-m", "jne.cli", *map(str, args)],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    if check:
        assert result.returncode == 0, result.stderr[-3000:]
    return result


def test_check_config_prints_defaults():
    result = jne("check-config", ROOT / "config" / "config.yaml")
    config = yaml.safe_load(result.stdout)
    assert config["jacobian"]["max_memory_gb"] == 2
    # Keys the demo config leaves out come from the schema's defaults.
    assert config["models"]["mlp"]["relu"]["n_blocks"] == 2
    assert config["models"]["mlp"]["relu"]["max_epochs"] == 512


def test_check_config_reports_bad_key(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(
        "datasets:\n  d:\n    source: demo\n    subjects: ['01']\n"
        "    layers: ['1']\ndevise: cpu\n"
    )
    result = jne("check-config", path, check=False)
    assert result.returncode == 2
    assert "Did you mean 'device'?" in result.stderr


def test_example_data_fetch_fit_and_jne(tmp_path):
    from jne.dataset import Dataset
    from jne.models import fit_mlp, save_mlp
    from jne.prepare import prepare

    result = jne("example-data", tmp_path / "data", "--kind", "volume")
    options = yaml.safe_load(result.stdout)["options"]
    command = ["fetch", "--source", "local", "--subject", "01"]
    for key, value in options.items():
        command += ["--option", f"{key}={yaml.safe_dump(value).strip()}"]
    jne(*command, "--out", tmp_path / "dataset.h5")
    dataset = Dataset.load(tmp_path / "dataset.h5")

    prepared = prepare(dataset, dataset.layers[0])
    prepared.save(tmp_path / "prepared.h5")
    fit = fit_mlp(
        prepared.X_train,
        prepared.Y_train,
        prepared.X_val,
        prepared.Y_val,
        hidden_size=16,
        max_epochs=5,
    )
    save_mlp(fit, tmp_path / "model")

    jne(
        "jne",
        "--weights", tmp_path / "model" / "weights.pt",
        "--metadata", tmp_path / "model" / "model.json",
        "--prepared", tmp_path / "prepared.h5",
        "--dataset", tmp_path / "dataset.h5",
        "--out-dir", tmp_path / "jne",
        "--n-bootstrap", 10,
    )
    table = pd.read_csv(tmp_path / "jne" / "jne.tsv", sep="\t")
    assert len(table) == prepared.n_voxels
    assert (table["jne"] > 0).all()
    with h5py.File(tmp_path / "jne" / "jne_ss.h5") as f:
        assert f["jne_ss"].shape == (len(prepared.X_test), prepared.n_voxels)


def test_check_config_checks_source_options(tmp_path):
    path = tmp_path / "bad_option.yaml"
    path.write_text(
        "datasets:\n  d:\n    source: demo\n    subjects: ['01']\n"
        "    layers: ['1']\n    options: {sise: small}\n"
    )
    result = jne("check-config", path, check=False)
    assert result.returncode == 2
    assert "sise" in result.stderr
    assert "dataset 'd'" in result.stderr


def test_negative_seed_rejected(tmp_path):
    result = jne("example-data", tmp_path, "--seed", "-3", check=False)
    assert result.returncode == 2
    assert "invalid seed '-3'" in result.stderr
