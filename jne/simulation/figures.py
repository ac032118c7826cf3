"""Figures of the simulation suite.

Each function draws one figure from the results of one experiment and
returns a :class:`matplotlib.figure.Figure`. Figures are built without
pyplot, so they work under any backend and in worker processes.
:func:`save_figure` writes PNG and SVG atomically.
"""

import logging

import numpy as np
from matplotlib.figure import Figure

from jne._atomic import atomic_path
from jne.simulation.network import PLACEMENTS

logger = logging.getLogger(__name__)

LABEL = "Simulation"
PLACEMENT_COLORS = {
    "none": "#bbbbbb",
    "shallow": "#88bbdd",
    "deep": "#3377aa",
    "both": "#113355",
}


def save_figure(figure, folder, name):
    """Write ``figure`` as ``name.png`` and ``name.svg`` in ``folder``.

    Returns
    -------
    list of pathlib.Path
        The written files.
    """
    paths = []
    for extension in ("png", "svg"):
        path = folder / f"{name}.{extension}"
        with atomic_path(path) as tmp:
            figure.savefig(tmp, format=extension, dpi=150)
        paths.append(path)
    logger.info("figure %s written to %s", name, folder)
    return paths


def _footer(figure, note):
    # supxlabel, unlike figure.text, gets space from the constrained layout.
    figure.supxlabel(note, fontsize=7, color="gray")


def single_unit_figure(results, half_width, note):
    """Plot JNE over sliding windows against its reference per activation.

    Smooth activations are shown over the whole input range. ReLU and
    leaky ReLU are shown around the kink, the only place where their JNE
    is not 0.

    Parameters
    ----------
    results : list of SingleUnitResult
    half_width : float
    note : str
        Footer text (run settings).
    """
    figure = Figure(figsize=(3.2 * len(results), 3.4), layout="constrained")
    axes = figure.subplots(1, len(results))
    for ax, result in zip(np.atleast_1d(axes), results):
        centers = result.centers
        if result.linear_piece is None:
            ax.plot(centers, result.jne, color="C0", lw=2, label="JNE")
            ax.plot(
                centers,
                result.reference,
                color="C1",
                lw=1,
                ls="--",
                label=r"$|\phi''|\,\delta/\sqrt{12}$",
            )
            ax.set_title(
                f"{result.activation}\nr = {result.correlation():.6f}, "
                f"max error {result.relative_error():.1%} of peak",
                fontsize=9,
            )
            ax.legend(fontsize=7, loc="upper right")
        else:
            near = np.abs(centers) <= 4 * half_width
            ax.plot(
                centers[near],
                result.reference[near],
                color="C1",
                lw=1,
                ls="--",
                label="two-point formula",
            )
            ax.plot(
                centers[near],
                result.jne[near],
                "o",
                color="C0",
                ms=4,
                label="JNE",
            )
            n_zero = int(result.linear_piece.sum())
            ax.set_title(
                f"{result.activation} (near the kink)\n"
                f"JNE = {result.linear_piece_max():.0f} on all {n_zero} "
                "linear-piece windows",
                fontsize=9,
            )
            ax.legend(fontsize=7, loc="center right")
        ax.set_xlabel("window centre c")
    np.atleast_1d(axes)[0].set_ylabel("JNE over [c - δ, c + δ]")
    figure.suptitle(
        f"{LABEL}: single units, JNE over sliding windows (δ = {half_width})"
    )
    _footer(figure, note)
    return figure


def _placement_bars(ax, summary, title):
    activations = list(summary["activation"])
    x = np.arange(len(activations))
    width = 0.2
    for k, placement in enumerate(PLACEMENTS):
        ax.bar(
            x + (k - 1.5) * width,
            summary[f"mean_{placement}"],
            width,
            yerr=summary[f"std_{placement}"],
            color=PLACEMENT_COLORS[placement],
            label=placement,
            capsize=2,
        )
    labels = [
        f"{name}\nordered {fraction:.0%}"
        for name, fraction in zip(activations, summary["ordered"])
    ]
    ax.set_xticks(x, labels, fontsize=8)
    ax.set_ylabel("JNE (mean ± sd over initialisations)")
    ax.set_title(title, fontsize=9)


