#!/usr/bin/env python3
# On a GPU machine (python3 with torch): cuBLAS bf16 GEMM time, through torch, at the 8B decode step's shapes for M rows
# (a CUDA graph of 50, weights rotated so that none is read from L2), with the weight bytes per second;
# bf16 and f32 outputs. Usage: python3 scripts/gpu_gemm_probe.py
import torch
torch.backends.cuda.matmul.allow_bf16_reduced_precision_reduction = False
shapes = {"qkv": (4096, 6144), "o": (4096, 4096), "gate_up": (4096, 28672), "down": (14336, 4096), "lm_head": (4096, 128256)}
def bench(f, reps=50):
    for _ in range(5): f()
    torch.cuda.synchronize()
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        for _ in range(reps): f()
    s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    s.record(); g.replay(); e.record(); torch.cuda.synchronize()
    return s.elapsed_time(e) / reps * 1e3  # us
for M in (32, 64, 128, 256):
    line = []
    for name, (K, N) in shapes.items():
        # copies of the weights (about 200 MB in all) so that consecutive GEMMs do not read them from L2
        ws = [torch.randn(N, K, dtype=torch.bfloat16, device="cuda") for _ in range(max(1, int(2e8 // (N * K * 2)) + 1))]
        a = torch.randn(M, K, dtype=torch.bfloat16, device="cuda")
        i = [0]
        def f():
            w = ws[i[0] % len(ws)]; i[0] += 1
            return a @ w.t()
        us = bench(f)
        try:
            def g():
                w = ws[i[0] % len(ws)]; i[0] += 1
                return torch.mm(a, w.t(), out_dtype=torch.float32)
            us32 = bench(g)
        except (TypeError, RuntimeError):  # a torch without mm's out_dtype
            us32 = float("nan")
        bw = N * K * 2 / (us * 1e-6) / 1e12
        line.append(f"{name} {us:.1f}us({bw:.2f}TB/s) f32out {us32:.1f}us")
        del ws
    print(f"M={M}: " + " | ".join(line), flush=True)
