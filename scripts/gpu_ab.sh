#!/usr/bin/env bash
# On a GPU machine: times `cpplm bench --device cuda` of several builds against each other in one
# call, alternating the builds ROUNDS times, and prints the medians per (build, shape, dtype, test).
# Builds are .gpu/cpplm_V for each V (staged by scripts/gpu_stage.sh; `cp build/cpplm .gpu/cpplm_V`);
# a V of the form NAME:VAR=VALUE[,VAR=VALUE] runs .gpu/cpplm with those environment variables instead
# (e.g. exact:CPPLM_EXACT_QUANT=1 against int8:CPPLM_EXACT_QUANT=0).
# Usage: [ROUNDS=3] [SHAPES="llama-3.2-1b llama-3.1-8b"] [DTYPES="bf16 q4"] [ARGS="-p 512 -n 128 -r 3"]
#        scripts/gpu_ab.sh V...      (logs and ab.txt under $OUT)
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/cpplm-gpu}
mkdir -p "$OUT"
CUBLAS_DIR=$(dirname "$(find /usr/local/cuda*/ /usr/lib /opt -name 'libcublas.so.13*' 2>/dev/null | head -1)" 2>/dev/null)
export LD_LIBRARY_PATH="$PWD/.gpu/lib:${CUBLAS_DIR:-/usr/local/cuda/lib64}:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
for r in $(seq "${ROUNDS:-3}"); do
  for spec in "$@"; do
    v=$spec bin=.gpu/cpplm_$spec envs=
    if [[ $spec == *:* ]]; then v=${spec%%:*} bin=.gpu/cpplm envs=${spec#*:}; fi
    for s in ${SHAPES:-llama-3.2-1b llama-3.1-8b}; do
      for d in ${DTYPES:-bf16 q4}; do
        echo "== $v $s $d round $r" >>"$OUT/ab.log"
        # shellcheck disable=SC2086
        env ${envs//,/ } timeout 120 "$bin" bench --device cuda --shape "$s" --dtype "$d" ${ARGS:--p 512 -n 128 -r 3} --no-bandwidth --json \
          >>"$OUT/ab.log" 2>>"$OUT/ab.err" || echo "rc=$? ($v $s $d)" | tee -a "$OUT/ab.log"
      done
    done
  done
done
python3 scripts/bench_table.py "$OUT/ab.log" | tee "$OUT/ab.txt"
