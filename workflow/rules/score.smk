# Score: test R² and Pearson r per voxel, bootstrap p-values over test
# stimuli, Benjamini-Hochberg FDR and the noise ceiling. MLP ensembles are
# scored on the mean prediction of their seeds.


rule score:
    input:
        prepared="results/{dataset}/sub-{subject}/layer-{layer}/prepared.h5",
        predictions=score_inputs,
    output:
        "results/{dataset}/sub-{subject}/layer-{layer}/model-{model}/scores.tsv",
    params:
        settings=config["scoring"],
    log:
        "results/{dataset}/logs/sub-{subject}/layer-{layer}/model-{model}/score.log",
    benchmark:
        "results/{dataset}/benchmarks/sub-{subject}/layer-{layer}/model-{model}/score.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        "../envs/jne.yaml"
    script:
        "../scripts/score.py"
