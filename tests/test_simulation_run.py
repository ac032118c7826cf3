"""The whole simulation suite in quick mode, and its summary checks."""

import json
import math

import pandas as pd
import pytest

from jne.simulation.checks import Check
from jne.simulation.run import main, run_validation

FIGURES = ["single_unit", "network", "sample_size", "invariance", "blind_spot"]
TABLES = [
    "single_unit",
    "single_unit_curves",
    "network",
    "network_summary",
    "sample_size",
    "invariance_output_gain",
    "invariance_input_scale",
    "invariance_input_distribution",
    "invariance_input_distribution_summary",
    "blind_spot_two_point",
    "blind_spot_units",
]


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("validation")
    summary = run_validation(out_dir, quick=True, seed=0)
    return out_dir, summary


@pytest.mark.slow
def test_quick_run_writes_every_file(quick_run):
    out_dir, _ = quick_run
    for name in FIGURES:
        png = out_dir / "figures" / f"{name}.png"
        svg = out_dir / "figures" / f"{name}.svg"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
        assert "Simulation" in svg.read_text(encoding="utf-8"), name
    for name in TABLES:
        table = pd.read_csv(out_dir / "tables" / f"{name}.tsv", sep="\t")
        assert len(table) > 0, name
    leftovers = [p.name for p in out_dir.rglob("*") if ".tmp" in p.name]
    assert leftovers == []


@pytest.mark.slow
def test_quick_run_summary_all_pass(quick_run):
    out_dir, summary = quick_run
    written = pd.read_csv(out_dir / "summary.tsv", sep="\t")
    assert list(written.columns) == [
        "name",
        "statistic",
        "value",
        "threshold",
        "passed",
    ]
    assert len(written) == len(summary) >= 25
    failed = list(written.loc[~written["passed"], "name"])
    assert failed == []
    assert written["name"].is_unique


@pytest.mark.slow
def test_quick_run_covers_every_experiment(quick_run):
    _, summary = quick_run
    experiments = {name.split(".")[0] for name in summary["name"]}
    assert experiments == {
        "single_unit",
        "network",
        "sample_size",
        "invariance",
        "blind_spot",
    }
    for activation in ["relu", "leaky_relu", "gelu", "silu"]:
        assert f"network.{activation}.ordered" in set(summary["name"])


@pytest.mark.slow
def test_quick_run_records_settings(quick_run):
    out_dir, _ = quick_run
    record = json.loads((out_dir / "run.json").read_text())
    assert record["mode"] == "quick"
    assert record["failed_checks"] == []
    assert set(record["seconds"]) == set(FIGURES)


def test_check_comparisons():
    assert Check("a", "x", 0.5, 1.0, "<=").passed
    assert not Check("a", "x", 1.5, 1.0, "<=").passed
    assert Check("a", "x", 0.995, 0.99, ">=").passed
    assert not Check("a", "x", math.nan, 0.99, ">=").passed
    assert Check("a", "x", 0.5, 1.0, "<=").row()["threshold"] == "<= 1"


def test_main_rejects_unknown_option(capsys):
    with pytest.raises(SystemExit) as error:
        main(["out", "--fast"])
    assert error.value.code == 2
    assert "unrecognized arguments: --fast" in capsys.readouterr().err
