"""Input checks shared by the sources.

Each check raises :class:`jne.errors.DataError` with a message that names
the file, the offending value and the fix, so that a bad input stops the
fetch step before any model is trained. Voxels with NaN or constant
responses are not checked here: ``jne.prepare`` drops them with a logged
count.
"""

import logging

import numpy as np
import pandas as pd

from jne.errors import DataError

logger = logging.getLogger(__name__)

MIN_TEST_STIMULI = 10


def _examples(values, limit=3):
    values = list(values)
    text = ", ".join(repr(str(v)) for v in values[:limit])
    if len(values) > limit:
        text += f" and {len(values) - limit} more"
    return text


def check_unique_ids(ids, *, file):
    """Raise if a stimulus id appears more than once in ``file``."""
    ids = pd.Series(ids)
    duplicated = ids[ids.duplicated()].unique()
    if len(duplicated):
        raise DataError(
            f"{file}: stimulus_id {_examples(duplicated)} appears more than "
            "once. Each stimulus needs exactly one row; remove or rename "
            "the duplicates."
        )


def check_ids_present(ids, known, *, file, known_file):
    """Raise if some of ``ids`` (from ``file``) are not in ``known``."""
    ids = pd.Series(ids)
    absent = ~ids.isin(set(known))
    if absent.any():
        raise DataError(
            f"{file}: {int(absent.sum())} rows name a stimulus_id that is "
            f"missing from {known_file}: {_examples(ids[absent].unique())}. "
            f"Add those stimuli to {known_file} or remove the rows from "
            f"{file}."
        )


def check_trial_count(n_responses, n_trials, *, responses_file, trials_file):
    """Raise unless the responses have one row per row of the trial table."""
    if n_responses != n_trials:
        raise DataError(
            f"The responses in {responses_file} have {n_responses} trials "
            f"but {trials_file} has {n_trials} rows. The trial table needs "
            "exactly one row per trial, in the order of the responses."
        )


def check_numeric(array, *, file, description):
    """Raise unless ``array`` has an integer or floating-point dtype.

    ``description`` names the array in the message.

    Returns
    -------
    array of float32
    """
    array = np.asarray(array)
    if array.dtype.kind not in "iuf":
        raise DataError(
            f"{file}: {description} have dtype {array.dtype}, expected "
            "integer or floating-point numbers. Save them as float32 or "
            "float64."
        )
    return array.astype(np.float32, copy=False)


def check_embeddings(embeddings, stimulus_ids, *, file):
    """Check embedding shapes, dtypes and values against the stimuli.

    Parameters
    ----------
    embeddings : dict of str to array
        Layer name to features, rows in ``stimulus_ids`` order.
    stimulus_ids : sequence of str
    file : str
        Where the embeddings came from, for messages.

    Returns
    -------
    dict of str to array of float32 of shape (n_stimuli, n_features)

    Raises
    ------
    DataError
        On a wrong row count or number of dimensions, a non-numeric dtype,
        or NaN or Inf values.
    """
    if not embeddings:
        raise DataError(f"{file} contains no embedding layers.")
    stimulus_ids = np.asarray(stimulus_ids)
    checked = {}
    for layer, features in embeddings.items():
        features = np.asarray(features)
        if features.ndim != 2:
            raise DataError(
                f"{file}: embeddings of layer {layer!r} have shape "
                f"{features.shape}, expected (n_stimuli, n_features)."
            )
        if features.shape[0] != len(stimulus_ids):
            extra = ""
            if features.shape[0] < len(stimulus_ids):
                lacking = stimulus_ids[features.shape[0] :]
                extra = (
                    f" stimulus_id {_examples(lacking)} (from row "
                    f"{features.shape[0] + 1} of the stimulus table on) "
                    "have no embedding."
                )
            raise DataError(
                f"{file}: embeddings of layer {layer!r} have "
                f"{features.shape[0]} rows but the stimulus table has "
                f"{len(stimulus_ids)} stimuli.{extra} Write one row per "
                "stimulus, in stimulus table order."
            )
        features = check_numeric(
            features, file=file, description=f"embeddings of layer {layer!r}"
        )
        finite = np.isfinite(features).all(axis=1)
        if not finite.all():
            raise DataError(
                f"{file}: embeddings of layer {layer!r} contain NaN or Inf "
                f"for {int((~finite).sum())} of {len(finite)} stimuli, e.g. "
                "stimulus_id "
                f"{_examples(stimulus_ids[~finite])}. Recompute those "
                "features or remove the stimuli and their trials."
            )
        checked[str(layer)] = features
    widths = {layer: f.shape[1] for layer, f in checked.items()}
    logger.info(
        "Embeddings from %s: %d layers, %s features",
        file,
        len(checked),
        sorted(set(widths.values())),
    )
    return checked


