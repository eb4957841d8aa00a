#!/usr/bin/env python3
"""Builds the tokenizer interop fixtures under tests/fixtures/tokenizer/ with HF `tokenizers`.

Trains small byte-level BPE tokenizers on Genesis (KJV, from the Debian package
bible-kjv: `bible "gen1:1-gen50:26"`) and records HF's ids for a list of test
texts, so tests/test_tokenizer.c can check ours without Python:
  gpt2.json         ByteLevel pre-tokenizer (GPT-2 regex), merges in "a b" string form
  gpt2_prefix.json  the same model with ByteLevel add_prefix_space=true
  llama3.json       Sequence[Split(Llama-3 regex, Isolated), ByteLevel(use_regex=false)],
                    ignore_merges=true, merges in ["a","b"] pair form, <|begin_of_text|>
                    prepended by a TemplateProcessing post-processor (inside a Sequence)
  cases.json        {"texts": [...], "<name>": {"ids": [[...]], "ids_special": [[...]]}}
Usage: tools/make_tokenizer_fixtures.py [OUT_DIR]
"""
import json
import os
import subprocess
import sys

from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers

LLAMA3_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                r"|\s*[\r\n]+|\s+(?!\S)|\s+")

TEXTS = [
    "",
    "a",
    " ",
    "\n",
    "Hello world",
    "In the beginning God created the heaven and the earth.",
    "Café déjà vu — naïve résumé, Ærøskøbing, São Paulo",
    "日本語のテキスト、中文测试。한국어",
    "Привет, мир! Съешь же ещё этих мягких французских булок.",
    "1 12 123 1234 12345 1234567890 3.14159 1,000,000 ٣٤٥ ½",
    "   leading spaces and    multiple   spaces   ",
    "line1\nline2\r\nline3\n\n\nend\n",
    "tabs\tand\t\tmore\ttabs\t",
    "  \n  \n\t \r\n ",
    "I'm you're we've they'll he'd it's don't",
    "I'M YOU'RE WE'VE THEY'LL HE'D IT'S DON'T",
    "emoji 😀🎉 👨‍👩‍👧‍👦 flags 🇫🇷 and 👍🏽",
    "text with <|endoftext|> special and <|begin_of_text|> and <|end_of_text|> inside",
    "<|begin_of_text|>",
    "<|end_of_text|><|end_of_text|>x",
    "NBSP\u00a0here and ideographic\u3000space",
    "mixed: abc123def, x=y+z; (parens) [brackets] {braces} @#$%^&* $$$ ...!!! ???",
    "ǅ Ǉ ΐ ß ẞ e\u0301 \u200b zero-width",
    "And Abraham said, My son, God will provide himself a lamb for a burnt offering: so they went both of them together.",
]


def genesis():
    return subprocess.run(["bible", "gen1:1-gen50:26"], capture_output=True, text=True, check=True).stdout


def license_text():
    with open("/usr/share/common-licenses/Apache-2.0", encoding="utf-8") as f:
        return f.read()[:3000]


def train(tok, corpus, vocab_size, special):
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=special, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator([corpus], trainer=trainer)
    return tok


def gpt2(corpus):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    return train(tok, corpus, 800, ["<|endoftext|>"])


def llama3(corpus):
    tok = Tokenizer(models.BPE(ignore_merges=True))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3_REGEX), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    train(tok, corpus, 1000, [])
    tok.add_special_tokens(["<|begin_of_text|>", "<|end_of_text|>"])
    bos = tok.token_to_id("<|begin_of_text|>")
    tok.post_processor = processors.Sequence([
        processors.ByteLevel(trim_offsets=False),
        processors.TemplateProcessing(single="<|begin_of_text|> $A",
                                      pair="<|begin_of_text|> $A <|begin_of_text|> $B:1",
                                      special_tokens=[("<|begin_of_text|>", bos)])])
    return tok


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/tokenizer"
    os.makedirs(out, exist_ok=True)
    corpus = genesis()
    texts = TEXTS + [license_text()]
    docs = {}
    base = gpt2(corpus)
    d = json.loads(base.to_str())
    d["model"]["merges"] = [" ".join(m) for m in d["model"]["merges"]]  # legacy string form
    docs["gpt2"] = d
    p = json.loads(base.to_str())
    p["pre_tokenizer"]["add_prefix_space"] = True
    docs["gpt2_prefix"] = p
    docs["llama3"] = json.loads(llama3(corpus).to_str())
    assert isinstance(docs["llama3"]["model"]["merges"][0], list), "expected pair-form merges"
    cases = {"texts": texts}
    for name, doc in docs.items():
        text = json.dumps(doc, ensure_ascii=False)
        with open(os.path.join(out, name + ".json"), "w", encoding="utf-8") as f:
            f.write(text)
        tok = Tokenizer.from_str(text)
        cases[name] = {"ids": [tok.encode(t, add_special_tokens=False).ids for t in texts],
                       "ids_special": [tok.encode(t, add_special_tokens=True).ids for t in texts]}
        for t, ids in zip(texts, cases[name]["ids"]):  # add_prefix_space adds a space, kept by decode
            assert tok.decode(ids, skip_special_tokens=False) == t or name == "gpt2_prefix", (name, t)
    with open(os.path.join(out, "cases.json"), "w", encoding="utf-8") as f:
        json.dump(cases, f, ensure_ascii=False)
    # How often ignore_merges changes the result on the corpus (information only).
    doc = dict(docs["llama3"])
    doc["model"] = dict(doc["model"], ignore_merges=False)
    plain = Tokenizer.from_str(json.dumps(doc))
    ig = Tokenizer.from_str(json.dumps(docs["llama3"]))
    words = set(corpus.split())
    diff = [w for w in words if plain.encode(" " + w).ids != ig.encode(" " + w).ids]
    print(f"wrote {out}: {len(texts)} texts; ignore_merges changes {len(diff)} of {len(words)} words: {diff[:5]}")


if __name__ == "__main__":
    main()
