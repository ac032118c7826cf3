from jne._snakemake import job
from jne.models import fit_mlp, save_mlp, save_predictions
from jne.prepare import Prepared

with job(snakemake, "fit MLP"):
    settings = dict(snakemake.params.settings)
    settings.pop("seeds")
    seed = int(snakemake.wildcards.seed)
    prepared = Prepared.load(snakemake.input[0])
    fit = fit_mlp(
        prepared.X_train,
        prepared.Y_train,
        prepared.X_val,
        prepared.Y_val,
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
            snakemake.wildcards, simulated=prepared.simulated, null=False
        ),
    )
    save_predictions(
        snakemake.output.predictions,
        fit.predict(prepared.X_test),
        prepared.stimulus_id["test"],
        voxel_index=prepared.voxel_index,
    )
