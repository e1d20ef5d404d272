#!/usr/bin/env python3
"""Summarizes a decode-step trace (CPPLM_TRACE=file from a -DCPPLM_CUDA_TRACE build): per launch, in
order, when its blocks started, when their PDL waits returned and when they ended (µs from the
step's first block), and per kernel kind the average link (end − previous launch's end)."""
import collections, csv, sys

TAGS = {1: "gemv", 2: "gemv-pairs", 3: "attn", 4: "embed"}
def name(tag):  # GEMV tags: 1000000 R + 10000 mode + in / 8
    if tag >= 1000000:
        return f"gemv{tag // 1000000}m{tag // 10000 % 100}/in{8 * (tag % 10000)}"
    return TAGS.get(tag, str(tag))
rows = list(csv.DictReader(open(sys.argv[1])))
grids = collections.defaultdict(list)
for r in rows:
    grids[r["grid"]].append({k: int(v) for k, v in r.items()})
launches = sorted(grids.values(), key=lambda b: min(x["t0"] for x in b))
origin = min(x["t0"] for x in launches[0])
us = lambda t: (t - origin) / 1e3
links = collections.defaultdict(list)
prev_end = None
show = int(sys.argv[2]) if len(sys.argv) > 2 else 12
print(f"{len(launches)} launches; step {us(max(x['te'] for x in launches[-1])):.1f} µs")
print("kind        blocks  start(min..max)    wait(min..max)     end(min..max)     link")
for i, b in enumerate(launches):
    kind = name(b[0]["tag"]) + f"/{len(b)}"
    t0 = [x["t0"] for x in b]; tw = [x["tw"] for x in b]; te = [x["te"] for x in b]
    end = max(te)
    link = (end - prev_end) / 1e3 if prev_end else 0.0
    links[kind].append(link)
    if i < show or i >= len(launches) - 3:
        print(f"{kind:12s}{len(b):5d}  {us(min(t0)):8.1f}..{us(max(t0)):8.1f}  {us(min(tw)):8.1f}..{us(max(tw)):8.1f}  "
              f"{us(min(te)):8.1f}..{us(end):8.1f}  {link:6.2f}")
    prev_end = end
print("\nper kind: count, mean link µs")
for k, v in links.items():
    print(f"{k:16s} {len(v):4d} {sum(v) / len(v):8.2f}")
# Marks (CPPLM_TRACE_MARK): µs after the block's wait returned, averaged over the blocks that reached them.
marks = collections.defaultdict(lambda: [[], [], []])
for b in launches:
    kind = name(b[0]["tag"])
    for x in b:
        if not x["tw"]:
            continue
        for i, f in enumerate(("m0", "m1", "te")):
            if x.get(f):
                marks[kind][i].append((x[f] - x["tw"]) / 1e3)
print("\nper kind: mean µs after the wait of mark 0, mark 1, end (blocks reaching them); max end")
for k, (a, b, c) in marks.items():
    avg = lambda v: f"{sum(v) / len(v):7.2f} ({len(v)})" if v else "      -"
    print(f"{k:12s} {avg(a)} {avg(b)} {avg(c)} {max(c) if c else 0:7.2f}")
