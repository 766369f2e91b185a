#!/bin/bash
# Build and run the DataSet micro-benchmark; results in bench/results/dataset.{md,json}.
# Usage: bench/micro/run.sh [BUILD_DIR]
# Time is the minimum of 5 runs (the machine is shared). Without hardware
# counters the bench also counts instructions and cache misses per match under
# valgrind's callgrind, one process per cell (~10 min); XADC_BENCH_COUNT=0 skips
# that, XADC_BENCH_OPS="equals ipset" limits a run (timing and counting) to some operators.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
make --no-print-directory BUILD="$build" "$build/bench/bench_dataset"
"$build/bench/bench_dataset" bench/results
