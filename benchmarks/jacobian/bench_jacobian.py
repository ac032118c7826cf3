"""Time and peak memory of JNE computations on a residual ReLU MLP.

Variants, each run in a fresh Python process so that its peak resident
memory (``ru_maxrss``) is its own:

``autograd``
    The per-voxel algorithm with the full Jacobian tensor: one autograd
    backward pass per voxel into a (n_voxels, n_stimuli, n_features)
    float32 tensor, then JNE from the tensor. Backward passes are timed
    on ``--subset`` voxels and extrapolated to all voxels. The tensor is
    allocated and written in full, and the JNE reduction over it is
    timed in full, unless the tensor exceeds ``--max-tensor-gb``.
``generic``
    ``compute_jne(mode="forward")``, the torch.func path. With
    ``--stimuli-fraction`` < 1 it runs on that fraction of the stimuli
    and the time is scaled up (its cost is linear in n_stimuli).
``fast``
    ``compute_jne`` with the closed-form path for ``ResidualMLP``.
``matmul``
    Only the matrix products that the closed-form path performs for the
    same plan, on random buffers: the bound the fast path can approach.
``approximate``
    ``compute_jne(mode="approximate")`` with its error report.

With ``--time-limit``, the suite stops a run after that many seconds,
records the peak resident memory it reached (polled from
``/proc/PID/status``) and extrapolates the time from the engine's
progress lines. This is how the 200,000-voxel run is measured.

Usage::

    python benchmarks/jacobian/bench_jacobian.py suite --voxels 2000 \\
        --variants matmul fast generic autograd --output results.json
    python benchmarks/jacobian/bench_jacobian.py run --variant fast \\
        --voxels 200000 --hdf5 /tmp/jne_ss.h5
"""

import argparse
import json
import logging
import math
import os
import platform
import re
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from jne.jacobian import compute_jne  # noqa: E402
from jne.jacobian.chunking import budget_bytes, plan_fast  # noqa: E402
from jne.log import setup_logging  # noqa: E402
from jne.models import ResidualMLP  # noqa: E402

GB = 10**9


def rss_now():
    """Return the current resident memory in bytes."""
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) * 1024
    return 0


