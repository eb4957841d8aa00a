#!/usr/bin/env python3
"""Checks that HF `tokenizers` encodes a text file to the same ids as ours.

Usage: tools/check_tokenizer_interop.py TOKENIZER_JSON TEXT_FILE IDS_FILE
IDS_FILE holds our ids (encode with add_special=1), one per line. Exits 0 when
Tokenizer.from_file(TOKENIZER_JSON).encode(text).ids is identical, else prints
the first difference and exits 1.
"""
import sys

from tokenizers import Tokenizer


def main():
    tok_path, text_path, ids_path = sys.argv[1:4]
    with open(text_path, encoding="utf-8") as f:
        text = f.read()
    with open(ids_path) as f:
        ours = [int(x) for x in f.read().split()]
    hf = Tokenizer.from_file(tok_path).encode(text, add_special_tokens=True).ids
    if hf == ours:
        return 0
    i = next((k for k, (a, b) in enumerate(zip(hf, ours)) if a != b), min(len(hf), len(ours)))
    print(f"mismatch at token {i}: HF {hf[i:i + 8]} ours {ours[i:i + 8]} (lengths {len(hf)} vs {len(ours)})")
    return 1


if __name__ == "__main__":
    sys.exit(main())
