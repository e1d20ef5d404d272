#!/usr/bin/env bash
# On this machine: times `cpplm bench` (CPU) of several builds against each other, alternating the
# builds ROUNDS times, and prints the medians per (build, shape, dtype, test) (scripts/bench_table.py).
# Usage: [ROUNDS=3] [SHAPE=llama-3.2-1b] [DTYPES="q4 q8 bf16"] [ARGS="-p 128 -n 32 -r 2 -t 2"] [OUT=dir]
#        scripts/cpu_ab.sh NAME=BINARY...      e.g. scripts/cpu_ab.sh before=/tmp/cpplm.old after=build/cpplm
set -uo pipefail
OUT=${OUT:-/tmp/cpplm-cpu-ab}
mkdir -p "$OUT"
: >"$OUT/ab.log"
for r in $(seq "${ROUNDS:-3}"); do
  for nb in "$@"; do
    name=${nb%%=*} bin=${nb#*=}
    for d in ${DTYPES:-q4 q8 bf16}; do
      echo "== $name ${SHAPE:-llama-3.2-1b} $d round $r" >>"$OUT/ab.log"
      # shellcheck disable=SC2086
      "$bin" bench --device cpu --shape "${SHAPE:-llama-3.2-1b}" --dtype "$d" ${ARGS:--p 128 -n 32 -r 2 -t 2} --no-bandwidth --json \
        >>"$OUT/ab.log" 2>>"$OUT/ab.err" || echo "rc=$? ($name $d)" | tee -a "$OUT/ab.log"
    done
  done
done
python3 "$(dirname "$0")/bench_table.py" "$OUT/ab.log" | tee "$OUT/ab.txt"