def network_figure(summary, variants, note):
    """Plot mean JNE per placement and activation, with variants.

    Parameters
    ----------
    summary : pandas.DataFrame
        :func:`jne.simulation.network.ordering_summary` of the main run.
    variants : dict
        Variant title -> ordering summary.
    note : str
    """
    n_panels = 1 + len(variants)
    figure = Figure(figsize=(6.5 * n_panels, 4.2), layout="constrained")
    axes = np.atleast_1d(figure.subplots(1, n_panels))
    n_init = int(summary["n_init"].iloc[0])
    _placement_bars(
        axes[0],
        summary,
        f"h = s(W1 x) + x, g = d(W2 h) + h, inputs U[-10, 10], "
        f"{n_init} initialisations",
    )
    for ax, (title, variant) in zip(axes[1:], variants.items()):
        n_variant = int(variant["n_init"].iloc[0])
        _placement_bars(ax, variant, f"{title}, {n_variant} initialisations")
    for ax in axes:
        # Headroom above the bars for the legend.
        ax.set_ylim(0, 1.25 * ax.get_ylim()[1])
        ax.legend(
            title="activation slot", loc="upper left", ncols=4, fontsize=8
        )
    figure.suptitle(
        f"{LABEL}: untrained residual networks 768 -> 768 -> 1. JNE(none) "
        "is 0; 'ordered' = fraction with none < shallow < deep < both"
    )
    _footer(figure, note)
    return figure


def sample_size_figure(correlations, curves, note):
    """Plot correlation with |sin t| by sample size, and example curves.

    Parameters
    ----------
    correlations : pandas.DataFrame
    curves : dict
        From :func:`jne.simulation.sample_size.simulate_sample_size`.
    note : str
    """
    figure = Figure(figsize=(11, 4), layout="constrained")
    left, right = figure.subplots(1, 2)
    for family, group in correlations.groupby("family", sort=False):
        left.plot(group["n_stimuli"], group["correlation"], "o-", label=family)
    left.axhline(0.99, color="gray", ls=":", label="r = 0.99")
    left.set_xscale("log")
    left.set_xlabel("stimuli per curve point N")
    left.set_ylabel("Pearson r of JNE curve with |sin t|")
    left.legend(fontsize=8)
    left.set_title("Recovery of a known modulation", fontsize=9)

    t, target = curves["t"], curves["target"]
    right.plot(t, target, color="black", lw=2, label="|sin t|")
    sizes = sorted({n for _, n in _curve_keys(curves, "sin_unit")})
    # The smallest N and the first N >= 100, where r >= 0.99 is checked.
    shown = [sizes[0], next((n for n in sizes if n >= 100), sizes[-1])]
    for n_stimuli in shown:
        curve = curves["sin_unit", n_stimuli]
        # Least-squares scale onto |sin t|, so curves share the axis.
        scaled = curve * (curve @ target) / (curve @ curve)
        right.plot(t, scaled, lw=0.8, label=f"sin unit, N = {n_stimuli}")
    right.set_xlabel("t")
    right.set_ylabel("JNE, scaled to |sin t|")
    right.legend(fontsize=8)
    right.set_title("JNE curves of phi = sin (sin_unit family)", fontsize=9)
    figure.suptitle(f"{LABEL}: sample size")
    _footer(figure, note)
    return figure


def _curve_keys(curves, family):
    return [
        key for key in curves if isinstance(key, tuple) and key[0] == family
    ]


