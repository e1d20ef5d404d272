#!/usr/bin/env bash
# On a GPU machine, after scripts/gpu_check.sh has set up .gpu/: times builds against each other in
# one call. Variant V runs .gpu/cuda_bench_V (and .gpu/cuda_tests_V), staged beside the default
# binaries (cp build/cuda_bench .gpu/cuda_bench_V after building V); a V without its own binary
# runs the default one again (a second sample). Also, when asked: Nsight Compute per-kernel times
# (NCU="SHAPE..."), `cpplm bench --device cuda` (CLI=1, the default). Logs under $OUT, a table last.
# Usage: [TEST_VARIANTS="V..."] [NCU="llama-3.1-8b ..."] [CLI=0] scripts/gpu_variants.sh V...
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/cpplm-gpu}
mkdir -p "$OUT"
BIN=.gpu
CUBLAS_DIR=$(dirname "$(find /usr/local/cuda*/ /usr/lib /opt -name 'libcublas.so.13*' 2>/dev/null | head -1)" 2>/dev/null)
export LD_LIBRARY_PATH="$PWD/$BIN/lib:${CUBLAS_DIR:-/usr/local/cuda/lib64}:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
export OMP_NUM_THREADS=4 CPPLM_TEST_DATA=$PWD/tests/data CPPLM_MODELS_DIR=$PWD/models
# cuda_tests built from the last commit's CPU code with this CUDA code, when staged (a failure
# that both show is not the CUDA change's).
if [ -x "$BIN/cuda_tests_head" ]; then
  timeout 120 "$BIN/cuda_tests_head" --gtest_filter='CudaSmallModel.*' 2>&1 | grep -E '^\[  FAILED|PASSED' | sed 's/^/head: /'
fi
# TEST_VARIANTS="V...": cuda_tests and compute-sanitizer memcheck of those variants' builds too.
for v in ${TEST_VARIANTS:-}; do
  exe=$BIN/cuda_tests; [ -x "$BIN/cuda_tests_$v" ] && exe=$BIN/cuda_tests_$v
  timeout 120 "$exe" 2>&1 | grep -E '^\[  FAILED|PASSED' | sort -u | sed "s/^/tests $v: /"
  timeout 200 compute-sanitizer --tool memcheck --error-exitcode 3 "$exe" \
    --gtest_filter='*classic*:CudaSmallModel.*' 2>&1 | grep -E 'ERROR SUMMARY|^\[  FAILED|PASSED' | sort -u | sed "s/^/memcheck $v: /"
done
for v in "$@"; do
  echo "== variant $v" >>"$OUT/variants.log"
  exe=$BIN/cuda_bench; [ -x "$BIN/cuda_bench_$v" ] && exe=$BIN/cuda_bench_$v
  timeout 90 "$exe" >>"$OUT/variants.log" 2>&1 || echo "variant $v: rc=$?" | tee -a "$OUT/variants.log"
done
# NCU="SHAPE...": Nsight Compute's per-kernel time and DRAM bytes of the first decode steps.
NCU_BIN=$(command -v ncu || ls /usr/local/cuda/bin/ncu /opt/nvidia/nsight-compute/*/ncu 2>/dev/null | head -1)
for s in ${NCU:-}; do
  echo "== ncu $s" >>"$OUT/ncu.csv"
  timeout 150 "$NCU_BIN" --clock-control none --metrics gpu__time_duration.sum,dram__bytes_read.sum --csv \
    -k 'regex:gemv|attention_kernel|attention_combine|rope_kernel|embedding|argmax' --launch-count 250 \
    "$BIN/cuda_bench" "$s" --gen 2 --runs 1 --long 0 >>"$OUT/ncu.csv" 2>&1 || echo "ncu $s: rc=$?"
done
if [ -x "$BIN/cpplm" ] && [ "${CLI:-1}" = 1 ]; then
  for s in llama-3.2-1b llama-3.1-8b; do
    timeout 120 "$BIN/cpplm" bench --device cuda --shape $s --kv-bf16 -p 512 -n 128 -r 3 >>"$OUT/cli.log" 2>&1 || echo "cli $s: rc=$?" >>"$OUT/cli.log"
  done
  timeout 60 "$BIN/cpplm" bench --device cuda --shape llama-3.1-8b --kv-bf16 -p 0 -n 128 -d 8192 -r 2 --no-bandwidth --json >>"$OUT/cli.log" 2>&1 || echo "cli depth: rc=$?" >>"$OUT/cli.log"
  timeout 60 "$BIN/cpplm" bench --model models/llama-6m-kjv-fortunes -p 64 -n 32 >>"$OUT/cli.log" 2>&1 || echo "cli bundled: rc=$?" >>"$OUT/cli.log"
  grep -v '^ *[]{}["]' "$OUT/cli.log" | grep -v '^ *"' | tail -30
fi
python3 - "$OUT/variants.log" <<'PY'
import json, sys
rows, v = [], None
for line in open(sys.argv[1]):
    if line.startswith("== variant "): v = line.split()[2]; continue
    if line.startswith("{"):
        j = json.loads(line); rows.append((v, j))
print("| variant | shape | pp tok/s | tg tok/s | tg GB/s | % copy | tg@long | long/tg |")
for v, j in rows:
    print(f"| {v} | {j['shape']} | {j['pp_tps']:.0f} | {j['tg_tps']:.1f} | {j['tg_gbps']:.0f} | {100*j['tg_gbps']/j['copy_gbps']:.0f} % | {j['tg_long_tps']:.1f} | {100*j['tg_long_tps']/j['tg_tps']:.0f} % |")
PY
