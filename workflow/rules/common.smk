# Configuration checks, wildcard constraints and the functions that list
# inputs and targets. Nothing here computes science: rules call `jne`.

import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError

# Import the jne next to this Snakefile even when it is not pip-installed.
sys.path.insert(0, str(Path(workflow.basedir)))

from jne.config import validate_config  # noqa: E402
from jne.errors import JNEError  # noqa: E402
from jne.sources import check_options  # noqa: E402

CONFIG_ORIGIN = (
    ", ".join(str(p) for p in workflow.overwrite_configfiles)
    or "config/config.yaml"
)
try:
    validate_config(
        config,
        schema=Path(workflow.basedir) / "workflow/schemas/config.schema.yaml",
        origin=CONFIG_ORIGIN,
    )
    for _name, _settings in config["datasets"].items():
        for _subject in _settings["subjects"]:
            check_options(_settings["source"], _subject, _settings["options"])
except JNEError as error:
    raise WorkflowError(f"{CONFIG_ORIGIN}: {error}") from None


wildcard_constraints:
    dataset=r"[A-Za-z0-9][A-Za-z0-9_-]*",
    subject=r"[A-Za-z0-9]+",
    layer=r"[A-Za-z0-9_.]+",
    model=r"[A-Za-z0-9][A-Za-z0-9_-]*",
    seed=r"\d+",
    fit=r"seed-\d+|null",


# Every output of one subject lives under this folder.
SUBJECT_DIR = "results/{dataset}/sub-{subject}"
LAYER_DIR = SUBJECT_DIR + "/layer-{layer}"
MODEL_DIR = LAYER_DIR + "/model-{model}"
LOG_DIR = "results/{dataset}/logs/sub-{subject}"
BENCH_DIR = "results/{dataset}/benchmarks/sub-{subject}"

DEVICE = config["device"]
GPU = 1 if DEVICE == "cuda" else 0
# Rules that run torch use this many threads; Snakemake lowers it to
# --cores on a laptop, and it becomes --cpus-per-task on SLURM.
TORCH_THREADS = 4


def dataset_config(wildcards):
    return config["datasets"][wildcards.dataset]


def mlp_config(model):
    try:
        return config["models"]["mlp"][model]
    except KeyError:
        raise WorkflowError(
            f"Model {model!r} is not under 'models.mlp' in the config. "
            f"Known models: {', '.join(config['models']['mlp'])}."
        ) from None


def nonlinear_models():
    """MLP variants with a nonlinear activation (they get a JNE null)."""
    return [
        name
        for name, settings in config["models"]["mlp"].items()
        if settings["activation"] != "identity"
    ]


def model_seeds(wildcards):
    return mlp_config(wildcards.model)["seeds"]


def fit_weights(wildcards):
    """Weights of one fit: a seed of an MLP, or its linear-surrogate null."""
    if wildcards.fit == "null":
        return MODEL_DIR + "/null/weights.pt"
    return MODEL_DIR + "/{fit}/weights.pt"


def subject_layer_combinations():
    """Yield (dataset, subject, layer) for everything the config asks."""
    for dataset, settings in config["datasets"].items():
        for subject in settings["subjects"]:
            for layer in settings["layers"]:
                yield dataset, subject, layer


def jne_inputs(wildcards):
    """JNE tables of every seed and, for nonlinear models, of the null."""
    seeds = mlp_config(wildcards.model)["seeds"]
    inputs = {
        "seeds": expand(
            MODEL_DIR + "/seed-{seed}/jne.tsv", seed=seeds, allow_missing=True
        ),
        "jne_ss": expand(
            MODEL_DIR + "/seed-{seed}/jne_ss.h5",
            seed=seeds,
            allow_missing=True,
        ),
    }
    if config["jacobian"]["null_model"] and wildcards.model in nonlinear_models():
        inputs["null"] = MODEL_DIR + "/null/jne.tsv"
    return inputs



def all_targets():
    """Files that `snakemake` with no target builds."""
    targets = []
    for dataset, settings in config["datasets"].items():
        targets.append(f"results/{dataset}/group/model_comparison.tsv")
        for model in nonlinear_models():
            for subject in settings["subjects"]:
                for layer in settings["layers"]:
                    values = dict(
                        dataset=dataset, subject=subject, layer=layer
                    )
                    targets.append(
                        MODEL_DIR.format(model=model, **values)
                        + "/report/roi_summary.tsv"
                    )
                targets.append(
                    SUBJECT_DIR.format(dataset=dataset, subject=subject)
                    + f"/layers/model-{model}/layers.png"
                )
            for layer in settings["layers"]:
                targets.append(
                    f"results/{dataset}/group/layer-{layer}/model-{model}"
                    "/ordering_tests.tsv"
                )
    return targets
