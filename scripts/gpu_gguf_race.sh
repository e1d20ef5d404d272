#!/bin/bash
# GGUF files on the GPU against llama.cpp's CUDA build, on the same random-weight files of the 8B shape (Q8_0,
# and Q4_K_M made from it by llama-quantize), in two calls on one warm GPU machine (each phase fits the device's
# 10-minute limit; `race` redoes what `prep` left undone when the machine was not kept).
# Here first: scripts/gpu_stage.sh, and a folder L (ignored by .git/info/exclude) holding llama.cpp's source packed
# with tools/llama-bench and tools/quantize as lcpp.tar.xz, and ../shared/tools/llamacpp/hf_to_gguf.py. There:
#   scripts/gpu_gguf_race.sh prep L   # the CUDA tests (GGUF fixtures: CPPLM_GGUF_DIR), llama.cpp built, files made
#   scripts/gpu_gguf_race.sh race L   # cpplm and llama.cpp alternated ROUNDS times (default 3) on each file
#   scripts/gpu_gguf_race.sh all L    # both in one call (about 8 minutes)
# with carry [".gpux", "L"]. Results under $OUT: tests.txt, race.txt (llama-bench's and cpplm's rows), log.txt.
# TYPES (default "q8_0 q4_0 q4_k_m") picks the files; MEMCHECK=1 adds compute-sanitizer on the quantized tests
# (MEMCHECK_FILTER: another gtest filter).
set -u
cd "$(dirname "$0")/.."
PHASE=$1 D=$(realpath "$2") OUT=${OUT:-/tmp/out} G=/tmp/gg TYPES=${TYPES:-"q8_0 q4_0 q4_k_m"}
mkdir -p "$OUT" "$G"
[ -x .gpu/cpplm ] || { mkdir -p .gpu && tar xJf .gpux/bundle.tar.xz -C .gpu; }
export LD_LIBRARY_PATH="$PWD/.gpu/lib:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
log() { echo "== $* $(date +%T)" >>"$OUT/log.txt"; }
T=/tmp/tok/tokenizers/llama3
[ -f $T/tokenizer.json ] || { mkdir -p /tmp/tok && tar xJf tests/data/tokenizers.tar.xz -C /tmp/tok; }

build_lcpp() {  # llama-bench and llama-quantize with CUDA for sm_90
  [ -x /tmp/lsrc/build/bin/llama-quantize ] && return 0
  rm -rf /tmp/lsrc && mkdir -p /tmp/lsrc && tar -xJf "$D/lcpp.tar.xz" -C /tmp/lsrc && cd /tmp/lsrc || return 1
  printf 'add_subdirectory(llama-bench)\nadd_subdirectory(quantize)\n' >tools/CMakeLists.txt
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DGGML_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 -DLLAMA_CURL=OFF \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_APP=OFF \
    >"$OUT/lcpp_build.log" 2>&1
  timeout "${BUILD_S:-480}" cmake --build build -j15 --target llama-bench llama-quantize >>"$OUT/lcpp_build.log" 2>&1
  local rc=$?
  cd - >/dev/null
  return $rc
}
make_files() {  # random weights (seed 1234) as Q8_0 and Q4_0, then Q4_K_M requantized from Q8_0
  for t in q8_0 $(echo "$TYPES" | grep -o q4_0); do
    [ -f $G/8b-$t.gguf ] || python3 "$D/hf_to_gguf.py" random $G/8b-$t.gguf --preset llama-3.1-8b --type $t \
      --tokenizer $T/tokenizer.json --tokenizer-config $T/tokenizer_config.json --seed 1234 >>"$OUT/gguf.log" 2>&1 &
  done
  wait
}
quantize() {
  [ -f $G/8b-q4_k_m.gguf ] || /tmp/lsrc/build/bin/llama-quantize --allow-requantize $G/8b-q8_0.gguf $G/8b-q4_k_m.gguf \
    Q4_K_M 16 >>"$OUT/quantize.log" 2>&1
}

export CPPLM_TOKENIZER_DATA=/tmp/tok/tokenizers
if [ "$PHASE" = prep ] || [ "$PHASE" = all ]; then
  log "prep start"
  nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem --format=csv >"$OUT/gpu.txt"
  (build_lcpp; echo "build rc=$?" >>"$OUT/log.txt") &
  (make_files; echo "files done $(date +%T)" >>"$OUT/log.txt") &
  mkdir -p /tmp/fx && [ -f .ggx/fx.tar.xz ] && tar xJf .ggx/fx.tar.xz -C /tmp/fx && cp tests/data/gguf/*.gguf /tmp/fx/
  CPPLM_TEST_DATA=$PWD/tests/data CPPLM_MODELS_DIR=$PWD/models timeout 300 .gpu/cuda_tests >"$OUT/tests.txt" 2>&1
  echo "cuda_tests rc=$?" >>"$OUT/tests.txt"
  [ -d /tmp/fx ] && CPPLM_GGUF_DIR=/tmp/fx CPPLM_TEST_DATA=$PWD/tests/data CPPLM_MODELS_DIR=$PWD/models \
    timeout 200 .gpu/cuda_tests --gtest_filter='CudaGguf*' >"$OUT/tests_fx.txt" 2>&1
  log "tests done"
  if [ "${MEMCHECK:-0}" = 1 ]; then
    CPPLM_GGUF_DIR=/tmp/fx CPPLM_TEST_DATA=$PWD/tests/data CPPLM_MODELS_DIR=$PWD/models timeout 240 compute-sanitizer --tool memcheck \
      --error-exitcode 3 .gpu/cuda_tests --gtest_filter="${MEMCHECK_FILTER:-*Quant*:*Gguf*:*Gemv*}" >"$OUT/memcheck.txt" 2>&1
    echo "memcheck rc=$?" >>"$OUT/memcheck.txt"
    log "memcheck done"
  fi
  wait
  quantize && log "quantize done"
  ls -la $G >>"$OUT/log.txt"
  [ "$PHASE" = prep ] && exit 0
fi

log "race start"
build_lcpp || { log "llama.cpp build failed"; exit 0; }
make_files && quantize || { log "files failed"; exit 0; }
for r in $(seq "${ROUNDS:-3}"); do
  for t in $TYPES; do
    echo "== cpplm 8B $t round $r" >>"$OUT/race.txt"
    .gpu/cpplm bench --device cuda --model $G/8b-$t.gguf -p 512 -n 128 -r 3 --no-bandwidth 2>&1 | grep "^| " >>"$OUT/race.txt"
    echo "== llama.cpp 8B $t round $r" >>"$OUT/race.txt"
    timeout 120 /tmp/lsrc/build/bin/llama-bench -m $G/8b-$t.gguf -ngl 99 -fa 1 -p 512 -n 128 -r 3 2>&1 |
      grep -E "^\| llama" >>"$OUT/race.txt"
  done
  log "round $r"
done
log "done"
