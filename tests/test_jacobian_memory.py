"""The memory budget: chunk planning and measured peak memory."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from jne.errors import ConfigError
from jne.jacobian.chunking import GB, budget_bytes, plan_fast, plan_generic

ROOT = Path(__file__).resolve().parents[1]
BUDGETS_GB = [8.0, 2.0, 0.5, 0.1, 0.03]
# Whole-brain shape: 1000 stimuli, 200,000 voxels, 768 features.
WHOLE_BRAIN = dict(n_stimuli=1000, n_voxels=200_000, n_features=768)


def fast_plan(budget_gb, itemsize=4):
    return plan_fast(
        *WHOLE_BRAIN.values(),
        hidden_size=1024,
        n_blocks=2,
        itemsize=itemsize,
        budget=budget_bytes(budget_gb),
    )


def fast_plans(itemsize=4):
    return [fast_plan(gb, itemsize) for gb in BUDGETS_GB]


def test_fast_plan_shrinks_with_budget():
    plans = fast_plans()

    for larger, smaller in zip(plans, plans[1:]):
        assert smaller.stimulus_chunk <= larger.stimulus_chunk
        assert smaller.voxel_chunk <= larger.voxel_chunk
        assert smaller.cached_chunks <= larger.cached_chunks
        assert smaller.estimated_bytes < larger.estimated_bytes
    for plan, gb in zip(plans, BUDGETS_GB):
        assert plan.estimated_bytes <= gb * GB


def test_fast_plan_caches_when_budget_allows():
    # 1000 stimuli x 1024 x 768 float32 products take 3.1 GB.
    large, default = fast_plans()[:2]

    n_chunks = -(-1000 // large.stimulus_chunk)
    assert large.cached_chunks == n_chunks
    assert 0 < default.cached_chunks < -(-1000 // default.stimulus_chunk)


def test_fast_plan_float64_uses_smaller_blocks():
    # At 0.1 GB both fit and memory, not the size targets, sets blocks.
    single = fast_plan(0.1, itemsize=4)
    double = fast_plan(0.1, itemsize=8)

    assert double.stimulus_chunk * double.voxel_chunk < (
        single.stimulus_chunk * single.voxel_chunk
    )


def test_fast_plan_keeps_fixed_sizes():
    plan = plan_fast(
        100, 50, 8, 16, 2, 4, budget_bytes(1), stimulus_chunk=7, voxel_chunk=3
    )

    assert plan.stimulus_chunk == 7
    assert plan.voxel_chunk == 3


@pytest.mark.parametrize("direction", ["forward", "reverse"])
def test_generic_plan_shrinks_with_budget(direction):
    plans = [
        plan_generic(
            direction,
            1000,
            20_000,
            20_000,
            768,
            activation_size=4096,
            itemsize=4,
            budget=budget_bytes(gb),
        )
        for gb in BUDGETS_GB
    ]

    for larger, smaller in zip(plans, plans[1:]):
        assert smaller.voxel_block <= larger.voxel_block
        assert smaller.stimulus_chunk * smaller.inner_chunk <= (
            larger.stimulus_chunk * larger.inner_chunk
        )
    for plan, gb in zip(plans, BUDGETS_GB):
        assert plan.estimated_bytes <= gb * GB


def test_tiny_budget_raises_config_error():
    with pytest.raises(ConfigError, match="max_memory_gb"):
        plan_fast(1000, 200_000, 768, 1024, 2, 4, budget_bytes(0.001))
    with pytest.raises(ConfigError, match="max_memory_gb"):
        plan_generic("forward", 1000, 200_000, 200_000, 768, 4096, 4, 10**5)


@pytest.mark.parametrize("value", [0, -1, "two", float("nan")])
def test_invalid_budget_raises(value):
    with pytest.raises(ConfigError, match="max_memory_gb"):
        budget_bytes(value)


# Runs one compute_jne in a fresh process and reports its memory. The
# kernel's peak-RSS counter (VmHWM) is reset after the model, the inputs
# and a warm-up call exist, so the peak covers compute_jne alone.
MEASURE = """
import json, sys, torch
from jne.jacobian import compute_jne
from jne.models import ResidualMLP

def status(key):
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(key):
                return int(line.split()[1]) * 1024

n_voxels, budget, folder = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
torch.manual_seed(0)
model = ResidualMLP(32, n_voxels, 64, 2, "relu")
inputs = torch.randn(64, 32)
warm = ResidualMLP(32, 10, 64, 2, "relu")
compute_jne(warm, inputs[:10], jne_ss_path=folder + "/warm.h5").close()
with open("/proc/self/clear_refs", "w") as handle:
    handle.write("5")
before = status("VmRSS")
result = compute_jne(
    model, inputs, max_memory_gb=budget, jne_ss_path=folder + "/jne.h5"
)
print(json.dumps({"growth": status("VmHWM") - before,
                  "planned": result.plan["estimated_bytes"]}))
"""


def measure_growth(n_voxels, budget_gb, folder):
    completed = subprocess.run(
        [sys.executable, "-c", MEASURE, str(n_voxels), str(budget_gb), folder],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout.strip().splitlines()[-1])


@pytest.mark.slow
@pytest.mark.skipif(
    not Path("/proc/self/clear_refs").exists(), reason="needs Linux procfs"
)
def test_peak_memory_within_budget(tmp_path):
    budget_gb = 0.02
    small = measure_growth(50_000, budget_gb, str(tmp_path))
    large = measure_growth(200_000, budget_gb, str(tmp_path))

    # Slack for the per-voxel vectors (48 bytes per voxel) and for buffers
    # that HDF5 keeps in its free lists after chunk writes (it levels off
    # at about 11 MB after 50 chunks with h5py 3.16 and HDF5 2.0.0).
    slack = 48 * 200_000 + 24 * 2**20
    assert small["planned"] <= budget_gb * GB
    assert large["planned"] <= budget_gb * GB
    assert small["growth"] <= budget_gb * GB + slack
    assert large["growth"] <= budget_gb * GB + slack
    # Four times the voxels means 77 MB more deviations and JNE-SS on
    # disk, but the peak may only grow by the per-voxel vectors.
    assert large["growth"] - small["growth"] <= 48 * 150_000 + 4 * 2**20
