# Fetch: bring one subject's responses, stimuli, embeddings and atlas into
# a single HDF5 file, from the demo builder, local files or NSD.


rule fetch:
    output:
        SUBJECT_DIR + "/data/dataset.h5",
    params:
        settings=dataset_config,
        resources_dir=config["resources_dir"],
    log:
        LOG_DIR + "/fetch.log",
    benchmark:
        BENCH_DIR + "/fetch.tsv"
    threads: TORCH_THREADS
    resources:
        mem_mb=4000,
        runtime=120,
    script:
        "../scripts/fetch.py"
