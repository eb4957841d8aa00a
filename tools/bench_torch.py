#!/usr/bin/env python3
"""PyTorch counterpart of `harness bench --suite engine` and `--suite smollm2`:
one fp32 training step (forward, mean cross-entropy over the shifted labels,
backward) and, for smollm2, the forward pass alone, of the same
LlamaForCausalLM configuration on the same number of CPU threads.

  mini:    hidden 256, 6 layers, 8 heads / 4 KV heads, head_dim 32, intermediate 768,
           vocab 2048, untied; seq 256, batch 8
  smollm2: hidden 576, 30 layers, 9 heads / 3 KV heads, head_dim 64, intermediate 1536,
           vocab 49152, tied; seq 512, batch 2

FLOPs are counted with the same analytic formula as harness/bench/bench.h
(3 x forward matmul FLOPs, attention over the causal triangle).

Usage: python3 tools/bench_torch.py [--config mini|smollm2] [--threads N] [--steps 3] [--attn eager|sdpa] [--json]
(default threads: $HX_THREADS, else all cores). `harness bench` runs it beside its own
measurements when python3 has torch and transformers ($HX_PYTHON names another interpreter).
"""
import argparse
import json
import os
import time

import torch
from transformers import LlamaConfig, LlamaForCausalLM

CONFIGS = {
    "mini": (8, 256, dict(vocab_size=2048, hidden_size=256, intermediate_size=768, num_hidden_layers=6,
                          num_attention_heads=8, num_key_value_heads=4, head_dim=32, max_position_embeddings=256,
                          rms_norm_eps=1e-5, rope_parameters={"rope_type": "default", "rope_theta": 10000.0},
                          tie_word_embeddings=False)),
    "smollm2": (2, 512, dict(vocab_size=49152, hidden_size=576, intermediate_size=1536, num_hidden_layers=30,
                             num_attention_heads=9, num_key_value_heads=3, head_dim=64, max_position_embeddings=8192,
                             rms_norm_eps=1e-5, rope_parameters={"rope_type": "default", "rope_theta": 100000.0},
                             tie_word_embeddings=True)),
}


def step_flops(c, B, T):
    h, q, kv = c["hidden_size"], c["num_attention_heads"] * c["head_dim"], c["num_key_value_heads"] * c["head_dim"]
    f, v, L = c["intermediate_size"], c["vocab_size"], c["num_hidden_layers"]
    per_token = L * 2 * h * (q + 2 * kv + q + 3 * f) + 2 * h * v
    attn = B * L * 2 * (2 * c["head_dim"] * c["num_attention_heads"] * T * (T + 1) / 2)
    return 3 * (B * T * per_token + attn)


def median_seconds(fn, steps):
    times = []
    for k in range(steps + 1):  # k = 0 warms up
        t0 = time.perf_counter()
        fn()
        if k:
            times.append(time.perf_counter() - t0)
    return sorted(times)[len(times) // 2]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default="mini", choices=sorted(CONFIGS))
    ap.add_argument("--threads", type=int, default=int(os.environ.get("HX_THREADS", os.cpu_count())))
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--attn", default="eager", choices=["eager", "sdpa"])
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    B, T, cfg = CONFIGS[a.config]
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(**cfg)).to(torch.float32)
    model.config._attn_implementation = a.attn
    model.train()
    ids = torch.randint(0, cfg["vocab_size"], (B, T))
    n = 2048
    x, y = torch.rand(n, n), torch.rand(n, n)
    x @ y
    best = 0.0
    for _ in range(a.steps):
        t0 = time.perf_counter()
        x @ y
        best = max(best, 2 * n ** 3 / (time.perf_counter() - t0) / 1e9)

    def step():
        model.zero_grad(set_to_none=False)
        model(input_ids=ids, labels=ids, use_cache=False).loss.backward()

    sec = median_seconds(step, a.steps)
    fl = step_flops(cfg, B, T)
    res = {"config": a.config, "threads": a.threads, "attn_implementation": a.attn, "torch": torch.__version__,
           "sgemm_gflops": best, "step_seconds": sec, "step_flops": fl, "step_gflops": fl / sec / 1e9,
           "step_tokens_per_s": B * T / sec}
    if a.config == "smollm2":
        def forward():
            with torch.no_grad():
                model(input_ids=ids, use_cache=False)

        model.eval()
        fsec = median_seconds(forward, a.steps)
        res.update(forward_seconds=fsec, forward_tokens_per_s=B * T / fsec)
    if a.json:
        print(json.dumps({"torch_engine": res}, indent=2))
    else:
        for k, v in res.items():
            print(f"torch.{k} = {v}")


if __name__ == "__main__":
    main()
