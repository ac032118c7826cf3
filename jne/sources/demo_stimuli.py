"""Stimuli and trial design of the demo dataset.

The stimuli are short sentences written for jne, shipped as
``jne/data/sentences.tsv`` (columns ``stimulus_id``, ``category``,
``text``; 100 sentences in each of 7 categories). The demo draws a
category-balanced subset and marks some as test and validation stimuli.
It lays the trials out in sessions and runs like an event-related fMRI
experiment: test stimuli are shown several times, the others once, in a
random order.
"""

import logging
from importlib import resources

import numpy as np
import pandas as pd

from jne.errors import ConfigError

logger = logging.getLogger(__name__)


def load_sentences():
    """Read the sentence table shipped with jne.

    Returns
    -------
    DataFrame
        Columns ``stimulus_id``, ``category`` and ``text``, one row per
        sentence.
    """
    table_file = resources.files("jne").joinpath("data/sentences.tsv")
    with resources.as_file(table_file) as path:
        return pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)


def _balanced_take(groups, n, rng):
    """Take ``n`` items from ``groups`` (lists), as evenly as possible.

    Returns a dict of group name to the items taken from it. Leftover items
    (when ``n`` is not a multiple of the group count) go to randomly chosen
    groups that still have items left.
    """
    names = list(groups)
    share = {g: min(n // len(names), len(groups[g])) for g in names}
    remaining = n - sum(share.values())
    while remaining > 0:
        open_groups = [g for g in names if share[g] < len(groups[g])]
        if not open_groups:
            raise ValueError(
                f"Cannot take {n} items from {len(names)} groups."
            )
        for g in rng.permutation(open_groups)[:remaining]:
            share[g] += 1
            remaining -= 1
    return {g: list(groups[g][: share[g]]) for g in names}


def select_stimuli(table, n_stimuli, n_test, n_val, rng):
    """Draw a category-balanced set of stimuli and split it.

    Parameters
    ----------
    table : DataFrame
        From :func:`load_sentences`.
    n_stimuli, n_test, n_val : int
        Number of stimuli in all, in the test split and in the validation
        split. The rest are training stimuli.
    rng : numpy.random.Generator

    Returns
    -------
    DataFrame
        Columns ``stimulus_id``, ``category``, ``split`` and ``text``,
        sorted by ``stimulus_id``.

    Raises
    ------
    ConfigError
        If the numbers do not fit the table.
    """
    if n_stimuli > len(table):
        raise ConfigError(
            f"The demo option n_stimuli={n_stimuli} exceeds the "
            f"{len(table)} sentences shipped with jne. Use at most "
            f"{len(table)}."
        )
    if n_test + n_val >= n_stimuli:
        raise ConfigError(
            f"The demo options n_test={n_test} and n_val={n_val} leave no "
            f"training stimuli out of n_stimuli={n_stimuli}. Lower n_test "
            "or n_val."
        )

    categories = sorted(table["category"].unique())
    shuffled = {
        c: list(rng.permutation(table.index[table["category"] == c]))
        for c in categories
    }
    chosen = _balanced_take(shuffled, n_stimuli, rng)
    test = _balanced_take(chosen, n_test, rng)
    rest = {c: chosen[c][len(test[c]) :] for c in categories}
    val = _balanced_take(rest, n_val, rng)

    split = {}
    for c in categories:
        for row in test[c]:
            split[row] = "test"
        for row in val[c]:
            split[row] = "val"
        for row in chosen[c]:
            split.setdefault(row, "train")

    stimuli = table.loc[sorted(split)].copy()
    stimuli["split"] = [split[row] for row in stimuli.index]
    stimuli = stimuli[["stimulus_id", "category", "split", "text"]]
    return stimuli.sort_values("stimulus_id").reset_index(drop=True)


def design_trials(stimuli, n_repeats_test, n_sessions, n_runs, rng):
    """Lay out the trials in sessions and runs.

    Each test stimulus is shown ``n_repeats_test`` times and every other
    stimulus once, in one random order that is then cut into
    ``n_sessions`` sessions of ``n_runs`` runs of nearly equal length.

    Parameters
    ----------
    stimuli : DataFrame
        With ``stimulus_id`` and ``split``.
    n_repeats_test, n_sessions, n_runs : int
    rng : numpy.random.Generator

    Returns
    -------
    DataFrame
        One row per trial in presentation order: ``stimulus_id`` (str),
        ``session`` and ``run`` (int, both counted from 1; runs restart
        in every session).
    """
    repeats = np.where(stimuli["split"] == "test", n_repeats_test, 1)
    trial_stimulus = rng.permutation(
        np.repeat(np.arange(len(stimuli)), repeats)
    )
    n_trials = len(trial_stimulus)
    if n_trials < n_sessions * n_runs:
        raise ConfigError(
            f"The demo has {n_trials} trials, fewer than n_sessions x "
            f"n_runs = {n_sessions * n_runs} runs. Lower n_sessions or "
            "n_runs."
        )

    # np.array_split gives runs whose lengths differ by at most one trial.
    run_index = np.concatenate(
        [
            np.full(len(chunk), i)
            for i, chunk in enumerate(
                np.array_split(np.arange(n_trials), n_sessions * n_runs)
            )
        ]
    )
    return pd.DataFrame(
        {
            "stimulus_id": stimuli["stimulus_id"].to_numpy()[trial_stimulus],
            "session": run_index // n_runs + 1,
            "run": run_index % n_runs + 1,
        }
    )
