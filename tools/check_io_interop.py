#!/usr/bin/env python3
"""Interop check for tests/test_io_interop.c: transformers loads a model
directory written by hx_model_save and its weights equal a reference
directory's (exactly, after rounding the reference to the saved dtype); and
transformers loads pruned models (shapes no transformers checkpoint has)
with exactly the weights of their own safetensors, and their logits equal
the harness's own (DIR/harness_logits.f32, [8, vocab] float32 for ids 1..8,
when the test wrote it) to 1e-4 of the largest logit.

Usage: python3 tools/check_io_interop.py [REF_DIR NEW_DIR]... [--pruned DIR]...
Prints per directory "OK <n> tensors ..." on success, or for a pruned config
that transformers 5.x refuses by design (llama, hidden_size not a multiple of
num_attention_heads; the harness warns when it writes one) "REFUSED as
expected ...". "SKIP: <why>" (exit 0) when transformers is missing; without
torch only the configs are checked (and SKIP says the weights were not).
Otherwise an error and exit 1.
"""
import json
import os
import sys

try:
    import transformers
    from transformers import AutoConfig
except ImportError as e:  # optional dependency
    print(f"SKIP: interop check needs transformers ({e})")
    sys.exit(0)
try:
    import torch
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM
except ImportError as e:
    torch = None
    NO_TORCH = str(e)

MAJOR = int(transformers.__version__.split(".")[0])
FIELDS = ("hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
          "num_key_value_heads", "head_dim", "vocab_size", "tie_word_embeddings")


def hf5_refuses(cfg_json):
    """The rule of hx_config_hf5_loadable (harness/model/model.h)."""
    return cfg_json.get("model_type") == "llama" and cfg_json["hidden_size"] % cfg_json["num_attention_heads"] != 0


def rope(cfg):
    """RoPE settings as (theta, scaling or None): rope_parameters in transformers 5.x,
    rope_theta + rope_scaling in 4.x."""
    if MAJOR >= 5:
        rp = dict(cfg.rope_parameters)
        theta = rp.pop("rope_theta")
        return (theta, None if rp.get("rope_type", "default") == "default" else rp)
    return (cfg.rope_theta, cfg.rope_scaling)


def intended_rope(d):
    """The RoPE settings a config.json means, in either version's keys (4.x cannot
    read 5.x's rope_parameters, so a 5.x-written reference is read from its JSON)."""
    with open(os.path.join(d, "config.json")) as f:
        cj = json.load(f)
    rp = dict(cj.get("rope_parameters") or {})
    theta = rp.pop("rope_theta", cj.get("rope_theta", 10000.0))
    scaling = rp if rp else cj.get("rope_scaling")
    if scaling and scaling.get("rope_type", scaling.get("type", "default")) == "default":
        scaling = None
    return (float(theta), scaling)


def load(d, dtype):
    """from_pretrained with the dtype keyword of this major version (4.x: torch_dtype)."""
    return AutoModelForCausalLM.from_pretrained(d, **{"dtype" if MAJOR >= 5 else "torch_dtype": dtype})


def check(ref_dir, new_dir):
    cfg = AutoConfig.from_pretrained(new_dir)
    ref_cfg = AutoConfig.from_pretrained(ref_dir)
    for key in FIELDS:
        if getattr(cfg, key) != getattr(ref_cfg, key):
            sys.exit(f"{new_dir}: config field {key}: {getattr(cfg, key)} != {getattr(ref_cfg, key)}")
    if rope(cfg) != intended_rope(ref_dir):
        sys.exit(f"{new_dir}: RoPE settings: {rope(cfg)} != {intended_rope(ref_dir)} of {ref_dir}")
    if torch is None:
        print(f"OK config only (no torch): {new_dir}")
        return
    saved = getattr(cfg, "dtype", None) if MAJOR >= 5 else cfg.torch_dtype
    ref = load(ref_dir, torch.float32)
    new = load(new_dir, saved)
    a, b = ref.state_dict(), new.state_dict()
    if set(a) != set(b):
        sys.exit(f"{new_dir}: tensor names differ: {sorted(set(a) ^ set(b))}")
    for name in a:
        want = a[name].to(b[name].dtype)
        if want.shape != b[name].shape or not torch.equal(want, b[name]):
            sys.exit(f"{new_dir}: tensor {name} differs")
    print(f"OK {len(a)} tensors, dtype {saved}, transformers {transformers.__version__}: {new_dir}")


