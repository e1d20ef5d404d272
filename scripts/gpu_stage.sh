#!/usr/bin/env bash
# Builds the CUDA tests and the CLI (its bench) here (Release, CUDA on, through scripts/b) and stages them in .gpu/
# with the shared libraries a bare GPU machine may lack; then: run scripts/gpu_check.sh there, carrying .gpu.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/b cuda_tests cpplm_cli serve_bench
rm -rf .gpu && mkdir -p .gpu/lib
cp build/tests/cuda_tests build/cpplm build/bench/serve_bench .gpu/
# Debian libraries the binaries need that a bare GPU machine lacks (CUDA's own come from its toolkit).
for l in $(ldd build/cpplm | grep -E "gomp|utf8proc|pcre2|sentencepiece|libedit|libbsd|libmd|tinfo|httplib|libssl|libcrypto|brotli" | awk '{print $3}'); do cp -L "$l" .gpu/lib/; done
x=$(git rev-parse --git-path info/exclude); mkdir -p "$(dirname "$x")"; grep -qsx '/.gpu/' "$x" || echo '/.gpu/' >>"$x"
strip --strip-unneeded .gpu/cuda_tests .gpu/cpplm .gpu/serve_bench
du -sh .gpu
