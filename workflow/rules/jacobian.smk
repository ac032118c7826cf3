# Jacobian: JNE per voxel and JNE-SS per stimulus and voxel for every fit
# (each seed of an MLP and its linear-surrogate null), then one summary per
# model that averages seeds and compares with the null.


rule jacobian:
    input:
        prepared="results/{dataset}/sub-{subject}/layer-{layer}/prepared.h5",
        dataset="results/{dataset}/sub-{subject}/data/dataset.h5",
        weights=fit_file("weights.pt"),
        metadata=fit_file("model.json"),
    output:
        table="results/{dataset}/sub-{subject}/layer-{layer}/model-{model}/{fit}/jne.tsv",
        jne_ss="results/{dataset}/sub-{subject}/layer-{layer}/model-{model}/{fit}/jne_ss.h5",
        roi_table="results/{dataset}/sub-{subject}/layer-{layer}/model-{model}/{fit}/jne_roi.tsv",
    params:
        settings=config["jacobian"],
        device=DEVICE,
    log:
        "results/{dataset}/logs/sub-{subject}/layer-{layer}/model-{model}/jacobian_{fit}.log",
    benchmark:
        "results/{dataset}/benchmarks/sub-{subject}/layer-{layer}/model-{model}/jacobian_{fit}.tsv"
    threads: TORCH_THREADS
    resources:
        mem_mb=int(config["jacobian"]["max_memory_gb"] * 1024) + 3000,
        runtime=240,
        gpu=GPU,
    conda:
        "../envs/jne.yaml"
    script:
        "../scripts/jacobian.py"


rule jne_summary:
    input:
        unpack(jne_inputs),
        dataset="results/{dataset}/sub-{subject}/data/dataset.h5",
        scores="results/{dataset}/sub-{subject}/layer-{layer}/model-{model}/scores.tsv",
    output:
        voxels="results/{dataset}/sub-{subject}/layer-{layer}/model-{model}/jne_summary.tsv",
        rois="results/{dataset}/sub-{subject}/layer-{layer}/model-{model}/jne_null_roi.tsv",
    log:
        "results/{dataset}/logs/sub-{subject}/layer-{layer}/model-{model}/jne_summary.log",
    benchmark:
        "results/{dataset}/benchmarks/sub-{subject}/layer-{layer}/model-{model}/jne_summary.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../envs/jne.yaml"
    script:
        "../scripts/jne_summary.py"