def check_pruned(d):
    with open(os.path.join(d, "config.json")) as f:
        cj = json.load(f)
    refuse = MAJOR >= 5 and hf5_refuses(cj)
    try:
        cfg = AutoConfig.from_pretrained(d)
    except Exception as e:  # noqa: BLE001 - transformers raises several kinds
        if refuse:
            print(f"REFUSED as expected by transformers {transformers.__version__} "
                  f"(hidden_size {cj['hidden_size']} % num_attention_heads {cj['num_attention_heads']} != 0): {d}")
            return
        sys.exit(f"{d}: transformers {transformers.__version__} cannot load the pruned config: {e}")
    if refuse:
        sys.exit(f"{d}: transformers {transformers.__version__} loads a config that hx_config_hf5_loadable "
                 "says it refuses; update the rule and its docs")
    for key in FIELDS:
        if getattr(cfg, key) != cj[key]:
            sys.exit(f"{d}: config field {key}: {getattr(cfg, key)} != config.json {cj[key]}")
    if torch is None:
        print(f"OK config only (no torch): {d}")
        return
    model = load(d, torch.float32)
    sd = model.state_dict()
    stored = {}
    for name in sorted(os.listdir(d)):
        if name.endswith(".safetensors"):
            stored.update(load_file(os.path.join(d, name)))
    if cj["tie_word_embeddings"]:
        sd = {k: v for k, v in sd.items() if k != "lm_head.weight"}
    if set(sd) != set(stored):
        sys.exit(f"{d}: tensor names differ: {sorted(set(sd) ^ set(stored))}")
    for name, t in stored.items():
        if t.shape != sd[name].shape or not torch.equal(t.to(torch.float32), sd[name]):
            sys.exit(f"{d}: tensor {name} differs")
    with torch.no_grad():
        logits = model(torch.arange(1, 9).unsqueeze(0)).logits
    if tuple(logits.shape) != (1, 8, cj["vocab_size"]) or not torch.isfinite(logits).all():
        sys.exit(f"{d}: forward pass gave logits of shape {tuple(logits.shape)} or non-finite values")
    ours_path = os.path.join(d, "harness_logits.f32")
    if not os.path.exists(ours_path):
        print(f"OK {len(stored)} tensors, pruned, forward ran: {d}")
        return
    with open(ours_path, "rb") as f:
        ours = torch.frombuffer(bytearray(f.read()), dtype=torch.float32).reshape(1, 8, cj["vocab_size"])
    err = (ours - logits).abs().max().item()
    scale = logits.abs().max().item()
    if not err <= 1e-4 * max(1.0, scale):  # fp32 both sides; summation order differs
        sys.exit(f"{d}: logits differ from the harness's by {err:.3g} (max |logit| {scale:.3g})")
    print(f"OK {len(stored)} tensors, pruned, logits = harness's (max |diff| {err:.2e}, "
          f"transformers {transformers.__version__}): {d}")


if __name__ == "__main__":
    args, pairs, pruned = sys.argv[1:], [], []
    i = 0
    while i < len(args):
        if args[i] == "--pruned" and i + 1 < len(args):
            pruned.append(args[i + 1])
            i += 2
        elif i + 1 < len(args) and args[i + 1] != "--pruned":
            pairs.append((args[i], args[i + 1]))
            i += 2
        else:
            sys.exit(__doc__)
    if not pairs and not pruned:
        sys.exit(__doc__)
    for ref_dir, new_dir in pairs:
        check(ref_dir, new_dir)
    for d in pruned:
        check_pruned(d)
    if torch is None:
        print(f"SKIP: weights not compared, forward not run: interop check needs torch ({NO_TORCH})")
