# Score: test R² and Pearson r per voxel, bootstrap p-values over test
# stimuli, Benjamini-Hochberg FDR and the noise ceiling. MLP ensembles are
# scored on the mean prediction of their seeds.


def score_inputs(wildcards):
    if wildcards.model == "ridge":
        return [LAYER_DIR + "/model-ridge/predictions.h5"]
    return expand(
        MODEL_DIR + "/seed-{seed}/predictions.h5",
        seed=mlp_config(wildcards.model)["seeds"],
        allow_missing=True,
    )


rule score:
    input:
        prepared=LAYER_DIR + "/prepared.h5",
        predictions=score_inputs,
    output:
        MODEL_DIR + "/scores.tsv",
    params:
        settings=config["scoring"],
    log:
        LOG_DIR + "/layer-{layer}/model-{model}/score.log",
    benchmark:
        BENCH_DIR + "/layer-{layer}/model-{model}/score.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    script:
        "../scripts/score.py"
