from pathlib import Path

from jne._snakemake import job
from jne.simulation.run import run_validation

with job(snakemake, "validate"):
    out_dir = Path(snakemake.output.summary).parent
    summary = run_validation(
        out_dir, quick=snakemake.params.quick, seed=snakemake.params.seed
    )
    failed = summary.loc[~summary["passed"], "name"].tolist()
    if failed:
        raise RuntimeError(
            f"{len(failed)} simulation checks failed: {', '.join(failed)}. "
            f"See {snakemake.output.summary}."
        )
