"""A small example dataset in the local source's file layout.

:func:`write_example_dataset` writes every file that the local source
reads, filled with random features and simulated responses, and returns
the options that read it back. The docs use it as a worked example and the
tests use it as a starting point for broken inputs. The responses are
simulated: a linear map of the first embedding layer, plus a tanh of it in
the ROI named ``"LO"``, plus noise.
"""

import logging
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd

from jne._atomic import atomic_path, write_table
from jne.errors import ConfigError

logger = logging.getLogger(__name__)

ROI_NAMES = {1: "V1", 2: "V4", 3: "LO"}
VOLUME_SHAPE = (12, 12, 10)
# 3 mm voxels; the origin puts the grid around the middle of MNI space.
VOLUME_AFFINE = np.array(
    [
        [3.0, 0.0, 0.0, -18.0],
        [0.0, 3.0, 0.0, -18.0],
        [0.0, 0.0, 3.0, -15.0],
        [0.0, 0.0, 0.0, 1.0],
    ]
)
SURFACE_MESH = "fsaverage5"
SURFACE_VERTICES = 10242
SURFACE_FORMATS = ("gifti", "mgh", "npy")


def _tables(n_stimuli, n_test, n_repeats_test, rng):
    ids = [f"stim{i:03d}" for i in range(n_stimuli)]
    categories = np.array(["faces", "places", "objects"])
    split = np.full(n_stimuli, "", dtype=object)
    split[:n_test] = "test"
    stimuli = pd.DataFrame(
        {
            "stimulus_id": ids,
            "category": categories[np.arange(n_stimuli) % 3],
            "split": split,
        }
    )
    repeats = np.where(np.arange(n_stimuli) < n_test, n_repeats_test, 1)
    trial_stimulus = rng.permutation(np.repeat(np.arange(n_stimuli), repeats))
    n_trials = len(trial_stimulus)
    run_index = np.repeat(np.arange(4), int(np.ceil(n_trials / 4)))
    run_index = run_index[:n_trials]
    trials = pd.DataFrame(
        {
            "stimulus_id": np.array(ids)[trial_stimulus],
            "session": run_index // 2 + 1,
            "run": run_index % 2 + 1,
        }
    )
    return stimuli, trials, trial_stimulus


def _responses(features, trial_stimulus, labels, rng):
    """Simulate betas of shape (n_trials, n_voxels) from features."""
    n_voxels = len(labels)
    weights = rng.standard_normal((features.shape[1], n_voxels))
    weights /= np.sqrt(features.shape[1])
    drive = features @ weights
    signal = np.where(labels == 3, np.tanh(2 * drive), drive)
    signal[:, labels == 0] = 0.0
    noise = rng.standard_normal((len(trial_stimulus), n_voxels))
    return (signal[trial_stimulus] + 0.7 * noise + 5.0).astype(np.float32)


def _labels_table(folder):
    path = folder / "labels.tsv"
    write_table(
        path,
        pd.DataFrame(
            {"index": list(ROI_NAMES), "name": list(ROI_NAMES.values())}
        ),
    )
    return path


def _volume_files(folder, features, trial_stimulus, rng):
    grid = np.indices(VOLUME_SHAPE).astype(float)
    centre = (np.array(VOLUME_SHAPE) - 1) / 2
    radius = np.sqrt(
        sum(((grid[a] - centre[a]) / (centre[a] + 0.5)) ** 2 for a in range(3))
    )
    mask = radius < 1.0
    atlas = np.zeros(VOLUME_SHAPE, dtype=np.int16)
    # Three slabs along the y axis, inside the mask, as ROIs.
    y = grid[1]
    atlas[mask & (y < 4)] = 1
    atlas[mask & (y >= 4) & (y < 7)] = 2
    atlas[mask & (y >= 8)] = 3

    betas = _responses(features, trial_stimulus, atlas[mask], rng)
    volume = np.zeros(VOLUME_SHAPE + (len(trial_stimulus),), dtype=np.float32)
    volume[mask] = betas.T

    paths = {}
    for key, data, file_name in (
        ("responses", volume, "betas.nii.gz"),
        ("mask", mask.astype(np.uint8), "brainmask.nii.gz"),
        ("atlas", atlas, "atlas.nii.gz"),
    ):
        paths[key] = folder / file_name
        with atomic_path(paths[key]) as tmp:
            nib.save(nib.Nifti1Image(data, VOLUME_AFFINE), tmp)
    return {key: str(path) for key, path in paths.items()}


