from jne._snakemake import job
from jne.sources import fetch_dataset

with job(snakemake, "fetch"):
    settings = snakemake.params.settings
    dataset = fetch_dataset(
        settings["source"],
        snakemake.wildcards.subject,
        settings["options"],
        name=snakemake.wildcards.dataset,
        resources_dir=snakemake.params.resources_dir,
    )
    dataset.save(snakemake.output[0])
