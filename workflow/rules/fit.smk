# Fit: the ridge baseline, each residual MLP variant once per seed, and for
# nonlinear variants a null model refitted on linear-surrogate responses.


rule fit_ridge:
    input:
        LAYER_DIR + "/prepared.h5",
    output:
        model=LAYER_DIR + "/model-ridge/ridge.h5",
        metadata=LAYER_DIR + "/model-ridge/model.json",
        predictions=LAYER_DIR + "/model-ridge/predictions.h5",
    params:
        settings=config["models"]["ridge"],
        device=DEVICE,
    log:
        LOG_DIR + "/layer-{layer}/fit_ridge.log",
    benchmark:
        BENCH_DIR + "/layer-{layer}/fit_ridge.tsv"
    threads: TORCH_THREADS
    resources:
        mem_mb=6000,
        runtime=120,
        gpu=GPU,
    script:
        "../scripts/fit_ridge.py"


rule fit_mlp:
    input:
        LAYER_DIR + "/prepared.h5",
    output:
        weights=MODEL_DIR + "/seed-{seed}/weights.pt",
        metadata=MODEL_DIR + "/seed-{seed}/model.json",
        history=MODEL_DIR + "/seed-{seed}/history.tsv",
        predictions=MODEL_DIR + "/seed-{seed}/predictions.h5",
    params:
        settings=lambda wildcards: mlp_config(wildcards.model),
        device=DEVICE,
    log:
        LOG_DIR + "/layer-{layer}/model-{model}/fit_seed-{seed}.log",
    benchmark:
        BENCH_DIR + "/layer-{layer}/model-{model}/fit_seed-{seed}.tsv"
    threads: TORCH_THREADS
    resources:
        mem_mb=8000,
        runtime=240,
        gpu=GPU,
    script:
        "../scripts/fit_mlp.py"


rule fit_null:
    input:
        prepared=LAYER_DIR + "/prepared.h5",
        ridge=LAYER_DIR + "/model-ridge/ridge.h5",
    output:
        weights=MODEL_DIR + "/null/weights.pt",
        metadata=MODEL_DIR + "/null/model.json",
        history=MODEL_DIR + "/null/history.tsv",
        predictions=MODEL_DIR + "/null/predictions.h5",
    params:
        settings=lambda wildcards: mlp_config(wildcards.model),
        seed=config["jacobian"]["seed"],
        device=DEVICE,
    log:
        LOG_DIR + "/layer-{layer}/model-{model}/fit_null.log",
    benchmark:
        BENCH_DIR + "/layer-{layer}/model-{model}/fit_null.tsv"
    threads: TORCH_THREADS
    resources:
        mem_mb=8000,
        runtime=240,
        gpu=GPU,
    script:
        "../scripts/fit_null.py"
