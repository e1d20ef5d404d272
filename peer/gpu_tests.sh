#!/usr/bin/env bash
set -u
mkdir -p .gpu && tar xJf .gpux/bundle.tar.xz -C .gpu && mkdir -p /tmp/tok && tar xJf tests/data/tokenizers.tar.xz -C /tmp/tok
export LD_LIBRARY_PATH=$PWD/.gpu/lib:/usr/local/cuda/lib64 CPPLM_TOKENIZER_DATA=/tmp/tok/tokenizers CPPLM_TEST_DATA=$PWD/tests/data CPPLM_MODELS_DIR=$PWD/models
nvidia-smi --query-gpu=name --format=csv,noheader
timeout 500 .gpu/cuda_tests --gtest_filter="$1" 2>&1 | grep -E "^\[ +(OK|FAILED|PASSED) |invariance|Failure|Expected|Which is|actual|error|at position|step" | tail -60