def _surface_files(folder, features, trial_stimulus, rng, surface_format):
    n = SURFACE_VERTICES
    labels = {}
    for hemisphere in ("L", "R"):
        hemisphere_labels = np.zeros(n, dtype=np.int32)
        # Three runs of consecutive vertex indices as ROIs. They are not
        # contiguous patches on the mesh.
        hemisphere_labels[100:160] = 1
        hemisphere_labels[400:450] = 2
        hemisphere_labels[900:940] = 3
        labels[hemisphere] = hemisphere_labels

    if surface_format == "npy":
        # Only the ROI vertices, listed in a vertex table.
        rows = [(h, v) for h in ("L", "R") for v in np.flatnonzero(labels[h])]
        vertex_table = pd.DataFrame(rows, columns=["hemisphere", "vertex"])
        column_labels = np.array([labels[h][v] for h, v in rows])
        betas = _responses(features, trial_stimulus, column_labels, rng)
        options = {
            "responses": str(folder / "betas.npy"),
            "vertices": str(folder / "vertices.tsv"),
            "atlas": str(folder / "atlas.npy"),
        }
        with atomic_path(folder / "betas.npy") as tmp:
            np.save(tmp, betas)
        with atomic_path(folder / "atlas.npy") as tmp:
            np.save(tmp, column_labels)
        write_table(folder / "vertices.tsv", vertex_table)
        return options

    options = {"responses": {}, "atlas": {}}
    suffix = ".func.gii" if surface_format == "gifti" else ".mgz"
    for hemisphere in ("L", "R"):
        betas = _responses(features, trial_stimulus, labels[hemisphere], rng)
        path = folder / f"hemi-{hemisphere}_betas{suffix}"
        with atomic_path(path) as tmp:
            if surface_format == "gifti":
                image = nib.gifti.GiftiImage(
                    darrays=[nib.gifti.GiftiDataArray(row) for row in betas]
                )
            else:
                image = nib.MGHImage(
                    betas.T[:, np.newaxis, np.newaxis, :], np.eye(4)
                )
            nib.save(image, tmp)
        atlas_path = folder / f"hemi-{hemisphere}_atlas.npy"
        with atomic_path(atlas_path) as tmp:
            np.save(tmp, labels[hemisphere])
        options["responses"][hemisphere] = str(path)
        options["atlas"][hemisphere] = str(atlas_path)
    return options


def write_example_dataset(
    folder,
    *,
    kind="volume",
    surface_format="npy",
    n_stimuli=60,
    n_test=12,
    n_repeats_test=3,
    n_layers=2,
    n_features=16,
    seed=0,
):
    """Write a small dataset in the local source's layout.

    Parameters
    ----------
    folder : str or Path
        Created if missing. Files: ``trials.tsv``, ``stimuli.tsv``,
        ``embeddings.npy``, ``labels.tsv`` and the responses, mask and
        atlas files of ``kind``.
    kind : {"volume", "surface"}
        ``"volume"``: 4D NIfTI betas on a 12 x 12 x 10 grid of 3 mm voxels
        with a brain mask and a label NIfTI. ``"surface"``: fsaverage5
        surface data in ``surface_format``.
    surface_format : {"npy", "gifti", "mgh"}
        ``"npy"`` writes one (n_trials, n_vertices) array of the ROI
        vertices of both hemispheres, with a ``vertices.tsv`` table.
        ``"gifti"`` and ``"mgh"`` write whole hemispheres, one file each.
    n_stimuli, n_test, n_repeats_test : int
        Test stimuli are shown ``n_repeats_test`` times, the others once.
        Only test stimuli are marked in the ``split`` column; the other
        cells are empty, so the prepare step assigns them.
    n_layers, n_features : int
        Shape of the random embeddings.
    seed : int

    Returns
    -------
    dict
        Options for ``fetch_dataset("local", ...)`` that read the files.
    """
    if kind not in ("volume", "surface"):
        raise ConfigError(f"Invalid kind {kind!r}: use 'volume' or 'surface'.")
    if surface_format not in SURFACE_FORMATS:
        raise ConfigError(
            f"Invalid surface_format {surface_format!r}: use one of "
            f"{', '.join(SURFACE_FORMATS)}."
        )
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)

    stimuli, trials, trial_stimulus = _tables(
        n_stimuli, n_test, n_repeats_test, rng
    )
    embeddings = rng.standard_normal((n_stimuli, n_layers, n_features))
    embeddings = embeddings.astype(np.float32)
    write_table(folder / "stimuli.tsv", stimuli)
    write_table(folder / "trials.tsv", trials)
    with atomic_path(folder / "embeddings.npy") as tmp:
        np.save(tmp, embeddings)

    if kind == "volume":
        options = _volume_files(folder, embeddings[:, 0], trial_stimulus, rng)
    else:
        options = _surface_files(
            folder, embeddings[:, 0], trial_stimulus, rng, surface_format
        )
        options["mesh"] = SURFACE_MESH
    options.update(
        trials=str(folder / "trials.tsv"),
        stimuli=str(folder / "stimuli.tsv"),
        embeddings=str(folder / "embeddings.npy"),
        atlas_labels=str(_labels_table(folder)),
        description="Example dataset with simulated responses.",
        simulated=True,
    )
    logger.info(
        "Wrote an example %s dataset (%d trials, %d stimuli) to %s",
        kind,
        len(trials),
        n_stimuli,
        folder,
    )
    return options
