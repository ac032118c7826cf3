import numpy as np
import pandas as pd

from jne._atomic import write_table
from jne._snakemake import job, responses_label
from jne.dataset import Dataset
from jne.errors import DataError
from jne.jacobian.ensemble import aggregate_seeds
from jne.jacobian.null import jne_above_null

with job(snakemake, "JNE summary"):
    seeds = [pd.read_csv(path, sep="\t") for path in snakemake.input.seeds]
    voxels = seeds[0]["voxel"].to_numpy()
    for path, table in zip(snakemake.input.seeds, seeds):
        if not np.array_equal(table["voxel"].to_numpy(), voxels):
            raise DataError(
                f"{path} covers other voxels than {snakemake.input.seeds[0]}."
                " Delete the jacobian outputs and rerun."
            )

    def stack(column):
        return np.stack([t[column].to_numpy() for t in seeds])

    jne = aggregate_seeds(stack("jne"))
    normalised = aggregate_seeds(stack("jne_normalised"))
    dataset = Dataset.load(snakemake.input.dataset, betas=False)
    summary = pd.DataFrame(
        {
            "voxel": voxels,
            "roi": dataset.atlas.voxel_names()[voxels],
            "jne": jne.mean,
            "jne_seed_std": jne.std,
            "n_seeds": jne.n_seeds,
            "jne_normalised": normalised.mean,
            "mean_jacobian_l1": stack("mean_jacobian_l1").mean(axis=0),
            # Intervals are computed per seed over stimuli; with several
            # seeds the bounds are averaged.
            "jne_ci_low": stack("jne_ci_low").mean(axis=0),
            "jne_ci_high": stack("jne_ci_high").mean(axis=0),
        }
    )

    roi_rows = pd.DataFrame(columns=["roi", "n_voxels"])
    if "null" in snakemake.input.keys():
        null = pd.read_csv(snakemake.input.null, sep="\t")
        if not np.array_equal(null["voxel"].to_numpy(), voxels):
            raise DataError(
                f"{snakemake.input.null} covers other voxels than the seeds."
            )
        comparison = jne_above_null(
            summary["jne"].to_numpy(),
            null["jne"].to_numpy(),
            roi=summary["roi"].to_numpy(),
            voxel_ids=voxels,
        )
        summary["jne_null"] = comparison.voxel_table["null_mean"].to_numpy()
        summary["jne_above_null"] = comparison.voxel_table["excess"].to_numpy()
        summary["jne_null_ratio"] = comparison.voxel_table["ratio"].to_numpy()
        if comparison.roi_table is not None:
            roi_rows = comparison.roi_table

    scores = pd.read_csv(snakemake.input.scores, sep="\t").set_index("voxel")
    scores = scores.loc[voxels]
    for column in ("r2", "significant", "noise_ceiling"):
        summary[column] = scores[column].to_numpy()
    summary["responses"] = responses_label(snakemake)
    roi_rows = roi_rows.assign(responses=responses_label(snakemake))
    write_table(snakemake.output.voxels, summary)
    write_table(snakemake.output.rois, roi_rows)
