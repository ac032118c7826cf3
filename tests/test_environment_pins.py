"""environment.yml and requirements.txt must pin the same versions."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def _requirements():
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, version = line.split("==")
            pins[name.lower()] = version
    return pins


def _conda_pip_pins(path=ROOT / "environment.yml"):
    with open(path) as f:
        environment = yaml.safe_load(f)
    pip_section = next(
        d["pip"] for d in environment["dependencies"] if isinstance(d, dict)
    )
    pins = {}
    for entry in pip_section:
        if "==" in entry:
            name, version = entry.split("==")
            pins[name.lower()] = version
    return pins


def test_conda_pins_match_requirements():
    conda = _conda_pip_pins()
    torch_version = conda.pop("torch")
    assert conda == _requirements()
    assert torch_version == "2.13.0"


def test_makefile_pins_torch():
    makefile = (ROOT / "Makefile").read_text()
    assert "torch==2.13.0" in makefile


def test_rule_environment_pins_match():
    rules = _conda_pip_pins(ROOT / "workflow" / "envs" / "jne.yaml")
    assert rules == _conda_pip_pins()
