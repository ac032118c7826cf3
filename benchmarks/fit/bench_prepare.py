"""Measure the time and peak memory of prepare at NSD's trial count.

Builds a random dataset in memory: 30000 trials of 10000 stimuli over 40
sessions of 12 runs, the first 1000 stimuli labelled "test" and shown 3
times, and 768 features. It then runs ``jne.prepare.prepare`` with its
defaults and prints one JSON line. ``prepare_extra_mib`` is the peak
resident memory during prepare minus the peak before it.

    python benchmarks/fit/bench_prepare.py --n-voxels 15000
"""

import argparse
import json
import resource
import time

import numpy as np
import pandas as pd

from jne.dataset import Atlas, Dataset, Space
from jne.prepare import prepare

N_STIMULI = 10000
N_TRIALS = 30000
N_TEST = 1000


def _peak_mib():
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build_dataset(n_voxels, seed=0):
    """Return a random Dataset with NSD's numbers of trials and stimuli."""
    rng = np.random.default_rng(seed)
    shown = np.concatenate(
        [
            np.repeat(np.arange(N_TEST), 3),
            rng.integers(N_TEST, N_STIMULI, N_TRIALS - 3 * N_TEST),
        ]
    )
    shown = rng.permutation(shown)
    ids = np.array([f"n{i}" for i in range(N_STIMULI)])
    stimuli = pd.DataFrame(
        {
            "stimulus_id": ids,
            "split": ["test"] * N_TEST + [""] * (N_STIMULI - N_TEST),
        }
    )
    trials_per_session = N_TRIALS // 40
    run = np.repeat(np.arange(12), -(-trials_per_session // 12))
    trials = pd.DataFrame(
        {
            "stimulus_id": ids[shown],
            "session": np.repeat(np.arange(40), trials_per_session),
            "run": np.tile(run[:trials_per_session], 40),
        }
    )
    space = Space(
        kind="surface",
        mesh="fsaverage",
        hemisphere=np.array(["L"] * n_voxels),
        vertex=np.arange(n_voxels),
        n_mesh_vertices={"L": 163842, "R": 163842},
    )
    return Dataset(
        betas=rng.standard_normal((N_TRIALS, n_voxels), dtype=np.float32),
        trials=trials,
        stimuli=stimuli,
        embeddings={
            "features": rng.standard_normal((N_STIMULI, 768), dtype=np.float32)
        },
        space=space,
        atlas=Atlas(labels=np.ones(n_voxels, dtype=int), names={1: "all"}),
        name="benchmark",
        subject="01",
        simulated=True,
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-voxels", type=int, default=15000)
    args = parser.parse_args()

    dataset = build_dataset(args.n_voxels)
    before = _peak_mib()
    start = time.perf_counter()
    prepared = prepare(dataset, "features")
    seconds = time.perf_counter() - start
    print(
        json.dumps(
            {
                "n_trials": N_TRIALS,
                "n_voxels": args.n_voxels,
                "seconds": round(seconds, 1),
                "betas_mib": round(dataset.betas.nbytes / 2**20),
                "prepare_extra_mib": round(_peak_mib() - before),
                "n_train": len(prepared.X_train),
                "n_val": len(prepared.X_val),
                "n_test": len(prepared.X_test),
            }
        )
    )


if __name__ == "__main__":
    main()
