"""Build a tiny copy of NSD's file tree for tests.

The files have NSD's paths and formats (NIfTI, MGH/MGZ, MATLAB .mat, CSV,
ctab, HDF5). They follow NSD's trial structure: sessions of 750 trials in
12 runs, every image shown 3 times, and images shared by all subjects.
They have far fewer voxels, vertices and images: a 7 x 6 x 5 voxel
grid, 40 fsaverage vertices and 50 vertices of the subject's own surface
per hemisphere, 1,000 images per subject in a design of 4 sessions, and
7,300 images in all. The builder keeps every array it wrote, so tests
compare what the NSD source read with the truth.
"""

from dataclasses import dataclass, field
from pathlib import Path

import h5py
import nibabel as nib
import numpy as np
import pandas as pd
import scipy.io

from jne.sources import nsd_layout as layout

VOLUME_SHAPE = (7, 6, 5)
N_VERTICES = 40
N_NATIVE_VERTICES = 50
N_DESIGN_SESSIONS = 4
IMAGES_PER_SUBJECT = 1000
N_SHARED = 100
N_ALL_IMAGES = N_SHARED + 8 * (IMAGES_PER_SUBJECT - N_SHARED)

ROI_NAMES = {
    "prf-visualrois": ["V1v", "V1d", "V2v", "V2d", "V3v", "V3d", "hV4"],
    "floc-faces": ["OFA", "FFA-1", "FFA-2", "mTL-faces", "aTL-faces"],
    "floc-bodies": ["EBA", "FBA-1", "FBA-2", "mTL-bodies"],
    "floc-places": ["OPA", "PPA", "RSC"],
    "floc-words": ["OWFA", "VWFA-1", "VWFA-2", "mfs-words", "mTL-words"],
    "HCP_MMP1": ["L_V1_ROI", "L_MST_ROI", "L_V6_ROI", "L_V2_ROI", "L_V4_ROI"],
    "nsdgeneral": ["nsdgeneral"],
}


@dataclass
class TinyNSD:
    """The files of a tiny NSD tree and the arrays they contain.

    Attributes
    ----------
    root : Path
    subject : int
    sessions : list of int
        Sessions with betas files (the design covers 4).
    affine : array of shape (4, 4)
    masterordering, subjectim, sharedix : arrays
        As stored in the design file, 1-based.
    volume_betas : dict of int to array of int16 of shape (7, 6, 5, 750)
    surface_betas : dict of int to array of float32 of shape (80, 750)
        Left then right hemisphere vertices.
    volume_rois, surface_rois : dict of str to array of int
        Label maps (volume grid, or the 80 vertices).
    volume_ncsnr : array of float32 of shape (7, 6, 5)
    surface_ncsnr : array of float32 of shape (80,)
    """

    root: Path
    subject: int
    sessions: list
    affine: np.ndarray
    masterordering: np.ndarray
    subjectim: np.ndarray
    sharedix: np.ndarray
    volume_betas: dict = field(default_factory=dict)
    surface_betas: dict = field(default_factory=dict)
    volume_rois: dict = field(default_factory=dict)
    surface_rois: dict = field(default_factory=dict)
    volume_ncsnr: np.ndarray | None = None
    surface_ncsnr: np.ndarray | None = None

    def trial_nsd_ids(self, sessions):
        """Return the 0-based nsdId shown on each trial of ``sessions``."""
        ids = []
        for session in sessions:
            start = (session - 1) * layout.TRIALS_PER_SESSION
            index = self.masterordering[
                start : start + layout.TRIALS_PER_SESSION
            ]
            ids.append(self.subjectim[self.subject - 1, index - 1] - 1)
        return np.concatenate(ids)


