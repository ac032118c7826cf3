"""Pass/fail checks of the simulation suite, built from experiment results.

Each function turns one experiment's results into :class:`Check` rows of
``summary.tsv``. Thresholds are stated next to each check with the reason
for their size.
"""

from dataclasses import dataclass

import numpy as np

from jne.simulation.invariance import BASELINE_SETTING

# Activations for which the placement ordering none < shallow < deep <
# both is checked: the four that Gao et al. (NeurIPS 2025) put in their
# networks. tanh saturates at inputs in U[-10, 10], and the ordering fails
# for it in this construction (see jne.simulation.network), so tanh gets
# only the check that every nonlinear placement has JNE above the linear
# network.
ORDERED_ACTIVATIONS = ("relu", "leaky_relu", "gelu", "silu")

# Computed in float64, where identities such as JNE(a J) = |a| JNE(J) hold
# to about 1e-16 relative.
FLOAT64_TOLERANCE = 1e-12


@dataclass(frozen=True)
class Check:
    """One row of the summary table.

    Attributes
    ----------
    name : str
        Dotted identifier, experiment first.
    statistic : str
        What ``value`` is, in words.
    value : float
    threshold : float
    comparison : {"<=", ">="}
        ``value`` passes when ``value <comparison> threshold``.
    """

    name: str
    statistic: str
    value: float
    threshold: float
    comparison: str

    @property
    def passed(self):
        """Whether ``value`` meets the threshold (False for NaN)."""
        if self.comparison == "<=":
            return bool(self.value <= self.threshold)
        return bool(self.value >= self.threshold)

    def row(self):
        """Return the summary row as a dict."""
        return {
            "name": self.name,
            "statistic": self.statistic,
            "value": self.value,
            "threshold": f"{self.comparison} {self.threshold:g}",
            "passed": self.passed,
        }


def single_unit_checks(results):
    """Build checks from a list of ``SingleUnitResult``."""
    checks = []
    for result in results:
        prefix = f"single_unit.{result.activation}"
        if result.linear_piece is None:
            checks.append(
                Check(
                    f"{prefix}.correlation",
                    "Pearson r of window JNE with |phi''| delta / sqrt(12)",
                    result.correlation(),
                    0.99,
                    ">=",
                )
            )
            checks.append(
                Check(
                    f"{prefix}.error_bound",
                    "max over windows of |JNE - |phi''| delta / sqrt(12)| "
                    "divided by its Taylor bound",
                    result.bound_ratio(),
                    1.0,
                    "<=",
                )
            )
        else:
            checks.append(
                Check(
                    f"{prefix}.linear_pieces",
                    "max JNE over windows that do not contain the kink",
                    result.linear_piece_max(),
                    FLOAT64_TOLERANCE,
                    "<=",
                )
            )
            checks.append(
                Check(
                    f"{prefix}.kink_formula",
                    "max |JNE - (1 - s)|1 - 2p| sqrt(p(1 - p))| over windows",
                    result.max_error(),
                    FLOAT64_TOLERANCE,
                    "<=",
                )
            )
    return checks


def network_checks(summary):
    """Build checks from :func:`jne.simulation.network.ordering_summary`.

    The ordering threshold of 0.95 allows a few initialisations out of 200
    to break the ordering. With fewer than 20 initialisations it requires
    all of them to be ordered.
    """
    checks = [
        Check(
            "network.linear_zero",
            "max over initialisations of JNE(none) / JNE(shallow), float32",
            float(summary["max_none_ratio"].max()),
            1e-6,
            "<=",
        )
    ]
    for row in summary.itertuples():
        if row.activation in ORDERED_ACTIVATIONS:
            checks.append(
                Check(
                    f"network.{row.activation}.ordered",
                    "fraction of initialisations with "
                    "none < shallow < deep < both",
                    row.ordered,
                    0.95,
                    ">=",
                )
            )
        checks.append(
            Check(
                f"network.{row.activation}.above_linear",
                "fraction of initialisations where shallow, deep and both "
                "all exceed none",
                row.above_linear,
                1.0,
                ">=",
            )
        )
    return checks


