# Fetch: bring one subject's responses, stimuli, embeddings and atlas into
# a single HDF5 file, from the demo builder, local files or NSD. The user's
# own files are inputs, so replacing one reruns everything after it.


rule fetch:
    input:
        fetch_inputs,
    output:
        "results/{dataset}/sub-{subject}/data/dataset.h5",
    params:
        settings=dataset_config,
        resources_dir=config["resources_dir"],
    log:
        "results/{dataset}/logs/sub-{subject}/fetch.log",
    benchmark:
        "results/{dataset}/benchmarks/sub-{subject}/fetch.tsv"
    threads: TORCH_THREADS
    resources:
        mem_mb=4000,
        runtime=120,
    conda:
        "../envs/jne.yaml"
    script:
        "../scripts/fetch.py"
