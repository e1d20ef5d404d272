# The PyTorch peer of cpplm's GPU benchmark (transformers generate(), eager or with a compiled static cache; copied unchanged below this line from the project's reference tools, 2026-11-28).
#!/usr/bin/env python3
"""Anchor: Hugging Face transformers batch-1 speed on the GPU, llama-bench style.

pp512: one forward pass over 512 prompt tokens (tokens/s).
tg128: 128 decode steps with the KV cache after a 512-token prompt (tokens/s).
Random bf16 weights with the published shapes of Llama-3.2-1B and Llama-3.1-8B.
"""
import sys
import time

import torch
from transformers import LlamaConfig, LlamaForCausalLM, StaticCache

SHAPES = {
    "llama-3.2-1b": dict(vocab_size=128256, hidden_size=2048, num_hidden_layers=16,
                         num_attention_heads=32, num_key_value_heads=8,
                         intermediate_size=8192, head_dim=64, tie_word_embeddings=True),
    "llama-3.1-8b": dict(vocab_size=128256, hidden_size=4096, num_hidden_layers=32,
                         num_attention_heads=32, num_key_value_heads=8,
                         intermediate_size=14336, tie_word_embeddings=False),
}
COMMON = dict(rms_norm_eps=1e-5, rope_theta=500000.0, max_position_embeddings=8192,
              rope_scaling=dict(rope_type="llama3", factor=32.0, low_freq_factor=1.0,
                                high_freq_factor=4.0, original_max_position_embeddings=8192))


def sync():
    torch.cuda.synchronize()


def run(name, compiled):
    cfg = LlamaConfig(**SHAPES[name], **COMMON)
    with torch.device("cuda"):
        model = LlamaForCausalLM(cfg).to(torch.bfloat16).eval()
    nbytes = sum(p.numel() * p.element_size() for p in model.parameters())
    ids = torch.randint(0, cfg.vocab_size, (1, 512), device="cuda")
    with torch.no_grad():
        for _ in range(3):
            model(ids)
        sync()
        t = time.perf_counter()
        for _ in range(5):
            model(ids)
        sync()
        pp = 512 * 5 / (time.perf_counter() - t)
        gen_kw = dict(max_new_tokens=128, min_new_tokens=128, do_sample=False,
                      pad_token_id=0)
        if compiled:
            model.generation_config.cache_implementation = "static"
            model.forward = torch.compile(model.forward, mode="reduce-overhead",
                                          fullgraph=True)
        for _ in range(2):
            model.generate(ids, **gen_kw)
        sync()
        # tg: time of (prompt + 128 steps) minus time of (prompt + 1 step)
        t = time.perf_counter()
        model.generate(ids, **gen_kw)
        sync()
        full = time.perf_counter() - t
        t = time.perf_counter()
        model.generate(ids, max_new_tokens=1, do_sample=False, pad_token_id=0)
        sync()
        one = time.perf_counter() - t
        tg = 127 / (full - one)
    print(f"{name:14s} {'compile' if compiled else 'eager':8s} weights {nbytes/1e9:.2f} GB "
          f"pp512 {pp:9.0f} tok/s  tg128 {tg:7.1f} tok/s  "
          f"({tg*nbytes/1e12:.2f} TB/s of weights)", flush=True)
    del model
    torch.cuda.empty_cache()


if __name__ == "__main__":
    modes = sys.argv[1:] or ["eager", "compile"]
    print(torch.cuda.get_device_name(), torch.__version__)
    for name in SHAPES:
        for m in modes:
            try:
                run(name, m == "compile")
            except Exception as e:  # report and go on
                print(name, m, "failed:", type(e).__name__, str(e)[:300], flush=True)
