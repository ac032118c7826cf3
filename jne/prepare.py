"""Turn one subject's trials into model-ready train, validation and test sets.

:func:`prepare` z-scores responses within sessions (or runs) and features
within runs, then averages repeated presentations of each stimulus. It
drops voxels whose responses are not finite or constant, splits the
stimuli and computes a noise ceiling from the repeats of the test stimuli.
Its result, :class:`Prepared`, is what every model-fitting stage reads.
The defaults follow Gao et al. (NeurIPS 2025) on the Natural Scenes
Dataset (NSD).
"""

import logging

import numpy as np
import scipy.sparse

from jne import scoring
from jne.errors import ConfigError, DataError
from jne.log import log_duration, progress
from jne.prepared import SPLITS, Prepared

logger = logging.getLogger(__name__)

__all__ = ["Prepared", "prepare"]

ZSCORE_RESPONSES = ("session", "run", "none")
ZSCORE_FEATURES = ("run", "none")
# Fewer test stimuli make the bootstrap p-values and R² too noisy to use.
MIN_TEST_STIMULI = 10
MIN_TRAIN_STIMULI = 10
# Voxels per block while z-scoring. A block takes about
# 6 * n_trials * VOXEL_CHUNK * 8 bytes of float64 temporaries (an estimate
# from counting copies): 0.7 GB for NSD's 30000 trials.
VOXEL_CHUNK = 512


def prepare(
    dataset,
    layer,
    *,
    zscore_responses="session",
    zscore_features="run",
    test_fraction=0.1,
    val_fraction=0.1,
    seed=0,
    rois=None,
    n_components=None,
):
    """Build train, validation and test arrays from a dataset.

    Parameters
    ----------
    dataset : jne.dataset.Dataset
    layer : str
        Key of ``dataset.embeddings`` used as features.
    zscore_responses : {"session", "run", "none"}, default="session"
        Group within which each voxel's single-trial responses are z-scored.
        ``"run"`` groups by session and run together when both columns
        exist. A missing column falls back to z-scoring over all trials,
        with a log line.
    zscore_features : {"run", "none"}, default="run"
        ``"run"`` z-scores the features of each trial (the embedding of its
        stimulus) within runs before repeats are averaged. Without a
        ``run`` column the features are z-scored over the stimuli presented.
    test_fraction, val_fraction : float, default=0.1
        Fractions of the presented stimuli drawn for the test and validation
        sets when the ``split`` column of the stimulus table does not name
        any stimulus for that set. Validation stimuli are drawn from the
        unlabelled stimuli first, then from those labelled ``"train"``.
    seed : int, default=0
        Seed of the random split.
    rois : str or list of str, optional
        Keep only the voxels of these atlas ROIs (their union).
    n_components : int, optional
        Replace the features by their first ``n_components`` principal
        components, fitted on the training stimuli only and scaled to unit
        variance over them. The validation and test stimuli are projected
        with the same axes. None keeps every feature. Fewer inputs let a
        nonlinear model learn from a few hundred stimuli; JNE is then
        measured with respect to the components.

    Returns
    -------
    Prepared

    Raises
    ------
    ConfigError
        Unknown layer or option, an ROI that is absent or empty, or more
        components than training stimuli or features.
    DataError
        Too few test or training stimuli, no usable voxel, or a z-scoring
        group with a single trial.
    """
    settings = dict(
        zscore_responses=zscore_responses,
        zscore_features=zscore_features,
        test_fraction=float(test_fraction),
        val_fraction=float(val_fraction),
        seed=int(seed),
        rois=[rois] if isinstance(rois, str) else rois,
        n_components=None if n_components is None else int(n_components),
    )
    _check_settings(dataset, layer, settings)
    label = f"dataset {dataset.name!r} subject {dataset.subject!r}"
    with log_duration(logger, f"Preparing {label}, layer {layer!r}"):
        columns = _roi_columns(dataset, settings["rois"], label)
        trial_stimulus = dataset.trial_stimulus_index()
        presented, trial_code = np.unique(trial_stimulus, return_inverse=True)
        if len(presented) < dataset.n_stimuli:
            logger.info(
                "%d of %d stimuli have no trial and are left out.",
                dataset.n_stimuli - len(presented),
                dataset.n_stimuli,
            )

        split = _assign_splits(
            dataset.stimuli.iloc[presented],
            test_fraction,
            val_fraction,
            seed,
            label,
        )

        repeats = np.bincount(trial_code, minlength=len(presented))
        average = scipy.sparse.csr_matrix(
            (
                1.0 / repeats[trial_code],
                (trial_code, np.arange(len(trial_code))),
            ),
            shape=(len(presented), len(trial_code)),
        )

        features = _prepare_features(
            dataset, layer, presented, trial_stimulus, average, zscore_features
        )
        responses, keep, ncsnr = _prepare_responses(
            dataset,
            columns,
            average,
            trial_code,
            split[trial_code] == "test",
            zscore_responses,
        )

        if np.isnan(ncsnr).all() and "ncsnr" in dataset.extra:
            logger.info(
                "No test stimulus is repeated: using the dataset's own "
                "ncsnr for the noise ceiling."
            )
            ncsnr = np.asarray(dataset.extra["ncsnr"], dtype=np.float64)
            ncsnr = ncsnr[columns[keep]]

        n_repeats_test = repeats[split == "test"].astype(np.int64)
        result = Prepared(
            **_split_arrays(
                dataset.stimuli.iloc[presented],
                features,
                responses,
                np.flatnonzero(keep),
                split,
            ),
            voxel_index=columns[keep].astype(np.int64),
            noise_ceiling=scoring.noise_ceiling(ncsnr, n_repeats_test),
            ncsnr=ncsnr,
            n_repeats_test=n_repeats_test,
            dataset=dataset.name,
            subject=dataset.subject,
            layer=layer,
            simulated=bool(dataset.simulated),
            settings=settings,
        )
        if n_components is not None:
            _reduce_features(result, settings["n_components"], label)
    logger.info(
        "Prepared %d train, %d val and %d test stimuli, %d features and "
        "%d voxels.",
        len(result.X_train),
        len(result.X_val),
        len(result.X_test),
        result.n_features,
        result.n_voxels,
    )
    return result


