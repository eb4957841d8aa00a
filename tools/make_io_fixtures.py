#!/usr/bin/env python3
"""Generates the Hugging Face model-directory fixtures of tests/test_weights.c.

Writes into tests/fixtures/io/ a tiny LlamaForCausalLM (hidden 32, 2 layers,
4 heads, 2 KV heads, head_dim 16 != 32/4, intermediate 48, vocab 64) saved with
transformers' save_pretrained:
  llama-f32/      fp32, untied, llama3 RoPE scaling, eos as a list
  llama-bf16/     the same weights cast to bfloat16
  llama-sharded/  the same fp32 weights in shards (max_shard_size 40KB) + index
  llama-tied/     tie_word_embeddings true (no lm_head.weight in the file)
and values.json: for a few tensors of each directory, the shape and the exact
values (as stored, widened to float) at a few flat indices.

Usage: python3 tools/make_io_fixtures.py [OUTDIR]
"""
import json
import os
import shutil
import sys

import torch
from transformers import LlamaConfig, LlamaForCausalLM

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "io")

CHECKED = [
    "model.embed_tokens.weight",
    "model.layers.0.self_attn.q_proj.weight",
    "model.layers.1.self_attn.k_proj.weight",
    "model.layers.1.self_attn.o_proj.weight",
    "model.layers.1.mlp.down_proj.weight",
    "model.layers.0.input_layernorm.weight",
    "model.norm.weight",
    "lm_head.weight",
]


def config(tied):
    return LlamaConfig(
        vocab_size=64, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, head_dim=16, max_position_embeddings=256,
        rms_norm_eps=1e-5, rope_theta=500000.0, tie_word_embeddings=tied, bos_token_id=1,
        eos_token_id=[2, 3] if not tied else 2,
        rope_scaling=None if tied else {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                        "high_freq_factor": 4.0, "original_max_position_embeddings": 64})


def build(tied, seed):
    torch.manual_seed(seed)
    m = LlamaForCausalLM(config(tied))
    with torch.no_grad():  # norms are ones at init: make them distinctive
        for name, p in m.named_parameters():
            if p.dim() == 1:
                p.copy_(1.0 + 0.1 * torch.randn_like(p))
    return m


def sample(m):
    sd = m.state_dict()
    out = {}
    for name in CHECKED:
        t = sd[name].float().flatten()
        n = t.numel()
        idx = sorted({0, 1, n // 3, n // 2, n - 1})
        out[name] = {"shape": list(sd[name].shape), "index": idx, "values": [float(t[i]) for i in idx]}
    return out


def save(m, name, **kw):
    d = os.path.join(OUT, name)
    shutil.rmtree(d, ignore_errors=True)
    m.save_pretrained(d, **kw)
    gen = os.path.join(d, "generation_config.json")
    if os.path.exists(gen):
        os.remove(gen)


def main():
    os.makedirs(OUT, exist_ok=True)
    values = {}
    m = build(False, 1234)
    save(m, "llama-f32")
    values["llama-f32"] = sample(m)
    save(m, "llama-sharded", max_shard_size="40KB")
    values["llama-sharded"] = values["llama-f32"]
    mb = build(False, 1234).to(torch.bfloat16)
    save(mb, "llama-bf16")
    values["llama-bf16"] = sample(mb)
    mt = build(True, 99)
    save(mt, "llama-tied")
    values["llama-tied"] = sample(mt)
    with open(os.path.join(OUT, "values.json"), "w") as f:
        json.dump(values, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
