"""Print the records of bench_jacobian.py suites as a Markdown table.

Usage::

    python benchmarks/jacobian/summarise.py results/*.json
"""

import json
import sys
from pathlib import Path


def describe(record):
    """Return the table cells of one record."""
    load = record.get("load_average") or [float("nan")]
    seconds = record["seconds"]
    note = record.get("seconds_note", "")
    if "approximation" in record:
        error = record["approximation"]["median_relative_error"]
        note = f"median relative error {100 * error:.1f} %"
    if record.get("gflop_per_s"):
        note = f"{record['gflop_per_s']:.0f} GFLOP/s"
    before = record.get("rss_before_gb")
    return [
        record.get("variant", "fast"),
        str(record.get("n_voxels", "")),
        f"{record.get('budget_gb', 2.0):g}",
        "stopped" if seconds is None else f"{seconds:.0f}",
        f"{record['peak_rss_gb']:.2f}",
        "" if before is None else f"{before:.2f}",
        f"{load[0]:.1f}",
        note,
    ]


def main():
    header = [
        "variant",
        "voxels",
        "budget GB",
        "time s",
        "peak RSS GB",
        "RSS before GB",
        "load",
        "note",
    ]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for name in sys.argv[1:]:
        suite = json.loads(Path(name).read_text())
        for record in suite["records"]:
            print("| " + " | ".join(describe(record)) + " |")


if __name__ == "__main__":
    main()