def build_tiny_nsd(root, subject=1, sessions=(1, 2, 3), seed=0, images=False):
    """Write a tiny NSD tree under ``root`` and return its contents.

    Parameters
    ----------
    root : Path
    subject : int
        Subject whose betas, ROIs and ncsnr are written.
    sessions : tuple of int
        Sessions that get betas files; the design covers sessions 1-4.
    seed : int
    images : bool
        Also write ``nsd_stimuli.hdf5`` with 16 x 16 images.
    """
    rng = np.random.default_rng(seed)
    root = Path(root)
    affine = np.diag([1.8, 1.8, 1.8, 1.0])
    affine[:3, 3] = [-10.0, -20.0, 5.0]

    tree = TinyNSD(
        root=root,
        subject=subject,
        sessions=list(sessions),
        affine=affine,
        **_write_design(root, rng),
    )
    _write_stim_info(root, tree, rng)
    _write_volume_files(root, tree, rng)
    _write_surface_files(root, tree, rng)
    if images:
        _write_images(root, rng)
    return tree


def _write_design(root, rng):
    shared = rng.choice(N_ALL_IMAGES, N_SHARED, replace=False)
    others = np.setdiff1d(np.arange(N_ALL_IMAGES), shared)
    others = rng.permutation(others).reshape(8, -1)
    subjectim = np.stack(
        [rng.permutation(np.concatenate([shared, row])) for row in others]
    )
    masterordering = rng.permutation(
        np.repeat(np.arange(1, IMAGES_PER_SUBJECT + 1), 3)
    )
    arrays = {
        "masterordering": masterordering[np.newaxis, :],
        "subjectim": subjectim + 1,
        "sharedix": np.sort(shared)[np.newaxis, :] + 1,
        "basiccnt": np.zeros((3, N_DESIGN_SESSIONS)),
    }
    path = root / layout.EXPDESIGN
    path.parent.mkdir(parents=True, exist_ok=True)
    scipy.io.savemat(path, arrays)
    return {
        "masterordering": masterordering,
        "subjectim": subjectim + 1,
        "sharedix": np.sort(shared) + 1,
    }


def _write_stim_info(root, tree, rng):
    nsd_ids = np.arange(N_ALL_IMAGES)
    table = pd.DataFrame(
        {
            "cocoId": rng.integers(1, 600_000, N_ALL_IMAGES),
            "cocoSplit": rng.choice(["train2017", "val2017"], N_ALL_IMAGES),
            "cropBox": "(0, 0, 0.1, 0.1)",
            "nsdId": nsd_ids,
            "shared1000": np.isin(nsd_ids, tree.sharedix - 1),
        }
    )
    for number in range(1, 9):
        seen = np.isin(nsd_ids, tree.subjectim[number - 1] - 1)
        table[f"subject{number}"] = seen.astype(int)
    table.to_csv(root / layout.STIM_INFO)


def _signal(nsd_ids, n_voxels, rng):
    """Responses in percent signal change of shape (n_trials, n_voxels)."""
    tuning = rng.uniform(0.001, 0.01, n_voxels)
    signal = 2.0 * np.sin(np.outer(nsd_ids, tuning))
    return signal + rng.normal(0.0, 0.5, signal.shape)


def _labels(n, names, rng, outside=None):
    """Label about 30 % of ``n`` voxels; -1 marks voxels outside."""
    values = rng.integers(1, len(names) + 1, n)
    labels = np.where(rng.random(n) < 0.3, values, 0)
    if outside is not None:
        labels[outside] = -1
    return labels


def _write_ctab(root, owner, roi, names):
    lines = ["0 Unknown 0 0 0 0"]
    for index, name in enumerate(names, start=1):
        lines.append(f"{index} {name} {index} 0 0 0")
    path = root / f"nsddata/freesurfer/{owner}/label/{roi}.mgz.ctab"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


def _save(image, root, relative):
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(image, path)


