"""File paths and trial layout of the Natural Scenes Dataset (NSD).

Paths are relative to the root of NSD's public bucket (or of a local copy
with the same layout), as described in the NSD Data Manual
(https://cvnlab.slite.page, pages "Functional data (NSD)", "ROIs",
"Experiments" and "Behavioral data"). Subjects are numbered 1 to 8 and
appear in paths as ``subj01`` to ``subj08``.
"""

import numpy as np

from jne.errors import ConfigError

DEFAULT_BASE_URL = "https://natural-scenes-dataset.s3.amazonaws.com"

# Core NSD scan sessions completed by each subject (NSD Data Manual,
# "Technical notes").
SESSIONS_PER_SUBJECT = {1: 40, 2: 40, 3: 32, 4: 30, 5: 40, 6: 32, 7: 40, 8: 30}

TRIALS_PER_SESSION = 750

# Images in NSD's stimulus set; nsdIds run from 0 to 72,999.
N_IMAGES = 73_000

# Each session has 12 runs: odd runs contain 63 stimulus trials and even
# runs 62 (NSD Data Manual, "Behavioral data"), 750 trials in all.
RUN_LENGTHS = (63, 62) * 6

# The int16 beta files store percent signal change multiplied by 300.
BETA_INT16_SCALE = 300.0

VOLUME_SPACES = ("func1pt8mm", "func1mm")
SURFACE_SPACES = ("fsaverage",)
SPACES = VOLUME_SPACES + SURFACE_SPACES

BETA_VERSIONS = (
    "betas_assumehrf",
    "betas_fithrf",
    "betas_fithrf_GLMdenoise_RR",
)

HEMISPHERES = (("lh", "L"), ("rh", "R"))

# ROI label files of NSD (NSD Data Manual, "ROIs"). Names in the ``mask``
# option that are not in this list are read as ROI names.
ROI_FILES = (
    "nsdgeneral",
    "prf-visualrois",
    "prf-eccrois",
    "floc-faces",
    "floc-bodies",
    "floc-places",
    "floc-words",
    "HCP_MMP1",
    "Kastner2015",
    "streams",
    "corticalsulc",
)

# Atlases defined on fsaverage, which NSD stores in fsaverage's label
# folder. The other ROI files were drawn on each subject's own cortical
# surface and exist on fsaverage only after mapping.
FSAVERAGE_ROI_FILES = (
    "nsdgeneral",
    "HCP_MMP1",
    "Kastner2015",
    "streams",
    "corticalsulc",
)

EXPDESIGN = "nsddata/experiments/nsd/nsd_expdesign.mat"
STIM_INFO = "nsddata/experiments/nsd/nsd_stim_info_merged.csv"
STIMULI_HDF5 = "nsddata_stimuli/stimuli/nsd/nsd_stimuli.hdf5"
STIMULI_DATASET = "imgBrick"


def parse_subject(subject):
    """Return the NSD subject number (1-8) of "1", "01", "subj01" or 1."""
    text = str(subject).strip().lower()
    for prefix in ("subj", "sub-", "sub"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
            break
    if not text.isdigit() or int(text) not in SESSIONS_PER_SUBJECT:
        raise ConfigError(
            f"Invalid NSD subject {subject!r}: use a number from 1 to 8, "
            "e.g. '01'."
        )
    return int(text)


def subject_folder(subject_number):
    return f"subj{subject_number:02d}"


def betas_paths(subject_number, space, version, session):
    """Return the bucket paths of one session's betas.

    One NIfTI file of shape (X, Y, Z, 750) for volume spaces, or one MGH
    file per hemisphere (left first) of shape (163842, 1, 1, 750) for
    fsaverage.
    """
    folder = (
        f"nsddata_betas/ppdata/{subject_folder(subject_number)}/"
        f"{space}/{version}"
    )
    if space in SURFACE_SPACES:
        return [
            f"{folder}/{hemi}.betas_session{session:02d}.mgh"
            for hemi, _ in HEMISPHERES
        ]
    return [f"{folder}/betas_session{session:02d}.nii.gz"]


def ncsnr_paths(subject_number, space, version):
    """Return the bucket paths of the noise ceiling SNR map(s)."""
    folder = (
        f"nsddata_betas/ppdata/{subject_folder(subject_number)}/"
        f"{space}/{version}"
    )
    if space in SURFACE_SPACES:
        return [f"{folder}/{hemi}.ncsnr.mgh" for hemi, _ in HEMISPHERES]
    return [f"{folder}/ncsnr.nii.gz"]


def roi_paths(subject_number, space, roi_file):
    """Return the bucket paths of an ROI label file.

    Volume spaces have one NIfTI per subject. On fsaverage, atlases of
    ``FSAVERAGE_ROI_FILES`` are one ``.mgz`` per hemisphere shared by all
    subjects. The other ROI files are the subject's own surface labels
    (see :func:`roi_on_native_surface`).
    """
    if space not in SURFACE_SPACES:
        return [
            f"nsddata/ppdata/{subject_folder(subject_number)}/{space}/roi/"
            f"{roi_file}.nii.gz"
        ]
    owner = "fsaverage"
    if roi_on_native_surface(space, roi_file):
        owner = subject_folder(subject_number)
    return [
        f"nsddata/freesurfer/{owner}/label/{hemi}.{roi_file}.mgz"
        for hemi, _ in HEMISPHERES
    ]


def roi_on_native_surface(space, roi_file):
    """Return True if the surface ROI file must be mapped to fsaverage."""
    return space in SURFACE_SPACES and roi_file not in FSAVERAGE_ROI_FILES


def fsaverage_transform_paths(subject_number):
    """Return the bucket paths of the subject's white-to-fsaverage maps.

    Each is an MGZ file with one value per fsaverage vertex: the 1-based
    index of the subject's white-surface vertex that corresponds to it
    (the nearest-neighbour map that NSD's ``nsdcode`` uses).
    """
    folder = f"nsddata/ppdata/{subject_folder(subject_number)}/transforms"
    return [
        f"{folder}/{hemi}.white-to-fsaverage.mgz" for hemi, _ in HEMISPHERES
    ]


def ctab_path(subject_number, space, roi_file):
    """Return the bucket path of the label names of an ROI file."""
    owner = subject_folder(subject_number)
    if space in SURFACE_SPACES and roi_file in FSAVERAGE_ROI_FILES:
        owner = "fsaverage"
    return f"nsddata/freesurfer/{owner}/label/{roi_file}.mgz.ctab"


def session_runs():
    """Return the run (1-12) and trial in run (1-63) of a session's trials.

    Returns
    -------
    run, trial : arrays of int of shape (750,)
    """
    run = np.concatenate(
        [np.full(n, i + 1) for i, n in enumerate(RUN_LENGTHS)]
    )
    trial = np.concatenate([np.arange(1, n + 1) for n in RUN_LENGTHS])
    return run, trial
