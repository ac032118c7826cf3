"""The local source: a subject's own files on disk.

The file contract, every option and a worked example are in
``docs/inputs.md``. In short:

- responses: a 4D NIfTI of trial betas with a brain mask NIfTI, or surface
  data (GIfTI, MGH/MGZ, or NPY/HDF5 of shape (n_trials, n_vertices)) with
  the mesh named;
- ``trials.tsv``: one row per trial in response order, ``stimulus_id``
  and optional ``session`` and ``run``;
- ``stimuli.tsv``: ``stimulus_id`` and optional ``category`` and
  ``split``;
- embeddings: NPY or HDF5;
- atlas: a label NIfTI on the mask's grid, or per-vertex labels, with a
  labels TSV (``index``, ``name``).

Every path option may contain ``{subject}``, which is replaced by the
subject label.
"""

import logging
import time
from pathlib import Path

import numpy as np

from jne.dataset import Atlas, Dataset
from jne.errors import ConfigError, DataError
from jne.sources import checks, local_files
from jne.sources.local_responses import (
    HEMISPHERES,
    MESH_VERTICES,
    is_volume,
    read_surface,
    read_volume,
)

logger = logging.getLogger(__name__)

DEFAULTS = {
    "root": None,
    "responses": None,
    "responses_dataset": "betas",
    "mask": None,
    "mesh": None,
    "hemisphere": None,
    "vertices": None,
    "trials": None,
    "stimuli": None,
    "embeddings": None,
    "layers": None,
    "atlas": None,
    "atlas_labels": None,
    "rois": None,
    "description": "",
    "simulated": False,
}
REQUIRED = ("responses", "trials", "stimuli", "embeddings")
PATH_OPTIONS = (
    "responses",
    "mask",
    "vertices",
    "trials",
    "stimuli",
    "embeddings",
    "atlas",
    "atlas_labels",
)


def resolve_options(options, subject):
    """Fill defaults, check names and expand ``{subject}`` in paths.

    Path options may be a string or, for ``responses`` and ``atlas`` of
    surface data, a mapping ``{"L": path, "R": path}``.
    """
    options = dict(options or {})
    unknown = sorted(set(options) - set(DEFAULTS))
    if unknown:
        raise ConfigError(
            f"Unknown local options {unknown}. Valid options: "
            f"{', '.join(sorted(DEFAULTS))}."
        )
    resolved = {**DEFAULTS, **options}
    missing = [key for key in REQUIRED if not resolved[key]]
    if missing:
        raise ConfigError(
            f"The local source needs the options {missing}: paths to the "
            "responses, trials.tsv, stimuli.tsv and the embeddings."
        )
    root = Path(resolved["root"]) if resolved["root"] else None

    def expand(value):
        path = Path(str(value).replace("{subject}", subject))
        return (
            root / path
            if root is not None and not path.is_absolute()
            else path
        )

    for key in PATH_OPTIONS:
        value = resolved[key]
        if value is None:
            continue
        if isinstance(value, dict):
            bad = sorted(set(value) - set(HEMISPHERES))
            if bad or key not in ("responses", "atlas"):
                raise ConfigError(
                    f"Invalid local option {key}={value!r}: only "
                    "'responses' and 'atlas' may map hemispheres 'L' and "
                    "'R' to files."
                )
            resolved[key] = {
                h: local_files.require_file(expand(p), key)
                for h, p in value.items()
            }
        else:
            resolved[key] = local_files.require_file(expand(value), key)
    if isinstance(resolved["rois"], str):
        # One ROI name, not a sequence of one-letter names.
        resolved["rois"] = [resolved["rois"]]
    if not isinstance(resolved["simulated"], bool):
        raise ConfigError(
            f"Invalid local option simulated={resolved['simulated']!r}: use "
            "true or false (unquoted in YAML)."
        )
    if resolved["mesh"] is not None and resolved["mesh"] not in MESH_VERTICES:
        raise ConfigError(
            f"Invalid local option mesh={resolved['mesh']!r}: use one of "
            f"{', '.join(MESH_VERTICES)}."
        )
    if resolved["hemisphere"] not in (None, *HEMISPHERES):
        raise ConfigError(
            f"Invalid local option hemisphere={resolved['hemisphere']!r}: "
            "use 'L' or 'R'."
        )
    return resolved


