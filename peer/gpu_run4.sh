#!/usr/bin/env bash
set -u
mkdir -p .gpu && tar xJf .gpux/bundle.tar.xz -C .gpu
export LD_LIBRARY_PATH=$PWD/.gpu/lib:/usr/local/cuda/lib64
nvidia-smi --query-gpu=name --format=csv,noheader
for s in llama-3.1-8b llama-3.2-1b; do
timeout 150 .gpu/cpplm bench --shape $s --dtype bf16 --device cuda --concurrency 32 --shared-prefix 2000 -p 50 -n 16 -r 3 2>&1 | tr '\r' '\n' | grep -E "^\| llama|rror"
done
timeout 100 .gpu/cpplm bench --shape llama-3.2-1b --dtype bf16 --device cuda --concurrency 1,32,128 -p 512 -n 256 2>&1 | grep -E "^\| llama|bandwidth"