def peak_rss():
    """Return the peak resident memory of this process in bytes."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def build(args, n_stimuli=None):
    torch.manual_seed(args.seed)
    model = ResidualMLP(
        args.features, args.voxels, args.hidden, args.blocks, "relu"
    ).eval()
    generator = torch.Generator().manual_seed(args.seed + 1)
    inputs = torch.randn(
        n_stimuli or args.stimuli, args.features, generator=generator
    )
    return model, inputs


def run_autograd(args, model, inputs):
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    n_stimuli, n_features = inputs.shape
    n_voxels = args.voxels
    tensor_bytes = n_voxels * n_stimuli * n_features * 4
    start = time.perf_counter()
    x = inputs.clone().requires_grad_(True)
    output = model(x)
    forward_s = time.perf_counter() - start

    allocate = tensor_bytes <= args.max_tensor_gb * GB
    jacobians = None
    if allocate:
        jacobians = torch.empty(n_voxels, n_stimuli, n_features)
        jacobians.zero_()
    subset = min(args.subset, n_voxels)
    start = time.perf_counter()
    for voxel in range(subset):
        (gradient,) = torch.autograd.grad(
            output[:, voxel].sum(), x, retain_graph=True
        )
        if jacobians is not None:
            jacobians[voxel] = gradient
    per_voxel_s = (time.perf_counter() - start) / subset

    reduce_s = None
    if jacobians is not None:
        start = time.perf_counter()
        with torch.no_grad():
            for first in range(0, n_voxels, 64):
                block = jacobians[first : first + 64]
                deviation = (block - block.mean(dim=1, keepdim=True)).abs()
                deviation.sum(dim=2).std(dim=1, unbiased=False)
        reduce_s = time.perf_counter() - start
    total = forward_s + per_voxel_s * n_voxels + (reduce_s or 0.0)
    return {
        "seconds": total,
        "seconds_note": (
            f"extrapolated from {subset} voxels"
            + ("" if allocate else "; JNE reduction not run")
        ),
        "per_voxel_s": per_voxel_s,
        "reduce_s": reduce_s,
        "tensor_gb": tensor_bytes / GB,
        "tensor_allocated": allocate,
    }


def run_matmul(args, model, inputs):
    n_stimuli, n_features = inputs.shape
    hidden, n_blocks, n_voxels = args.hidden, args.blocks, args.voxels
    plan = plan_fast(
        n_stimuli,
        n_voxels,
        n_features,
        hidden,
        n_blocks,
        4,
        budget_bytes(args.budget),
    )
    s, v = plan.stimulus_chunk, plan.voxel_chunk
    weight = torch.randn(hidden, hidden)
    products = torch.randn(hidden, s * n_features)
    pushed = torch.empty(hidden, s * n_features)
    w_out = model.output_layer.weight.detach()
    mean_product = torch.randn(hidden, n_features)
    output = torch.empty(v, s * n_features)
    n_chunks = math.ceil(n_stimuli / s)
    # With a scratch file (the default) the fast path reads spilled
    # products back instead of building them again.
    spill_bytes = (n_chunks - plan.cached_chunks) * hidden * s * n_features * 4
    spilled = args.scratch_dir != "none" and spill_bytes > 0
    flops = 0
    start = time.perf_counter()
    for index in range(n_chunks):
        rows = min(s, n_stimuli - index * s)
        columns = rows * n_features
        passes = 1 if index < plan.cached_chunks or spilled else 2
        for _ in range(passes * n_blocks):
            torch.matmul(
                weight, products[:, :columns], out=pushed[:, :columns]
            )
            flops += 2 * hidden * hidden * columns
        for first in range(0, n_voxels, v):
            w_block = w_out[first : first + v]
            width = w_block.shape[0]
            torch.matmul(
                w_block, products[:, :columns], out=output[:width, :columns]
            )
            w_block @ mean_product
            flops += 2 * width * hidden * (columns + n_features)
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "spilled": spilled,
        "gflop": flops / 1e9,
        "gflop_per_s": flops / 1e9 / seconds,
        "plan": plan.as_dict(),
    }


def run_engine(args, model, inputs, mode):
    path = args.hdf5
    start = time.perf_counter()
    result = compute_jne(
        model,
        inputs,
        mode=mode,
        max_memory_gb=args.budget,
        jne_ss_path=path,
        n_sampled_stimuli=args.sampled_stimuli,
        scratch_dir=None if args.scratch_dir == "none" else args.scratch_dir,
    )
    seconds = time.perf_counter() - start
    record = {"seconds": seconds, "plan": result.plan, "mode": result.mode}
    if result.approximation is not None:
        info = dict(result.approximation)
        for key in ("checked_voxels", "exact_jne", "approximate_jne"):
            info.pop(key)
        record["approximation"] = info
    result.close()
    return record


def run_one(args):
    """Run one variant in this process and print a JSON record."""
    setup_logging(level=logging.INFO)
    fraction = args.stimuli_fraction if args.variant == "generic" else 1.0
    n_stimuli = max(2, round(args.stimuli * fraction))
    model, inputs = build(args, n_stimuli)
    baseline = rss_now()
    if args.variant == "autograd":
        record = run_autograd(args, model, inputs)
    elif args.variant == "matmul":
        record = run_matmul(args, model, inputs)
    elif args.variant == "generic":
        record = run_engine(args, model, inputs, "forward")
        if n_stimuli != args.stimuli:
            record["seconds_measured"] = record["seconds"]
            record["seconds"] *= args.stimuli / n_stimuli
            record["seconds_note"] = (
                f"measured on {n_stimuli} stimuli, scaled linearly"
            )
    elif args.variant == "approximate":
        record = run_engine(args, model, inputs, "approximate")
    else:
        record = run_engine(args, model, inputs, "auto")
    record.update(
        variant=args.variant,
        n_stimuli=args.stimuli,
        n_stimuli_run=n_stimuli,
        n_features=args.features,
        hidden=args.hidden,
        n_voxels=args.voxels,
        budget_gb=args.budget,
        rss_before_gb=baseline / GB,
        peak_rss_gb=peak_rss() / GB,
        load_average=os.getloadavg(),
    )
    print(json.dumps(record))


def run_suite(args):
    """Run each variant and voxel count in a fresh process."""
    records = []
    for n_voxels in args.voxels_list:
        for variant in args.variants:
            command = [
                sys.executable,
                __file__,
                "run",
                "--variant",
                variant,
                "--voxels",
                str(n_voxels),
                "--stimuli",
                str(args.stimuli),
                "--features",
                str(args.features),
                "--hidden",
                str(args.hidden),
                "--budget",
                str(args.budget),
                "--subset",
                str(args.subset),
                "--stimuli-fraction",
                str(args.stimuli_fraction),
                "--max-tensor-gb",
                str(args.max_tensor_gb),
                "--sampled-stimuli",
                str(args.sampled_stimuli),
                "--seed",
                str(args.seed),
                "--scratch-dir",
                args.scratch_dir,
            ]
            if args.hdf5:
                command += ["--hdf5", args.hdf5]
            print(f"running {variant} at {n_voxels} voxels", flush=True)
            record = run_monitored(command, args.time_limit, args.log)
            print(json.dumps(record), flush=True)
            records.append(record)
    machine = {
        "date": time.strftime("%Y-%m-%d"),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "processor": _cpu_model(),
    }
    output = {"machine": machine, "records": records}
    Path(args.output).write_text(json.dumps(output, indent=2))


PROGRESS = re.compile(
    r"(?P<what>JNE \w+ pass): (?P<done>\d+) of (?P<total>\d+) chunks after "
    r"(?P<elapsed>\d+) s, about (?P<left>\d+) s left"
)


def _status_bytes(pid, key):
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith(key):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def run_monitored(command, time_limit, log_path):
    """Run ``command``, polling its peak memory, and return its record.

    Without ``time_limit`` the child's own JSON record is returned. With
    it, a child still running at the limit is terminated, and the record
    contains the peak memory seen so far and a time extrapolated from the
    last progress line of each pass.
    """
    log_path = Path(log_path)
    with open(log_path, "w") as log:
        child = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=log, text=True
        )
        start = time.perf_counter()
        peak = 0
        while child.poll() is None:
            peak = max(peak, _status_bytes(child.pid, "VmHWM"))
            if time_limit and time.perf_counter() - start > time_limit:
                # SIGINT lets the child's cleanup remove its temporary
                # HDF5 file. SIGTERM would skip it.
                child.send_signal(signal.SIGINT)
                try:
                    child.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    child.terminate()
                    child.wait()
                break
            time.sleep(1.0)
        stdout = child.stdout.read()
    if child.returncode == 0:
        return json.loads(stdout.strip().splitlines()[-1])
    if not time_limit:
        raise RuntimeError(
            f"benchmark run failed with exit code {child.returncode}, see "
            f"{log_path}"
        )
    passes = {}
    for line in log_path.read_text().splitlines():
        match = PROGRESS.search(line)
        if match:
            passes[match["what"]] = {
                key: int(match[key])
                for key in ("done", "total", "elapsed", "left")
            }
    # The mean pass ran to its end, the deviation pass is extrapolated
    # from its last progress line. The JNE-SS pass is not included.
    # Without a progress line of the deviation pass there is nothing to
    # extrapolate from, and the time is unknown.
    seconds = None
    note = (
        f"stopped after {time_limit:.0f} s before the deviation pass "
        "reported progress; no time could be extrapolated"
    )
    if any("deviation" in name.lower() for name in passes):
        seconds = sum(p["elapsed"] + p["left"] for p in passes.values())
        note = (
            f"stopped after {time_limit:.0f} s and extrapolated from the "
            "progress lines; excludes the JNE-SS pass"
        )
    return {
        "variant": command[command.index("--variant") + 1],
        "n_voxels": int(command[command.index("--voxels") + 1]),
        "budget_gb": float(command[command.index("--budget") + 1]),
        "completed": False,
        "seconds": seconds,
        "seconds_note": note,
        "passes": passes,
        "peak_rss_gb": peak / GB,
        "command": command,
        "load_average": os.getloadavg(),
    }


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["run", "suite"])
    parser.add_argument(
        "--variant",
        choices=["autograd", "generic", "fast", "matmul", "approximate"],
    )
    parser.add_argument(
        "--variants", nargs="+", default=["matmul", "fast", "generic"]
    )
    parser.add_argument("--voxels", type=int, nargs="+", default=[2000])
    parser.add_argument("--stimuli", type=int, default=1000)
    parser.add_argument("--features", type=int, default=768)
    parser.add_argument("--hidden", type=int, default=1024)
    parser.add_argument("--blocks", type=int, default=2)
    parser.add_argument(
        "--budget", type=float, default=2.0, help="max_memory_gb (GB)"
    )
    parser.add_argument(
        "--subset",
        type=int,
        default=20,
        help="voxels timed by the autograd variant",
    )
    parser.add_argument(
        "--stimuli-fraction",
        type=float,
        default=1.0,
        help="fraction of stimuli run by the generic variant",
    )
    parser.add_argument(
        "--max-tensor-gb",
        type=float,
        default=14.0,
        help="largest full Jacobian tensor the autograd variant allocates",
    )
    parser.add_argument("--sampled-stimuli", type=int, default=100)
    parser.add_argument("--hdf5", help="JNE-SS file for engine variants")
    parser.add_argument(
        "--scratch-dir",
        default="auto",
        help="scratch_dir of compute_jne: a directory, auto, or none",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", help="JSON file of the suite's records")
    parser.add_argument(
        "--time-limit",
        type=float,
        help="seconds after which the suite stops a run and extrapolates",
    )
    parser.add_argument(
        "--log",
        default="bench_jacobian_run.log",
        help="file that receives the log of the current run",
    )
    args = parser.parse_args()
    if args.command == "suite" and not args.output:
        parser.error("suite needs --output")
    if args.command == "run":
        args.voxels = args.voxels[0]
        run_one(args)
    else:
        args.voxels_list = args.voxels
        run_suite(args)


if __name__ == "__main__":
    main()