def _check_settings(dataset, layer, settings):
    if layer not in dataset.embeddings:
        raise ConfigError(
            f"Layer {layer!r} is not in the embeddings of dataset "
            f"{dataset.name!r}. Available layers: "
            f"{', '.join(map(repr, dataset.layers))}."
        )
    for key, allowed in (
        ("zscore_responses", ZSCORE_RESPONSES),
        ("zscore_features", ZSCORE_FEATURES),
    ):
        if settings[key] not in allowed:
            raise ConfigError(
                f"Invalid {key} {settings[key]!r}: use one of "
                f"{', '.join(map(repr, allowed))}."
            )
    for key in ("test_fraction", "val_fraction"):
        if not 0 <= settings[key] < 1:
            raise ConfigError(f"{key} must be in [0, 1), got {settings[key]}.")
    if settings["test_fraction"] + settings["val_fraction"] >= 1:
        raise ConfigError(
            f"test_fraction + val_fraction must be below 1, got "
            f"{settings['test_fraction']} + {settings['val_fraction']}: "
            "no stimulus would be left for training."
        )


def _reduce_features(prepared, n_components, label):
    """Project the features of every split on training principal axes."""
    X = prepared.X_train.astype(np.float64)
    limit = min(X.shape)
    if not 1 <= n_components <= limit:
        raise ConfigError(
            f"n_components is {n_components}, but {label} has "
            f"{X.shape[0]} training stimuli and {X.shape[1]} features: "
            f"use a value from 1 to {limit}, or null to keep all features."
        )

    mean = X.mean(axis=0)
    _, singular, axes = np.linalg.svd(X - mean, full_matrices=False)
    scale = singular[:n_components] / np.sqrt(len(X))
    if scale[-1] <= 1e-8 * max(scale[0], 1e-30):
        raise DataError(
            f"The training features of {label} span fewer than "
            f"{n_components} dimensions (component {n_components} has no "
            "variance): lower n_components."
        )

    # Fix the sign of each axis, so reruns give identical components.
    axes = axes[:n_components]
    largest = np.abs(axes).argmax(axis=1)
    axes = axes * np.sign(axes[np.arange(n_components), largest])[:, None]
    projection = axes.T / scale
    explained = singular**2 / np.sum(singular**2)

    for name in SPLITS:
        X_split = getattr(prepared, f"X_{name}").astype(np.float64)
        setattr(
            prepared,
            f"X_{name}",
            ((X_split - mean) @ projection).astype(np.float32),
        )
    prepared.feature_mean = mean
    prepared.feature_projection = projection
    logger.info(
        "Kept %d principal components of %d features; they explain %.1f%% "
        "of the training features' variance.",
        n_components,
        len(mean),
        100 * explained[:n_components].sum(),
    )


