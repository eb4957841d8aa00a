#!/usr/bin/env python3
"""Interop check of the harness's GGUF I/O against gguf-py (llama.cpp's
reference reader and dequantisers) and transformers. Not needed to build or
test; run by hand:

    /work/.venv-torch/bin/python tools/check_gguf.py --work /tmp/gguf_check \
        [--gguf SOME.gguf]

(a) quant blocks: runs build/tests/test_gguf with HX_GGUF_DUMP so it writes
    random blocks of Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K with the
    harness's dequantisation beside them; dequantises them with
    gguf.quants.dequantize and prints the max |difference| per type.
(b) export: a random tiny LlamaForCausalLM (transformers, float32) saved
    with data/tokenizer.json, exported by `harness export` in f32, f16, bf16
    and q8_0; every tensor read back with gguf-py (dequantised, Q/K
    permutation undone here) is compared with the original; transformers
    then loads each GGUF (gguf_file=) and its logits are compared with the
    original model's.
(b') a llama3-rope model exported: its rope_freqs tensor against llama.cpp's
    converter formula (LlamaModel.generate_extra_tensors), computed here.
(c) --gguf FILE: `harness import` of FILE, every imported tensor compared
    with gguf-py's dequantisation of the file (permutation undone here).
(d) --gguf FILE --text DOCS.jsonl[.zst] [--doc-limit N]: the LM loss of the
    first N documents by `harness eval` on the imported directory (no BOS:
    the first token of each document is context, one window per document) and by transformers on the GGUF itself,
    fed the same token ids (from `harness tokenizer-encode`).
Exit status 1 when a comparison exceeds its bound.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys

import numpy as np

import gguf
from gguf import GGUFReader
from gguf.quants import dequantize
from safetensors.numpy import load_file

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HARNESS = os.path.join(HERE, "bin", "harness")


def unpermute(w, n_head):
    """GGUF row h*hd + 2i + s -> HF row h*hd + s*hd/2 + i (llama.cpp's converter, inverted)."""
    rows = w.shape[0]
    hd = rows // n_head
    return w.reshape(n_head, hd // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def permute(w, n_head):
    """HF row h*hd + s*hd/2 + i -> GGUF row h*hd + 2i + s (llama.cpp's converter)."""
    hd = w.shape[0] // n_head
    return w.reshape(n_head, 2, hd // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def q8_0_bytes_match(path, orig):
    """Fraction of Q8_0 tensors whose bytes equal gguf.quants.quantize of the original."""
    r = GGUFReader(path)
    field = lambda k: r.fields[k].parts[r.fields[k].data[0]][0]
    heads, kv = int(field("llama.attention.head_count")), int(field("llama.attention.head_count_kv"))
    same = total = 0
    for t in r.tensors:
        if t.tensor_type != gguf.GGMLQuantizationType.Q8_0:
            continue
        w = orig[hf_name(t.name)]
        w = permute(w, heads) if ".attn_q." in t.name else permute(w, kv) if ".attn_k." in t.name else w
        ref = gguf.quants.quantize(w, gguf.GGMLQuantizationType.Q8_0)
        total += 1
        same += int(np.array_equal(ref.reshape(-1), np.asarray(t.data).reshape(-1)))
    return same, total


def hf_name(name):
    top = {"token_embd.weight": "model.embed_tokens.weight", "output_norm.weight": "model.norm.weight",
           "output.weight": "lm_head.weight"}
    if name in top:
        return top[name]
    layer = {"attn_norm": "input_layernorm", "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj",
             "attn_v": "self_attn.v_proj", "attn_output": "self_attn.o_proj", "ffn_norm": "post_attention_layernorm",
             "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj"}
    _, n, kind, _ = name.split(".")
    return f"model.layers.{n}.{layer[kind]}.weight"


def gguf_tensors(path):
    """name -> fp32 array in HF layout (shape reversed, q/k un-permuted) via gguf-py."""
    r = GGUFReader(path)
    field = lambda k: r.fields[k].parts[r.fields[k].data[0]][0]
    heads, kv = int(field("llama.attention.head_count")), int(field("llama.attention.head_count_kv"))
    out = {}
    for t in r.tensors:
        if t.name == "rope_freqs.weight":  # no HF tensor: it becomes config.json's rope_scaling
            continue
        w = dequantize(t.data, t.tensor_type).astype(np.float32)
        w = w.reshape([int(x) for x in reversed(t.shape)])
        if ".attn_q." in t.name:
            w = unpermute(w, heads)
        elif ".attn_k." in t.name:
            w = unpermute(w, kv)
        out[hf_name(t.name)] = (w, t.tensor_type.name)
    return out


def check_blocks(work):
    env = dict(os.environ, HX_GGUF_DUMP=work)
    subprocess.run([os.path.join(HERE, "build/tests/test_gguf")], env=env, check=True, cwd=HERE,
                   stdout=subprocess.DEVNULL)
    r = GGUFReader(os.path.join(work, "quant_blocks.gguf"))
    by = {t.name: t for t in r.tensors}
    ok = True
    print("(a) dequantisation, harness vs gguf.quants.dequantize, 64 random blocks each:")
    for name, t in by.items():
        if name.endswith(".deq"):
            continue
        ref = dequantize(t.data, t.tensor_type).astype(np.float32).reshape(-1)
        ours = np.asarray(by[name + ".deq"].data, dtype=np.float32).reshape(-1)
        err = float(np.max(np.abs(ref - ours)))
        scale = float(np.max(np.abs(ref)))
        print(f"    {name:5s} max |diff| {err:.3g} (max |x| {scale:.3g})")
        ok &= err <= 1e-6 * max(scale, 1.0)
    return ok


def tiny_model(work):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=4096, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, head_dim=16, max_position_embeddings=64,
                      rms_norm_eps=1e-5, rope_theta=500000.0, tie_word_embeddings=False, bos_token_id=4094,
                      eos_token_id=4095)
    m = LlamaForCausalLM(cfg).float().eval()
    with torch.no_grad():  # norms away from 1, as the C test does
        for n, p in m.named_parameters():
            if "norm" in n:
                p.uniform_(0.5, 1.5)
    src = os.path.join(work, "src")
    m.save_pretrained(src, safe_serialization=True)
    shutil.copy(os.path.join(HERE, "data/tokenizer.json"), os.path.join(src, "tokenizer.json"))
    return m, src


def check_export(work):
    import torch
    from transformers import AutoModelForCausalLM
    m, src = tiny_model(work)
    orig = load_file(os.path.join(src, "model.safetensors"))
    ids = torch.tensor([[(i * 337 + 11) % 4096 for i in range(12)]])
    with torch.no_grad():
        ref = m(ids).logits.float().numpy()
    ok = True
    bounds = {"f32": 0, "f16": 1e-3, "bf16": 8e-3, "q8_0": 1e-2}
    print("(b) harness export read by gguf-py (max |diff| over all tensors, relative to max |w|) and by transformers:")
    for ty, bound in bounds.items():
        path = os.path.join(work, f"tiny-{ty}.gguf")
        subprocess.run([HARNESS, "export", "--model", src, "--gguf", path, "--type", ty], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        got = gguf_tensors(path)
        assert set(got) == set(orig), (set(got) ^ set(orig))
        worst = max(float(np.max(np.abs(got[k][0] - orig[k]))) / float(np.max(np.abs(orig[k]))) for k in orig)
        types = sorted({v[1] for v in got.values()})
        line = f"    {ty:5s} tensors {'/'.join(types)}: weights rel {worst:.3g}"
        ok &= worst <= bound
        if ty == "q8_0":
            same, total = q8_0_bytes_match(path, orig)
            line += f"; Q8_0 bytes equal to gguf.quants.quantize in {same}/{total} tensors"
            ok &= same == total
        try:
            tm = AutoModelForCausalLM.from_pretrained(os.path.dirname(path), gguf_file=os.path.basename(path),
                                                      dtype=torch.float32).eval()
            with torch.no_grad():
                lg = tm(ids).logits.float().numpy()
            rel = float(np.max(np.abs(lg - ref))) / float(np.max(np.abs(ref)))
            line += f"; transformers logits rel {rel:.3g}"
            ok &= rel <= max(bound * 4, 1e-5)
        except Exception as e:  # report, do not hide
            line += f"; transformers could not load it: {type(e).__name__}: {e}"
            ok = False
        print(line)
    return ok


def check_rope_freqs(work):
    """A llama3-rope model: harness's rope_freqs vs llama.cpp's converter formula (written out here)."""
    import math
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM
    rs = {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
          "original_max_position_embeddings": 8192}
    cfg = LlamaConfig(vocab_size=64, hidden_size=128, intermediate_size=64, num_hidden_layers=1,
                      num_attention_heads=2, num_key_value_heads=1, head_dim=64, max_position_embeddings=64,
                      rope_theta=500000.0, rope_scaling=rs)
    src = os.path.join(work, "l3")
    LlamaForCausalLM(cfg).float().save_pretrained(src, safe_serialization=True)
    path = os.path.join(work, "l3.gguf")
    subprocess.run([HARNESS, "export", "--model", src, "--gguf", path], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    got = [t for t in GGUFReader(path).tensors if t.name == "rope_freqs.weight"][0].data
    dim, base = 64, 500000.0
    freqs = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.float32) / dim))
    lo_wl, hi_wl = 8192 / 1.0, 8192 / 4.0
    ref = []
    for f in freqs.tolist():
        wl = 2 * math.pi / f
        if wl < hi_wl:
            ref.append(1.0)
        elif wl > lo_wl:
            ref.append(8.0)
        else:
            s = (8192 / wl - 1.0) / (4.0 - 1.0)
            ref.append(1 / ((1 - s) / 8.0 + s))
    err = float(np.max(np.abs(np.asarray(got, dtype=np.float64) - np.asarray(ref)) / np.asarray(ref)))
    print(f"(b') rope_freqs of a llama3 rope vs llama.cpp's converter formula: max relative diff {err:.3g}")
    return err <= 1e-5


def check_import(work, path):
    out = os.path.join(work, "imported")
    subprocess.run([HARNESS, "import", "--gguf", path, "--out", out], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    ours = load_file(os.path.join(out, "model.safetensors"))
    ref = gguf_tensors(path)
    worst = 0.0
    for k, (w, _) in ref.items():
        worst = max(worst, float(np.max(np.abs(ours[k] - w))))
    types = {}
    for _, (_, t) in ref.items():
        types[t] = types.get(t, 0) + 1
    print(f"(c) harness import of {path} vs gguf-py: {len(ref)} tensors {types}, max |diff| {worst:.3g}")
    return worst <= 1e-6


def check_loss(work, path, text, limit, harness=None):
    import torch
    from transformers import AutoModelForCausalLM
    harness = harness or HARNESS
    out = os.path.join(work, "imported")
    raw = subprocess.run(["zstdcat", text] if text.endswith(".zst") else ["cat", text], check=True,
                         capture_output=True).stdout.decode()
    docs = [json.loads(l)["text"] for l in raw.splitlines() if l.strip()][:limit]
    tok = os.path.join(out, "tokenizer.json")
    ids = [[int(x) for x in subprocess.run([harness, "tokenizer-encode", "--tokenizer", tok, "--no-special", d],
                                           check=True, capture_output=True).stdout.split()] for d in docs]
    longest = max(len(i) for i in ids)
    ev = subprocess.run([harness, "eval", "--model", out, "--text", text, "--doc-limit", str(limit), "--window",
                         str(longest), "--no-bos", "--json"], check=True, capture_output=True).stdout
    ours = json.loads(ev)
    m = AutoModelForCausalLM.from_pretrained(os.path.dirname(path), gguf_file=os.path.basename(path),
                                             dtype=torch.float32).eval()
    nll = n = 0.0
    with torch.no_grad():
        for d in ids:
            logp = torch.log_softmax(m(torch.tensor([d])).logits[0, :-1].double(), -1)
            nll -= float(logp[torch.arange(len(d) - 1), torch.tensor(d[1:])].sum())
            n += len(d) - 1
    print(f"(d) loss of {limit} documents ({int(n)} tokens, longest {longest}):")
    print(f"    harness eval (imported dir): {json.dumps(ours)[:300]}")
    print(f"    transformers (GGUF file):    {nll / n:.9f} nats/token")
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", required=True, help="scratch directory (created)")
    ap.add_argument("--gguf", help="a llama GGUF file to import and compare")
    ap.add_argument("--text", help="with --gguf: documents (.jsonl[.zst], field text) for the loss comparison")
    ap.add_argument("--doc-limit", type=int, default=20, help="documents of --text")
    ap.add_argument("--harness", help="bin/harness to use for --text (default: this checkout's)")
    ap.add_argument("--only-loss", action="store_true", help="skip (a) and (b)")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    ok = True
    if not a.only_loss:
        ok &= check_blocks(a.work)
        ok &= check_export(a.work)
        ok &= check_rope_freqs(a.work)
    if a.gguf:
        ok &= check_import(a.work, a.gguf)
    if a.gguf and a.text:
        ok &= check_loss(a.work, a.gguf, a.text, a.doc_limit, a.harness)
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
