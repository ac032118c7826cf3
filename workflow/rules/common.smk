# Configuration checks, wildcard constraints and the functions that list
# inputs and targets. Nothing here computes science: rules call `jne`.

import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError

# Import the jne next to this Snakefile even when it is not pip-installed.
sys.path.insert(0, str(Path(workflow.basedir)))

from jne.config import read_yaml, validate_config  # noqa: E402
from jne.errors import JNEError  # noqa: E402
from jne.sources import check_options, input_files  # noqa: E402

CONFIG_ORIGIN = (
    ", ".join(str(p) for p in workflow.overwrite_configfiles)
    or "config/config.yaml"
)
# Snakemake's own YAML reading keeps the last of two equal keys; read the
# files again to reject that. The messages name the file.
try:
    for _path in workflow.overwrite_configfiles or [
        Path(workflow.basedir) / "config" / "config.yaml"
    ]:
        read_yaml(_path)
except JNEError as error:
    raise WorkflowError(str(error)) from None
try:
    validate_config(
        config,
        schema=Path(workflow.basedir) / "workflow/schemas/config.schema.yaml",
        origin=CONFIG_ORIGIN,
    )
    for _name, _settings in config["datasets"].items():
        for _subject in _settings["subjects"]:
            check_options(_settings["source"], _subject, _settings["options"])
        _options = _settings["options"] or {}
        _no_atlas = (
            _settings["source"] == "local" and not _options.get("atlas")
        ) or (_settings["source"] == "nsd" and _options.get("atlas") == [])
        if _no_atlas:
            # The reports summarise JNE per ROI and test the ROI hierarchy.
            raise WorkflowError(
                f"{CONFIG_ORIGIN}: dataset {_name!r} has no atlas (option "
                "'atlas'). The workflow's reports summarise JNE per ROI and "
                "test the ROI hierarchy, so they need one: give options.atlas "
                "(and atlas_labels for local files), see docs/inputs.md. "
                "Without an atlas, use the jne command or the Python API."
            )
except JNEError as error:
    raise WorkflowError(f"{CONFIG_ORIGIN}: {error}") from None


wildcard_constraints:
    dataset=r"[A-Za-z0-9][A-Za-z0-9_-]*",
    subject=r"[A-Za-z0-9]+",
    layer=r"[A-Za-z0-9_.]+",
    model=r"[A-Za-z0-9][A-Za-z0-9_-]*",
    seed=r"\d+",
    fit=r"seed-\d+|null",


DEVICE = config["device"]
GPU = 1 if DEVICE == "cuda" else 0
# Rules that run torch use this many threads; Snakemake lowers it to
# --cores on a laptop, and it becomes --cpus-per-task on SLURM.
TORCH_THREADS = 4
LINEAR_MODEL = config["report"]["linear_model"]

# Folder of one model's outputs; input functions fill it from wildcards.
MODEL_FOLDER = "results/{dataset}/sub-{subject}/layer-{layer}/model-{model}"


def dataset_config(wildcards):
    return config["datasets"][wildcards.dataset]


def fetch_inputs(wildcards):
    """The user's files behind a dataset (local files, NSD embeddings)."""
    settings = config["datasets"][wildcards.dataset]
    return input_files(
        settings["source"], wildcards.subject, settings["options"]
    )


def is_simulated(wildcards):
    """Whether the dataset's responses are simulated: the demo, or local
    files declared `simulated: true`. Reports then say so."""
    settings = config["datasets"][wildcards.dataset]
    options = settings.get("options") or {}
    return settings["source"] == "demo" or bool(options.get("simulated"))


def has_ground_truth(wildcards):
    """Whether the dataset stores the true JNE (only the demo does)."""
    return config["datasets"][wildcards.dataset]["source"] == "demo"


def dataset_subjects(wildcards):
    return config["datasets"][wildcards.dataset]["subjects"]


def dataset_layers(wildcards):
    return config["datasets"][wildcards.dataset]["layers"]


def mlp_config(model):
    try:
        return config["models"]["mlp"][model]
    except KeyError:
        raise WorkflowError(
            f"Model {model!r} is not under 'models.mlp' in the config. "
            f"Known models: {', '.join(config['models']['mlp'])}."
        ) from None


def nonlinear_models():
    """MLP variants with a nonlinear activation (they get JNE and a null)."""
    return [
        name
        for name, settings in config["models"]["mlp"].items()
        if settings["activation"] != "identity"
    ]


