import numpy as np

from jne._atomic import write_table
from jne._snakemake import job, responses_label
from jne.errors import DataError
from jne.models import load_predictions
from jne.prepare import Prepared
from jne.scoring import score_predictions

with job(snakemake, "score"):
    settings = snakemake.params.settings
    prepared = Prepared.load(snakemake.input.prepared)
    predictions = [
        load_predictions(path) for path in snakemake.input.predictions
    ]
    expected = list(prepared.stimulus_id["test"])
    for path, prediction in zip(snakemake.input.predictions, predictions):
        if list(prediction["stimulus_id"]) != expected:
            raise DataError(
                f"{path} predicts other test stimuli than "
                f"{snakemake.input.prepared}. Delete it and rerun the fit."
            )
    mean_prediction = np.mean([p["y_pred"] for p in predictions], axis=0)
    table = score_predictions(
        prepared.Y_test,
        mean_prediction,
        noise_ceiling=prepared.noise_ceiling,
        voxel=prepared.voxel_index,
        n_bootstrap=settings["n_bootstrap"],
        fdr_q=settings["fdr_q"],
        seed=settings["seed"],
    )
    table.insert(1, "n_seeds", len(predictions))
    table["responses"] = responses_label(snakemake)
    write_table(snakemake.output[0], table)
