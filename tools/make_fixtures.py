#!/usr/bin/env python3
"""Reference fixtures for the CPU engine (tests/test_model_fixtures.c).

Builds tiny seeded LlamaForCausalLM / MistralForCausalLM models in fp32 with
attn_implementation="eager", saves each with save_pretrained into
tests/fixtures/engine/<name>/, and writes tests/fixtures/engine/<name>/reference.safetensors:

  input_ids  int64 [B, T]
  labels     int64 [B, T]   a copy of input_ids with some positions set to -100
  logits     f32   [B, T, vocab]
  loss       f32   [1]      HF's loss for labels=labels
  grad.<HF parameter name>  f32, d loss / d parameter (tied: embed_tokens only)

Loss convention (transformers loss_utils.ForCausalLMLoss, num_items_in_batch
unset): labels are padded on the right with -100 and shifted left by one,
so the target of position t is labels[b, t+1] and the last position of each
sequence has no target; loss = mean cross-entropy over the targets that are
not -100. In C: hx_shift_labels + hx_cross_entropy with norm_count = the
returned count.

Weights are re-drawn from N(0, 0.15^2) (norm weights 1 + N(0, 0.1^2)) so that
attention is far from uniform and every norm weight matters.

Usage: python3 tools/make_fixtures.py [--out tests/fixtures/engine]
Needs torch and transformers (versions recorded in each config.json).
"""
import argparse
import os

import torch
from safetensors.torch import save_file
from transformers import LlamaConfig, LlamaForCausalLM, MistralConfig, MistralForCausalLM

COMMON = dict(num_hidden_layers=2, max_position_embeddings=2048, rms_norm_eps=1e-5, bos_token_id=1,
              eos_token_id=2, initializer_range=0.02)

FIXTURES = {
    # GQA: 4 query heads share 2 KV heads; separate lm_head.
    "llama_gqa": (LlamaConfig, LlamaForCausalLM,
                  dict(vocab_size=160, hidden_size=48, intermediate_size=96, num_attention_heads=4,
                       num_key_value_heads=2, tie_word_embeddings=False,
                       rope_parameters={"rope_type": "default", "rope_theta": 10000.0}), 2, 12),
    # Tied embeddings: lm_head is embed_tokens; its gradient is the sum of both uses.
    "llama_tied": (LlamaConfig, LlamaForCausalLM,
                   dict(vocab_size=128, hidden_size=32, intermediate_size=80, num_attention_heads=4,
                        num_key_value_heads=4, tie_word_embeddings=True,
                        rope_parameters={"rope_type": "default", "rope_theta": 10000.0}), 2, 10),
    # llama3 RoPE scaling with head_dim 16 != hidden/heads = 8. With theta 5e5 and
    # original_max 1024 the 8 frequencies fall in all three llama3 bands.
    "llama3_headdim": (LlamaConfig, LlamaForCausalLM,
                       dict(vocab_size=192, hidden_size=32, intermediate_size=64, num_attention_heads=4,
                            num_key_value_heads=2, head_dim=16, tie_word_embeddings=False,
                            rope_parameters={"rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0,
                                             "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                             "original_max_position_embeddings": 1024}), 2, 16),
    # Mistral with a sliding window shorter than the sequence.
    "mistral_swa": (MistralConfig, MistralForCausalLM,
                    dict(vocab_size=144, hidden_size=32, intermediate_size=64, num_attention_heads=4,
                         num_key_value_heads=2, head_dim=8, sliding_window=5, tie_word_embeddings=False,
                         rope_parameters={"rope_type": "default", "rope_theta": 1000000.0}), 2, 12),
}


def build(name, cfg_cls, model_cls, kw, B, T, out_root, seed):
    torch.manual_seed(seed)
    cfg = cfg_cls(**COMMON, **kw)
    model = model_cls(cfg).to(torch.float32)
    model.config._attn_implementation = "eager"
    with torch.no_grad():
        for pname, p in model.named_parameters():
            if "norm" in pname:
                p.copy_(1.0 + 0.1 * torch.randn_like(p))
            else:
                p.copy_(0.15 * torch.randn_like(p))
    ids = torch.randint(0, cfg.vocab_size, (B, T), dtype=torch.int64)
    labels = ids.clone()
    labels[0, 3] = -100
    labels[1, 0] = -100
    labels[1, T - 2] = -100
    labels[1, T - 1] = -100  # the last label is never a target anyway (shifted out)
    model.zero_grad()
    out = model(input_ids=ids, labels=labels, use_cache=False)
    out.loss.backward()

    if getattr(cfg, "sliding_window", None):  # the window must change the result
        with torch.no_grad():
            full = model_cls(cfg_cls(**COMMON, **{**kw, "sliding_window": None})).to(torch.float32)
            full.config._attn_implementation = "eager"
            full.load_state_dict(model.state_dict())
            assert not torch.allclose(full(input_ids=ids).logits, out.logits), "sliding window had no effect"

    d = os.path.join(out_root, name)
    os.makedirs(d, exist_ok=True)
    model.save_pretrained(d, safe_serialization=True)
    gen = os.path.join(d, "generation_config.json")  # not needed by the harness
    if os.path.exists(gen):
        os.remove(gen)
    ref = {"input_ids": ids.contiguous(), "labels": labels.contiguous(),
           "logits": out.logits.detach().contiguous(), "loss": out.loss.detach().reshape(1).contiguous()}
    for pname, p in model.named_parameters():
        ref["grad." + pname] = p.grad.detach().contiguous()
    save_file(ref, os.path.join(d, "reference.safetensors"))
    print(f"{name}: loss {out.loss.item():.6f}, {len(ref) - 4} gradients -> {d}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="tests/fixtures/engine")
    args = ap.parse_args()
    torch.use_deterministic_algorithms(True)
    for i, (name, (cfg_cls, model_cls, kw, B, T)) in enumerate(FIXTURES.items()):
        build(name, cfg_cls, model_cls, kw, B, T, args.out, seed=1234 + i)


if __name__ == "__main__":
    main()
