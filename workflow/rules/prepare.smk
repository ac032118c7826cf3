# Prepare: z-score, average repeats, drop unusable voxels, split stimuli
# into train / validation / test and compute the noise ceiling.


rule prepare:
    input:
        "results/{dataset}/sub-{subject}/data/dataset.h5",
    output:
        "results/{dataset}/sub-{subject}/layer-{layer}/prepared.h5",
    params:
        settings=config["prepare"],
    log:
        "results/{dataset}/logs/sub-{subject}/layer-{layer}/prepare.log",
    benchmark:
        "results/{dataset}/benchmarks/sub-{subject}/layer-{layer}/prepare.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        "../envs/jne.yaml"
    script:
        "../scripts/prepare.py"