def _write_volume_files(root, tree, rng):
    n_grid = int(np.prod(VOLUME_SHAPE))
    outside = rng.random(n_grid) < 0.2
    space = "func1pt8mm"
    version = "betas_fithrf_GLMdenoise_RR"
    owner = layout.subject_folder(tree.subject)

    for roi, names in ROI_NAMES.items():
        labels = _labels(n_grid, names, rng, outside)
        if roi == "nsdgeneral":
            labels = np.where(outside, -1, (rng.random(n_grid) < 0.5) * 1)
        volume = labels.reshape(VOLUME_SHAPE).astype(np.int16)
        tree.volume_rois[roi] = volume
        _write_ctab(root, owner, roi, names)
        (relative,) = layout.roi_paths(tree.subject, space, roi)
        _save(nib.Nifti1Image(volume, tree.affine), root, relative)

    for session in tree.sessions:
        psc = _signal(tree.trial_nsd_ids([session]), n_grid, rng)
        psc[:, outside] = 0.0
        stored = np.rint(psc * layout.BETA_INT16_SCALE).astype(np.int16)
        volume = stored.T.reshape(VOLUME_SHAPE + (len(stored),))
        tree.volume_betas[session] = volume
        (relative,) = layout.betas_paths(tree.subject, space, version, session)
        _save(nib.Nifti1Image(volume, tree.affine), root, relative)

    ncsnr = rng.uniform(0.0, 1.0, VOLUME_SHAPE).astype(np.float32)
    tree.volume_ncsnr = ncsnr
    (relative,) = layout.ncsnr_paths(tree.subject, space, version)
    _save(nib.Nifti1Image(ncsnr, tree.affine), root, relative)


def _mgh(values):
    values = np.asarray(values)
    shape = (values.shape[0], 1, 1) + values.shape[1:]
    return nib.MGHImage(values.reshape(shape), np.eye(4))


def _write_surface_files(root, tree, rng):
    space = "fsaverage"
    version = "betas_fithrf_GLMdenoise_RR"
    hemis = [hemi for hemi, _ in layout.HEMISPHERES]

    # Each fsaverage vertex corresponds to one vertex of the subject's
    # own surface (1-based indices, as in NSD's white-to-fsaverage.mgz).
    transforms = rng.integers(1, N_NATIVE_VERTICES + 1, (2, N_VERTICES))
    for hemi, relative, values in zip(
        hemis, layout.fsaverage_transform_paths(tree.subject), transforms
    ):
        _save(_mgh(values.astype(np.int32)), root, relative)

    for roi, names in ROI_NAMES.items():
        paths = layout.roi_paths(tree.subject, space, roi)
        if layout.roi_on_native_surface(space, roi):
            native = _labels(2 * N_NATIVE_VERTICES, names, rng)
            native = native.reshape(2, N_NATIVE_VERTICES)
            tree.surface_rois[roi] = np.concatenate(
                [native[0][transforms[0] - 1], native[1][transforms[1] - 1]]
            )
            for part, relative in zip(native, paths):
                _save(_mgh(part.astype(np.int32)), root, relative)
            continue
        labels = _labels(2 * N_VERTICES, names, rng)
        if roi == "nsdgeneral":
            labels = (rng.random(2 * N_VERTICES) < 0.5).astype(int)
        tree.surface_rois[roi] = labels
        _write_ctab(root, "fsaverage", roi, names)
        for hemi, relative in zip(hemis, paths):
            part = labels[:N_VERTICES] if hemi == "lh" else labels[N_VERTICES:]
            _save(_mgh(part.astype(np.int32)), root, relative)

    for session in tree.sessions:
        psc = _signal(tree.trial_nsd_ids([session]), 2 * N_VERTICES, rng)
        values = psc.T.astype(np.float32)
        tree.surface_betas[session] = values
        paths = layout.betas_paths(tree.subject, space, version, session)
        _save(_mgh(values[:N_VERTICES]), root, paths[0])
        _save(_mgh(values[N_VERTICES:]), root, paths[1])

    ncsnr = rng.uniform(0.0, 1.0, 2 * N_VERTICES).astype(np.float32)
    tree.surface_ncsnr = ncsnr
    paths = layout.ncsnr_paths(tree.subject, space, version)
    _save(_mgh(ncsnr[:N_VERTICES]), root, paths[0])
    _save(_mgh(ncsnr[N_VERTICES:]), root, paths[1])


def _write_images(root, rng):
    path = root / layout.STIMULI_HDF5
    path.parent.mkdir(parents=True, exist_ok=True)
    images = rng.integers(0, 256, (N_ALL_IMAGES, 16, 16, 3), dtype=np.uint8)
    with h5py.File(path, "w") as f:
        f.create_dataset(layout.STIMULI_DATASET, data=images)
