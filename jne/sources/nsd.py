"""The Natural Scenes Dataset (NSD) source.

NSD (Allen et al., "A massive 7T fMRI dataset to bridge cognitive and
computational neuroscience", Nature Neuroscience 2022) has 8 subjects who
each saw up to 10,000 natural images 3 times over up to 40 sessions.
:func:`fetch_nsd` downloads what one subject's analysis needs from NSD's
public bucket, or reads a local copy. It builds a :class:`Dataset` with
the single-trial betas of the voxels in a mask, the trial and stimulus
tables, an ROI atlas, the noise ceiling SNR and stimulus embeddings. The
layout of the files and the options are documented in ``docs/nsd.md``.

The options are described in :mod:`jne.sources.nsd_options`.
"""

import logging
import time
from pathlib import Path

import numpy as np

from jne.dataset import Dataset
from jne.errors import ConfigError
from jne.log import log_duration, progress
from jne.sources import nsd_layout as layout
from jne.sources.nsd_atlas import (
    LabelFile,
    build_mask,
    combine_atlas,
    masked_atlas,
)
from jne.sources.nsd_design import build_stimuli, build_trials, read_design
from jne.sources.nsd_embeddings import (
    compute_embeddings,
    load_embeddings_file,
)
from jne.sources.nsd_files import NSDFiles
from jne.sources.nsd_options import resolve_options, resolve_sessions
from jne.sources.nsd_readers import (
    read_ctab,
    read_map,
    read_mapped_surface_labels,
    read_session_betas,
)

logger = logging.getLogger(__name__)


def fetch_nsd(subject, options, *, resources_dir, name):
    """Download and assemble one NSD subject's dataset.

    Parameters
    ----------
    subject : str or int
        NSD subject, e.g. ``"01"``, ``"subj01"`` or ``1``.
    options : dict
        The NSD source options, described in
        :mod:`jne.sources.nsd_options`.
    resources_dir : str or Path
        Folder for downloads. NSD files go to ``<resources_dir>/nsd/``
        with the bucket's layout, feature caches to
        ``<resources_dir>/nsd/features/``.
    name : str
        Dataset name.

    Returns
    -------
    Dataset
        Validated. ``betas`` in percent signal change, of shape
        (750 x n_sessions, n_voxels); ``extra["ncsnr"]`` of shape
        (n_voxels,).
    """
    options = resolve_options(options)
    number = layout.parse_subject(subject)
    sessions = resolve_sessions(options["sessions"], number)
    space = options["space"]
    kind = "surface" if space in layout.SURFACE_SPACES else "volume"
    files = NSDFiles(options, Path(resources_dir) / "nsd")
    step = f"Fetching NSD subject {number:02d} ({space}, "
    step += f"{len(sessions)} sessions)"

    with log_duration(logger, step), files.explain_damage():
        design_path = files.get(layout.EXPDESIGN)
        design = read_design(design_path)
        trials = build_trials(design, number, sessions, path=design_path)
        stimuli = build_stimuli(
            trials["nsd_id"], design, files.get(layout.STIM_INFO)
        )
        # Embeddings come before the betas, so that a wrong embeddings
        # file or model fails before hours of downloads.
        embeddings = _embeddings(options, stimuli, subject, files)

        label_files, grid = _read_label_files(options, number, kind, files)
        if options["atlas"]:
            combined, names = combine_atlas(
                [label_files[roi] for roi in options["atlas"]],
                options["merge_rois"],
            )
        else:
            combined, names = np.zeros(grid.size, np.int32), {}
        mask = build_mask(options["mask"], label_files, combined, names)
        atlas = masked_atlas(combined, names, mask)
        logger.info(
            "Mask %s keeps %d of %d voxels",
            "+".join(options["mask"]),
            int(mask.sum()),
            grid.size,
        )

        betas = _read_betas(options, number, sessions, grid, mask, files)
        ncsnr_paths = layout.ncsnr_paths(number, space, options["betas"])
        ncsnr, ncsnr_grid = read_map(
            [files.get(p) for p in ncsnr_paths], kind, np.float32
        )
        grid.check(ncsnr_grid, "ncsnr file")

    n_test = int((stimuli["split"] == "test").sum())
    dataset = Dataset(
        betas=betas,
        trials=trials.drop(columns="nsd_id"),
        stimuli=stimuli,
        embeddings=embeddings,
        space=grid.space(mask, mesh=space),
        atlas=atlas,
        name=name,
        subject=str(subject),
        simulated=False,
        description=(
            f"Natural Scenes Dataset (Allen et al., 2022), subject "
            f"{number:02d}: single-trial {options['betas']} betas in "
            f"{space}, sessions {_ranges(sessions)}, {int(mask.sum())} "
            f"voxels in {'+'.join(options['mask'])}. {len(stimuli)} "
            f"images, of which the {n_test} shown to all subjects form "
            "the test split."
        ),
        extra={"ncsnr": ncsnr[mask]},
    )
    dataset.validate()
    return dataset


