#!/usr/bin/env python3
"""Interop check for tests/test_io_interop.c: transformers loads a model
directory written by hx_model_save and its weights equal a reference
directory's (exactly, after rounding the reference to the saved dtype).

Usage: python3 tools/check_io_interop.py REF_DIR NEW_DIR [REF_DIR NEW_DIR ...]
Prints "OK <n> tensors" per pair on success; "SKIP: <why>" (exit 0) when torch or
transformers is missing; otherwise an error and exit 1.
"""
import sys

try:
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM
except ImportError as e:  # optional dependency
    print(f"SKIP: interop check needs torch and transformers ({e})")
    sys.exit(0)


def check(ref_dir, new_dir):
    cfg = AutoConfig.from_pretrained(new_dir)
    ref = AutoModelForCausalLM.from_pretrained(ref_dir, dtype=torch.float32)
    new = AutoModelForCausalLM.from_pretrained(new_dir, dtype=cfg.dtype)
    for key in ("hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
                "num_key_value_heads", "head_dim", "vocab_size", "tie_word_embeddings"):
        if getattr(cfg, key) != getattr(ref.config, key):
            sys.exit(f"{new_dir}: config field {key}: {getattr(cfg, key)} != {getattr(ref.config, key)}")
    if cfg.rope_parameters != ref.config.rope_parameters:
        sys.exit(f"{new_dir}: rope_parameters: {cfg.rope_parameters} != {ref.config.rope_parameters}")
    a, b = ref.state_dict(), new.state_dict()
    if set(a) != set(b):
        sys.exit(f"{new_dir}: tensor names differ: {sorted(set(a) ^ set(b))}")
    for name in a:
        want = a[name].to(b[name].dtype)
        if want.shape != b[name].shape or not torch.equal(want, b[name]):
            sys.exit(f"{new_dir}: tensor {name} differs")
    print(f"OK {len(a)} tensors, dtype {cfg.dtype}: {new_dir}")


if __name__ == "__main__":
    args = sys.argv[1:]
    if not args or len(args) % 2:
        sys.exit(__doc__)
    for i in range(0, len(args), 2):
        check(args[i], args[i + 1])
