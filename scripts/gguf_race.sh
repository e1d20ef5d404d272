#!/usr/bin/env bash
# cpplm against llama.cpp's CPU build on the same GGUF files, alternated ROUNDS times (these machines drift, so
# only figures of one run are compared): cpplm bench pp512 / tg128 against node-llama-cpp's prebuilt llama.cpp
# (../shared/tools/llamacpp/README.md installs it into LCPP_DIR; its bench script is LCPP_BENCH). Prints medians.
# Usage: LCPP_DIR=/tmp/lcpp [ROUNDS=3] [THREADS=2] [REPS=3] scripts/gguf_race.sh FILE.gguf [FILE.gguf ...]
# FILE.gguf=DTYPE races cpplm's random weights of the 1B shape in DTYPE (mlx q4 / q8, bf16: `bench --shape
# llama-3.2-1b --dtype DTYPE`) against llama.cpp on FILE (the same shape, e.g. Q4_0 / Q8_0 / F16).
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { sed -n 2,5p "$0"; exit 2; }
: "${LCPP_DIR:?set LCPP_DIR to the folder where node-llama-cpp is installed}"
LCPP_BENCH=${LCPP_BENCH:-../shared/tools/llamacpp/bench_llamacpp_cpu.mjs}
ROUNDS=${ROUNDS:-3} THREADS=${THREADS:-2} REPS=${REPS:-3}
log=$(mktemp -d)/race.jsonl
# Each engine reads the file afresh where the page cache can be dropped (root): how a mapped file's pages were first
# read (4 KiB pages or large folios) changes decode speed by up to 10 %, so neither engine inherits the other's.
fresh() { sync && { echo 1 >/proc/sys/vm/drop_caches; } 2>/dev/null || true; }
for r in $(seq "$ROUNDS"); do
  for arg in "$@"; do
    f=${arg%%=*} src=(--model "${arg%%=*}")
    [ "$arg" != "$f" ] && src=(--shape llama-3.2-1b --dtype "${arg#*=}") && f=$arg
    fresh
    build/cpplm bench --device cpu "${src[@]}" -p 512 -n 128 -r "$REPS" -t "$THREADS" --no-bandwidth --json 2>/dev/null |
      sed "s|^{|{\"engine\":\"cpplm\",\"file\":\"$f\",|" >>"$log"
    j=$(mktemp)
    fresh
    LCPP_DIR=$LCPP_DIR node "$LCPP_BENCH" --threads "$THREADS" --reps "$REPS" --no-e2e --json "$j" "${f%%=*}" >/dev/null 2>&1 || true
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))
for r in d["results"]: print(json.dumps({"engine":"llama.cpp","file":sys.argv[2],"pp":r["pp"]["tps_wall"],"tg":r["tg0"]["tps_wall"]}))' \
      "$j" "$f" >>"$log" || echo "llama.cpp failed on $f (round $r)" >&2
    rm -f "$j"
  done
  echo "round $r done" >&2
done
python3 - "$log" "$ROUNDS" "$THREADS" <<'PY'
import json, statistics, sys, os
rows = [json.loads(l) for l in open(sys.argv[1])]
print(f"medians of {sys.argv[2]} alternated rounds, {sys.argv[3]} threads, tokens/s")
print("| file | cpplm pp512 | llama.cpp pp512 | ratio | cpplm tg128 | llama.cpp tg128 | ratio |")
print("|---|---:|---:|---:|---:|---:|---:|")
for f in dict.fromkeys(r["file"] for r in rows):
    med = lambda xs: statistics.median(xs) if xs else float("nan")
    cpp = [r for r in rows if r["file"] == f and r["engine"] == "cpplm"]
    cp = med([r["avg_ts"] for r in cpp if r["test"] == "pp512"]); ct = med([r["avg_ts"] for r in cpp if r["test"] == "tg128"])
    ll = [r for r in rows if r["file"] == f and r["engine"] == "llama.cpp"]
    lp = med([r["pp"] for r in ll]); lt = med([r["tg"] for r in ll])
    name = os.path.basename(f.split("=")[0]) + (f" (cpplm: {f.split('=')[1]})" if "=" in f else "")
    print(f"| {name} | {cp:.1f} | {lp:.1f} | {cp/lp:.2f}x | {ct:.1f} | {lt:.1f} | {ct/lt:.2f}x |")
PY
