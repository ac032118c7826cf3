from pathlib import Path

from jne._atomic import write_table
from jne._snakemake import job
from jne.report.group_stage import model_comparison_table

with job(snakemake, "model comparison"):
    entries = []
    for entry in snakemake.params.entries:
        entry = dict(entry)
        if "recovery" in entry:
            entry["recovery"] = Path(entry["recovery"]) / "recovery.tsv"
        entries.append(entry)
    table = model_comparison_table(
        entries, simulated=snakemake.params.simulated
    )
    write_table(snakemake.output[0], table)
