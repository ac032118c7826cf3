"""Response of JNE to input scale, input distribution and output gain.

Three properties are checked:

- Output gain: JNE(a J) = |a| JNE(J) for any real ``a``, because every
  step of JNE (mean, L1 norm, standard deviation) is absolutely
  homogeneous. JNE is not normalised: a voxel with twice the response gain
  has twice the JNE.
- Exact input-scale invariance of bias-free ReLU networks: such a network
  is positively homogeneous, ``f(a x) = a f(x)`` for ``a > 0``, so its
  Jacobian at ``a x`` equals the Jacobian at ``x`` and JNE does not change.
  The same is true for leaky ReLU. Biases break it.
- Input scale and distribution in general: the residual networks of
  :mod:`jne.simulation.network` evaluated on uniform inputs of growing
  range and on normal inputs, compared with ``U[-10, 10]``.
"""

import logging

import numpy as np
import pandas as pd
import torch

from jne.errors import ConfigError
from jne.log import progress
from jne.simulation._engine import jne_of_jacobians, jne_of_model
from jne.simulation.network import PLACEMENTS, init_network, uniform_inputs

logger = logging.getLogger(__name__)

GAINS = (-1000.0, -3.0, -0.5, 0.0, 0.5, 2.0, 1000.0)
SCALES = (1e-3, 0.1, 10.0, 1000.0)

# (name, distribution, parameter): uniform on [-p, p] or normal with
# standard deviation p. 10 / sqrt(3) matches the variance of U[-10, 10].
INPUT_SETTINGS = (
    ("uniform_10", "uniform", 10.0),
    ("uniform_100", "uniform", 100.0),
    ("uniform_1000", "uniform", 1000.0),
    ("uniform_10000", "uniform", 10000.0),
    ("normal_1", "normal", 1.0),
    ("normal_5.77", "normal", 10.0 / np.sqrt(3.0)),
    ("normal_100", "normal", 100.0),
)
BASELINE_SETTING = "uniform_10"


def input_std(distribution, parameter):
    """Return the standard deviation of one input coordinate.

    ``U[-p, p]`` has standard deviation ``p / sqrt(3)``, ``N(0, p**2)``
    has ``p``.
    """
    if distribution == "uniform":
        return parameter / np.sqrt(3.0)
    return parameter


def gain_scaling(gains=GAINS, shape=(200, 4, 64), seed=0):
    """Compare JNE(a J) with |a| JNE(J) on random Jacobians.

    Parameters
    ----------
    gains : sequence of float, default=GAINS
    shape : tuple of int, default=(200, 4, 64)
        (n_stimuli, n_voxels, n_features) of the random Jacobians.
    seed : int, default=0

    Returns
    -------
    pandas.DataFrame
        Columns ``gain`` and ``relative_error``: the maximum over voxels
        of ``|JNE(a J) - |a| JNE(J)| / (|a| JNE(J))``, or the absolute
        value of JNE(a J) when ``a = 0``.
    """
    generator = torch.Generator().manual_seed(seed)
    jacobians = torch.randn(*shape, generator=generator, dtype=torch.float64)
    reference, _ = jne_of_jacobians(jacobians)
    rows = []
    for gain in gains:
        scaled, _ = jne_of_jacobians(gain * jacobians)
        expected = abs(gain) * reference
        error = (scaled - expected).abs()
        if gain != 0:
            error = error / expected
        rows.append((gain, float(error.max())))
    return pd.DataFrame(rows, columns=["gain", "relative_error"])


