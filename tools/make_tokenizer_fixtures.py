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

With --families [OUT_DIR] (default tests/fixtures/tokenizers) it instead builds
one small tokenizer per model family's tokenizer.json configuration
(<name>.json) and HF's ids and decoded strings for an adversarial text set
(texts.json; <name>.expected.json: ids, ids_special, decoded, decoded_skip per
text, and random_ids with their random_decoded) for
tests/test_tokenizer_families.c.
"""
import json
import os
import random
import subprocess
import sys

from tokenizers import (AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors,
                        trainers)

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

# ---- model families (--families) ----
#
# Each tokenizer is trained on the first 60 KB of data/corpus-valid.jsonl.zst plus
# FAMILY_EXTRA (so CJK, accents and digits get some merges), with a small vocabulary
# and a small alphabet (limit_alphabet), so byte fallback and unk are exercised.
# Configurations follow /work/shared/research/gguf-and-tokenizers.md 2.7.

FAMILY_EXTRA = ("東京は日本の首都です。中文测试，中文的文字。한국어 텍스트입니다. Café déjà vu naïve résumé. "
                "The year 2024 had 366 days; 3.14159 and 1,000,000. ") * 20

QWEN2_REGEX = LLAMA3_REGEX.replace(r"\p{N}{1,3}", r"\p{N}")

FAMILY_TEXTS = [
    "",
    " ",
    "Hello world",
    " Hello  world ",
    "In the beginning God created the heaven and the earth.",
    "日本語のテキスト、中文测试。한국어 東京",
    "emoji 😀🎉 family 👨\u200d👩\u200d👧\u200d👦 flag 🇫🇷 thumbs 👍🏽 heart ❤️",
    "combining e\u0301 a\u0308 o\u0302\u0323 Hangul \u1100\u1161\u11a8 precomposed é ä",
    "NFKC: ﬁ ﬀ ＡＢＣ１２３ ① Ⅻ ㎞ ½ x²",
    "case: İstanbul ΣΑΣ ß ẞ Ǆ ǅ ǆ ΐ",
    "long          runs               of spaces",
    "tabs\tand\t\tmore\ttabs\t\nnew\nlines\r\nwindows\r\n\n\nend\n",
    "  \n  \n\t \r\n ",
    "control \x00 nul \x07 bell \x1b[0m esc \x7f del \u0085 nel \u2028 ls \u200b zwsp",
    "NBSP\u00a0here and ideographic\u3000space",
    "digits 0 12 123 1234 12345 1234567890 3.14159 1,000,000 ٣٤٥ ۱۲۳ १२३",
    "punctuation: Hello, world! (parens) [brackets] {braces} @#$%^&* ... !!! ??? -- — «quotes» “curly” ‘single’",
    "I'm you're we've they'll he'd it's don't I'M YOU'RE",
    "code: def f(x):\n    return x**2 + 1  # comment\n\tif a<=b && c!=d: pass",
    "the-final--countdown a--b---c",
    "hello world hello world helloworld",
    "lonely <mask> token and<mask>glued",
    "<s>",
    "</s><s>x",
    "a <s> b </s> c <unk> d",
    "<bos>hello<eos> <start_of_turn>user\nhi<end_of_turn>",
    "<|endoftext|>text<|endoftext|> <|im_start|>system\nYou are helpful.<|im_end|>\n",
    "<|begin_of_text|>Hi<|end_of_text|> and <|eot_id|>",
    "[CLS] [MASK] [SEP] [ mask ] HeLLo WoRLD",
    "MiXeD CaSe ÀÉÎÕÜ and unknown chars ☃ ⚡ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
]


def family_corpus():
    raw = subprocess.run(["zstd", "-dc", "data/corpus-valid.jsonl.zst"], capture_output=True, check=True).stdout
    text = "\n".join(json.loads(line)["text"] for line in raw.decode("utf-8").splitlines())
    return text[:60000] + FAMILY_EXTRA


def lines_of(corpus):
    return [line for line in corpus.split("\n") if line]


def spm_bpe(corpus, vocab_size, specials, unk):
    """SentencePiece-style BPE (Metaspace words, byte_fallback) with <0x00>..<0xFF> after the specials."""
    tok = Tokenizer(models.BPE(unk_token=unk, fuse_unk=True, byte_fallback=True))
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials, limit_alphabet=80,
                                  show_progress=False)
    tok.train_from_iterator(lines_of(corpus), trainer=trainer)
    d = json.loads(tok.to_str())
    old = sorted(d["model"]["vocab"].items(), key=lambda kv: kv[1])
    vocab = {}
    for k in specials:
        vocab[k] = len(vocab)
    for b in range(256):
        vocab["<0x%02X>" % b] = len(vocab)
    for k, _ in old:
        if k not in vocab:
            vocab[k] = len(vocab)
    d["model"]["vocab"] = vocab
    for a in d["added_tokens"]:
        a["id"] = vocab[a["content"]]
    return d


def llama2(corpus):
    d = spm_bpe(corpus, 700, ["<unk>", "<s>", "</s>"], "<unk>")
    d["normalizer"] = json.loads(normalizers.Sequence([normalizers.Prepend("\u2581"),
                                                       normalizers.Replace(" ", "\u2581")]).__getstate__())
    d["pre_tokenizer"] = None
    d["decoder"] = json.loads(decoders.Sequence([decoders.Replace("\u2581", " "), decoders.ByteFallback(),
                                                 decoders.Fuse(), decoders.Strip(" ", 1, 0)]).__getstate__())
    d["post_processor"] = json.loads(processors.TemplateProcessing(
        single="<s> $A", pair="<s> $A <s> $B:1", special_tokens=[("<s>", d["model"]["vocab"]["<s>"])]).__getstate__())
    d["model"]["merges"] = [" ".join(m) for m in d["model"]["merges"]]
    return d


def mistral(corpus):
    """Llama/Mistral with legacy=false: Metaspace(first, split=false), plus lstrip/rstrip <mask>."""
    d = spm_bpe(corpus, 650, ["<unk>", "<s>", "</s>"], "<unk>")
    d["normalizer"] = None
    d["pre_tokenizer"] = json.loads(pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="first",
                                                             split=False).__getstate__())
    d["decoder"] = json.loads(decoders.Sequence([decoders.ByteFallback(), decoders.Metaspace(
        replacement="\u2581", prepend_scheme="first")]).__getstate__())
    d["post_processor"] = json.loads(processors.TemplateProcessing(
        single="<s> $A </s>", special_tokens=[("<s>", 1), ("</s>", 2)]).__getstate__())
    tok = Tokenizer.from_str(json.dumps(d))
    tok.add_special_tokens([AddedToken("<mask>", lstrip=True, rstrip=True, special=True)])
    return json.loads(tok.to_str())


def gemma(corpus):
    d = spm_bpe(corpus, 700, ["<pad>", "<eos>", "<bos>", "<unk>"], "<unk>")
    d["normalizer"] = json.loads(normalizers.Replace(" ", "\u2581").__getstate__())
    d["pre_tokenizer"] = json.loads(pre_tokenizers.Split(" ", behavior="merged_with_previous").__getstate__())
    d["decoder"] = json.loads(decoders.Sequence([decoders.Replace("\u2581", " "), decoders.ByteFallback(),
                                                 decoders.Fuse()]).__getstate__())
    d["post_processor"] = json.loads(processors.TemplateProcessing(
        single="<bos> $A", special_tokens=[("<bos>", 2)]).__getstate__())
    tok = Tokenizer.from_str(json.dumps(d))
    tok.add_special_tokens(["<start_of_turn>", "<end_of_turn>"])
    tok.add_tokens([AddedToken("\t\t", normalized=False), AddedToken("\u2581\u2581\u2581", normalized=True)])
    return json.loads(tok.to_str())


def bytelevel_bpe(corpus, vocab_size, pre, specials, ignore_merges=False, normalizer=None):
    tok = Tokenizer(models.BPE(ignore_merges=ignore_merges))
    if normalizer:
        tok.normalizer = normalizer
    tok.pre_tokenizer = pre
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(lines_of(corpus), trainer=trainer)
    return tok


def llama3_family(corpus):
    tok = bytelevel_bpe(corpus, 700, pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3_REGEX), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]), [], ignore_merges=True)
    tok.add_special_tokens(["<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>"])
    bos = tok.token_to_id("<|begin_of_text|>")
    tok.post_processor = processors.Sequence([
        processors.ByteLevel(trim_offsets=False),
        processors.TemplateProcessing(single="<|begin_of_text|> $A", special_tokens=[("<|begin_of_text|>", bos)])])
    return json.loads(tok.to_str())


def qwen2(corpus):
    tok = bytelevel_bpe(corpus, 700, pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_REGEX), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]),
        ["<|endoftext|>", "<|im_start|>", "<|im_end|>"], normalizer=normalizers.NFC())
    return json.loads(tok.to_str())


def gpt2_family(corpus):
    tok = bytelevel_bpe(corpus, 650, pre_tokenizers.ByteLevel(add_prefix_space=False), ["<|endoftext|>"])
    d = json.loads(tok.to_str())
    d["model"]["merges"] = [" ".join(m) for m in d["model"]["merges"]]
    return d


def smollm(corpus):
    tok = bytelevel_bpe(corpus, 650, pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False)]),
        ["<|endoftext|>", "<|im_start|>", "<|im_end|>"])
    return json.loads(tok.to_str())


def smollm2_gguf(corpus):
    """SmolLM2 as transformers writes it from a GGUF file (research 1.9): an empty normalizer Sequence,
    ByteLevel(regex) with byte_fallback and fuse_unk, decoder Sequence[ByteFallback, Fuse, Replace, ByteLevel],
    BOS always added."""
    d = smollm(corpus)
    d["normalizer"] = {"type": "Sequence", "normalizers": []}
    d["pre_tokenizer"] = json.loads(pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False).__getstate__())
    d["model"].update(byte_fallback=True, fuse_unk=True, unk_token="<|endoftext|>")
    d["decoder"] = json.loads(decoders.Sequence([decoders.ByteFallback(), decoders.Fuse(),
                                                 decoders.Replace("\u2581", " "), decoders.ByteLevel()]).__getstate__())
    d["post_processor"] = json.loads(processors.TemplateProcessing(
        single="<|im_start|> $A", special_tokens=[("<|im_start|>", 1)]).__getstate__())
    return d


def sp_never(corpus):
    """Not a model family: Punctuation (default Isolated) then Metaspace(never, split) before the
    SentencePiece-style model, Metaspace(never) decoder, no post-processor."""
    d = spm_bpe(corpus, 600, ["<unk>", "<s>", "</s>"], "<unk>")
    d["normalizer"] = None
    d["pre_tokenizer"] = json.loads(pre_tokenizers.Sequence([pre_tokenizers.Punctuation(), pre_tokenizers.Metaspace(
        replacement="\u2581", prepend_scheme="never", split=True)]).__getstate__())
    d["decoder"] = json.loads(decoders.Sequence([decoders.ByteFallback(), decoders.Metaspace(
        replacement="\u2581", prepend_scheme="never")]).__getstate__())
    d["post_processor"] = None
    return d


def wordpiece_like(corpus):
    """Not a model family: the remaining pipeline parts. NFKC+Lowercase+Strip, WhitespaceSplit +
    Punctuation(contiguous) + Digits(runs), BPE with ## prefix and </w> suffix and a plain unk,
    single_word / lstrip / rstrip / normalized added tokens, a [CLS] $A [SEP] template."""
    tok = Tokenizer(models.BPE(unk_token="[UNK]", continuing_subword_prefix="##", end_of_word_suffix="</w>"))
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase(), normalizers.Strip()])
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(),
                                                 pre_tokenizers.Punctuation(behavior="contiguous"),
                                                 pre_tokenizers.Digits(individual_digits=False)])
    trainer = trainers.BpeTrainer(vocab_size=700, special_tokens=["[UNK]", "[CLS]", "[SEP]"], limit_alphabet=70,
                                  continuing_subword_prefix="##", end_of_word_suffix="</w>", show_progress=False)
    tok.train_from_iterator(lines_of(corpus), trainer=trainer)
    tok.add_special_tokens([AddedToken("[MASK]", lstrip=True, rstrip=True, special=True)])
    tok.add_tokens([AddedToken("hello world", single_word=True, normalized=True),
                    AddedToken("<mask>", single_word=True, normalized=False)])
    tok.decoder = decoders.Sequence([decoders.Replace("##", ""), decoders.Replace("</w>", " "),
                                     decoders.Strip(" ", 0, 1)])
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", tok.token_to_id("[CLS]")),
                                                 ("[SEP]", tok.token_to_id("[SEP]"))])
    return json.loads(tok.to_str())


def splits(corpus):
    """Not a model family: Split behaviours and invert, Whitespace (the other marks and ZWJ reach it), NFD +
    regex Replace (grave and acute removed) + NFKD + Lowercase normalizers, Metaspace(always, split) after them,
    fused unk, and no decoder (tokens joined with ' ')."""
    tok = Tokenizer(models.BPE(unk_token="<unk>", fuse_unk=True))
    tok.normalizer = normalizers.Sequence([normalizers.NFD(), normalizers.Replace(Regex("[\u0300\u0301]+"), ""),
                                           normalizers.NFKD(), normalizers.Lowercase(),
                                           normalizers.Strip(left=False, right=True)])
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split("-", behavior="merged_with_next"),
        pre_tokenizers.Split(Regex(r"\d"), behavior="merged_with_previous"),
        pre_tokenizers.Split(Regex("[\\p{L}\\p{M}\\s\u200d]+"), behavior="removed", invert=True),
        pre_tokenizers.Whitespace(),
        pre_tokenizers.Metaspace(replacement="_", prepend_scheme="always", split=True)])
    trainer = trainers.BpeTrainer(vocab_size=500, special_tokens=["<unk>", "<s>"], limit_alphabet=60,
                                  show_progress=False)
    tok.train_from_iterator(lines_of(corpus), trainer=trainer)
    return json.loads(tok.to_str())


FAMILIES = {"llama2": llama2, "mistral": mistral, "gemma": gemma, "llama3": llama3_family, "qwen2": qwen2,
            "gpt2": gpt2_family, "smollm": smollm, "smollm2_gguf": smollm2_gguf, "sp_never": sp_never,
            "wordpiece_like": wordpiece_like, "splits": splits}


def families(out):
    os.makedirs(out, exist_ok=True)
    corpus = family_corpus()
    rng = random.Random(1234)
    for name, make in FAMILIES.items():
        text = json.dumps(make(corpus), ensure_ascii=False, separators=(",", ":"))
        with open(os.path.join(out, name + ".json"), "w", encoding="utf-8") as f:
            f.write(text)
        tok = Tokenizer.from_str(text)
        c = {"ids": [], "ids_special": [], "decoded": [], "decoded_skip": []}
        for t in FAMILY_TEXTS:
            c["ids"].append(tok.encode(t, add_special_tokens=False).ids)
            ids = tok.encode(t, add_special_tokens=True).ids
            c["ids_special"].append(ids)
            c["decoded"].append(tok.decode(ids, skip_special_tokens=False))
            c["decoded_skip"].append(tok.decode(ids, skip_special_tokens=True))
        # random id sequences: the decoder chain on token sequences encode never makes
        n = tok.get_vocab_size(with_added_tokens=True)
        c["random_ids"] = [[rng.randrange(n) for _ in range(rng.randrange(1, 16))] for _ in range(40)]
        c["random_decoded"] = [tok.decode(ids, skip_special_tokens=False) for ids in c["random_ids"]]
        with open(os.path.join(out, name + ".expected.json"), "w", encoding="utf-8") as f:
            json.dump(c, f, ensure_ascii=False, separators=(",", ":"))
    with open(os.path.join(out, "texts.json"), "w", encoding="utf-8") as f:
        json.dump(FAMILY_TEXTS, f, ensure_ascii=False, indent=0)
    print(f"wrote {out}: {len(FAMILIES)} tokenizers x {len(FAMILY_TEXTS)} texts")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--families":
        families(sys.argv[2] if len(sys.argv) > 2 else "tests/fixtures/tokenizers")
    else:
        main()
