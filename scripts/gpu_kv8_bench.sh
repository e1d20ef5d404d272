#!/usr/bin/env bash
# On a GPU machine: decode at long context with a bf16 against an 8-bit K/V cache, in one call, the
# two alternated ROUNDS times (`cpplm bench --device cuda --kv-bits 16|8`, random bf16 weights of
# SHAPE, DEPTH tokens prefilled first); medians in $OUT/kv8.txt, the JSON rows (kv_cache_bytes,
# kv_dtype) in $OUT/kv8.log. Staged by scripts/gpu_stage.sh; carry .gpux.
# BUILDS (default cpplm): the builds in .gpu/ that run both caches (variants beside the staged one).
# Usage: [ROUNDS=3] [SHAPE=llama-3.1-8b] [DEPTH=65536] [ARGS="-p 0 -n 128 -r 2"] [BUILDS=...] scripts/gpu_kv8_bench.sh
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/cpplm-gpu}
mkdir -p "$OUT"
[ -x .gpu/cpplm ] || { mkdir -p .gpu && tar xJf .gpux/bundle.tar.xz -C .gpu; }
export LD_LIBRARY_PATH="$PWD/.gpu/lib:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
SHAPE=${SHAPE:-llama-3.1-8b} DEPTH=${DEPTH:-65536}
for r in $(seq "${ROUNDS:-3}"); do
  for run in $(printf '%s:16 %s:8 ' $(for b in ${BUILDS:-cpplm}; do echo "$b $b"; done)); do
    bin=${run%:*} kv=${run#*:}
    echo "== ${bin#cpplm}kv$kv $SHAPE bf16 round $r" >>"$OUT/kv8.log"
    # shellcheck disable=SC2086
    timeout 280 .gpu/$bin bench --device cuda --shape "$SHAPE" --dtype bf16 -d "$DEPTH" --kv-bits $kv ${ARGS:--p 0 -n 128 -r 2} \
      --no-bandwidth --json >>"$OUT/kv8.log" 2>>"$OUT/kv8.err" || echo "rc=$? (kv$kv)" | tee -a "$OUT/kv8.log"
  done
done
python3 scripts/bench_table.py "$OUT/kv8.log" | tee "$OUT/kv8.txt"
