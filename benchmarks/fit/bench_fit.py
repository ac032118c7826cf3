"""Measure fit time and peak memory of fit_ridge and fit_mlp.

Each case runs in a fresh Python process, so its peak resident memory
(``ru_maxrss``) is its own. The process first builds random float32 data
(standard normal features, responses linear in them plus noise) and
records its peak memory. It then fits and records the peak again. The
difference is the memory the fit needs on top of the inputs.

    python benchmarks/fit/bench_fit.py                 # all default cases
    python benchmarks/fit/bench_fit.py --cases mlp:5000 --epochs 2

The MLP runs a fixed number of epochs (early stopping is switched off by
setting patience above it), so its time is reported per epoch. A case is
``ridge:N`` or ``mlp:N`` for N voxels, or ``mlp:N:B`` for mini-batches of
B stimuli.
"""

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time

# model:n_voxels, or mlp:n_voxels:batch_size for mini-batch training.
DEFAULT_CASES = (
    "ridge:5000,ridge:15000,mlp:5000,mlp:15000,mlp:5000:1000,mlp:15000:1000"
)


def _peak_mib():
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _make_data(n, n_features, n_voxels, seed=0):
    import numpy as np

    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, n_features), dtype=np.float32)
    weights = rng.standard_normal((n_features, n_voxels), dtype=np.float32)
    weights /= np.sqrt(n_features)
    Y = np.empty((n, n_voxels), dtype=np.float32)
    # Blocks of voxels keep the float32 temporaries small.
    for start in range(0, n_voxels, 1000):
        block = slice(start, start + 1000)
        Y[:, block] = X @ weights[:, block]
        Y[:, block] += rng.standard_normal(
            (n, Y[:, block].shape[1]), dtype=np.float32
        )
    return X, Y


def run_case(model, n_voxels, batch_size, args):
    """Fit one model in this process and return its measurements."""
    import numpy as np
    import torch

    from himalaya.backend import get_backend, set_backend

    import jne.models  # noqa: F401

    # Import himalaya's torch backend now, so that its import time and
    # memory count in the baseline and not in the fit.
    previous = get_backend()
    set_backend("torch")
    set_backend(previous)

    # Ridge is fitted on training and validation stimuli together, as
    # Prepared.train_val() returns them: new arrays that fit_ridge may centre
    # in place. The MLP gets views of the two parts.
    X, Y = _make_data(args.n_train + args.n_val, args.n_features, n_voxels)
    if model == "mlp":
        X, X_val = X[: args.n_train], X[args.n_train :]
        Y, Y_val = Y[: args.n_train], Y[args.n_train :]
    else:
        X_val = Y_val = None
    data_peak = _peak_mib()
    start = time.perf_counter()
    if model == "ridge":
        import warnings

        from jne.models import fit_ridge

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            fit = fit_ridge(X, Y, device=args.device, copy=False)
        n_weights = fit.coef_.size + fit.intercept_.size
        extra = {"n_samples": len(X)}
    else:
        from jne.models import fit_mlp

        fit = fit_mlp(
            X,
            Y,
            X_val,
            Y_val,
            max_epochs=args.epochs,
            patience=args.epochs + 1,
            batch_size=batch_size,
            device=args.device,
        )
        n_weights = sum(p.numel() for p in fit.model.parameters())
        extra = {
            "n_samples": args.n_train,
            "batch_size": batch_size,
            "epochs": len(fit.history),
            "seconds_per_epoch": fit.seconds / len(fit.history),
        }
    seconds = time.perf_counter() - start
    fit_peak = _peak_mib()
    response_bytes = Y.nbytes + (0 if Y_val is None else Y_val.nbytes)
    return {
        "model": model,
        "n_voxels": n_voxels,
        "n_features": args.n_features,
        "device": args.device,
        "seconds": round(seconds, 2),
        "data_peak_mib": round(data_peak),
        "fit_peak_mib": round(fit_peak),
        "fit_extra_mib": round(fit_peak - data_peak),
        "responses_mib": round(response_bytes / 2**20),
        "weights_mib": round(n_weights * 4 / 2**20),
        "torch_threads": torch.get_num_threads(),
        **{
            k: round(v, 2) if isinstance(v, float) else v
            for k, v in extra.items()
        },
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--cases",
        default=DEFAULT_CASES,
        help="comma-separated cases (default: %(default)s)",
    )
    parser.add_argument("--n-train", type=int, default=8000)
    parser.add_argument("--n-val", type=int, default=1000)
    parser.add_argument("--n-features", type=int, default=768)
    parser.add_argument(
        "--epochs", type=int, default=3, help="MLP epochs (default: 3)"
    )
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    # Internal: run a single case in this process.
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.one:
        model, n_voxels, *batch = args.one.split(":")
        batch_size = int(batch[0]) if batch else None
        print(json.dumps(run_case(model, int(n_voxels), batch_size, args)))
        return

    print(
        json.dumps(
            {
                "machine": platform.machine(),
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "load_average_before": os.getloadavg(),
            }
        ),
        flush=True,
    )
    for case in args.cases.split(","):
        command = [
            sys.executable,
            __file__,
            "--one",
            case,
            "--n-train",
            str(args.n_train),
            "--n-val",
            str(args.n_val),
            "--n-features",
            str(args.n_features),
            "--epochs",
            str(args.epochs),
            "--device",
            args.device,
        ]
        result = subprocess.run(
            command, capture_output=True, text=True, check=True
        )
        line = result.stdout.strip().splitlines()[-1]
        record = json.loads(line)
        record["load_average_after"] = os.getloadavg()[0]
        print(json.dumps(record), flush=True)


if __name__ == "__main__":
    main()
