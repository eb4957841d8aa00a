#!/usr/bin/env python3
"""Generates tests/fixtures/optim/adamw.json: torch.optim.AdamW run for a few
steps on the parameters of a tiny Llama config, laid out like hx_model.data
(HF order: embed_tokens, per layer input_layernorm, q/k/v/o_proj,
post_attention_layernorm, gate/up/down_proj, then norm and lm_head).
Three cases: decay on everything, decay on linears only, and no decay.
Usage: python3 tools/make_optim_fixtures.py [out.json]"""
import json
import sys

import torch

CFG = dict(vocab_size=5, hidden_size=4, intermediate_size=6, num_hidden_layers=1,
           num_attention_heads=2, num_key_value_heads=1, head_dim=2, tie_word_embeddings=0)


def layout(c):
    """(kind, numel) per tensor in hx_model order."""
    h, f, v = c["hidden_size"], c["intermediate_size"], c["vocab_size"]
    q = c["num_attention_heads"] * c["head_dim"]
    kv = c["num_key_value_heads"] * c["head_dim"]
    out = [("embed", v * h)]
    for _ in range(c["num_hidden_layers"]):
        out += [("norm", h), ("linear", q * h), ("linear", kv * h), ("linear", kv * h), ("linear", h * q),
                ("norm", h), ("linear", f * h), ("linear", f * h), ("linear", h * f)]
    out.append(("norm", h))
    if not c["tie_word_embeddings"]:
        out.append(("lm_head", v * h))
    return out


def run_case(name, wd, decay_norms, decay_embeddings, init, grads, lrs, betas, eps):
    lay = layout(CFG)
    params, decayed = [], []
    off = 0
    for kind, n in lay:
        p = torch.nn.Parameter(init[off:off + n].clone())
        off += n
        params.append(p)
        decayed.append(kind == "linear" or (kind == "norm" and decay_norms)
                       or (kind in ("embed", "lm_head") and decay_embeddings))
    groups = [{"params": [p for p, d in zip(params, decayed) if d], "weight_decay": wd},
              {"params": [p for p, d in zip(params, decayed) if not d], "weight_decay": 0.0}]
    groups = [g for g in groups if g["params"]]
    opt = torch.optim.AdamW(groups, lr=lrs[0], betas=betas, eps=eps, weight_decay=wd)
    steps = []
    for g, lr in zip(grads, lrs):
        off = 0
        for p, (_, n) in zip(params, lay):
            p.grad = g[off:off + n].clone()
            off += n
        for grp in opt.param_groups:
            grp["lr"] = lr
        opt.step()
        flat = lambda xs: torch.cat([x.detach().reshape(-1) for x in xs]).tolist()
        steps.append({"params": flat(params),
                      "m": flat([opt.state[p]["exp_avg"] for p in params]),
                      "v": flat([opt.state[p]["exp_avg_sq"] for p in params])})
    return {"name": name, "weight_decay": wd, "decay_norms": decay_norms,
            "decay_embeddings": decay_embeddings, "steps": steps}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/optim/adamw.json"
    torch.manual_seed(1234)
    n = sum(k for _, k in layout(CFG))
    init = torch.randn(n, dtype=torch.float32)
    nsteps = 4
    grads = [torch.randn(n, dtype=torch.float32) * (0.1 * (i + 1)) for i in range(nsteps)]
    lrs = [1e-3, 3e-3, 2e-2, 5e-3]
    betas, eps = (0.9, 0.95), 1e-8
    cases = [run_case("decay_all", 0.1, 1, 1, init, grads, lrs, betas, eps),
             run_case("decay_linear_only", 0.1, 0, 0, init, grads, lrs, betas, eps),
             run_case("no_decay", 0.0, 1, 1, init, grads, lrs, betas, eps)]
    doc = {"generator": "tools/make_optim_fixtures.py, torch " + torch.__version__,
           "config": CFG, "beta1": betas[0], "beta2": betas[1], "eps": eps, "n": n,
           "init": init.tolist(), "grads": [g.tolist() for g in grads], "lrs": lrs, "cases": cases}
    with open(out, "w") as f:
        json.dump(doc, f)
        f.write("\n")


if __name__ == "__main__":
    main()