def sample_size_checks(correlations):
    """Build the check that ``phi = sin`` reaches r >= 0.99 from N = 100."""
    sin_unit = correlations[
        (correlations["family"] == "sin_unit")
        & (correlations["n_stimuli"] >= 100)
    ]
    return [
        Check(
            "sample_size.sin_unit.from_n100",
            "min over N >= 100 of Pearson r between the JNE curve of "
            "phi = sin and |sin t|",
            float(sin_unit["correlation"].min()),
            0.99,
            ">=",
        )
    ]


def invariance_checks(
    gain, scaling, distribution, scale_free, asymptotically_scale_free
):
    """Build checks for output gain, input scale and input distribution.

    The 10 % limit on changes of mean JNE is wide enough for two effects.
    One is the sampling noise of 10 initialisations, about 1 % for ReLU
    networks. The other is the difference between GELU or SiLU and ReLU
    networks at inputs in ``U[-10, 10]``, about 6 %. It is narrow enough
    to catch a change of regime such as GELU at unit-variance inputs
    (about -14 %).

    Parameters
    ----------
    gain, scaling : pandas.DataFrame
        From :func:`jne.simulation.invariance.gain_scaling` and
        :func:`jne.simulation.invariance.input_scaling`.
    distribution : pandas.DataFrame
        From :func:`jne.simulation.invariance.distribution_summary`.
    scale_free : sequence of str
        Activations checked over all input settings.
    asymptotically_scale_free : sequence of str
        Activations checked over settings whose input standard deviation
        is at least that of the baseline, where their networks are close
        to ReLU networks.
    """
    bias_free = scaling[~scaling["bias"]]
    checks = [
        Check(
            "invariance.output_gain",
            "max relative error of JNE(aJ) against |a| JNE(J)",
            float(gain["relative_error"].max()),
            FLOAT64_TOLERANCE,
            "<=",
        ),
        Check(
            "invariance.bias_free_input_scale",
            "max |JNE(a x) / JNE(x) - 1| of bias-free ReLU and leaky ReLU "
            "networks, float64",
            float(bias_free["relative_change"].abs().max()),
            1e-9,
            "<=",
        ),
    ]
    is_baseline = distribution["setting"] == BASELINE_SETTING
    baseline_std = distribution.loc[is_baseline, "input_std"].iloc[0]
    large = distribution["input_std"] >= baseline_std * (1 - 1e-9)
    for activation in (*scale_free, *asymptotically_scale_free):
        rows = distribution["activation"] == activation
        if activation in scale_free:
            suffix = "all"
            description = "all input distributions and scales"
        else:
            rows = rows & large
            suffix = "large_inputs"
            description = (
                "input distributions with standard deviation at least "
                "that of U[-10, 10]"
            )
        changes = distribution.loc[rows, "relative_change"]
        checks.append(
            Check(
                f"invariance.input_distribution.{activation}.{suffix}",
                f"max |relative change| of mean JNE across {description}",
                float(changes.abs().max()),
                0.1,
                "<=",
            )
        )
    return checks


def blind_spot_checks(two_point, units):
    """Build checks that symmetric two-point distributions give JNE = 0."""
    distance = two_point["distance"].iloc[0]
    half = two_point[np.isclose(two_point["proportion"], 0.5)]
    error = (two_point["jne"] - two_point["expected_jne"]).abs().max()
    symmetric = units[units["stimuli"] == "symmetric"]
    ratio = (symmetric["jne"] / symmetric["mean_deviation"]).max()
    return [
        Check(
            "blind_spot.two_point_half",
            "JNE / ||a - b||_1 with half the stimuli at each Jacobian",
            float(half["jne"].iloc[0] / distance),
            FLOAT64_TOLERANCE,
            "<=",
        ),
        Check(
            "blind_spot.two_point_formula",
            "max over p of |JNE - |1 - 2p| sqrt(p(1 - p)) ||a - b||_1| "
            "/ ||a - b||_1",
            float(error / distance),
            FLOAT64_TOLERANCE,
            "<=",
        ),
        Check(
            "blind_spot.symmetric_units",
            "max JNE / mean deviation of relu(w.x) and |w.x| on stimuli "
            "symmetric about 0",
            float(ratio),
            FLOAT64_TOLERANCE,
            "<=",
        ),
    ]