def _read_label_files(options, number, kind, files):
    """Read every ROI file that the atlas or the mask names."""
    space = options["space"]
    needed = list(options["atlas"])
    for entry in options["mask"]:
        if entry in layout.ROI_FILES and entry not in needed:
            needed.append(entry)

    label_files = {}
    grid = None
    for roi in needed:
        paths = [files.get(p) for p in layout.roi_paths(number, space, roi)]
        if layout.roi_on_native_surface(space, roi):
            transforms = [
                files.get(p) for p in layout.fsaverage_transform_paths(number)
            ]
            labels, file_grid = read_mapped_surface_labels(paths, transforms)
        else:
            labels, file_grid = read_map(paths, kind, np.int32)
        if grid is None:
            grid = file_grid
        else:
            grid.check(file_grid, "ROI file")
        names = {}
        if roi in options["atlas"]:
            ctab = files.get(layout.ctab_path(number, space, roi))
            names = read_ctab(ctab)
            paths = paths + [ctab]
        label_files[roi] = LabelFile(
            name=roi, labels=labels, names=names, paths=tuple(paths)
        )
    return label_files, grid


def _read_betas(options, number, sessions, grid, mask, files):
    """Stack the masked betas of every session, in session order."""
    n_voxels = int(mask.sum())
    n_per_session = layout.TRIALS_PER_SESSION
    betas = np.empty((n_per_session * len(sessions), n_voxels), np.float32)
    logger.info(
        "Reading %d sessions of betas: %.2f GB in memory",
        len(sessions),
        betas.nbytes / 1e9,
    )
    for position, session in enumerate(progress(sessions, desc="sessions")):
        started = time.perf_counter()
        relative = layout.betas_paths(
            number, options["space"], options["betas"], session
        )
        paths = [files.get(p) for p in relative]
        rows = slice(position * n_per_session, (position + 1) * n_per_session)
        betas[rows] = read_session_betas(
            paths, grid, mask, options["chunk_trials"]
        )
        if not options["keep_betas"]:
            for path in paths:
                files.release(path)
        logger.info(
            "Read session %d (%d of %d): %d trials x %d voxels in %.1f s",
            session,
            position + 1,
            len(sessions),
            n_per_session,
            n_voxels,
            time.perf_counter() - started,
        )
    return betas


def _embeddings(options, stimuli, subject, files):
    settings = options["embeddings"]
    nsd_ids = stimuli["nsd_id"].to_numpy()
    if "file" in settings:
        return load_embeddings_file(settings, nsd_ids, str(subject))
    stimuli_path = settings.get("stimuli_file")
    if stimuli_path is None:
        logger.info(
            "Computing embeddings needs NSD's stimulus images "
            "(nsd_stimuli.hdf5, about 37 GiB) unless 'stimuli_file' or "
            "'nsd_dir' points at a copy."
        )
        stimuli_path = files.get(layout.STIMULI_HDF5)
    elif not Path(stimuli_path).is_file():
        raise ConfigError(
            f"Stimulus image file {stimuli_path} not found. Fix "
            "'stimuli_file' in the NSD option 'embeddings'."
        )
    return compute_embeddings(
        settings, nsd_ids, stimuli_path, files.cache_root / "features"
    )


def _ranges(numbers):
    """Format sorted integers as compact ranges, e.g. "1-3, 5"."""
    parts = []
    start = previous = numbers[0]
    for number in list(numbers[1:]) + [None]:
        if number is not None and number == previous + 1:
            previous = number
            continue
        parts.append(
            str(start) if start == previous else f"{start}-{previous}"
        )
        start = previous = number
    return ", ".join(parts)
