from jne._snakemake import job
from jne.models import (
    RidgeFit,
    fit_mlp,
    linear_surrogate,
    save_mlp,
    save_predictions,
)
from jne.prepare import Prepared

with job(snakemake, "fit linear-surrogate null"):
    settings = dict(snakemake.params.settings)
    seed = settings.pop("seeds")[0]
    prepared = Prepared.load(snakemake.input.prepared)
    ridge = RidgeFit.load(snakemake.input.ridge)
    surrogate_seed = snakemake.params.seed
    Y_train = linear_surrogate(
        ridge, prepared.X_train, prepared.Y_train, surrogate_seed
    )
    Y_val = linear_surrogate(
        ridge, prepared.X_val, prepared.Y_val, surrogate_seed + 1
    )
    fit = fit_mlp(
        prepared.X_train,
        Y_train,
        prepared.X_val,
        Y_val,
        **settings,
        seed=seed,
        device=snakemake.params.device,
    )
    save_mlp(
        fit,
        weights_path=snakemake.output.weights,
        metadata_path=snakemake.output.metadata,
        history_path=snakemake.output.history,
        metadata=dict(
            snakemake.wildcards,
            simulated=prepared.simulated,
            null=True,
            surrogate_seed=surrogate_seed,
        ),
    )
    save_predictions(
        snakemake.output.predictions,
        fit.predict(prepared.X_test),
        prepared.stimulus_id["test"],
        voxel_index=prepared.voxel_index,
    )
