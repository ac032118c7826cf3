"""The ``jne`` command: the parts of the pipeline that are useful on their
own, outside Snakemake.

Subcommands
-----------
``check-config FILE``
    Validate a workflow config and print it with defaults filled in.
``fetch``
    Build one subject's dataset from a source and save it as HDF5.
``jne``
    Compute JNE and JNE-SS of a fitted MLP on prepared data.
``example-data FOLDER``
    Write a small dataset in the local source's file layout.
``validate OUT_DIR``
    Run the simulations that check JNE against known nonlinearity.

Run ``jne SUBCOMMAND --help`` for the options of each.
"""

import argparse
import logging
import sys

import yaml

from jne.errors import JNEError
from jne.log import setup_logging

logger = logging.getLogger("jne.cli")

SPLITS = {
    "test": ["test"],
    "val": ["val"],
    "train": ["train"],
    "all": ["train", "val", "test"],
}


def _seed(text):
    """Parse a random seed: an integer of 0 or more."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(
            f"invalid seed {text!r}: use an integer of 0 or more"
        )
    return value


def _parse_option(text):
    """Parse ``key=value`` with a YAML value (numbers, lists, booleans)."""
    if "=" not in text:
        raise argparse.ArgumentTypeError(
            f"Invalid option {text!r}: write it as key=value."
        )
    key, value = text.split("=", 1)
    return key, yaml.safe_load(value)


def check_config(args):
    from jne.config import load_config
    from jne.errors import ConfigError
    from jne.sources import check_options

    config = load_config(args.config)
    # The workflow checks source options before any rule runs. This
    # command does too, so it gives the same messages without Snakemake.
    for name, settings in config["datasets"].items():
        for subject in settings["subjects"]:
            try:
                check_options(settings["source"], subject, settings["options"])
            except ConfigError as error:
                raise ConfigError(
                    f"{args.config}: dataset {name!r}, subject {subject!r}: "
                    f"{error}"
                ) from None
    print(yaml.safe_dump(config, sort_keys=False), end="")
    return 0


def fetch(args):
    from jne.sources import fetch_dataset

    dataset = fetch_dataset(
        args.source,
        args.subject,
        dict(args.option),
        name=args.name,
        resources_dir=args.resources_dir,
    )
    dataset.save(args.out)
    logger.info("Wrote %s", args.out)
    return 0


def compute(args):
    import numpy as np

    from jne.dataset import Dataset
    from jne.jacobian.stage import run_jacobian
    from jne.models import load_mlp
    from jne.prepare import Prepared

    prepared = Prepared.load(args.prepared)
    splits = SPLITS[args.stimuli]
    inputs = np.concatenate([prepared.split(s)[0] for s in splits])
    stimulus_ids = np.concatenate([prepared.stimulus_id[s] for s in splits])
    categories = np.concatenate([prepared.category[s] for s in splits])
    roi = None
    if args.dataset:
        atlas = Dataset.load(args.dataset, betas=False).atlas
        roi = atlas.voxel_names()[prepared.voxel_index]
    model = load_mlp(args.weights, args.metadata, device=args.device)
    summary = run_jacobian(
        model,
        inputs,
        stimulus_ids,
        categories,
        f"{args.out_dir}/jne.tsv",
        f"{args.out_dir}/jne_ss.h5",
        voxel_ids=prepared.voxel_index,
        roi=roi,
        out_roi_table=f"{args.out_dir}/jne_roi.tsv" if roi is not None else None,
        mode=args.mode,
        max_memory_gb=args.max_memory_gb,
        dtype=args.dtype,
        device=args.device,
        n_bootstrap=args.n_bootstrap,
        seed=args.seed,
    )
    logger.info("JNE written to %s: %s", args.out_dir, summary)
    return 0


def example_data(args):
    from jne.sources.local_example import write_example_dataset

    from pathlib import Path

    # Absolute paths, so that the options work from any working folder
    # (Snakemake runs in its --directory).
    options = write_example_dataset(
        Path(args.folder).resolve(), kind=args.kind, seed=args.seed
    )
    print(yaml.safe_dump({"source": "local", "options": options}), end="")
    return 0


def validate(args):
    from jne.simulation.run import run_validation

    summary = run_validation(args.out_dir, quick=args.quick, seed=args.seed)
    failed = summary.loc[~summary["passed"], "name"].tolist()
    if failed:
        logger.error("Failed checks: %s", ", ".join(failed))
        return 1
    logger.info("All %d checks passed", len(summary))
    return 0


def build_parser():
    """Return the argument parser of the ``jne`` command."""
    parser = argparse.ArgumentParser(
        prog="jne",
        description="Encoding models and Jacobian-based nonlinearity (JNE).",
    )
    parser.add_argument(
        "--log", help="Also write log lines to this file.", default=None
    )
    commands = parser.add_subparsers(dest="command", required=True)

    sub = commands.add_parser(
        "check-config",
        help="Validate a workflow config and print it with defaults.",
    )
    sub.add_argument("config", help="YAML config file.")
    sub.set_defaults(run=check_config)

    sub = commands.add_parser(
        "fetch", help="Build one subject's dataset and save it as HDF5."
    )
    sub.add_argument("--source", required=True, choices=["demo", "local", "nsd"])
    sub.add_argument("--subject", required=True, help="Subject label.")
    sub.add_argument("--name", default="dataset", help="Dataset name.")
    sub.add_argument(
        "--option",
        action="append",
        type=_parse_option,
        default=[],
        metavar="KEY=VALUE",
        help="A source option (see docs/inputs.md); repeatable.",
    )
    sub.add_argument("--resources-dir", default="resources")
    sub.add_argument("--out", required=True, help="Output .h5 file.")
    sub.set_defaults(run=fetch)

    sub = commands.add_parser(
        "jne", help="Compute JNE and JNE-SS of a fitted MLP."
    )
    sub.add_argument("--weights", required=True, help="weights.pt")
    sub.add_argument("--metadata", required=True, help="model.json")
    sub.add_argument("--prepared", required=True, help="prepared.h5")
    sub.add_argument(
        "--dataset", help="dataset.h5, for ROI names and per-ROI intervals."
    )
    sub.add_argument("--out-dir", required=True)
    sub.add_argument("--stimuli", choices=list(SPLITS), default="test")
    sub.add_argument(
        "--mode",
        choices=["auto", "fast", "forward", "reverse", "approximate"],
        default="auto",
    )
    sub.add_argument(
        "--max-memory-gb",
        type=float,
        default=2.0,
        help="Working-memory budget of the engine in GB (default 2).",
    )
    sub.add_argument(
        "--dtype", choices=["float32", "float64"], default="float32"
    )
    sub.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    sub.add_argument(
        "--n-bootstrap",
        type=int,
        default=200,
        help="Stimulus resamples for confidence intervals (default 200).",
    )
    sub.add_argument(
        "--seed", type=_seed, default=0, help="Random seed (default 0)."
    )
    sub.set_defaults(run=compute)

    sub = commands.add_parser(
        "example-data", help="Write a small dataset in the local layout."
    )
    sub.add_argument(
        "folder",
        help="Folder to write the files to; the printed options use its "
        "absolute path.",
    )
    sub.add_argument(
        "--kind",
        choices=["volume", "surface"],
        default="volume",
        help="NIfTI volume data, or fsaverage5 surface data (default "
        "volume).",
    )
    sub.add_argument(
        "--seed", type=_seed, default=0, help="Seed of the simulated data."
    )
    sub.set_defaults(run=example_data)

    sub = commands.add_parser(
        "validate", help="Run the JNE simulation checks."
    )
    sub.add_argument("out_dir")
    sub.add_argument(
        "--quick", action="store_true", help="Reduced sizes (under a minute)."
    )
    sub.add_argument(
        "--seed", type=_seed, default=0, help="Random seed (default 0)."
    )
    sub.set_defaults(run=validate)
    return parser


def main(argv=None):
    """Run the ``jne`` command; return its exit status."""
    args = build_parser().parse_args(argv)
    setup_logging(args.log)
    try:
        return args.run(args)
    except JNEError as error:
        logger.error("%s", error)
        return 2


if __name__ == "__main__":
    sys.exit(main())
