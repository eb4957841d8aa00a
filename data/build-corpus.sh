#!/usr/bin/env bash
# Rebuilds the embedded corpus (data/corpus-train.jsonl.zst, data/corpus-valid.jsonl.zst)
# deterministically from two Debian packages: bible-kjv (the King James Bible, one
# document per chapter) and jargon-text (the Jargon File 4.4.7, one document per
# lexicon entry). Output lines: {"id","source","title","text"}; the validation split
# holds the documents whose id's SHA-256, read as a number from its first 8 hex
# digits, is below 3 modulo 100 (about 3%). See data/README.md.
# Usage: data/build-corpus.sh [OUTDIR]   (default: the directory of this script)
set -euo pipefail
export LC_ALL=C
out=${1:-$(cd "$(dirname "$0")" && pwd)}

need=()
command -v bible >/dev/null || need+=(bible-kjv)
dpkg -L jargon-text >/dev/null 2>&1 || need+=(jargon-text)
command -v zstd >/dev/null || need+=(zstd)
if [ ${#need[@]} -gt 0 ]; then
  sudo=; [ "$(id -u)" -ne 0 ] && sudo=sudo
  $sudo apt-get install -y "${need[@]}"
fi
jargon=$(dpkg -L jargon-text | grep -E '/jargon\.txt(\.gz)?$' | head -n 1)
[ -n "$jargon" ] || { echo "build-corpus: jargon.txt not found in package jargon-text" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# JSON string escaping shared by both extractors (the sources hold no other
# control characters; UTF-8 passes through byte for byte under LC_ALL=C).
esc='function esc(s) { gsub(/\\/, "\\\\\\\\", s); gsub(/"/, "\\\"", s); gsub(/\t/, "\\t", s); gsub(/\r/, "\\r", s); return s }
function emit(src, title, text) { printf "{\"id\":\"%s:%s\",\"source\":\"%s\",\"title\":\"%s\",\"text\":\"%s\"}\n", src, esc(title), src, esc(title), text }'

# Bible: `bible -l9999` prints "<Book> <chapter>" headers and one verse per line
# ("  <n> <text>") without wrapping. Text = "<Book> <chapter>\n\n<n> <verse>\n...".
bible -l9999 "gen1:1-rev22:21" | awk "$esc"'
  /^  [0-9]+ / { sub(/^  /, ""); body = body "\\n" esc($0); next }
  /^[^ ].* [0-9]+$/ { if (title != "") emit("kjv", title, esc(title) "\\n" body); title = $0; body = ""; next }
  /^$/ { next }
  { print "build-corpus: unexpected bible line " NR ": " $0 > "/dev/stderr"; exit 1 }
  END { if (title != "") emit("kjv", title, esc(title) "\\n" body) }' > "$tmp/kjv.jsonl"

# Jargon File: lexicon entries start with "   :<name>:" and end at the next entry,
# at a letter heading ("  A", which is followed by that letter's index of names)
# or at "Part III". Text = the entry's lines without the 3-space indent,
# trailing blank lines removed.
case "$jargon" in *.gz) cat_j="gzip -dc";; *) cat_j=cat;; esac
$cat_j "$jargon" | awk "$esc"'
  function flush() { if (title != "") { sub(/(\\n)+$/, "", body); emit("jargon", title, body) } title = "" }
  /^   :[^ ][^:]*:/ { flush(); title = $0; sub(/^   :/, "", title); sub(/:.*/, "", title); body = ""; inentry = 1 }
  /^  [0A-Z]$/ || /Part III\. Appendices/ { flush(); inentry = 0; next }
  inentry { line = $0; sub(/^   /, "", line); body = body (body == "" ? "" : "\\n") esc(line) }
  END { flush() }' > "$tmp/jargon.jsonl"

cat "$tmp/kjv.jsonl" "$tmp/jargon.jsonl" > "$tmp/all.jsonl"
: > "$tmp/valid-ids"
while IFS= read -r id; do
  h=$(printf '%s' "$id" | sha256sum); h=${h:0:8}
  if [ $((16#$h % 100)) -lt 3 ]; then printf '%s\n' "$id" >> "$tmp/valid-ids"; fi
done < <(sed -E 's/^\{"id":"(([^"\\]|\\.)*)".*/\1/' "$tmp/all.jsonl")
awk -v vf="$tmp/valid-ids" -v tr="$tmp/train.jsonl" -v va="$tmp/valid.jsonl" '
  BEGIN { while ((getline l < vf) > 0) valid["{\"id\":\"" l "\""] = 1 }
  { key = $0; sub(/,"source":.*/, "", key); print > (key in valid ? va : tr) }' "$tmp/all.jsonl"
# The ids are JSON-escaped in the id file and in the lines alike, so the lookup matches.

for s in train valid; do
  zstd -q -19 -T1 --no-progress -f "$tmp/$s.jsonl" -o "$tmp/corpus-$s.jsonl.zst"
  mv "$tmp/corpus-$s.jsonl.zst" "$out/corpus-$s.jsonl.zst"
  printf '%s: %d documents (kjv %d, jargon %d), %d bytes uncompressed, %d compressed, sha256 %s\n' \
    "corpus-$s.jsonl.zst" "$(wc -l < "$tmp/$s.jsonl")" "$(grep -c '"source":"kjv"' "$tmp/$s.jsonl")" \
    "$(grep -c '"source":"jargon"' "$tmp/$s.jsonl")" "$(wc -c < "$tmp/$s.jsonl")" \
    "$(wc -c < "$out/corpus-$s.jsonl.zst")" "$(sha256sum "$out/corpus-$s.jsonl.zst" | cut -d' ' -f1)"
done