def model_folder(wildcards, **changes):
    """The model folder of these wildcards, with some values replaced."""
    values = dict(wildcards.items())
    values.update(changes)
    return MODEL_FOLDER.format(**values)


def seed_files(name):
    """Input function: file ``name`` of every seed of the model."""

    def files(wildcards):
        folder = model_folder(wildcards)
        return [
            f"{folder}/seed-{seed}/{name}"
            for seed in mlp_config(wildcards.model)["seeds"]
        ]

    return files


def first_seed_file(name):
    """Input function: file ``name`` of the model's first seed."""

    def file(wildcards):
        seed = mlp_config(wildcards.model)["seeds"][0]
        return f"{model_folder(wildcards)}/seed-{seed}/{name}"

    return file


def fit_file(name):
    """Input function: file ``name`` of one fit (a seed or the null)."""

    def file(wildcards):
        return f"{model_folder(wildcards)}/{wildcards.fit}/{name}"

    return file


def score_inputs(wildcards):
    """Predictions scored together: ridge's, or every seed of an MLP."""
    if wildcards.model == "ridge":
        return [f"{model_folder(wildcards)}/predictions.h5"]
    return seed_files("predictions.h5")(wildcards)


def linear_scores(wildcards):
    return f"{model_folder(wildcards, model=LINEAR_MODEL)}/scores.tsv"


def jne_inputs(wildcards):
    """JNE tables of every seed and, when enabled, of the null refit."""
    inputs = {"seeds": seed_files("jne.tsv")(wildcards)}
    if config["jacobian"]["null_model"]:
        inputs["null"] = f"{model_folder(wildcards)}/null/jne.tsv"
    return inputs


def per_subject(pattern):
    """Input function: ``pattern`` for every subject of the dataset."""

    def files(wildcards):
        return [
            pattern.format(**dict(wildcards.items(), subject=subject))
            for subject in dataset_subjects(wildcards)
        ]

    return files


def per_layer(pattern):
    """Input function: ``pattern`` for every layer of the dataset."""

    def files(wildcards):
        return [
            pattern.format(**dict(wildcards.items(), layer=layer))
            for layer in dataset_layers(wildcards)
        ]

    return files


def comparison_entries(wildcards):
    """Every (subject, layer, model) of a dataset with its result files."""
    entries = []
    for subject in dataset_subjects(wildcards):
        for layer in dataset_layers(wildcards):
            for model in ["ridge", *config["models"]["mlp"]]:
                folder = MODEL_FOLDER.format(
                    dataset=wildcards.dataset,
                    subject=subject,
                    layer=layer,
                    model=model,
                )
                entry = dict(
                    subject=subject,
                    layer=layer,
                    model=model,
                    scores=f"{folder}/scores.tsv",
                )
                if model in nonlinear_models():
                    entry["summary"] = f"{folder}/jne_summary.tsv"
                    if has_ground_truth(wildcards):
                        entry["recovery"] = f"{folder}/report/tables"
                entries.append(entry)
    return entries


def comparison_inputs(wildcards):
    return [
        path
        for entry in comparison_entries(wildcards)
        for key, path in entry.items()
        if key in ("scores", "summary", "recovery")
    ]


def all_targets():
    """Files that `snakemake` with no target builds.

    Besides the reports, the per-model tables are listed, so that a plain
    `snakemake` rebuilds one that was deleted even though the reports made
    from it are still there.
    """
    targets = []
    for dataset, settings in config["datasets"].items():
        targets.append(f"results/{dataset}/group/model_comparison.tsv")
        for layer in settings["layers"]:
            for subject in settings["subjects"]:
                for model in ["ridge", *config["models"]["mlp"]]:
                    folder = MODEL_FOLDER.format(
                        dataset=dataset, subject=subject, layer=layer,
                        model=model,
                    )
                    targets.append(f"{folder}/scores.tsv")
                    if model in nonlinear_models():
                        targets.append(f"{folder}/jne_summary.tsv")
        for model in nonlinear_models():
            for layer in settings["layers"]:
                targets.append(
                    f"results/{dataset}/group/layer-{layer}/model-{model}/"
                    "ordering_tests.tsv"
                )
                for subject in settings["subjects"]:
                    folder = MODEL_FOLDER.format(
                        dataset=dataset, subject=subject, layer=layer,
                        model=model,
                    )
                    targets.append(f"{folder}/report/roi_summary.tsv")
            for subject in settings["subjects"]:
                targets.append(
                    f"results/{dataset}/sub-{subject}/layers/model-{model}/"
                    "layers.png"
                )
    return targets