def input_scaling(
    activations=("relu", "leaky_relu"),
    scales=SCALES,
    n_init=3,
    n_stimuli=1000,
    width=768,
    seed=0,
):
    """Measure how JNE of residual networks changes when inputs are scaled.

    Networks have the activation in both slots, float64 weights and inputs
    in ``U[-10, 10]``, which are multiplied by each scale. Each
    initialisation draws one network without biases and one with biases
    drawn like ``nn.Linear``'s.

    Returns
    -------
    pandas.DataFrame
        Columns ``activation``, ``bias``, ``scale``, ``init`` and
        ``relative_change``, which is ``JNE(a x) / JNE(x) - 1``.
    """
    generator = torch.Generator().manual_seed(seed)
    rows = []
    for init in range(n_init):
        for bias in (False, True):
            network = init_network(
                generator, width, bias=bias, dtype=torch.float64
            )
            inputs = uniform_inputs(
                generator, n_stimuli, width, 10.0, torch.float64
            )
            for activation in activations:
                model = network.model(activation, "both")
                reference = float(jne_of_model(model, inputs)[0][0])
                for scale in scales:
                    value = float(jne_of_model(model, scale * inputs)[0][0])
                    change = value / reference - 1.0
                    rows.append((activation, bias, scale, init, change))
    logger.info(
        "input scaling: %s, scales %s, %d initialisations",
        list(activations),
        list(scales),
        n_init,
    )
    columns = ["activation", "bias", "scale", "init", "relative_change"]
    return pd.DataFrame(rows, columns=columns)


def input_distribution(
    activations,
    settings=INPUT_SETTINGS,
    placements=PLACEMENTS[1:],
    n_init=10,
    n_stimuli=1000,
    width=768,
    seed=0,
):
    """Compute network JNE under several input distributions and scales.

    Every initialisation draws one network and one standard uniform and
    one standard normal input matrix, shared by all settings. Settings of
    the same distribution differ only by a scale factor, so their
    comparison is free of sampling noise: for bias-free ReLU networks it
    is exactly 0.

    Parameters
    ----------
    activations : sequence of str
    settings : sequence of (name, distribution, parameter)
        Defaults to :data:`INPUT_SETTINGS`. Must contain
        :data:`BASELINE_SETTING`.
    placements : sequence of str, default=("shallow", "deep", "both")
    n_init : int, default=10
    n_stimuli : int, default=1000
    width : int, default=768
    seed : int, default=0

    Returns
    -------
    pandas.DataFrame
        Columns ``setting``, ``input_std`` (standard deviation of one
        input coordinate), ``activation``, ``placement``, ``init`` and
        ``jne``.
    """
    generator = torch.Generator().manual_seed(seed)
    rows = []
    for init in progress(range(n_init), desc="input settings", unit="init"):
        network = init_network(generator, width)
        standard = {
            "uniform": uniform_inputs(
                generator, n_stimuli, width, 1.0, torch.float32
            ),
            "normal": torch.randn(n_stimuli, width, generator=generator),
        }
        for name, distribution, parameter in settings:
            inputs = parameter * standard[distribution]
            for activation in activations:
                for placement in placements:
                    model = network.model(activation, placement)
                    value = float(jne_of_model(model, inputs)[0][0])
                    rows.append(
                        (
                            name,
                            input_std(distribution, parameter),
                            activation,
                            placement,
                            init,
                            value,
                        )
                    )
    logger.info(
        "input distribution: %d settings x %d activations x %d "
        "placements, %d initialisations",
        len(settings),
        len(activations),
        len(placements),
        n_init,
    )
    columns = [
        "setting",
        "input_std",
        "activation",
        "placement",
        "init",
        "jne",
    ]
    return pd.DataFrame(rows, columns=columns)


def distribution_summary(results, baseline=BASELINE_SETTING):
    """Compare mean JNE per setting with the baseline setting.

    Returns
    -------
    pandas.DataFrame
        Columns ``activation``, ``placement``, ``setting``, ``input_std``,
        ``mean_jne`` and ``relative_change`` (mean JNE / baseline mean JNE
        - 1).
    """
    keys = ["activation", "placement", "setting", "input_std"]
    means = (
        results.groupby(keys, sort=False)["jne"]
        .mean()
        .rename("mean_jne")
        .reset_index()
    )
    is_baseline = means["setting"] == baseline
    if not is_baseline.any():
        raise ConfigError(
            f"Baseline input setting {baseline!r} is missing from the "
            f"results, which have {sorted(means['setting'].unique())}: "
            "include it in the settings."
        )
    base = means[is_baseline].set_index(["activation", "placement"])
    pairs = pd.MultiIndex.from_frame(means[["activation", "placement"]])
    base_jne = base["mean_jne"].reindex(pairs).to_numpy()
    means["relative_change"] = means["mean_jne"].to_numpy() / base_jne - 1.0
    return means
