"""Compare learning rates and weight decays of fit_mlp on simulated data.

Features are 768-d, correlated through a 32-d latent space and z-scored.
Each voxel's response mixes a linear and a rectified function of the
latents, plus noise. The fraction of variance explained by the signal is
drawn between 5 % and 60 % per voxel.
Prints one line per setting: test R² averaged over voxels, best epoch,
epochs run and seconds. With --ridge, a first line gives ridge regression
fitted on train and validation stimuli. Used to pick the defaults in
jne.models.training.

    python benchmarks/fit/tune_mlp_defaults.py [--n-train 3000] [--ridge]
"""

import argparse
import itertools
import time
import warnings

import numpy as np

from jne.models import fit_mlp, fit_ridge
from jne.scoring import r2_score


def simulate(n, n_features, n_voxels, seed):
    rng = np.random.default_rng(seed)
    n_latent = 32
    latent = rng.standard_normal((n, n_latent))
    mixing = rng.standard_normal((n_latent, n_features)) / np.sqrt(n_latent)
    features = np.tanh(latent @ mixing) + 0.3 * rng.standard_normal(
        (n, n_features)
    )
    features = (features - features.mean(0)) / features.std(0)
    linear = latent @ rng.standard_normal((n_latent, n_voxels))
    rectified = np.maximum(
        latent @ rng.standard_normal((n_latent, n_voxels)), 0
    )
    weight = rng.uniform(0, 1, n_voxels)
    signal = weight * linear / linear.std(0) + (1 - weight) * (
        rectified / rectified.std(0)
    )
    signal = (signal - signal.mean(0)) / signal.std(0)
    explained = rng.uniform(0.05, 0.6, n_voxels)
    noise = rng.standard_normal((n, n_voxels))
    responses = np.sqrt(explained) * signal + np.sqrt(1 - explained) * noise
    return features.astype(np.float32), responses.astype(np.float32)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-train", type=int, default=3000)
    parser.add_argument("--n-voxels", type=int, default=500)
    parser.add_argument("--learning-rates", default="1e-4,3e-4,1e-3")
    parser.add_argument("--weight-decays", default="0,1e-2,1e-1")
    parser.add_argument(
        "--ridge", action="store_true", help="also fit ridge as a reference"
    )
    args = parser.parse_args()

    n_val = n_test = 500
    n = args.n_train + n_val + n_test
    X, Y = simulate(n, 768, args.n_voxels, seed=0)
    train = slice(0, args.n_train)
    val = slice(args.n_train, args.n_train + n_val)
    test = slice(args.n_train + n_val, n)

    print("learning_rate weight_decay test_r2 best_epoch n_epochs seconds")
    if args.ridge:
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            ridge = fit_ridge(
                np.concatenate([X[train], X[val]]),
                np.concatenate([Y[train], Y[val]]),
            )
        r2 = np.nanmean(r2_score(Y[test], ridge.predict(X[test])))
        seconds = time.perf_counter() - start
        print(f"ridge - {r2:.4f} - - {seconds:.0f}", flush=True)

    for learning_rate, weight_decay in itertools.product(
        map(float, args.learning_rates.split(",")),
        map(float, args.weight_decays.split(",")),
    ):
        start = time.perf_counter()
        fit = fit_mlp(
            X[train],
            Y[train],
            X[val],
            Y[val],
            learning_rate=learning_rate,
            weight_decay=weight_decay,
        )
        seconds = time.perf_counter() - start
        r2 = np.nanmean(r2_score(Y[test], fit.predict(X[test])))
        print(
            f"{learning_rate:g} {weight_decay:g} {r2:.4f} "
            f"{fit.best_epoch} {len(fit.history)} {seconds:.0f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
