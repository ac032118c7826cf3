# Prepare: z-score, average repeats, drop unusable voxels, split stimuli
# into train / validation / test and compute the noise ceiling.


rule prepare:
    input:
        SUBJECT_DIR + "/data/dataset.h5",
    output:
        LAYER_DIR + "/prepared.h5",
    params:
        settings=config["prepare"],
    log:
        LOG_DIR + "/layer-{layer}/prepare.log",
    benchmark:
        BENCH_DIR + "/layer-{layer}/prepare.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    script:
        "../scripts/prepare.py"
