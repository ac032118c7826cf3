"""Options of the demo source: size presets, defaults and validation.

Every option is documented in ``docs/inputs.md``.
"""

from jne.errors import ConfigError
from jne.sources.demo_features import LAYERS
from jne.sources.demo_surface import ROI_ORDER

# Mean nonlinear weight per ROI: the fraction of signal variance that is
# not linear in the latent features. Voxels draw their weight from a Beta
# distribution with this mean. ROIs missing here use 0.5.
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
    "n_latent": 6,
    "n_hidden": 12,
    "hidden_scale": 1.5,
    "nonlinear_weight": {},
    "nonlinear_weight_concentration": 20.0,
    "category_rois": {
        "FFC": "people",
        "PHA1": "outdoor",
        "PHA2": "outdoor",
        "PHA3": "outdoor",
    },
    "ncsnr_median": 0.55,
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
# Smallest valid value of the count options.
MINIMUM = {
    "n_stimuli": 1,
    "n_test": 1,
    "n_val": 0,
    "n_repeats_test": 1,
    "n_sessions": 1,
    "n_runs": 1,
    "n_latent": 1,
    "n_hidden": 1,
}
# Preset keys are valid options too.
OPTION_NAMES = set(DEFAULTS) | set(SIZES["default"])


def resolve_options(options):
    """Merge ``options`` over the size preset and the defaults.

    Raises
    ------
    ConfigError
        If an option name, the size or the truth layer is invalid.
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
    if resolved["truth_layer"] not in LAYERS:
        raise ConfigError(
            f"Invalid demo option truth_layer={resolved['truth_layer']!r}: "
            f"use one of {', '.join(LAYERS)}."
        )
    for key, minimum in MINIMUM.items():
        if int(resolved[key]) < minimum:
            raise ConfigError(
                f"The demo option {key} must be at least {minimum}, got "
                f"{resolved[key]!r}."
            )
    return resolved
