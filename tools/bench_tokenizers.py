#!/usr/bin/env python3
"""Measures HF `tokenizers` encode throughput on a text file, for comparison with
hx_bench_tokenizer (same file, same thread count).

Usage: tools/bench_tokenizers.py TOKENIZER_JSON TEXT_FILE [THREADS]
The file is split into the same ~64 KiB chunks ending at a newline that
hx_bench_tokenizer uses and encoded with encode_batch (add_special_tokens=False);
RAYON_NUM_THREADS is set to THREADS (default 1) before tokenizers is imported.
Prints the best of 3 passes in MB/s (1 MB = 1e6 bytes of UTF-8 input).
"""
import os
import sys
import time


def chunks(data):
    out, o = [], 0
    while o < len(data):
        e = min(o + 65536, len(data))
        while e < len(data) and data[e - 1] != 0x0A:
            e += 1
        out.append(data[o:e].decode("utf-8"))
        o = e
    return out


def main():
    tok_path, text_path = sys.argv[1], sys.argv[2]
    threads = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    os.environ["RAYON_NUM_THREADS"] = str(threads)
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(tok_path)
    with open(text_path, "rb") as f:
        data = f.read()
    parts = chunks(data)
    best = 0.0
    for _ in range(3):
        t0 = time.perf_counter()
        tok.encode_batch(parts, add_special_tokens=False)
        best = max(best, len(data) / (time.perf_counter() - t0) / 1e6)
    print(f"HF tokenizers: {best:.2f} MB/s ({threads} thread(s), {len(data)} bytes)")


if __name__ == "__main__":
    main()