def check_test_stimuli(stimuli, minimum=MIN_TEST_STIMULI, *, file):
    """Raise if the ``split`` column marks fewer than ``minimum`` test
    stimuli.

    A table without a ``split`` column passes: the prepare step then draws
    the test set itself and checks its size.
    """
    if "split" not in stimuli:
        return
    n_test = int((stimuli["split"] == "test").sum())
    if n_test < minimum:
        raise DataError(
            f"{file}: the split column marks {n_test} test stimuli, fewer "
            f"than the minimum of {minimum}. Mark more stimuli as 'test', "
            "leave the split column out so that jne draws the test set, "
            "or lower the option min_test_stimuli."
        )


def check_rois(atlas, rois, *, file):
    """Raise if an ROI in ``rois`` is absent from the atlas or empty.

    Parameters
    ----------
    atlas : jne.dataset.Atlas
        Labels of the voxels that will be analysed.
    rois : list of str
    file : str
        The atlas files, for messages.
    """
    known = sorted(set(atlas.names.values()))
    absent = [r for r in rois if r not in known]
    if absent:
        raise DataError(
            f"ROI {_examples(absent)} named in the option 'rois' is not in "
            f"the atlas {file}. Known ROIs: {', '.join(known) or 'none'}. "
            "Fix the spelling or add the ROI to the labels table."
        )
    for roi in rois:
        if not atlas.roi_mask(roi).any():
            raise DataError(
                f"ROI {roi!r} named in the option 'rois' has no voxels in "
                f"the brain mask ({file}). Check that the atlas and the "
                "mask cover the same brain, or remove the ROI from 'rois'."
            )


def check_trial_columns(trials, *, file):
    """Raise unless ``session`` and ``run``, when present, are integers.

    Returns
    -------
    DataFrame
        A copy with ``stimulus_id`` as str and ``session``/``run`` as int.
    """
    trials = trials.copy()
    if "stimulus_id" not in trials:
        raise DataError(
            f"{file} has no 'stimulus_id' column. Columns found: "
            f"{', '.join(map(str, trials.columns))}."
        )
    if trials["stimulus_id"].isna().any():
        row = int(np.flatnonzero(trials["stimulus_id"].isna())[0]) + 1
        raise DataError(
            f"{file}: row {row} has an empty stimulus_id. Every trial needs "
            "the id of the stimulus it showed."
        )
    trials["stimulus_id"] = trials["stimulus_id"].astype(str)
    for column in ("session", "run"):
        if column not in trials:
            continue
        values = pd.to_numeric(trials[column], errors="coerce")
        bad = values.isna() | (values != values.round())
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise DataError(
                f"{file}: column {column!r} must hold integers, got "
                f"{trials[column].iloc[row]!r} in row {row + 1}. Number "
                "sessions and runs 1, 2, 3, ..."
            )
        trials[column] = values.astype(np.int64)
    return trials


def check_dataset(dataset, *, min_test_stimuli=MIN_TEST_STIMULI):
    """Validate a dataset built by any source, more strictly than
    :meth:`jne.dataset.Dataset.validate`.

    On top of ``validate``: betas are float32, embeddings are finite
    float32 arrays, trial ``session`` and ``run`` are integers, and the
    ``split`` column marks at least ``min_test_stimuli`` test stimuli.
    Stimuli that no trial shows are logged, not rejected.

    Raises
    ------
    DataError
    """
    label = f"dataset {dataset.name!r} subject {dataset.subject!r}"
    dataset.validate()
    if dataset.betas.dtype != np.float32:
        raise DataError(
            f"{label}: betas have dtype {dataset.betas.dtype}, expected "
            "float32. This is a bug in the source that built it."
        )
    check_trial_columns(dataset.trials, file=f"{label} trial table")
    check_embeddings(
        dataset.embeddings,
        dataset.stimuli["stimulus_id"].to_numpy(),
        file=f"{label} embeddings",
    )
    check_test_stimuli(
        dataset.stimuli, min_test_stimuli, file=f"{label} stimulus table"
    )
    is_shown = dataset.stimuli["stimulus_id"].isin(
        set(dataset.trials["stimulus_id"])
    )
    if not is_shown.all():
        logger.warning(
            "%s: %d of %d stimuli are shown on no trial, e.g. %s, so they "
            "have no responses to fit",
            label,
            int((~is_shown).sum()),
            len(is_shown),
            _examples(dataset.stimuli["stimulus_id"][~is_shown]),
        )
