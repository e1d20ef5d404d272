#!/usr/bin/env bash
# Builds the CUDA tests and benchmark here (Release, CUDA on, through scripts/b) and stages them in .gpu/
# with the shared libraries a bare GPU machine may lack; then: run scripts/gpu_check.sh there, carrying .gpu.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/b cuda_tests cuda_bench
rm -rf .gpu && mkdir -p .gpu/lib
cp build/tests/cuda_tests build/cuda_bench .gpu/
cp -L "$(ldconfig -p | awk '$1=="libgomp.so.1"{print $NF; exit}')" .gpu/lib/
x=$(git rev-parse --git-path info/exclude); mkdir -p "$(dirname "$x")"; grep -qsx '/.gpu/' "$x" || echo '/.gpu/' >>"$x"
du -sh .gpu
