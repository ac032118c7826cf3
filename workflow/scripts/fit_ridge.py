from pathlib import Path

from jne._snakemake import job
from jne.models import fit_ridge, save_predictions, save_ridge
from jne.prepare import Prepared

with job(snakemake, "fit ridge"):
    settings = snakemake.params.settings
    prepared = Prepared.load(snakemake.input[0])
    X, Y = prepared.train_val()
    fit = fit_ridge(
        X,
        Y,
        alphas=settings["alphas"],
        cv=settings["cv"],
        device=snakemake.params.device,
        # Centre the responses in place: the arrays are not used again.
        copy=False,
    )
    save_ridge(
        fit,
        Path(snakemake.output.model).parent,
        metadata=dict(snakemake.wildcards, simulated=prepared.simulated),
    )
    save_predictions(
        snakemake.output.predictions,
        fit.predict(prepared.X_test),
        prepared.stimulus_id["test"],
        voxel_index=prepared.voxel_index,
    )
