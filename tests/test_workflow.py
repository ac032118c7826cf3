"""The real snakemake CLI on the tiny config: outputs, reruns and resume.

One module-scoped run builds the whole DAG in a temporary folder; the other
tests reuse it. The run takes a few minutes on two cores, so these tests
are marked slow (they still run in CI).
"""

import os
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pandas as pd
import pytest
import yaml

from tests.workflow_helpers import (
    ROOT,
    TINY_CONFIG,
    check_output,
    declared_outputs,
    snakemake,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("workflow")
    snakemake(folder, timeout=1500)
    return folder


def planned_jobs(workdir, *args):
    """Return {rule: count} of the jobs a dry run would execute."""
    result = snakemake(workdir, "--dry-run", *args)
    if "Nothing to be done" in result.stdout + result.stderr:
        return {}
    text = result.stdout
    table = text[text.index("Job stats:") :]
    counts = {}
    for line in table.splitlines()[3:]:
        parts = line.split()
        if len(parts) != 2 or not parts[1].isdigit():
            break
        counts[parts[0]] = int(parts[1])
    counts.pop("total", None)
    return counts


def test_every_declared_output_is_valid(workdir):
    outputs = declared_outputs(workdir)
    assert len(outputs) > 30
    for path, rule in outputs.items():
        if path.is_dir():
            files = [p for p in path.iterdir() if not p.name.startswith(".")]
            assert files, f"{path} (rule {rule}) is empty"
            for file in files:
                check_output(file)
        else:
            check_output(path)


def test_outputs_have_consistent_shapes(workdir):
    subject = workdir / "results" / "demo" / "sub-01"
    with h5py.File(subject / "data" / "dataset.h5") as f:
        n_trials, n_dataset_voxels = f["betas"].shape
        n_stimuli = len(f["stimuli/stimulus_id"])
    assert n_trials > n_stimuli

    layer = subject / "layer-6"
    with h5py.File(layer / "prepared.h5") as f:
        n_test, n_features = f["test/X"].shape
        n_voxels = f["test/Y"].shape[1]
        # tiny.yaml reduces MiniLM's 384 features to 6 components.
        assert f["features/projection"].shape == (384, 6)
    assert n_features == 6
    assert 0 < n_voxels <= n_dataset_voxels

    scores = pd.read_csv(layer / "model-relu" / "scores.tsv", sep="\t")
    assert len(scores) == n_voxels
    assert np.isfinite(scores["r2"]).all()

    with h5py.File(layer / "model-relu" / "seed-1" / "jne_ss.h5") as f:
        assert f["jne_ss"].shape == (n_test, n_voxels)
        assert np.isfinite(f["jne_ss"][()]).all()

    summary = pd.read_csv(layer / "model-relu" / "jne_summary.tsv", sep="\t")
    assert len(summary) == n_voxels
    assert (summary["n_seeds"] == 2).all()
    assert (summary["jne"] >= 0).all()
    assert np.isfinite(summary["jne_above_null"]).all()

    with h5py.File(layer / "model-ridge" / "predictions.h5") as f:
        assert f["y_pred"].shape == (n_test, n_voxels)


def test_demo_outputs_say_simulated(workdir):
    roi = pd.read_csv(
        workdir
        / "results/demo/sub-01/layer-6/model-relu/report/roi_summary.tsv",
        sep="\t",
    )
    assert set(roi["responses"]) == {"simulated"}
    comparison = pd.read_csv(
        workdir / "results/demo/group/model_comparison.tsv", sep="\t"
    )
    assert set(comparison["responses"]) == {"simulated"}
    log = (workdir / "results/demo/logs/sub-01/fetch.log").read_text()
    assert "simulated responses" in log


def test_second_run_does_nothing(workdir):
    assert planned_jobs(workdir) == {}


def test_demo_results_say_simulated(workdir):
    folder = workdir / "results/demo/sub-01/layer-6/model-relu"
    for table in (folder / "scores.tsv", folder / "jne_summary.tsv"):
        responses = pd.read_csv(table, sep="\t")["responses"]
        assert (responses == "simulated").all(), table
    logs = sorted((workdir / "results/demo/logs").rglob("*.log"))
    assert logs
    for log in logs:
        assert "SIMULATED" in log.read_text(), log


def test_roi_summary_lists_hierarchy_groups(workdir):
    path = (
        workdir / "results/demo/sub-01/layer-6/model-relu/report"
        / "roi_summary.tsv"
    )
    table = pd.read_csv(path, sep="\t").set_index("roi")
    # The small demo's ROIs, in the default HCP-MMP groups.
    assert table.loc["V1", "group"] == "primary"
    assert table.loc["V4", "group"] == "intermediate"
    assert table.loc["FFC", "group"] == "higher"


def test_deleting_scores_reruns_only_dependents(workdir):
    scores = workdir / "results/demo/sub-01/layer-6/model-relu/scores.tsv"
    scores.unlink()
    jobs = planned_jobs(workdir)
    assert jobs.pop("score") == 1
    assert jobs.pop("jne_summary") == 1
    assert set(jobs) <= {
        "report_model",
        "report_group",
        "report_layers",
        "model_comparison",
        "all",
    }
    snakemake(workdir, timeout=600)
    assert planned_jobs(workdir) == {}


def test_sigint_during_fit_resumes_cleanly(workdir, tmp_path):
    """Ctrl-C in the middle of an MLP fit leaves no output taken as done."""
    with open(TINY_CONFIG) as f:
        config = yaml.safe_load(f)
    config["models"]["mlp"]["slow"] = {
        "activation": "gelu",
        # Mini-batches of one stimulus and a wide network keep the fit busy
        # for minutes, far past the interrupt, on any machine.
        "hidden_size": 1024,
        "batch_size": 1,
        "max_epochs": 100000,
        "patience": 100000,
        "seeds": [0],
    }
    config_path = tmp_path / "slow.yaml"
    config_path.write_text(yaml.safe_dump(config))
    folder = "results/demo/sub-01/layer-6/model-slow/seed-0"
    target = f"{folder}/weights.pt"
    log = workdir / "results/demo/logs/sub-01/layer-6/model-slow/fit_seed-0.log"

    command = [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(ROOT / "Snakefile"),
        "--directory",
        str(workdir),
        "--configfile",
        str(config_path),
        "--cores",
        "2",
        target,
    ]
    env = dict(os.environ, PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1")
    process = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.time() + 120
    while time.time() < deadline:
        if log.exists() and "Training" in log.read_text():
            break
        time.sleep(0.5)
    else:
        process.kill()
        pytest.fail(f"the fit never started; log: {log}")
    time.sleep(2)
    # Ctrl-C in a terminal signals the whole foreground process group.
    os.killpg(process.pid, signal.SIGINT)
    process.wait(timeout=120)

    weights = workdir / target
    assert not weights.exists()
    leftovers = list((workdir / folder).glob(".*tmp*"))
    assert leftovers == []

    jobs = planned_jobs(workdir, target, "--configfile", str(config_path))
    assert jobs.get("fit_mlp") == 1

    config["models"]["mlp"]["slow"]["max_epochs"] = 3
    config_path.write_text(yaml.safe_dump(config))
    snakemake(workdir, target, configfile=config_path, timeout=600)
    state = check_output(weights)
    assert state


def test_lint_passes(workdir):
    result = snakemake(workdir, "--lint")
    assert "Congratulations" in result.stdout + result.stderr


def test_slurm_dry_run_builds_dag(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "--snakefile",
            str(ROOT / "Snakefile"),
            "--directory",
            str(tmp_path),
            "--profile",
            str(ROOT / "workflow" / "profiles" / "slurm"),
            "--dry-run",
        ],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "fit_mlp" in result.stdout
    assert "jacobian" in result.stdout


def test_misspelt_config_key_stops_run(tmp_path):
    with open(TINY_CONFIG) as f:
        config = yaml.safe_load(f)
    config["jacobian"]["max_memory"] = 2
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(config))
    result = snakemake(tmp_path, "--dry-run", configfile=path, check=False)
    assert result.returncode != 0
    message = result.stdout + result.stderr
    assert "jacobian.max_memory" in message
    assert "max_memory_gb" in message
    assert not (tmp_path / "results").exists()


def example_options(folder):
    """Write the jne example dataset to ``folder``; return its options."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    result = subprocess.run(
        [sys.executable, "-m", "jne.cli", "example-data", str(folder),
         "--kind", "volume"],
        capture_output=True, text=True, env=env, check=True,
    )
    return yaml.safe_load(result.stdout)["options"]


def local_config(path, options):
    """Write a config with one local dataset "mine"; return its path."""
    config = {
        "datasets": {
            "mine": {
                "source": "local",
                "subjects": ["01"],
                "layers": ["0"],
                "options": options,
            }
        }
    }
    path.write_text(yaml.safe_dump(config))
    return path


def test_replaced_local_file_reruns_fetch(tmp_path):
    options = example_options(tmp_path / "data")
    path = local_config(tmp_path / "local.yaml", options)
    target = "results/mine/sub-01/data/dataset.h5"
    snakemake(tmp_path, target, configfile=path, timeout=600)
    assert planned_jobs(tmp_path, target, "--configfile", str(path)) == {}

    # The user edits a table. Snakemake compares checksums of small files,
    # so the bytes must change, not only the time stamp.
    time.sleep(1.1)
    labels = tmp_path / "data" / os.path.basename(options["atlas_labels"])
    labels.write_text(labels.read_text() + "\n")
    jobs = planned_jobs(tmp_path, target, "--configfile", str(path))
    assert jobs == {"fetch": 1}


def test_local_data_without_atlas_stops_run(tmp_path):
    options = example_options(tmp_path / "data")
    options.pop("atlas")
    options.pop("atlas_labels")
    path = local_config(tmp_path / "no_atlas.yaml", options)
    result = snakemake(tmp_path, "--dry-run", configfile=path, check=False)
    assert result.returncode != 0
    message = result.stdout + result.stderr
    assert "dataset 'mine' has no atlas" in message
    assert not (tmp_path / "results").exists()
