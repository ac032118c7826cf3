"""Sum the per-rule benchmark files of a workflow run into one table.

Snakemake writes one tab-separated file per job under
``results/{dataset}/benchmarks/`` (wall seconds ``s``, peak resident
memory ``max_rss`` in MB, ``cpu_time`` in seconds). This script groups the
jobs by rule and prints a Markdown table of the job count, the summed and
largest wall time, and the largest peak memory of each rule.

Usage::

    python benchmarks/workflow/summarise.py results/demo/benchmarks
"""

import re
import sys
from pathlib import Path

import pandas as pd

# Benchmark file names (see workflow/rules/*.smk) and the rule of each.
RULES = [
    (r"group/model_comparison", "model_comparison"),
    (r"group/layer-[^/]+_model-[^/]+", "report_group"),
    (r"layers_model-[^/]+", "report_layers"),
    (r"fit_seed-\d+", "fit_mlp"),
    (r"jacobian_[^/]+", "jacobian"),
    (r"report", "report_model"),
    (r"(fetch|prepare|fit_ridge|fit_null|score|jne_summary|validate)", None),
]


def rule_of(path):
    """Return the rule that wrote the benchmark file ``path``."""
    name = path.with_suffix("").as_posix()
    for pattern, rule in RULES:
        match = re.search(rf"(?:^|/)({pattern})$", name)
        if match:
            return rule or match.group(1)
    return path.stem


def summarise(folder):
    """Return one row per rule from the benchmark files under ``folder``."""
    rows = []
    for path in sorted(Path(folder).rglob("*.tsv")):
        table = pd.read_csv(path, sep="\t")
        for _, record in table.iterrows():
            rows.append(
                {
                    "rule": rule_of(path),
                    "seconds": float(record["s"]),
                    "max_rss_mb": float(record["max_rss"]),
                    "cpu_seconds": float(record["cpu_time"]),
                }
            )
    if not rows:
        raise SystemExit(f"No benchmark files under {folder}.")
    frame = pd.DataFrame(rows)
    summary = frame.groupby("rule").agg(
        jobs=("seconds", "size"),
        total_s=("seconds", "sum"),
        longest_s=("seconds", "max"),
        cpu_s=("cpu_seconds", "sum"),
        peak_rss_mb=("max_rss_mb", "max"),
    )
    return summary.sort_values("total_s", ascending=False)


def main():
    folder = sys.argv[1] if len(sys.argv) > 1 else "results/demo/benchmarks"
    summary = summarise(folder)
    header = ["rule", *summary.columns]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for rule, row in summary.iterrows():
        cells = [str(int(row["jobs"]))] + [
            f"{row[c]:.1f}" for c in summary.columns[1:]
        ]
        print("| " + " | ".join([rule, *cells]) + " |")
    total = summary["total_s"].sum()
    print(f"\nSum of job wall times: {total:.0f} s over "
          f"{int(summary['jobs'].sum())} jobs.")


if __name__ == "__main__":
    main()
