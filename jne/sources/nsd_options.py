"""Options of the NSD source, their defaults and their checks.

Options (the source's config mapping; every key is optional except
``embeddings``):

``base_url`` (str, default "https://natural-scenes-dataset.s3.amazonaws.com")
    URL of the NSD root folder, starting with http:// or https://.
``nsd_dir`` (str or None)
    Local copy of NSD with the bucket's layout. Files found there are read
    in place. Missing ones are downloaded into the resources folder.
``space`` ("func1pt8mm", "func1mm" or "fsaverage")
    Volume space of the subject's functional data at 1.8 or 1 mm, or the
    fsaverage surface.
``betas`` (str, default "betas_fithrf_GLMdenoise_RR")
    Version of the single-trial GLM.
``sessions`` (None, int or list of int)
    Sessions to read: all that the subject completed (None), the first
    ``n``, or the listed session numbers (1-based).
``mask`` (str or list of str, default "nsdgeneral")
    Voxels to keep: the union of ROI files (every voxel they label) and
    ROI names of the combined atlas.
``atlas`` (list of str)
    ROI files combined into the atlas, in precedence order: a voxel gets
    the label of the first file that labels it.
``merge_rois`` (dict of str to list of str)
    ROI names to merge, default ventral and dorsal V1-V3 into V1, V2, V3.
``embeddings`` (dict)
    ``{"file": ...}`` or ``{"extractor": ..., "model": ...}``, see
    :mod:`jne.sources.nsd_embeddings`.
``chunk_trials`` (int, default 125)
    Trials read at once from a betas file. It sets the peak memory of
    reading: about grid size x ``chunk_trials`` x 2 bytes for int16 NIfTI
    files (0.17 GB for subject 1's 81 x 104 x 83 func1pt8mm grid) or x 4
    bytes for float32 MGH files (0.08 GB per fsaverage hemisphere).
``keep_betas`` (bool, default True)
    Keep downloaded betas files after reading them. False deletes each
    session's files once read, to save disk space, but only files that
    this run downloaded: files in ``nsd_dir`` and files cached by earlier
    runs are kept.
``download`` (dict)
    ``retries`` (5, >= 0), ``backoff`` (1.0 s, >= 0), ``timeout`` (60 s,
    > 0) and ``verify_cache`` (True: compare cached files with the
    server's size and ETag before using them).
"""

import copy

from jne.errors import ConfigError
from jne.sources import nsd_layout as layout
from jne.sources.download import check_download_settings, check_url
from jne.sources.nsd_embeddings import check_embeddings_options

DEFAULT_OPTIONS = {
    "base_url": layout.DEFAULT_BASE_URL,
    "nsd_dir": None,
    "space": "func1pt8mm",
    "betas": "betas_fithrf_GLMdenoise_RR",
    "sessions": None,
    "mask": "nsdgeneral",
    "atlas": [
        "prf-visualrois",
        "floc-faces",
        "floc-bodies",
        "floc-places",
        "floc-words",
        "HCP_MMP1",
    ],
    "merge_rois": {
        "V1": ["V1v", "V1d"],
        "V2": ["V2v", "V2d"],
        "V3": ["V3v", "V3d"],
    },
    "embeddings": None,
    "chunk_trials": 125,
    "keep_betas": True,
    "download": {
        "retries": 5,
        "backoff": 1.0,
        "timeout": 60,
        "verify_cache": True,
    },
}


