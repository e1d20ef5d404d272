#!/usr/bin/env bash
set -u
mkdir -p .gpu && tar xJf .gpux/bundle.tar.xz -C .gpu
export LD_LIBRARY_PATH=$PWD/.gpu/lib:/usr/local/cuda/lib64 CPPLM_TEST_DATA=$PWD/tests/data CPPLM_MODELS_DIR=$PWD/models
nvidia-smi --query-gpu=name --format=csv,noheader
timeout 200 .gpu/cuda_tests --gtest_filter='*CudaPaged*' 2>&1 | grep -E "^\[ +(OK|FAILED|PASSED) |invariance|Failure|Expected|actual" | tail -20
B=".gpu/cpplm bench --shape llama-3.1-8b --dtype bf16 --device cuda"
for r in 1 2; do for bs in 32 0; do echo "== round $r --kv-block-size $bs"; timeout 120 $B --concurrency 1,32,128 -p 512 -n 256 --kv-block-size $bs 2>&1 | grep -E "^\| llama|bandwidth" ; done; done
echo "== shared prefix"
timeout 150 $B --concurrency 32 --shared-prefix 2000 -p 50 -n 16 -r 3 2>&1 | grep -E "^\|"
