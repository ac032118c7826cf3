"""NSD's experimental design: which image each trial showed.

``nsd_expdesign.mat`` contains, with 1-based MATLAB indices:

- ``masterordering``: for each of the 30,000 trials (40 sessions of 750),
  the index into the subject's list of 10,000 images;
- ``subjectim``: array of shape (8, 10000), the 73k image id (``nsdId + 1``)
  of each subject's images;
- ``sharedix``: the 73k ids of the 1,000 images shown to every subject.

``nsd_stim_info_merged.csv`` has one row per 73k image, with ``nsdId``
(0-based), ``cocoId`` and ``cocoSplit`` among its columns.
"""

import logging
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.io

from jne.errors import DataError
from jne.sources.nsd_files import DamagedFileError
from jne.sources.nsd_layout import TRIALS_PER_SESSION, session_runs

logger = logging.getLogger(__name__)

DESIGN_KEYS = ("masterordering", "subjectim", "sharedix")

# Exceptions that scipy.io.loadmat raises for a file that is not an intact
# MATLAB file, checked with scipy 1.17. An empty file gives MatReadError
# and an HTML page IndexError. A cut or corrupt file gives OSError or
# zlib.error, an unknown header ValueError and damaged contents
# TypeError. A MATLAB 7.3 (HDF5) file gives NotImplementedError.
MAT_READ_ERRORS = (
    scipy.io.matlab.MatReadError,
    OSError,
    EOFError,
    zlib.error,
    ValueError,
    TypeError,
    IndexError,
    NotImplementedError,
)

# Exceptions that pandas.read_csv raises for a file that is not UTF-8 CSV.
CSV_READ_ERRORS = (
    UnicodeDecodeError,
    pd.errors.ParserError,
    pd.errors.EmptyDataError,
)


@dataclass
class Design:
    """NSD's design with 0-based indices.

    Attributes
    ----------
    masterordering : array of int of shape (n_design_trials,)
        Index into a subject's image list for each trial.
    subjectim : array of int of shape (8, n_subject_images)
        nsdId of each subject's images.
    sharedix : array of int of shape (n_shared,)
        nsdIds of the images shown to every subject.
    path : Path or None
        File the design was read from, for error messages.
    """

    masterordering: np.ndarray
    subjectim: np.ndarray
    sharedix: np.ndarray
    path: Path | None = None


def read_design(path):
    """Read ``nsd_expdesign.mat`` and convert its indices to 0-based."""
    try:
        content = scipy.io.loadmat(path)
    except MAT_READ_ERRORS as error:
        raise DamagedFileError(
            f"Failed to read the NSD design file {path} with "
            f"scipy.io.loadmat ({type(error).__name__}: {error}).",
            [path],
        ) from error
    missing = [key for key in DESIGN_KEYS if key not in content]
    if missing:
        raise DamagedFileError(
            f"The NSD design file {path} lacks {', '.join(missing)}.",
            [path],
        )
    return Design(
        masterordering=np.asarray(content["masterordering"]).ravel() - 1,
        subjectim=np.atleast_2d(content["subjectim"]) - 1,
        sharedix=np.asarray(content["sharedix"]).ravel() - 1,
        path=Path(path),
    )


def build_trials(design, subject_number, sessions, path="design"):
    """Return the trial table of the given sessions, in presentation order.

    Parameters
    ----------
    design : Design
    subject_number : int
        NSD subject, 1 to 8.
    sessions : list of int
        1-based session numbers, in the order their betas are stacked.
    path : str
        Design file name, for error messages.

    Returns
    -------
    DataFrame
        One row per trial: ``stimulus_id`` (the nsdId as a string),
        ``nsd_id`` (int), ``session``, ``run`` (1-12) and ``trial``
        (position in its run, from 1).
    """
    n_design = len(design.masterordering)
    if subject_number > design.subjectim.shape[0]:
        raise DataError(
            f"{path} lists images of {design.subjectim.shape[0]} subjects, "
            f"so subject {subject_number} is missing from it."
        )
    run, trial = session_runs()
    tables = []
    for session in sessions:
        stop = session * TRIALS_PER_SESSION
        if stop > n_design:
            raise DataError(
                f"{path} covers {n_design // TRIALS_PER_SESSION} sessions, "
                f"so session {session} is not in it. Choose sessions from "
                "1 to that number."
            )
        index = design.masterordering[stop - TRIALS_PER_SESSION : stop]
        nsd_id = design.subjectim[subject_number - 1, index]
        tables.append(
            pd.DataFrame(
                {
                    "stimulus_id": nsd_id.astype(str),
                    "nsd_id": nsd_id.astype(np.int64),
                    "session": np.full(TRIALS_PER_SESSION, session),
                    "run": run,
                    "trial": trial,
                }
            )
        )
    return pd.concat(tables, ignore_index=True)


def build_stimuli(nsd_ids, design, stim_info_path):
    """Return the stimulus table of the given images, sorted by nsdId.

    The images shown to every subject (``sharedix``) get ``split="test"``.
    The split of the others is left missing so that the prepare step
    divides them into training and validation images. No ``category``
    column is made: COCO categories are not in the NSD tables read here.

    Returns
    -------
    DataFrame
        ``stimulus_id`` (nsdId as a string), ``nsd_id``, ``coco_id`` and
        ``coco_split`` (when the CSV has them) and ``split``.
    """
    nsd_ids = np.unique(np.asarray(nsd_ids, dtype=np.int64))
    try:
        info = pd.read_csv(stim_info_path)
    except CSV_READ_ERRORS as error:
        raise DamagedFileError(
            f"Failed to read the NSD stimulus table {stim_info_path} as "
            f"UTF-8 CSV ({type(error).__name__}: {error}).",
            [stim_info_path],
        ) from error
    if "nsdId" not in info:
        raise DamagedFileError(
            f"{stim_info_path} has no 'nsdId' column, so it is not NSD's "
            "stimulus information file.",
            [stim_info_path],
        )
    info = info.set_index("nsdId")
    absent = np.setdiff1d(nsd_ids, info.index.to_numpy())
    if len(absent):
        paths = [stim_info_path]
        if design.path is not None:
            paths.append(design.path)
        raise DamagedFileError(
            f"{len(absent)} images of the design are missing from "
            f"{stim_info_path}, e.g. nsdId {absent[0]}, so it and the "
            "design file do not belong together.",
            paths,
        )

    stimuli = pd.DataFrame(
        {"stimulus_id": nsd_ids.astype(str), "nsd_id": nsd_ids}
    )
    for column, name in (("cocoId", "coco_id"), ("cocoSplit", "coco_split")):
        if column in info:
            stimuli[name] = info.loc[nsd_ids, column].to_numpy()
    shared = np.isin(nsd_ids, design.sharedix)
    stimuli["split"] = pd.Series(
        np.where(shared, "test", None), dtype="object"
    )
    logger.info(
        "Stimulus table: %d images, %d of them shared by all subjects "
        "(split='test')",
        len(stimuli),
        int(shared.sum()),
    )
    return stimuli
