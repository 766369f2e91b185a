#!/bin/bash
# Build and run the DataSet micro-benchmark; results in bench/results/dataset.{md,json}.
# Usage: bench/micro/run.sh [BUILD_DIR]   (run on a quiet machine: numbers are latency-bound)
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
make --no-print-directory BUILD="$build" "$build/bench/bench_dataset"
"$build/bench/bench_dataset" bench/results