def resolve_options(options):
    """Return ``options`` merged over the defaults, after checking them."""
    options = dict(options or {})
    unknown = sorted(set(options) - set(DEFAULT_OPTIONS))
    if unknown:
        raise ConfigError(
            f"Unknown NSD options {unknown}. Known: "
            f"{', '.join(sorted(DEFAULT_OPTIONS))}."
        )
    resolved = copy.deepcopy(DEFAULT_OPTIONS)
    download_options = options.pop("download", None) or {}
    resolved.update(options)
    bad = sorted(set(download_options) - set(DEFAULT_OPTIONS["download"]))
    if bad:
        raise ConfigError(
            f"Unknown keys {bad} in the NSD option 'download'. Known: "
            f"{', '.join(sorted(DEFAULT_OPTIONS['download']))}."
        )
    resolved["download"].update(download_options)

    check_url(resolved["base_url"], name="NSD option base_url")
    settings = resolved["download"]
    check_download_settings(
        retries=settings["retries"],
        backoff=settings["backoff"],
        timeout=settings["timeout"],
        where=" in the NSD option 'download'",
    )
    for key, value in (
        ("keep_betas", resolved["keep_betas"]),
        ("download.verify_cache", settings["verify_cache"]),
    ):
        if not isinstance(value, bool):
            raise ConfigError(
                f"The NSD option {key!r} must be true or false, got "
                f"{value!r}."
            )
    _check_sessions(resolved["sessions"])

    if resolved["space"] not in layout.SPACES:
        raise ConfigError(
            f"Invalid NSD space {resolved['space']!r}: use one of "
            f"{', '.join(layout.SPACES)}."
        )
    if resolved["betas"] not in layout.BETA_VERSIONS:
        raise ConfigError(
            f"Invalid NSD betas version {resolved['betas']!r}: use one of "
            f"{', '.join(layout.BETA_VERSIONS)}."
        )
    if isinstance(resolved["mask"], str):
        resolved["mask"] = [resolved["mask"]]
    for key in ("mask", "atlas"):
        value = resolved[key]
        if not isinstance(value, list) or not all(
            isinstance(v, str) for v in value
        ):
            raise ConfigError(
                f"The NSD option {key!r} must be a list of names, got "
                f"{value!r}."
            )
    if not resolved["mask"]:
        raise ConfigError("The NSD option 'mask' names no ROI.")
    if not isinstance(resolved["merge_rois"], dict):
        raise ConfigError(
            "The NSD option 'merge_rois' must map new ROI names to lists "
            f"of names, got {resolved['merge_rois']!r}."
        )
    chunk = resolved["chunk_trials"]
    if not isinstance(chunk, int) or chunk < 1:
        raise ConfigError(
            f"The NSD option 'chunk_trials' must be a positive integer, "
            f"got {chunk!r}."
        )
    if resolved["embeddings"] is None:
        raise ConfigError(
            "The NSD source needs the option 'embeddings': "
            "{'file': path} for precomputed features or "
            "{'extractor': 'transformers', 'model': ...} to compute them "
            "from the images."
        )
    check_embeddings_options(resolved["embeddings"])
    return resolved


def resolve_sessions(sessions, subject_number):
    """Return the sorted 1-based session numbers selected by ``sessions``."""
    _check_sessions(sessions)
    available = layout.SESSIONS_PER_SUBJECT[subject_number]
    if sessions is None:
        return list(range(1, available + 1))
    selected = sessions
    if isinstance(sessions, int):
        selected = list(range(1, sessions + 1))
    outside = [s for s in selected if s > available]
    if outside or len(set(selected)) != len(selected):
        raise ConfigError(
            f"Invalid NSD option sessions={sessions!r} for subject "
            f"{subject_number:02d}, who completed sessions 1 to "
            f"{available}: list each session once, within that range."
        )
    return sorted(selected)


def _check_sessions(sessions):
    """Raise ConfigError unless ``sessions`` is None, n >= 1 or a list.

    The number of sessions of each subject is checked by
    :func:`resolve_sessions`, which takes the subject.
    """
    usage = (
        "use null (all sessions), a number n >= 1 (sessions 1 to n) or a "
        "list of session numbers from 1"
    )
    if sessions is None:
        return
    if isinstance(sessions, bool):
        valid = False
    elif isinstance(sessions, int):
        valid = sessions >= 1
    elif isinstance(sessions, (list, tuple)):
        valid = bool(sessions) and all(
            isinstance(s, int) and not isinstance(s, bool) and s >= 1
            for s in sessions
        )
    else:
        valid = False
    if not valid:
        raise ConfigError(
            f"Invalid NSD option sessions={sessions!r}: {usage}."
        )
