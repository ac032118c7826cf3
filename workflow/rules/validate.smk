# Validate: simulations that check JNE against known nonlinearity (single
# units, networks, sample size, invariances, blind spot). Not part of the
# default target; run it with `snakemake validate`.


rule validate:
    output:
        summary=report(
            "results/validation/summary.tsv",
            caption="../report/validation_summary.rst",
            category="Validation",
        ),
        figures=report(
            directory("results/validation/figures"),
            patterns=["{name}.png"],
            caption="../report/validation_figure.rst",
            category="Validation",
        ),
        tables=directory("results/validation/tables"),
        run="results/validation/run.json",
    params:
        quick=config["validate"]["quick"],
        seed=config["validate"]["seed"],
    log:
        "results/logs/validate.log",
    benchmark:
        "results/benchmarks/validate.tsv"
    threads: TORCH_THREADS
    resources:
        mem_mb=4000,
        runtime=60,
    conda:
        "../envs/jne.yaml"
    script:
        "../scripts/validate.py"
