#!/usr/bin/env python3
"""Medians of `cpplm bench --json` runs logged under '== BUILD SHAPE DTYPE round N' headers
(scripts/gpu_ab.sh, scripts/cpu_ab.sh): one row per (test, shape, dtype), one column per build.
Reads both output forms: JSON lines, and the older single JSON array."""
import json
import statistics
import sys
from collections import defaultdict


def results(text):
    text = text.strip()
    if not text:
        return []
    if text.startswith("["):
        return json.loads(text)
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


runs = defaultdict(list)  # (test, shape, dtype) -> build -> [t/s]
builds = []
key, chunk = None, []


def flush():
    if key is None:
        return
    build, shape, dtype = key
    try:
        for r in results("\n".join(chunk)):
            runs[(r["test"], shape, dtype)].append((build, r["avg_ts"]))
    except json.JSONDecodeError:
        pass


for line in open(sys.argv[1]):
    if line.startswith("== "):
        flush()
        parts = line.split()
        key, chunk = (parts[1], parts[2], parts[3]), []
        if parts[1] not in builds:
            builds.append(parts[1])
    elif line.startswith("rc="):
        continue
    else:
        chunk.append(line)
flush()
print("| test | shape | dtype | " + " | ".join(f"{b} (median; runs)" for b in builds) + " | last / first |")
print("|---|---|---|" + "---|" * (len(builds) + 1))
for (test, shape, dtype), vals in sorted(runs.items(), key=lambda kv: (kv[0][1], kv[0][2], kv[0][0])):
    cells, meds = [], []
    for b in builds:
        v = [x for bb, x in vals if bb == b]
        meds.append(statistics.median(v) if v else float("nan"))
        cells.append(f"{meds[-1]:.1f} ({', '.join(f'{x:.1f}' for x in v)})" if v else "-")
    ratio = meds[-1] / meds[0] if meds and meds[0] else float("nan")
    print(f"| {test} | {shape} | {dtype} | " + " | ".join(cells) + f" | {ratio:.3f} |")
