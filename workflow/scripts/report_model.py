from pathlib import Path

import pandas as pd

from jne._snakemake import job
from jne.report.stage import load_model_results, write_subject_report

with job(snakemake, "report"):
    settings = snakemake.params.settings
    results = load_model_results(
        snakemake.input.dataset,
        snakemake.input.summary,
        snakemake.input.linear,
        snakemake.input.jne_ss,
        layer=snakemake.wildcards.layer,
        model=snakemake.wildcards.model,
    )
    write_subject_report(
        results,
        Path(snakemake.output.roi_table).parent,
        roi_groups=settings["roi_groups"] or None,
        surface_maps=settings["surface_maps"],
        allow_mesh_download=settings["allow_mesh_download"],
        fdr_q=snakemake.params.fdr_q,
        dpi=settings["dpi"],
        vector_format=settings["vector_format"],
        ordering_test_name=settings["ordering_test"],
        volume_template=settings["volume_template"],
        roi_intervals=pd.read_csv(snakemake.input.roi_intervals, sep="\t"),
        seed=snakemake.params.seed,
    )
