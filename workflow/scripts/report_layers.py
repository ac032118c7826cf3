from jne._snakemake import job
from jne.report.context import DataLabel
from jne.report.group_stage import write_layer_report

with job(snakemake, "layer report"):
    settings = snakemake.params.settings
    layers = snakemake.params.layers
    write_layer_report(
        dict(zip(layers, snakemake.input.roi_tables)),
        dict(zip(layers, snakemake.input.summary)),
        dict(zip(layers, snakemake.input.linear)),
        snakemake.output.figure,
        snakemake.output.table,
        label=DataLabel(
            dataset=snakemake.wildcards.dataset,
            subject=snakemake.wildcards.subject,
            layer=None,
            model=snakemake.wildcards.model,
            simulated=snakemake.params.simulated,
        ),
        dpi=settings["dpi"],
        vector_format=settings["vector_format"],
    )
