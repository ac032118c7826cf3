"""Shared fixtures: small seeded datasets built in memory."""

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")

from jne.dataset import Atlas, Dataset, Space  # noqa: E402


def build_small_dataset(
    n_stimuli=40,
    n_voxels=30,
    n_features=6,
    repeats_test=3,
    n_test=10,
    seed=0,
):
    """Build a tiny surface dataset with linear responses plus noise.

    Test stimuli are shown ``repeats_test`` times, the others once, across
    two sessions of two runs each.
    """
    rng = np.random.default_rng(seed)
    stimulus_ids = [f"s{i:03d}" for i in range(n_stimuli)]
    split = ["test"] * n_test + ["train"] * (n_stimuli - n_test)
    categories = np.array(["faces", "places"])[np.arange(n_stimuli) % 2]
    stimuli = pd.DataFrame(
        {"stimulus_id": stimulus_ids, "category": categories, "split": split}
    )
    features = rng.standard_normal((n_stimuli, n_features)).astype("float32")
    weights = rng.standard_normal((n_features, n_voxels))

    shown = []
    for i in range(n_stimuli):
        shown.extend([i] * (repeats_test if i < n_test else 1))
    shown = rng.permutation(shown)
    n_trials = len(shown)
    session = np.repeat([1, 2], int(np.ceil(n_trials / 2)))[:n_trials]
    run = np.tile(np.repeat([1, 2], int(np.ceil(n_trials / 4))), 2)[:n_trials]
    signal = features[shown] @ weights
    noise = rng.standard_normal((n_trials, n_voxels))
    betas = (signal + 0.5 * noise).astype("float32")
    trials = pd.DataFrame(
        {
            "stimulus_id": [stimulus_ids[i] for i in shown],
            "session": session,
            "run": run,
        }
    )
    hemisphere = np.array(["L"] * (n_voxels // 2) + ["R"] * (n_voxels // 2))
    hemisphere = np.resize(hemisphere, n_voxels)
    space = Space(
        kind="surface",
        mesh="fsLR32k",
        hemisphere=hemisphere,
        vertex=np.arange(n_voxels),
        n_mesh_vertices={"L": 32492, "R": 32492},
    )
    labels = np.arange(n_voxels) % 3 + 1
    atlas = Atlas(labels=labels, names={1: "V1", 2: "V2", 3: "FFC"})
    return Dataset(
        betas=betas,
        trials=trials,
        stimuli=stimuli,
        embeddings={"1": features, "2": np.tanh(features)},
        space=space,
        atlas=atlas,
        name="tiny",
        subject="01",
        simulated=True,
        description="Simulated linear responses for tests.",
        ground_truth={"weights_norm": np.linalg.norm(weights, axis=0)},
    )


@pytest.fixture
def small_dataset():
    return build_small_dataset()
