#!/usr/bin/env python3
"""PyTorch counterpart of `harness bench --suite engine`: one fp32 training
step (forward, mean cross-entropy over the shifted labels, backward) of the
same mini LlamaForCausalLM configuration on the same number of CPU threads.

  hidden 256, 6 layers, 8 heads / 4 KV heads, head_dim 32, intermediate 768,
  vocab 2048, seq 256, batch 8

FLOPs are counted with the same analytic formula as harness/bench/bench.h
(3 x forward matmul FLOPs, attention over the causal triangle).

Usage: python3 tools/bench_torch.py [--threads N] [--steps 3] [--attn eager|sdpa] [--json]
(default threads: $HX_THREADS, else all cores).
"""
import argparse
import json
import os
import time

import torch
from transformers import LlamaConfig, LlamaForCausalLM

B, T = 8, 256
CFG = dict(vocab_size=2048, hidden_size=256, intermediate_size=768, num_hidden_layers=6, num_attention_heads=8,
           num_key_value_heads=4, head_dim=32, max_position_embeddings=T, rms_norm_eps=1e-5,
           rope_parameters={"rope_type": "default", "rope_theta": 10000.0}, tie_word_embeddings=False)


def step_flops(c):
    h, q, kv = c["hidden_size"], c["num_attention_heads"] * c["head_dim"], c["num_key_value_heads"] * c["head_dim"]
    f, v, L = c["intermediate_size"], c["vocab_size"], c["num_hidden_layers"]
    per_token = L * 2 * h * (q + 2 * kv + q + 3 * f) + 2 * h * v
    attn = B * L * 2 * (2 * c["head_dim"] * c["num_attention_heads"] * T * (T + 1) / 2)
    return 3 * (B * T * per_token + attn)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=int(os.environ.get("HX_THREADS", os.cpu_count())))
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--attn", default="eager", choices=["eager", "sdpa"])
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(**CFG)).to(torch.float32)
    model.config._attn_implementation = a.attn
    model.train()
    ids = torch.randint(0, CFG["vocab_size"], (B, T))
    n = 2048
    x, y = torch.rand(n, n), torch.rand(n, n)
    x @ y
    best = 0.0
    for _ in range(a.steps):
        t0 = time.perf_counter()
        x @ y
        best = max(best, 2 * n ** 3 / (time.perf_counter() - t0) / 1e9)
    times = []
    for k in range(a.steps + 1):  # k = 0 warms up
        t0 = time.perf_counter()
        model.zero_grad(set_to_none=False)
        out = model(input_ids=ids, labels=ids, use_cache=False)
        out.loss.backward()
        if k:
            times.append(time.perf_counter() - t0)
    sec = sorted(times)[len(times) // 2]
    fl = step_flops(CFG)
    res = {"threads": a.threads, "attn_implementation": a.attn, "torch": torch.__version__, "sgemm_gflops": best,
           "step_seconds": sec, "step_flops": fl, "step_gflops": fl / sec / 1e9, "step_tokens_per_s": B * T / sec}
    if a.json:
        print(json.dumps({"torch_engine": res}, indent=2))
    else:
        for k, v in res.items():
            print(f"torch.{k} = {v}")


if __name__ == "__main__":
    main()
