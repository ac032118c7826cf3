import numpy as np

from jne._snakemake import job
from jne.dataset import Dataset
from jne.errors import DataError
from jne.jacobian.stage import run_jacobian
from jne.models import load_mlp
from jne.prepare import Prepared

SPLITS = {
    "test": ["test"],
    "val": ["val"],
    "train": ["train"],
    "all": ["train", "val", "test"],
}

with job(snakemake, "jacobian"):
    settings = snakemake.params.settings
    prepared = Prepared.load(snakemake.input.prepared)
    dataset = Dataset.load(snakemake.input.dataset, betas=False)
    splits = SPLITS[settings["stimuli"]]
    inputs = np.concatenate([prepared.split(s)[0] for s in splits])
    stimulus_ids = np.concatenate([prepared.stimulus_id[s] for s in splits])

    column = settings["category_column"]
    categories = None
    if column in dataset.stimuli:
        lookup = dataset.stimuli.set_index("stimulus_id")[column]
        categories = lookup.loc[stimulus_ids].to_numpy()
    elif column != "category":
        raise DataError(
            f"jacobian.category_column is {column!r}, but the stimulus "
            f"table of {snakemake.input.dataset} has no such column. "
            f"Columns: {', '.join(dataset.stimuli.columns)}."
        )

    roi = dataset.atlas.voxel_names()[prepared.voxel_index]
    model = load_mlp(
        snakemake.input.weights,
        snakemake.input.metadata,
        device=snakemake.params.device,
    )
    run_jacobian(
        model,
        inputs,
        stimulus_ids,
        categories,
        snakemake.output.table,
        snakemake.output.jne_ss,
        voxel_ids=prepared.voxel_index,
        roi=roi,
        out_roi_table=snakemake.output.roi_table,
        k_min=settings["k_range"][0],
        k_max=settings["k_range"][1],
        mode=settings["mode"],
        max_memory_gb=settings["max_memory_gb"],
        dtype=settings["dtype"],
        device=snakemake.params.device,
        n_bootstrap=settings["n_bootstrap"],
        ci_level=settings["ci_level"],
        seed=settings["seed"],
        n_sampled_stimuli=settings["approximate"]["n_stimuli"],
        n_check_voxels=settings["approximate"]["n_check_voxels"],
    )
