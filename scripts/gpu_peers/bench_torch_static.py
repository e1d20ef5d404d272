# The PyTorch peer of cpplm's GPU benchmark (transformers with a static cache and torch.compile; copied unchanged below this line from the project's reference tools, 2026-11-28).
#!/usr/bin/env python3
"""Anchor: the strong PyTorch peer on the GPU, gpt-fast style.

transformers' LlamaForCausalLM with a StaticCache, the single-token decode step
compiled with torch.compile(mode="reduce-overhead") (CUDA graphs), greedy,
batch 1. pp512 = eager prefill of 512 tokens; tg128 = 128 compiled decode steps.
Random bf16 weights with the published shapes of Llama-3.2-1B and Llama-3.1-8B.
"""
import sys
import time

import torch
from transformers import LlamaConfig, LlamaForCausalLM, StaticCache

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from bench_hf_gpu import COMMON, SHAPES  # noqa: E402


def run(name, prompt=512, gen=128):
    cfg = LlamaConfig(**SHAPES[name], **COMMON)
    with torch.device("cuda"):
        model = LlamaForCausalLM(cfg).to(torch.bfloat16).eval()
    nbytes = sum(p.numel() * p.element_size() for p in model.parameters())
    ids = torch.randint(0, cfg.vocab_size, (1, prompt), device="cuda")
    cache = StaticCache(config=cfg, max_cache_len=prompt + gen + 8)
    step = torch.compile(model.forward, mode="reduce-overhead", fullgraph=True)

    def decode(tok, pos):
        torch.compiler.cudagraph_mark_step_begin()
        out = step(input_ids=tok, past_key_values=cache, use_cache=True,
                   cache_position=pos, position_ids=pos[None])
        return out.logits[:, -1].argmax(-1, keepdim=True).clone()

    with torch.no_grad():
        def one_run():
            cache.reset()
            t0 = time.perf_counter()
            out = model(input_ids=ids, past_key_values=cache, use_cache=True,
                        cache_position=torch.arange(prompt, device="cuda"))
            tok = out.logits[:, -1].argmax(-1, keepdim=True)
            torch.cuda.synchronize()
            t1 = time.perf_counter()
            for i in range(gen):
                tok = decode(tok, torch.tensor([prompt + i], device="cuda"))
            torch.cuda.synchronize()
            t2 = time.perf_counter()
            return prompt / (t1 - t0), gen / (t2 - t1)

        t = time.perf_counter()
        for _ in range(3):  # compile + warm up
            one_run()
        compile_s = time.perf_counter() - t
        runs = [one_run() for _ in range(3)]
        pp = sorted(r[0] for r in runs)[1]
        tg = sorted(r[1] for r in runs)[1]
    print(f"{name:14s} static+compile weights {nbytes/1e9:.2f} GB pp512 {pp:9.0f} tok/s "
          f"tg128 {tg:7.1f} tok/s ({tg*nbytes/1e12:.2f} TB/s of weights; warm-up {compile_s:.0f}s)",
          flush=True)
    del model, cache
    torch.cuda.empty_cache()


if __name__ == "__main__":
    print(torch.cuda.get_device_name(), torch.__version__)
    for name in (sys.argv[1:] or list(SHAPES)):
        try:
            run(name)
        except Exception as e:
            print(name, "failed:", type(e).__name__, str(e)[:400], flush=True)
