#!/usr/bin/env bash
# On a GPU machine, in one go: CUDA tests, compute-sanitizer memcheck, cpplm's GPU benchmark and the
# PyTorch peers; logs under $OUT. Binaries come prebuilt in .gpu/ (scripts/gpu_stage.sh, run where
# the Debian build dependencies are) or are built here when .gpu/ is absent (needs those packages).
# Usage: scripts/gpu_check.sh [--no-peers] [--no-memcheck] [--no-bench] [--variants "V1 V2 ..."]
# (--no-bench: skip the bf16 benchmark table and serve_bench)
# (--variants: scripts/gpu_ab.sh with those builds (.gpu/cpplm_V) after the benchmark, before memcheck)
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/cpplm-gpu}
mkdir -p "$OUT"
PEERS=1 MEMCHECK=1 BENCH=1 VARIANTS=
while [ $# -gt 0 ]; do
  case $1 in --no-peers) PEERS=0 ;; --no-memcheck) MEMCHECK=0 ;; --no-bench) BENCH=0 ;; --variants) VARIANTS=$2; shift ;; esac
  shift
done
log() { echo "== $*" | tee -a "$OUT/summary.txt"; }

nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.mem --format=csv | tee "$OUT/gpu.txt"
BIN=.gpu
# Binaries come packed (scripts/gpu_stage.sh): unpack them; the Llama 3 tokenizer for the GPU server test too.
if [ ! -x .gpu/cuda_tests ] && [ -f .gpux/bundle.tar.xz ]; then mkdir -p .gpu && tar xJf .gpux/bundle.tar.xz -C .gpu; fi
mkdir -p /tmp/cpplm-tokenizers && tar xJf tests/data/tokenizers.tar.xz -C /tmp/cpplm-tokenizers
export CPPLM_TOKENIZER_DATA=/tmp/cpplm-tokenizers/tokenizers
if [ ! -x "$BIN/cuda_tests" ]; then
  log "no prebuilt binaries: building here"
  cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DCPPLM_CUDA=ON >"$OUT/build.log" 2>&1 &&
    cmake --build build-gpu -j"$(nproc)" --target cuda_tests cpplm_cli >>"$OUT/build.log" 2>&1 || { log "build failed (see build.log)"; tail -30 "$OUT/build.log"; exit 1; }
  BIN=.gpu-built
  mkdir -p $BIN && cp build-gpu/tests/cuda_tests build-gpu/cpplm $BIN/
fi
# Carried shared libraries (libgomp), then the machine's cuBLAS (CUDA 13).
CUBLAS_DIR=$(dirname "$(find /usr/local/cuda*/ /usr/lib /opt -name 'libcublas.so.13*' 2>/dev/null | head -1)" 2>/dev/null)
export LD_LIBRARY_PATH="$PWD/$BIN/lib:${CUBLAS_DIR:-/usr/local/cuda/lib64}:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
ldd "$BIN/cuda_tests" | grep -E "not found|cublas|gomp|stdc" | tee -a "$OUT/summary.txt"
export CPPLM_TEST_DATA=$PWD/tests/data CPPLM_MODELS_DIR=$PWD/models OMP_NUM_THREADS=4

log "cuda_tests"
timeout 240 "$BIN/cuda_tests" >"$OUT/cuda_tests.log" 2>&1
echo "rc=$?" >>"$OUT/cuda_tests.log"
grep -E "^\[  FAILED|PASSED|rc=" "$OUT/cuda_tests.log" | tee -a "$OUT/summary.txt"

[ $BENCH = 1 ] && log "cpplm bench --device cuda (tg after a 512-token prompt: -d 512; tg at 8192)"
[ $BENCH = 1 ] && timeout 300 "$BIN/cpplm" bench --device cuda --shape llama-3.2-1b,llama-3.1-8b -p 512 -n 128 -d 0,512,8192 -r 3 2>&1 |
  tee "$OUT/bench.log" | tee -a "$OUT/summary.txt"

if [ $BENCH = 1 ] && [ -x "$BIN/serve_bench" ]; then
  log "serve_bench: cpplm serve with 1-64 streaming clients over loopback (random weights, Llama 3 tokenizer)"
  for s in llama-3.2-1b llama-3.1-8b; do
    timeout 200 "$BIN/serve_bench" --shape $s --dtype bf16 --device cuda --tokenizer "$CPPLM_TOKENIZER_DATA/llama3" \
      --prompt 128 --gen 64 2>&1 | tee -a "$OUT/serve_bench.log" | tee -a "$OUT/summary.txt"
  done
fi

if [ -n "$VARIANTS" ]; then
  log "decode variants: $VARIANTS"
  # shellcheck disable=SC2086
  OUT=$OUT scripts/gpu_ab.sh $VARIANTS | tee -a "$OUT/summary.txt"
fi

if [ $MEMCHECK = 1 ]; then
  log "compute-sanitizer memcheck (cuda_tests)"
  timeout 240 compute-sanitizer --tool memcheck --error-exitcode 3 "$BIN/cuda_tests" --gtest_filter='*classic*:CudaSmallModel.*:*Quant*:*Attention*:*Gemv*:*Gguf*' >"$OUT/memcheck.log" 2>&1
  echo "rc=$?" >>"$OUT/memcheck.log"
  grep -E "ERROR SUMMARY|rc=|^\[  FAILED|PASSED" "$OUT/memcheck.log" | tee -a "$OUT/summary.txt"
fi

if [ $PEERS = 1 ]; then
  log "PyTorch peers (same card)"
  (timeout 420 python3 scripts/gpu_peers/bench_torch_static.py; timeout 240 python3 scripts/gpu_peers/bench_hf_gpu.py eager) 2>&1 |
    grep -v Warning | tee "$OUT/peers.log" | tail -6 | tee -a "$OUT/summary.txt"
fi
log "done"
