# Fit: the ridge baseline, each residual MLP variant once per seed, and for
# nonlinear variants a null model refitted on linear-surrogate responses.


rule fit_ridge:
    input:
        "results/{dataset}/sub-{subject}/layer-{layer}/prepared.h5",
    output:
        model="results/{dataset}/sub-{subject}/layer-{layer}/model-ridge/ridge.h5",
        metadata="results/{dataset}/sub-{subject}/layer-{layer}/model-ridge/model.json",
        predictions="results/{dataset}/sub-{subject}/layer-{layer}/model-ridge/predictions.h5",
    params:
        settings=config["models"]["ridge"],
        device=DEVICE,
    log:
        "results/{dataset}/logs/sub-{subject}/layer-{layer}/fit_ridge.log",
    benchmark:
        "results/{dataset}/benchmarks/sub-{subject}/layer-{layer}/fit_ridge.tsv"
    threads: TORCH_THREADS
    resources:
        mem_mb=6000,
        runtime=120,
        gpu=GPU,
    conda:
        "../envs/jne.yaml"
    script:
        "../scripts/fit_ridge.py"


rule fit_mlp:
    input:
        "results/{dataset}/sub-{subject}/layer-{layer}/prepared.h5",
    output:
        weights="results/{dataset}/sub-{subject}/layer-{layer}/model-{model}/seed-{seed}/weights.pt",
        metadata="results/{dataset}/sub-{subject}/layer-{layer}/model-{model}/seed-{seed}/model.json",
        history="results/{dataset}/sub-{subject}/layer-{layer}/model-{model}/seed-{seed}/history.tsv",
        predictions="results/{dataset}/sub-{subject}/layer-{layer}/model-{model}/seed-{seed}/predictions.h5",
    params:
        settings=lambda wildcards: mlp_config(wildcards.model),
        device=DEVICE,
    log:
        "results/{dataset}/logs/sub-{subject}/layer-{layer}/model-{model}/fit_seed-{seed}.log",
    benchmark:
        "results/{dataset}/benchmarks/sub-{subject}/layer-{layer}/model-{model}/fit_seed-{seed}.tsv"
    threads: TORCH_THREADS
    resources:
        mem_mb=8000,
        runtime=240,
        gpu=GPU,
    conda:
        "../envs/jne.yaml"
    script:
        "../scripts/fit_mlp.py"


rule fit_null:
    input:
        prepared="results/{dataset}/sub-{subject}/layer-{layer}/prepared.h5",
        ridge="results/{dataset}/sub-{subject}/layer-{layer}/model-ridge/ridge.h5",
    output:
        weights="results/{dataset}/sub-{subject}/layer-{layer}/model-{model}/null/weights.pt",
        metadata="results/{dataset}/sub-{subject}/layer-{layer}/model-{model}/null/model.json",
        history="results/{dataset}/sub-{subject}/layer-{layer}/model-{model}/null/history.tsv",
        predictions="results/{dataset}/sub-{subject}/layer-{layer}/model-{model}/null/predictions.h5",
    params:
        settings=lambda wildcards: mlp_config(wildcards.model),
        seed=config["jacobian"]["seed"],
        device=DEVICE,
    log:
        "results/{dataset}/logs/sub-{subject}/layer-{layer}/model-{model}/fit_null.log",
    benchmark:
        "results/{dataset}/benchmarks/sub-{subject}/layer-{layer}/model-{model}/fit_null.tsv"
    threads: TORCH_THREADS
    resources:
        mem_mb=8000,
        runtime=240,
        gpu=GPU,
    conda:
        "../envs/jne.yaml"
    script:
        "../scripts/fit_null.py"