def _build_atlas(labels, opts):
    if opts["atlas"] is None:
        if opts["rois"]:
            raise ConfigError(
                f"The option 'rois' names {list(opts['rois'])}, but no "
                "atlas is given. Set the options 'atlas' and "
                "'atlas_labels'."
            )
        logger.warning(
            "No atlas given: all %d voxels are outside every ROI, so "
            "per-ROI summaries will be empty",
            len(labels),
        )
        return Atlas(labels=labels, names={})
    if opts["atlas_labels"] is None:
        raise ConfigError(
            f"The atlas {opts['atlas']} needs a labels table: set the "
            "option 'atlas_labels' to a TSV with columns index and name."
        )
    names = local_files.read_labels_table(opts["atlas_labels"])
    unnamed = sorted(set(np.unique(labels)) - set(names) - {0})
    if unnamed:
        raise DataError(
            f"The atlas {opts['atlas']} uses label values "
            f"{[int(v) for v in unnamed[:5]]} that have no row in "
            f"{opts['atlas_labels']}. Add rows for them or set those "
            "voxels to 0."
        )
    return Atlas(labels=labels, names=names)


def fetch_local(
    subject,
    options,
    *,
    name,
    resources_dir=None,
    min_test_stimuli=checks.MIN_TEST_STIMULI,
):
    """Read one subject's dataset from local files.

    Parameters
    ----------
    subject : str
        Replaces ``{subject}`` in path options.
    options : dict
        See ``docs/inputs.md``.
    name : str
        Dataset name stored in the result.
    resources_dir : str or Path, optional
        Unused: the local source reads files in place.
    min_test_stimuli : int, default=10
        Minimum number of test stimuli that the ``split`` column must
        mark, when the stimulus table has one.

    Returns
    -------
    Dataset
        Restricted to the voxels of the ROIs in the option ``rois`` when
        it is given.

    Raises
    ------
    ConfigError
        For invalid option names or values.
    DataError
        For inconsistent files; the message names the file, the value
        and the fix.
    """
    start = time.perf_counter()
    opts = resolve_options(options, subject)

    stimuli = local_files.read_table(opts["stimuli"])
    stimuli["stimulus_id"] = stimuli["stimulus_id"].astype(str)
    checks.check_unique_ids(stimuli["stimulus_id"], file=opts["stimuli"])
    if "split" in stimuli:
        bad = sorted(set(stimuli["split"].dropna()) - {"train", "val", "test"})
        if bad:
            raise DataError(
                f"{opts['stimuli']}: invalid split values {bad}. Use "
                "'train', 'val' or 'test', or leave the cell empty to let "
                "jne assign the stimulus."
            )
    checks.check_test_stimuli(stimuli, min_test_stimuli, file=opts["stimuli"])
    trials = checks.check_trial_columns(
        local_files.read_table(opts["trials"]), file=opts["trials"]
    )
    checks.check_ids_present(
        trials["stimulus_id"],
        stimuli["stimulus_id"],
        file=opts["trials"],
        known_file=opts["stimuli"],
    )
    ids = stimuli["stimulus_id"].to_numpy()
    embeddings = checks.check_embeddings(
        local_files.read_embeddings(
            opts["embeddings"], layers=opts["layers"], stimulus_ids=ids
        ),
        ids,
        file=opts["embeddings"],
    )

    if is_volume(opts):
        betas, space, labels = read_volume(opts)
    else:
        betas, space, labels = read_surface(opts)
    checks.check_trial_count(
        betas.shape[0],
        len(trials),
        responses_file=opts["responses"],
        trials_file=opts["trials"],
    )
    atlas = _build_atlas(labels, opts)

    dataset = Dataset(
        betas=betas,
        trials=trials,
        stimuli=stimuli,
        embeddings=embeddings,
        space=space,
        atlas=atlas,
        name=name,
        subject=subject,
        simulated=bool(opts["simulated"]),
        description=opts["description"]
        or f"Local files of subject {subject} ({opts['responses']}).",
    )
    if opts["rois"]:
        rois = list(opts["rois"])
        atlas_files = f"{opts['atlas']} with {opts['atlas_labels']}"
        checks.check_rois(atlas, rois, file=atlas_files)
        keep = np.flatnonzero(
            np.any([atlas.roi_mask(r) for r in rois], axis=0)
        )
        logger.info(
            "Kept %d of %d voxels in the ROIs %s",
            len(keep),
            dataset.n_voxels,
            ", ".join(rois),
        )
        dataset = dataset.subset_voxels(keep)
    logger.info(
        "Read local dataset %r subject %s: %d trials x %d voxels, %d "
        "stimuli, %d layers in %.1f s",
        name,
        subject,
        dataset.n_trials,
        dataset.n_voxels,
        dataset.n_stimuli,
        len(embeddings),
        time.perf_counter() - start,
    )
    return dataset
