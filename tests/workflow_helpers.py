"""Run the real snakemake CLI on a tiny config and check what it wrote."""

import json
import os
import subprocess
import sys
from pathlib import Path

import h5py
import nibabel as nib
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
TINY_CONFIG = ROOT / "tests" / "configs" / "tiny.yaml"
SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def snakemake(workdir, *args, configfile=TINY_CONFIG, check=True, **kwargs):
    """Run snakemake on this repository's Snakefile inside ``workdir``."""
    command = [
        *SNAKEMAKE,
        "--snakefile",
        str(ROOT / "Snakefile"),
        "--directory",
        str(workdir),
        "--configfile",
        str(configfile),
        "--cores",
        "2",
        *args,
    ]
    env = dict(os.environ, PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1")
    result = subprocess.run(
        command, capture_output=True, text=True, env=env, **kwargs
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"snakemake {' '.join(args)} failed with exit code "
            f"{result.returncode}:\n{result.stdout[-3000:]}\n"
            f"{result.stderr[-6000:]}"
        )
    return result


def declared_outputs(workdir, target=()):
    """Return the output files of every job in the DAG, with their rule.

    ``snakemake --summary`` lists one row per output file: path, date,
    rule, version, log files, status and plan.
    """
    result = snakemake(workdir, "--summary", *target)
    rows = [line.split("\t") for line in result.stdout.splitlines()]
    header = rows[0]
    assert header[:3] == ["output_file", "date", "rule"], header
    return {
        Path(workdir) / row[0]: row[2]
        for row in rows[1:]
        if len(row) >= 3 and row[0]
    }


def _finite_table(path):
    table = pd.read_csv(path, sep="\t", comment="#")
    assert len(table) > 0, f"{path} has no rows"
    numeric = table.select_dtypes("number")
    assert numeric.shape[1] > 0, f"{path} has no numeric column"
    # NaN is allowed only in columns that are NaN by design, and never in
    # a whole table.
    assert np.isfinite(numeric.to_numpy(dtype=float)).any(), path
    assert not np.isinf(numeric.to_numpy(dtype=float)).any(), path
    return table


def _finite_h5(path):
    shapes = {}

    def visit(name, item):
        if isinstance(item, h5py.Dataset) and item.dtype.kind == "f":
            values = item[()]
            assert not np.isinf(values).any(), f"{path}:{name} has Inf"
            assert np.isfinite(values).any() or values.size == 0, (
                f"{path}:{name} has no finite value"
            )
            shapes[name] = values.shape

    with h5py.File(path, "r") as f:
        f.visititems(visit)
    assert shapes, f"{path} holds no floating-point dataset"
    return shapes


def check_output(path):
    """Open one output by its type and check it holds finite values.

    Returns what was read, so that callers can check shapes.
    """
    path = Path(path)
    assert path.exists(), f"{path} was not written"
    assert path.stat().st_size > 0, f"{path} is empty"
    name = path.name
    if name.endswith(".tsv"):
        return _finite_table(path)
    if name.endswith(".h5"):
        return _finite_h5(path)
    if name.endswith((".nii.gz", ".nii", ".gii")):
        image = nib.load(path)
        data = (
            np.asarray(image.get_fdata())
            if name.endswith((".nii", ".nii.gz"))
            else np.concatenate([a.data.ravel() for a in image.darrays])
        )
        assert np.isfinite(data).any(), f"{path} has no finite value"
        return data
    if name.endswith(".json"):
        return json.loads(path.read_text())
    if name.endswith(".png"):
        from matplotlib.image import imread

        pixels = imread(path)
        assert pixels.std() > 0.01, f"{path} looks blank"
        return pixels
    if name.endswith(".pt"):
        import torch

        state = torch.load(path, map_location="cpu", weights_only=True)
        for key, tensor in state.items():
            assert torch.isfinite(tensor).all(), f"{path}:{key}"
        return state
    return path.read_bytes()
