from jne._snakemake import job
from jne.dataset import Dataset
from jne.prepare import prepare

with job(snakemake, "prepare"):
    settings = snakemake.params.settings
    prepared = prepare(
        Dataset.load(snakemake.input[0]),
        snakemake.wildcards.layer,
        zscore_responses=settings["zscore_responses"],
        zscore_features=settings["zscore_features"],
        test_fraction=settings["test_fraction"],
        val_fraction=settings["val_fraction"],
        seed=settings["seed"],
        rois=settings["rois"] or None,
        n_components=settings["n_components"],
    )
    prepared.save(snakemake.output[0])
