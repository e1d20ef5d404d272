#!/usr/bin/env bash
set -u
mkdir -p .gpu && tar xJf .gpux/bundle.tar.xz -C .gpu && mkdir -p /tmp/tok && tar xJf tests/data/tokenizers.tar.xz -C /tmp/tok
export LD_LIBRARY_PATH=$PWD/.gpu/lib:/usr/local/cuda/lib64 CPPLM_TOKENIZER_DATA=/tmp/tok/tokenizers CPPLM_TEST_DATA=$PWD/tests/data CPPLM_MODELS_DIR=$PWD/models
nvidia-smi --query-gpu=name --format=csv,noheader
timeout 150 .gpu/cpplm bench --shape llama-3.1-8b --dtype bf16 --device cuda --concurrency 32 --shared-prefix 2000 -p 50 -n 16 -r 3 2>&1 | tr '\r' '\n' | grep -E "^\||rror"
timeout 380 .gpu/cuda_tests 2>&1 | grep -E "^\[ +(FAILED|PASSED) |Failure|tests ran" | tail -20