def invariance_figure(gain, scaling, distribution, note):
    """Plot output-gain scaling, input scaling and input distributions.

    Parameters
    ----------
    gain : pandas.DataFrame
        :func:`jne.simulation.invariance.gain_scaling`.
    scaling : pandas.DataFrame
        :func:`jne.simulation.invariance.input_scaling`.
    distribution : pandas.DataFrame
        :func:`jne.simulation.invariance.distribution_summary`.
    note : str
    """
    figure = Figure(figsize=(15, 4.2), layout="constrained")
    left, middle, right = figure.subplots(1, 3)

    positions = np.arange(len(gain))
    # Exact zeros are drawn at the 1e-18 floor of the log axis.
    left.bar(positions, gain["relative_error"] + 1e-18)
    for x, value in zip(positions, gain["relative_error"]):
        text = "0" if value == 0 else f"{value:.0e}"
        left.text(x, 3e-18 + value * 1.5, text, ha="center", fontsize=7)
    left.set_xticks(
        np.arange(len(gain)), [f"{a:g}" for a in gain["gain"]], fontsize=8
    )
    left.set_yscale("log")
    left.set_ylim(1e-18, 1e-6)
    left.set_xlabel("output gain a")
    left.set_ylabel("|JNE(aJ) - |a| JNE(J)| / (|a| JNE(J))")
    left.set_title("JNE(a J) = |a| JNE(J) (float64)", fontsize=9)

    changes = (
        scaling.groupby(["activation", "bias", "scale"])["relative_change"]
        .apply(lambda values: values.abs().max())
        .reset_index()
    )
    for activation, group in changes[changes["bias"]].groupby("activation"):
        middle.plot(
            group["scale"],
            group["relative_change"],
            "o-",
            label=f"{activation}, with biases",
        )
    bias_free = changes[~changes["bias"]].groupby("scale")["relative_change"]
    bias_free = bias_free.max()
    middle.plot(
        bias_free.index,
        bias_free.to_numpy() + 1e-17,
        "s--",
        color="gray",
        label=", ".join(sorted(changes["activation"].unique()))
        + ", no biases",
    )
    middle.set_xscale("log")
    middle.set_yscale("log")
    middle.set_xlabel("input scale a (inputs a x, x in U[-10, 10])")
    middle.set_ylabel("max |JNE(a x) / JNE(x) - 1|")
    middle.set_title(
        "Input scaling, both slots. Bias-free: exactly 0, drawn at 1e-17",
        fontsize=9,
    )
    middle.legend(fontsize=7)

    table = distribution.pivot_table(
        index="activation",
        columns="setting",
        values="relative_change",
        sort=False,
    )
    image = right.imshow(
        100 * table.to_numpy(),
        cmap="RdBu_r",
        vmin=-50,
        vmax=50,
        aspect="auto",
    )
    right.set_xticks(
        np.arange(table.shape[1]),
        table.columns,
        rotation=45,
        ha="right",
        fontsize=7,
    )
    right.set_yticks(np.arange(table.shape[0]), table.index, fontsize=8)
    for (i, j), value in np.ndenumerate(100 * table.to_numpy()):
        right.text(j, i, f"{value:.0f}", ha="center", va="center", fontsize=7)
    figure.colorbar(image, ax=right, label="% change of mean JNE")
    right.set_title(
        "Input distribution and scale vs U[-10, 10], both slots", fontsize=9
    )
    figure.suptitle(f"{LABEL}: invariances")
    _footer(figure, note)
    return figure


def blind_spot_figure(two_point, units, note):
    """Plot JNE and mean deviation of two-point Jacobian distributions.

    Parameters
    ----------
    two_point : pandas.DataFrame
        :func:`jne.simulation.blind_spot.two_point_curve`.
    units : pandas.DataFrame
        :func:`jne.simulation.blind_spot.symmetric_units`.
    note : str
    """
    figure = Figure(figsize=(7.5, 4.2), layout="constrained")
    ax = figure.subplots()
    distance = two_point["distance"].iloc[0]
    p = two_point["proportion"]
    ax.plot(
        p,
        two_point["mean_deviation"] / distance,
        color="C2",
        label="mean deviation mean(d) / ||a - b||₁",
    )
    ax.plot(
        p,
        two_point["expected_jne"] / distance,
        color="C1",
        ls="--",
        label="|1 - 2p| sqrt(p(1 - p))",
    )
    ax.plot(
        p,
        two_point["jne"] / distance,
        "o",
        color="C0",
        ms=3,
        label="JNE / ||a - b||₁",
    )
    ax.axvline(0.5, color="gray", ls=":")
    ax.set_xlabel("fraction p of stimuli with Jacobian a (the rest have b)")
    ax.set_ylabel("value / ||a - b||₁")
    symmetric = units[units["stimuli"] == "symmetric"]
    lines = [
        f"{row.unit}(w·x), symmetric stimuli: JNE = {row.jne:.1e}, "
        f"mean(d) = {row.mean_deviation:.0f}"
        for row in symmetric.itertuples()
    ]
    # Between the mean-deviation curve (above 0.42) and the JNE curve
    # (below 0.2) for 0.3 < p < 0.7.
    ax.text(
        0.5,
        0.31,
        "\n".join(lines),
        ha="center",
        va="center",
        fontsize=7,
        bbox={"facecolor": "white", "edgecolor": "gray"},
    )
    ax.legend(fontsize=7, loc="upper right")
    ax.set_title(
        "JNE = 0 at p = 1/2 however far apart a and b are", fontsize=9
    )
    figure.suptitle(f"{LABEL}: the two-point blind spot")
    _footer(figure, note)
    return figure
