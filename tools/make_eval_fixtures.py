#!/usr/bin/env python3
"""Reference log-likelihoods for the multiple-choice scorer.

Builds a tiny random LlamaForCausalLM whose vocabulary matches the Llama-3-style
test tokenizer (tests/fixtures/tokenizer/llama3.json), saves it with
save_pretrained into tests/fixtures/eval/model/, and computes with PyTorch, for
every hand-made task item in tests/fixtures/eval/*.jsonl (zero-shot), the
per-choice log-likelihoods the way lm-evaluation-harness does (_encode_pair:
trailing whitespace of the context moves to the continuation, the continuation
is the tail of the joint encoding; one BOS; sum of log-softmax over the
continuation tokens), plus acc and acc_norm. Writes
tests/fixtures/eval/reference.json. lm-eval itself is not needed.

Run from the repository root:  python3 tools/make_eval_fixtures.py
"""
import json
import math
import os
import re

import torch
from tokenizers import Tokenizer
from transformers import LlamaConfig, LlamaForCausalLM

FIX = "tests/fixtures/eval"
tok = Tokenizer.from_file("tests/fixtures/tokenizer/llama3.json")
BOS = tok.token_to_id("<|begin_of_text|>")
V = tok.get_vocab_size()


def hellaswag_pre(s):
    s = s.strip().replace(" [title]", ". ")
    s = re.sub(r"\[.*?\]", "", s)
    return s.replace("  ", " ")


def requests(kind, d):
    """(contexts, continuations, choice texts, gold) of one zero-shot doc."""
    if kind == "hellaswag":
        ctx = hellaswag_pre(d["activity_label"] + ": " + d["ctx_a"] + " " + d["ctx_b"].capitalize())
        ch = [hellaswag_pre(e) for e in d["endings"]]
        return [ctx] * len(ch), [" " + c for c in ch], ch, int(d["label"])
    if kind == "arc":
        q = d["question"]
        if isinstance(q, dict):
            stem, texts, labels = q["stem"], [c["text"] for c in q["choices"]], [c["label"] for c in q["choices"]]
        else:
            stem, texts, labels = q, d["choices"]["text"], d["choices"]["label"]
        ctx = "Question: " + stem + "\nAnswer:"
        return [ctx] * len(texts), [" " + t for t in texts], texts, labels.index(d["answerKey"])
    if kind == "winogrande":
        i = d["sentence"].index("_")
        ctxs = [d["sentence"][:i] + d["option1"], d["sentence"][:i] + d["option2"]]
        suf = " " + d["sentence"][i + 1:].strip()
        # lm-eval's doc_to_choice for Winogrande is the partial contexts, so
        # acc_norm (not reported by lm-eval for this task) would divide by their length.
        return ctxs, [suf, suf], ctxs, int(d["answer"]) - 1
    if kind == "piqa":
        ctx = "Question: " + d["goal"] + "\nAnswer:"
        ch = [d["sol1"], d["sol2"]]
        return [ctx, ctx], [" " + c for c in ch], ch, int(d["label"])
    if kind == "mmlu":
        c = d["choices"]
        header = "The following are multiple choice questions (with answers) about %s.\n\n" % d["subject"].replace("_", " ")
        ctx = header + d["question"].strip() + "\nA. %s\nB. %s\nC. %s\nD. %s\nAnswer:" % tuple(c)
        gold = d["answer"] if isinstance(d["answer"], int) else "ABCD".index(d["answer"])
        return [ctx] * 4, [" A", " B", " C", " D"], ["A", "B", "C", "D"], gold
    raise ValueError(kind)


def enc(s):
    return tok.encode(s, add_special_tokens=False).ids


def encode_pair(ctx, cont):
    n = len(ctx) - len(ctx.rstrip())
    if n:
        cont = ctx[-n:] + cont
        ctx = ctx[:-n]
    whole, c = enc(ctx + cont), enc(ctx)
    k = whole[len(c):]
    fallback = 0
    if not k:  # field case C09: a token spans the join
        k, fallback = enc(cont), 1
    return [BOS] + c, k, fallback


def loglik(model, ctx, cont):
    c, k, fb = encode_pair(ctx, cont)
    inp = torch.tensor([(c + k)[:-1]])
    with torch.no_grad():
        logp = torch.log_softmax(model(inp).logits[0].double(), -1)
    pos = range(len(c) - 1, len(c) - 1 + len(k))
    ll = sum(logp[p, t].item() for p, t in zip(pos, k))
    greedy = all(logp[p].argmax().item() == t for p, t in zip(pos, k))
    return ll, int(greedy), len(k), fb


def main():
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=V, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, head_dim=8, max_position_embeddings=256,
                      rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=False, initializer_range=0.3,
                      bos_token_id=BOS, eos_token_id=tok.token_to_id("<|end_of_text|>"))
    cfg._attn_implementation = "eager"
    model = LlamaForCausalLM(cfg).float().eval()
    os.makedirs(FIX + "/model", exist_ok=True)
    model.save_pretrained(FIX + "/model", safe_serialization=True)
    gen = FIX + "/model/generation_config.json"
    if os.path.exists(gen):
        os.remove(gen)
    out = {"bos": BOS, "tasks": {}}
    for kind in ["hellaswag", "arc", "winogrande", "piqa", "mmlu"]:
        docs = [json.loads(l) for l in open(f"{FIX}/{kind}.jsonl") if l.strip()]
        items, acc, acc_norm = [], 0, 0
        for d in docs:
            ctxs, conts, texts, gold = requests(kind, d)
            res = [loglik(model, a, b) for a, b in zip(ctxs, conts)]
            ll = [r[0] for r in res]
            best = max(range(len(ll)), key=lambda i: (ll[i], -i))
            best_n = max(range(len(ll)), key=lambda i: (ll[i] / len(texts[i]), -i))
            acc += best == gold
            acc_norm += best_n == gold
            items.append({"ll": ll, "is_greedy": [r[1] for r in res], "n_cont": [r[2] for r in res]})
        out["tasks"][kind] = {"items": items, "acc": acc / len(docs), "acc_norm": acc_norm / len(docs)}
    # Field case C09: the context ends mid-word, so one token spans the join.
    c09 = []
    for ctx, cont in [("In the beginning God created the heav", "en"), ("And God sa", "w"), ("The L", "ORD")]:
        ll, g, n, fb = loglik(model, ctx, cont)
        c09.append({"context": ctx, "continuation": cont, "ll": ll, "n_cont": n, "fallback": fb})
    out["c09"] = c09
    with open(FIX + "/reference.json", "w") as f:
        json.dump(out, f, indent=1)
    print("wrote", FIX + "/reference.json", "and", FIX + "/model")


if __name__ == "__main__":
    main()