def _roi_columns(dataset, rois, label):
    if rois is None:
        return np.arange(dataset.n_voxels)
    names = dataset.atlas.names
    present = set(np.unique(dataset.atlas.labels).tolist())
    non_empty = sorted({n for i, n in names.items() if i in present})
    mask = np.zeros(dataset.n_voxels, dtype=bool)
    for name in rois:
        if name not in names.values():
            raise ConfigError(
                f"ROI {name!r} (setting 'rois') is not in the atlas of "
                f"{label}. Known ROIs: {', '.join(non_empty)}."
            )
        roi = dataset.atlas.roi_mask(name)
        if not roi.any():
            raise ConfigError(
                f"ROI {name!r} (setting 'rois') has no voxels in {label}. "
                f"ROIs with voxels: {', '.join(non_empty)}."
            )
        mask |= roi
    logger.info(
        "Keeping %d voxels in ROIs %s.", int(mask.sum()), ", ".join(rois)
    )
    return np.flatnonzero(mask)


def _assign_splits(stimuli, test_fraction, val_fraction, seed, label):
    """Return "train", "val" or "test" for each row of ``stimuli``."""
    n = len(stimuli)
    if "split" in stimuli:
        labels = stimuli["split"].fillna("").astype(str).str.strip()
        labels = labels.str.lower()
        labels = labels.replace({"nan": "", "none": ""}).to_numpy(object)
    else:
        labels = np.full(n, "", dtype=object)

    invalid = set(labels) - {"", *SPLITS}
    if invalid:
        raise DataError(
            f"Invalid values {sorted(invalid)} in the 'split' column of "
            f"the stimulus table of {label}: use 'train', 'val', 'test' or "
            "leave the cell empty."
        )

    from_column = {name: bool((labels == name).any()) for name in SPLITS}
    rng = np.random.default_rng(seed)
    pool = list(rng.permutation(np.flatnonzero(labels == "")))
    if not from_column["test"]:
        n_test = int(round(test_fraction * n))
        labels[pool[:n_test]] = "test"
        pool = pool[n_test:]
    if not from_column["val"] and val_fraction > 0:
        n_val = max(1, int(round(val_fraction * n)))
        candidates = pool + list(
            rng.permutation(np.flatnonzero(labels == "train"))
        )
        labels[candidates[:n_val]] = "val"
        pool = [i for i in pool if labels[i] == ""]
    labels[pool] = "train"

    n_test = int((labels == "test").sum())
    n_train = int((labels == "train").sum())
    if n_test < MIN_TEST_STIMULI:
        if from_column["test"]:
            fix = "Label more stimuli 'test' in the split column."
        else:
            fix = f"Raise test_fraction (now {test_fraction})."
        raise DataError(
            f"{label} has {n_test} test stimuli with trials; at least "
            f"{MIN_TEST_STIMULI} are needed to score the models. {fix}"
        )
    if n_train < MIN_TRAIN_STIMULI:
        raise DataError(
            f"{label} has {n_train} training stimuli with trials; at least "
            f"{MIN_TRAIN_STIMULI} are needed. Lower test_fraction "
            f"({test_fraction}) or val_fraction ({val_fraction}), or label "
            "fewer stimuli 'test' or 'val' in the split column."
        )
    logger.info(
        "Split %d stimuli: %d train, %d val, %d test (column %s, seed %d).",
        n,
        n_train,
        int((labels == "val").sum()),
        n_test,
        "used" if any(from_column.values()) else "absent or empty",
        seed,
    )
    return labels.astype(str)


def _zscore_groups(trials, mode, quantity):
    """Return a group code per trial, or None for no z-scoring."""
    if mode == "none":
        return None
    requested = ["session"] if mode == "session" else ["session", "run"]
    columns = [c for c in requested if c in trials]
    if mode == "run" and "run" not in trials:
        columns = []
    if not columns:
        logger.info(
            "The trial table has no %r column: z-scoring %s over all "
            "trials.",
            mode,
            quantity,
        )
        return np.zeros(len(trials), dtype=np.int64)
    groups = trials.groupby(columns, sort=False, dropna=False).ngroup()
    groups = groups.to_numpy()
    sizes = np.bincount(groups)
    if (sizes < 2).any():
        key = trials[columns].iloc[np.flatnonzero(sizes[groups] < 2)[0]]
        raise DataError(
            f"The trials with {key.to_dict()} form a z-scoring group of "
            f"one trial, so its {quantity} cannot be z-scored. Merge that "
            "group or set z-scoring to 'none'."
        )
    return groups


