#!/usr/bin/env bash
# Builds the CUDA tests, the CLI (its bench) and serve_bench here (Release, CUDA on, through scripts/b), stages them
# in .gpu/ with the shared libraries a bare GPU machine may lack, and packs that folder into .gpux/bundle.tar.xz (the
# tree and what is carried must stay under the device's 64 MiB); then run scripts/gpu_check.sh there, carrying .gpux.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/b cuda_tests cpplm_cli serve_bench
rm -rf .gpu && mkdir -p .gpu/lib
cp build/tests/cuda_tests build/cpplm build/bench/serve_bench .gpu/
# Debian libraries the binaries need that a bare GPU machine lacks (CUDA's own come from its toolkit).
for l in $(ldd build/cpplm | grep -E "gomp|utf8proc|pcre2|sentencepiece|libedit|libbsd|libmd|tinfo|httplib|libssl|libcrypto|brotli" | awk '{print $3}'); do cp -L "$l" .gpu/lib/; done
x=$(git rev-parse --git-path info/exclude); mkdir -p "$(dirname "$x")"
for d in /.gpu/ /.gpux/; do grep -qsx "$d" "$x" || echo "$d" >>"$x"; done
strip --strip-unneeded .gpu/cuda_tests .gpu/cpplm .gpu/serve_bench
mkdir -p .gpux && tar cf - -C .gpu . | xz -T2 -6 >.gpux/bundle.tar.xz
du -sh .gpu .gpux
