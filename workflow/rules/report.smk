# Report: maps, figures and tables per subject, layer and nonlinear model;
# the hierarchy across subjects; layer and model comparisons. Figures and
# tables are marked for `snakemake --report`.


rule report_model:
    input:
        dataset="results/{dataset}/sub-{subject}/data/dataset.h5",
        summary="results/{dataset}/sub-{subject}/layer-{layer}/model-{model}/jne_summary.tsv",
        linear=linear_scores,
        jne_ss=seed_files("jne_ss.h5"),
        roi_intervals=first_seed_file("jne_roi.tsv"),
    output:
        maps=directory(
            "results/{dataset}/sub-{subject}/layer-{layer}/model-{model}/report/maps"
        ),
        figures=report(
            directory(
                "results/{dataset}/sub-{subject}/layer-{layer}/model-{model}/report/figures"
            ),
            patterns=["{figure}.png"],
            caption="../report/subject_figure.rst",
            category="Subject {subject}",
            subcategory="layer {layer}, model {model}",
            labels={"subject": "{subject}", "figure": "{figure}"},
        ),
        tables=directory(
            "results/{dataset}/sub-{subject}/layer-{layer}/model-{model}/report/tables"
        ),
        roi_table=report(
            "results/{dataset}/sub-{subject}/layer-{layer}/model-{model}/report/roi_summary.tsv",
            caption="../report/roi_summary.rst",
            category="Subject {subject}",
            subcategory="layer {layer}, model {model}",
            labels={"subject": "{subject}", "figure": "ROI summary table"},
        ),
    params:
        settings=config["report"],
        fdr_q=config["scoring"]["fdr_q"],
        seed=config["jacobian"]["seed"],
    log:
        "results/{dataset}/logs/sub-{subject}/layer-{layer}/model-{model}/report.log",
    benchmark:
        "results/{dataset}/benchmarks/sub-{subject}/layer-{layer}/model-{model}/report.tsv"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=30,
    conda:
        "../envs/jne.yaml"
    script:
        "../scripts/report_model.py"


rule report_group:
    input:
        dataset=per_subject("results/{dataset}/sub-{subject}/data/dataset.h5"),
        summary=per_subject(
            "results/{dataset}/sub-{subject}/layer-{layer}/model-{model}/jne_summary.tsv"
        ),
        linear=per_subject(
            f"results/{{dataset}}/sub-{{subject}}/layer-{{layer}}/model-{LINEAR_MODEL}/scores.tsv"
        ),
    output:
        figures=report(
            directory("results/{dataset}/group/layer-{layer}/model-{model}/figures"),
            patterns=["{figure}.png"],
            caption="../report/group_figure.rst",
            category="All subjects",
            subcategory="layer {layer}, model {model}",
            labels={"figure": "{figure}"},
        ),
        tests=report(
            "results/{dataset}/group/layer-{layer}/model-{model}/ordering_tests.tsv",
            caption="../report/ordering_tests.rst",
            category="All subjects",
            subcategory="layer {layer}, model {model}",
            labels={"figure": "ordering tests across subjects"},
        ),
    params:
        settings=config["report"],
        subjects=dataset_subjects,
        seed=config["jacobian"]["seed"],
    log:
        "results/{dataset}/logs/group/layer-{layer}_model-{model}.log",
    benchmark:
        "results/{dataset}/benchmarks/group/layer-{layer}_model-{model}.tsv"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=30,
    conda:
        "../envs/jne.yaml"
    script:
        "../scripts/report_group.py"


rule report_layers:
    input:
        roi_tables=per_layer(
            "results/{dataset}/sub-{subject}/layer-{layer}/model-{model}/report/roi_summary.tsv"
        ),
        summary=per_layer(
            "results/{dataset}/sub-{subject}/layer-{layer}/model-{model}/jne_summary.tsv"
        ),
        linear=per_layer(
            f"results/{{dataset}}/sub-{{subject}}/layer-{{layer}}/model-{LINEAR_MODEL}/scores.tsv"
        ),
    output:
        figure=report(
            "results/{dataset}/sub-{subject}/layers/model-{model}/layers.png",
            caption="../report/layers.rst",
            category="Subject {subject}",
            subcategory="layer comparison, model {model}",
            labels={"subject": "{subject}", "figure": "layers"},
        ),
        table="results/{dataset}/sub-{subject}/layers/model-{model}/layers.tsv",
    params:
        settings=config["report"],
        layers=dataset_layers,
        simulated=is_simulated,
    log:
        "results/{dataset}/logs/sub-{subject}/layers_model-{model}.log",
    benchmark:
        "results/{dataset}/benchmarks/sub-{subject}/layers_model-{model}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../envs/jne.yaml"
    script:
        "../scripts/report_layers.py"


rule model_comparison:
    input:
        comparison_inputs,
    output:
        report(
            "results/{dataset}/group/model_comparison.tsv",
            caption="../report/model_comparison.rst",
            category="All subjects",
            subcategory="model comparison",
            labels={"figure": "model comparison table"},
        ),
    params:
        entries=comparison_entries,
        simulated=is_simulated,
    log:
        "results/{dataset}/logs/group/model_comparison.log",
    benchmark:
        "results/{dataset}/benchmarks/group/model_comparison.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../envs/jne.yaml"
    script:
        "../scripts/model_comparison.py"
