"""Run the whole simulation suite and write its figures and tables.

Usage from the command line::

    python -m jne.simulation.run OUT_DIR [--quick] [--seed SEED]

The exit status is 1 when a check fails. Output layout under ``OUT_DIR``:

``summary.tsv``
    One row per check: ``name``, ``statistic``, ``value``, ``threshold``
    (comparison and number, e.g. ``>= 0.99``) and ``passed``.
``run.json``
    Mode, seed, experiment sizes, seconds per experiment, failed checks.
``figures/{single_unit,network,sample_size,invariance,blind_spot}.{png,svg}``
``tables/*.tsv``
    The numbers behind each figure, described in
    ``docs/what-jne-measures.md``.
"""

import argparse
import logging
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

import jne
from jne._atomic import write_json, write_table
from jne.log import log_duration, setup_logging
from jne.simulation import (
    blind_spot,
    checks,
    figures,
    invariance,
    network,
    sample_size,
    single_unit,
)
from jne.simulation.activations import ACTIVATION_NAMES

logger = logging.getLogger(__name__)

# Sizes of the full run follow Gao et al. (NeurIPS 2025) where they state
# them: 200 initialisations, 1000 x 768 inputs, 1001 windows or curve
# points, N from 10 to 1000. The quick run keeps every experiment and
# output but shrinks the repeats so that it takes seconds.
FULL = {
    "single_unit": {"n_centers": 1001, "n_points": 1001, "half_width": 0.05},
    "network": {"n_init": 200},
    "network_variants": {"n_init": 10},
    "sample_size": {
        "sample_sizes": list(sample_size.SAMPLE_SIZES),
        "n_points": 1001,
    },
    "input_scaling": {"n_init": 3, "scales": list(invariance.SCALES)},
    "input_distribution": {
        "n_init": 10,
        "settings": [name for name, *_ in invariance.INPUT_SETTINGS],
    },
}
QUICK = {
    "single_unit": {"n_centers": 1001, "n_points": 201, "half_width": 0.05},
    "network": {"n_init": 2},
    "network_variants": {"n_init": 1},
    "sample_size": {"sample_sizes": [10, 100, 200], "n_points": 201},
    "input_scaling": {"n_init": 1, "scales": [1e-3, 1e3]},
    "input_distribution": {
        "n_init": 1,
        "settings": ["uniform_10", "uniform_1000", "normal_1", "normal_100"],
    },
}

# Variants of the network experiment: construction changes that show the
# placement ordering is a property of the network, not of JNE.
NETWORK_VARIANTS = {
    "no input skip, h = s(W1 x)": {"input_skip": False, "input_range": 10.0},
    "inputs U[-1, 1]": {"input_skip": True, "input_range": 1.0},
}

# Activations whose network JNE is expected to be nearly independent of
# the input distribution. ReLU and leaky ReLU networks without biases are
# exactly scale invariant, so only the shape of the distribution matters.
# GELU and SiLU approach ReLU far from 0, so their networks are close to
# scale invariant once inputs are at least as large as U[-10, 10].
SCALE_FREE = ("relu", "leaky_relu")
ASYMPTOTICALLY_SCALE_FREE = ("gelu", "silu")


def _run_single_unit(settings, tables, figure_dir, note):
    config = settings["single_unit"]
    centers = np.linspace(-10.0, 10.0, config["n_centers"])
    results = [
        single_unit.simulate_single_unit(
            name, centers, config["half_width"], config["n_points"]
        )
        for name in ACTIVATION_NAMES
    ]
    stats = pd.DataFrame(
        {
            "activation": r.activation,
            "correlation": r.correlation(),
            "max_error": r.max_error(),
            "relative_error": r.relative_error(),
            "bound_ratio": r.bound_ratio(),
            "linear_piece_max": r.linear_piece_max(),
        }
        for r in results
    )
    curves = pd.concat(
        pd.DataFrame(
            {
                "activation": r.activation,
                "center": r.centers,
                "jne": r.jne,
                "reference": r.reference,
                "bound": r.bound if r.bound is not None else float("nan"),
            }
        )
        for r in results
    )
    write_table(tables / "single_unit.tsv", stats)
    write_table(tables / "single_unit_curves.tsv", curves)
    figure = figures.single_unit_figure(results, config["half_width"], note)
    figures.save_figure(figure, figure_dir, "single_unit")
    return checks.single_unit_checks(results)


def _run_network(settings, seed, tables, figure_dir, note):
    results = network.simulate_networks(
        ACTIVATION_NAMES, settings["network"]["n_init"], seed=seed
    )
    summary = network.ordering_summary(results)
    variants = {}
    for title, options in NETWORK_VARIANTS.items():
        variant_results = network.simulate_networks(
            ACTIVATION_NAMES,
            settings["network_variants"]["n_init"],
            seed=seed,
            **options,
        )
        variants[title] = network.ordering_summary(variant_results)
    labelled = [summary.assign(construction="main")] + [
        table.assign(construction=title) for title, table in variants.items()
    ]
    write_table(tables / "network.tsv", results)
    write_table(tables / "network_summary.tsv", pd.concat(labelled))
    figure = figures.network_figure(summary, variants, note)
    figures.save_figure(figure, figure_dir, "network")
    return checks.network_checks(summary)


