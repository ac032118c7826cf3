# Jacobian: JNE per voxel and JNE-SS per stimulus and voxel for every fit
# (each seed of an MLP and its linear-surrogate null), then one summary per
# model that averages seeds and compares with the null.


rule jacobian:
    input:
        prepared=LAYER_DIR + "/prepared.h5",
        dataset=SUBJECT_DIR + "/data/dataset.h5",
        weights=fit_weights,
        metadata=lambda wildcards: fit_weights(wildcards).replace(
            "weights.pt", "model.json"
        ),
    output:
        table=MODEL_DIR + "/{fit}/jne.tsv",
        jne_ss=MODEL_DIR + "/{fit}/jne_ss.h5",
        roi_table=MODEL_DIR + "/{fit}/jne_roi.tsv",
    params:
        settings=config["jacobian"],
        device=DEVICE,
    log:
        LOG_DIR + "/layer-{layer}/model-{model}/jacobian_{fit}.log",
    benchmark:
        BENCH_DIR + "/layer-{layer}/model-{model}/jacobian_{fit}.tsv"
    threads: TORCH_THREADS
    resources:
        mem_mb=lambda wildcards: int(config["jacobian"]["max_memory_gb"] * 1024)
        + 3000,
        runtime=240,
        gpu=GPU,
    script:
        "../scripts/jacobian.py"


rule jne_summary:
    input:
        unpack(jne_inputs),
        prepared=LAYER_DIR + "/prepared.h5",
        dataset=SUBJECT_DIR + "/data/dataset.h5",
        scores=MODEL_DIR + "/scores.tsv",
    output:
        voxels=MODEL_DIR + "/jne_summary.tsv",
        rois=MODEL_DIR + "/jne_null_roi.tsv",
    log:
        LOG_DIR + "/layer-{layer}/model-{model}/jne_summary.log",
    benchmark:
        BENCH_DIR + "/layer-{layer}/model-{model}/jne_summary.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../scripts/jne_summary.py"
