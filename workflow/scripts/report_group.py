from pathlib import Path

from jne._snakemake import job
from jne.report.group_stage import write_group_report
from jne.report.stage import load_model_results

with job(snakemake, "group report"):
    settings = snakemake.params.settings
    results = {
        subject: load_model_results(
            dataset,
            summary,
            linear,
            [],
            layer=snakemake.wildcards.layer,
            model=snakemake.wildcards.model,
        )
        for subject, dataset, summary, linear in zip(
            snakemake.params.subjects,
            snakemake.input.dataset,
            snakemake.input.summary,
            snakemake.input.linear,
        )
    }
    write_group_report(
        results,
        Path(snakemake.output.tests).parent,
        roi_groups=settings["roi_groups"] or None,
        ordering_test_name=settings["ordering_test"],
        dpi=settings["dpi"],
        vector_format=settings["vector_format"],
        seed=snakemake.params.seed,
    )
