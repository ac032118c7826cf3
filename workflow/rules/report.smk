# Report: maps, figures and tables per subject, layer and nonlinear model;
# the hierarchy across subjects; layer and model comparisons. Figures and
# tables are marked for `snakemake --report`.

REPORT_DIR = MODEL_DIR + "/report"
GROUP_DIR = "results/{dataset}/group"
LINEAR_MODEL = config["report"]["linear_model"]
REPORT_SETTINGS = config["report"]


def seed_paths(name):
    """Input function: ``name`` in the folder of every seed of a model."""

    def paths(wildcards):
        return expand(
            MODEL_DIR + "/seed-{seed}/" + name,
            seed=mlp_config(wildcards.model)["seeds"],
            allow_missing=True,
        )

    return paths


def first_seed_path(name):
    """Input function: ``name`` in the folder of a model's first seed."""

    def path(wildcards):
        seed = mlp_config(wildcards.model)["seeds"][0]
        return MODEL_DIR + f"/seed-{seed}/" + name

    return path


rule report_model:
    input:
        dataset=SUBJECT_DIR + "/data/dataset.h5",
        summary=MODEL_DIR + "/jne_summary.tsv",
        linear=LAYER_DIR + f"/model-{LINEAR_MODEL}/scores.tsv",
        jne_ss=seed_paths("jne_ss.h5"),
        roi_intervals=first_seed_path("jne_roi.tsv"),
    output:
        maps=directory(REPORT_DIR + "/maps"),
        figures=report(
            directory(REPORT_DIR + "/figures"),
            patterns=["{figure}.png"],
            caption="../report/subject_figure.rst",
            category="Subject {subject}",
            subcategory="layer {layer}, model {model}",
            labels={"subject": "{subject}", "figure": "{figure}"},
        ),
        tables=directory(REPORT_DIR + "/tables"),
        roi_table=report(
            REPORT_DIR + "/roi_summary.tsv",
            caption="../report/roi_summary.rst",
            category="Subject {subject}",
            subcategory="layer {layer}, model {model}",
            labels={"subject": "{subject}", "figure": "ROI summary table"},
        ),
    params:
        settings=REPORT_SETTINGS,
        fdr_q=config["scoring"]["fdr_q"],
        seed=config["jacobian"]["seed"],
    log:
        LOG_DIR + "/layer-{layer}/model-{model}/report.log",
    benchmark:
        BENCH_DIR + "/layer-{layer}/model-{model}/report.tsv"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=30,
    script:
        "../scripts/report_model.py"


def group_inputs(wildcards):
    subjects = config["datasets"][wildcards.dataset]["subjects"]
    return {
        name: expand(pattern, subject=subjects, allow_missing=True)
        for name, pattern in (
            ("dataset", SUBJECT_DIR + "/data/dataset.h5"),
            ("summary", MODEL_DIR + "/jne_summary.tsv"),
            ("linear", LAYER_DIR + f"/model-{LINEAR_MODEL}/scores.tsv"),
        )
    }


rule report_group:
    input:
        unpack(group_inputs),
    output:
        figures=report(
            directory(GROUP_DIR + "/layer-{layer}/model-{model}/figures"),
            patterns=["{figure}.png"],
            caption="../report/group_figure.rst",
            category="All subjects",
            subcategory="layer {layer}, model {model}",
            labels={"figure": "{figure}"},
        ),
        tests=report(
            GROUP_DIR + "/layer-{layer}/model-{model}/ordering_tests.tsv",
            caption="../report/ordering_tests.rst",
            category="All subjects",
            subcategory="layer {layer}, model {model}",
            labels={"figure": "ordering tests across subjects"},
        ),
    params:
        settings=REPORT_SETTINGS,
        subjects=lambda wildcards: config["datasets"][wildcards.dataset][
            "subjects"
        ],
        seed=config["jacobian"]["seed"],
    log:
        "results/{dataset}/logs/group/layer-{layer}_model-{model}.log",
    benchmark:
        "results/{dataset}/benchmarks/group/layer-{layer}_model-{model}.tsv"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=30,
    script:
        "../scripts/report_group.py"


def layer_inputs(wildcards):
    layers = config["datasets"][wildcards.dataset]["layers"]
    return {
        name: expand(pattern, layer=layers, allow_missing=True)
        for name, pattern in (
            ("roi_tables", REPORT_DIR + "/roi_summary.tsv"),
            ("summary", MODEL_DIR + "/jne_summary.tsv"),
            ("linear", LAYER_DIR + f"/model-{LINEAR_MODEL}/scores.tsv"),
        )
    }


rule report_layers:
    input:
        unpack(layer_inputs),
    output:
        figure=report(
            SUBJECT_DIR + "/layers/model-{model}/layers.png",
            caption="../report/layers.rst",
            category="Subject {subject}",
            subcategory="layer comparison, model {model}",
            labels={"subject": "{subject}", "figure": "layers"},
        ),
        table=SUBJECT_DIR + "/layers/model-{model}/layers.tsv",
    params:
        settings=REPORT_SETTINGS,
        layers=lambda wildcards: config["datasets"][wildcards.dataset][
            "layers"
        ],
        simulated=lambda wildcards: config["datasets"][wildcards.dataset][
            "source"
        ]
        == "demo",
    log:
        LOG_DIR + "/layers_model-{model}.log",
    benchmark:
        BENCH_DIR + "/layers_model-{model}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../scripts/report_layers.py"


def comparison_entries(wildcards):
    """Every (subject, layer, model) of a dataset with its files."""
    settings = config["datasets"][wildcards.dataset]
    simulated = settings["source"] == "demo"
    entries = []
    for subject in settings["subjects"]:
        for layer in settings["layers"]:
            values = dict(dataset=wildcards.dataset, subject=subject, layer=layer)
            for model in ["ridge", *config["models"]["mlp"]]:
                folder = MODEL_DIR.format(model=model, **values)
                entry = dict(
                    subject=subject,
                    layer=layer,
                    model=model,
                    scores=folder + "/scores.tsv",
                )
                if model in nonlinear_models():
                    entry["summary"] = folder + "/jne_summary.tsv"
                    if simulated:
                        entry["recovery"] = folder + "/report/tables"
                entries.append(entry)
    return entries


def comparison_inputs(wildcards):
    return [
        path
        for entry in comparison_entries(wildcards)
        for key, path in entry.items()
        if key in ("scores", "summary", "recovery")
    ]


rule model_comparison:
    input:
        comparison_inputs,
    output:
        report(
            GROUP_DIR + "/model_comparison.tsv",
            caption="../report/model_comparison.rst",
            category="All subjects",
            subcategory="model comparison",
            labels={"figure": "model comparison table"},
        ),
    params:
        entries=comparison_entries,
        simulated=lambda wildcards: config["datasets"][wildcards.dataset][
            "source"
        ]
        == "demo",
    log:
        "results/{dataset}/logs/group/model_comparison.log",
    benchmark:
        "results/{dataset}/benchmarks/group/model_comparison.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/model_comparison.py"
