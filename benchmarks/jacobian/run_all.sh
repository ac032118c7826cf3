#!/usr/bin/env bash
# Run the JNE engine benchmarks recorded in benchmarks/jacobian/README.md.
# From the repository root, with jne importable:
#     bash benchmarks/jacobian/run_all.sh [PYTHON]
# Takes about an hour on 2 CPU cores. Writes JSON records to
# benchmarks/jacobian/results/ and prints the Markdown table.
set -euo pipefail
PYTHON=${1:-python}
HERE=benchmarks/jacobian
OUT=$HERE/results
SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT
mkdir -p "$OUT"

# All four algorithms at 2,000 voxels. The autograd variant times 20
# voxels and extrapolates. The generic path runs on a tenth of the
# stimuli and is scaled up, because its cost is linear in the stimuli.
"$PYTHON" $HERE/bench_jacobian.py suite --voxels 2000 \
    --variants matmul fast generic autograd \
    --subset 20 --stimuli-fraction 0.1 --log "$SCRATCH/run.log" \
    --output $OUT/voxels_2000.json

# The fast path again with a smaller budget, to compare its memory with
# the autograd variant's.
"$PYTHON" $HERE/bench_jacobian.py suite --voxels 2000 --budget 0.75 \
    --variants fast --log "$SCRATCH/run.log" \
    --output $OUT/voxels_2000_budget_0.75.json

# The fast path and its matrix-product bound at 10,000 voxels, and the
# approximate mode with its measured error. The 1.25 GB budget keeps the
# whole process, torch included, under 2 GB.
"$PYTHON" $HERE/bench_jacobian.py suite --voxels 10000 --budget 1.25 \
    --variants matmul fast approximate --log "$SCRATCH/run.log" \
    --hdf5 "$SCRATCH/jne_ss.h5" --output $OUT/voxels_10000.json

# A whole-brain size: stopped after 3 minutes, peak memory recorded and
# the time extrapolated from the engine's progress lines.
"$PYTHON" $HERE/bench_jacobian.py suite --voxels 200000 --budget 1.25 \
    --variants fast --time-limit 180 --log "$SCRATCH/run.log" \
    --hdf5 "$SCRATCH/jne_ss.h5" --output $OUT/voxels_200000.json

"$PYTHON" $HERE/summarise.py $OUT/*.json
