#!/usr/bin/env bash
# Decode on a shared machine: `cpplm bench` tg with the default thread count and with -t 1, with and
# without a competing busy process (`sh -c 'while :; do :; done'`, same priority), alternated ROUNDS
# times; prints the medians per (test, model) and configuration (scripts/bench_table.py).
# Usage: [ROUNDS=3] [BIN=build/cpplm] [GEN=64] [OUT=dir] scripts/busy_bench.sh
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-build/cpplm} OUT=${OUT:-/tmp/cpplm-busy} GEN=${GEN:-64}
mkdir -p "$OUT"
: >"$OUT/busy.log"
busy_pid=
stop_busy() { [ -n "$busy_pid" ] && kill "$busy_pid" 2>/dev/null && wait "$busy_pid" 2>/dev/null; busy_pid=; }
trap stop_busy EXIT
for r in $(seq "${ROUNDS:-3}"); do
  for busy in quiet busy; do
    [ "$busy" = busy ] && { sh -c 'while :; do :; done' & busy_pid=$!; sleep 0.3; }
    for t in default 1; do
      targ=(); [ "$t" = 1 ] && targ=(-t 1)
      echo "== $busy,t=$t bundled bf16 round $r" >>"$OUT/busy.log"
      "$BIN" bench --device cpu -p 0 -n 256 -r 3 "${targ[@]}" --no-bandwidth --json >>"$OUT/busy.log" 2>>"$OUT/busy.err"
      echo "== $busy,t=$t llama-3.2-1b q4 round $r" >>"$OUT/busy.log"
      "$BIN" bench --device cpu --shape llama-3.2-1b --dtype q4 -p 0 -n "$GEN" -r 2 "${targ[@]}" --no-bandwidth --json \
        >>"$OUT/busy.log" 2>>"$OUT/busy.err"
    done
    stop_busy
  done
done
python3 scripts/bench_table.py "$OUT/busy.log" | tee "$OUT/busy.txt"