def _run_sample_size(settings, seed, tables, figure_dir, note):
    config = settings["sample_size"]
    correlations, curves = sample_size.simulate_sample_size(
        config["sample_sizes"], config["n_points"], seed=seed
    )
    write_table(tables / "sample_size.tsv", correlations)
    figure = figures.sample_size_figure(correlations, curves, note)
    figures.save_figure(figure, figure_dir, "sample_size")
    return checks.sample_size_checks(correlations)


def _run_invariance(settings, seed, tables, figure_dir, note):
    gain = invariance.gain_scaling(seed=seed)

    scaling = invariance.input_scaling(
        scales=settings["input_scaling"]["scales"],
        n_init=settings["input_scaling"]["n_init"],
        seed=seed,
    )

    config = settings["input_distribution"]
    input_settings = [
        setting
        for setting in invariance.INPUT_SETTINGS
        if setting[0] in config["settings"]
    ]
    distribution = invariance.input_distribution(
        ACTIVATION_NAMES,
        settings=input_settings,
        placements=("both",),
        n_init=config["n_init"],
        seed=seed,
    )
    distribution_summary = invariance.distribution_summary(distribution)

    write_table(tables / "invariance_output_gain.tsv", gain)
    write_table(tables / "invariance_input_scale.tsv", scaling)
    write_table(tables / "invariance_input_distribution.tsv", distribution)
    write_table(
        tables / "invariance_input_distribution_summary.tsv",
        distribution_summary,
    )
    figure = figures.invariance_figure(
        gain, scaling, distribution_summary, note
    )
    figures.save_figure(figure, figure_dir, "invariance")
    return checks.invariance_checks(
        gain,
        scaling,
        distribution_summary,
        SCALE_FREE,
        ASYMPTOTICALLY_SCALE_FREE,
    )


def _run_blind_spot(seed, tables, figure_dir, note):
    two_point = blind_spot.two_point_curve(seed=seed)
    units = blind_spot.symmetric_units(seed=seed)
    write_table(tables / "blind_spot_two_point.tsv", two_point)
    write_table(tables / "blind_spot_units.tsv", units)
    figure = figures.blind_spot_figure(two_point, units, note)
    figures.save_figure(figure, figure_dir, "blind_spot")
    return checks.blind_spot_checks(two_point, units)


def run_validation(out_dir, *, quick=False, seed=0):
    """Run every simulation, write figures and tables, return the summary.

    Parameters
    ----------
    out_dir : str or Path
        Output folder, created if missing. Existing files are replaced.
    quick : bool, default=False
        Run every experiment with fewer repeats (seconds instead of
        minutes). The checks are the same.
    seed : int, default=0
        Seed of every random draw. Each experiment starts its own
        generator from it, so results do not depend on which experiments
        ran before.

    Returns
    -------
    pandas.DataFrame
        The summary table, one row per check, also written to
        ``out_dir/summary.tsv``.
    """
    out_dir = Path(out_dir)
    tables = out_dir / "tables"
    figure_dir = out_dir / "figures"
    settings = QUICK if quick else FULL
    mode = "quick" if quick else "full"
    note = f"jne {jne.__version__} simulation suite, {mode} run, seed {seed}"
    timings = {}
    all_checks = []
    experiments = {
        "single_unit": lambda: _run_single_unit(
            settings, tables, figure_dir, note
        ),
        "network": lambda: _run_network(
            settings, seed, tables, figure_dir, note
        ),
        "sample_size": lambda: _run_sample_size(
            settings, seed, tables, figure_dir, note
        ),
        "invariance": lambda: _run_invariance(
            settings, seed, tables, figure_dir, note
        ),
        "blind_spot": lambda: _run_blind_spot(seed, tables, figure_dir, note),
    }
    for name, experiment in experiments.items():
        start = time.perf_counter()
        with log_duration(logger, f"simulation {name} ({mode})"):
            all_checks.extend(experiment())
        timings[name] = round(time.perf_counter() - start, 2)

    summary = pd.DataFrame([check.row() for check in all_checks])
    failed = list(summary.loc[~summary["passed"], "name"])
    write_table(out_dir / "summary.tsv", summary)
    write_json(
        out_dir / "run.json",
        {
            "jne_version": jne.__version__,
            "mode": mode,
            "seed": seed,
            "settings": settings,
            "seconds": timings,
            "failed_checks": failed,
        },
    )
    if failed:
        logger.warning(
            "simulation: %d of %d checks failed: %s",
            len(failed),
            len(summary),
            ", ".join(failed),
        )
    logger.info(
        "simulation: %d checks, %d passed; summary written to %s",
        len(summary),
        len(summary) - len(failed),
        out_dir / "summary.tsv",
    )
    return summary


def main(argv=None):
    """Run :func:`run_validation` from the command line."""
    parser = argparse.ArgumentParser(
        prog="python -m jne.simulation.run",
        description="Validate JNE on simulations with known nonlinearity.",
    )
    parser.add_argument("out_dir", help="folder for summary, figures, tables")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="fewer repeats: seconds instead of minutes",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of all random draws"
    )
    args = parser.parse_args(argv)
    setup_logging()
    summary = run_validation(args.out_dir, quick=args.quick, seed=args.seed)
    return 0 if summary["passed"].all() else 1


if __name__ == "__main__":
    sys.exit(main())