def _group_zscore(values, groups):
    """Z-score the columns of ``values`` within each group (ddof=0).

    Returns the z-scores and, per column, whether any group is constant.
    Constant groups get z-scores of 0.
    """
    order = np.argsort(groups, kind="stable")
    sizes = np.bincount(groups)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    ordered = values[order]
    means = np.add.reduceat(ordered, starts, axis=0) / sizes[:, None]
    constant = np.maximum.reduceat(ordered, starts, axis=0) == (
        np.minimum.reduceat(ordered, starts, axis=0)
    )
    centred = values - means[groups]
    variances = (
        np.add.reduceat(centred[order] ** 2, starts, axis=0) / sizes[:, None]
    )
    scale = np.where(constant, 1.0, np.sqrt(variances))
    zscores = centred / scale[groups]
    zscores[constant[groups]] = 0.0
    return zscores, constant.any(axis=0)


def _prepare_features(
    dataset, layer, presented, trial_stimulus, average, mode
):
    embedding = np.asarray(dataset.embeddings[layer], dtype=np.float64)
    if mode == "none":
        return embedding[presented].astype(np.float32)
    if "run" not in dataset.trials:
        logger.info("No 'run' column: z-scoring features over stimuli.")
        zscores, _ = _group_zscore(
            embedding[presented], np.zeros(len(presented), dtype=np.int64)
        )
        return zscores.astype(np.float32)
    groups = _zscore_groups(dataset.trials, "run", "features")
    zscores, _ = _group_zscore(embedding[trial_stimulus], groups)
    return np.asarray(average @ zscores, dtype=np.float32)


def _prepare_responses(
    dataset, columns, average, trial_code, test_trial, mode
):
    """Return averaged responses, the kept-column mask and ncsnr."""
    groups = _zscore_groups(dataset.trials, mode, "responses")
    if groups is None:
        groups_or_all = np.zeros(dataset.n_trials, dtype=np.int64)
    else:
        groups_or_all = groups
    test_code = trial_code[test_trial]
    has_repeats = (np.bincount(test_code) >= 2).any()
    if not has_repeats:
        logger.info(
            "No test stimulus is presented more than once: the noise ceiling "
            "is NaN."
        )

    responses = np.empty((average.shape[0], len(columns)), dtype=np.float32)
    ncsnr = np.full(len(columns), np.nan)
    finite = np.ones(len(columns), dtype=bool)
    constant = np.zeros(len(columns), dtype=bool)
    starts = range(0, len(columns), VOXEL_CHUNK)
    for start in progress(starts, desc="z-scoring voxels", unit="chunk"):
        block = slice(start, start + VOXEL_CHUNK)
        values = dataset.betas[:, columns[block]].astype(np.float64)
        finite[block] = np.isfinite(values).all(axis=0)
        values[:, ~finite[block]] = 0.0
        zscores, constant[block] = _group_zscore(values, groups_or_all)
        if groups is None:
            zscores = values
        responses[:, block] = average @ zscores
        if has_repeats:
            total = 1.0 if groups is not None else zscores.var(axis=0)
            with np.errstate(invalid="ignore", divide="ignore"):
                ncsnr[block] = scoring.ncsnr_from_repeats(
                    zscores[test_trial], test_code, total_variance=total
                )

    keep = finite & ~constant
    n_dropped = int((~keep).sum())
    if n_dropped:
        logger.info(
            "Dropped %d of %d voxels: %d with NaN or Inf responses, %d "
            "constant within a z-scoring group.",
            n_dropped,
            len(columns),
            int((~finite).sum()),
            int((finite & constant).sum()),
        )
    if not keep.any():
        raise DataError(
            f"All {len(columns)} voxels of dataset {dataset.name!r} have NaN "
            "or constant responses. Check the betas."
        )
    return responses, keep, ncsnr[keep]


def _split_arrays(stimuli, features, responses, kept_columns, split):
    """Return the Prepared fields that differ between splits."""
    fields = {"stimulus_id": {}, "category": {}}
    for name in SPLITS:
        rows = np.flatnonzero(split == name)
        fields[f"X_{name}"] = np.ascontiguousarray(features[rows])
        fields[f"Y_{name}"] = responses[np.ix_(rows, kept_columns)]
        ids = stimuli["stimulus_id"].to_numpy()[rows]
        fields["stimulus_id"][name] = ids.astype(str)
        if "category" in stimuli:
            categories = stimuli["category"].fillna("").to_numpy()[rows]
        else:
            categories = np.full(len(rows), "")
        fields["category"][name] = categories.astype(str)
    return fields
