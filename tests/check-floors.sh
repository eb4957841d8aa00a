#!/usr/bin/env bash
# Fails on any #include in harness/ or kernels/ that points up or sideways the
# floors of harness/README.md (its "| floor | folders |" table). Prints each
# offending include as file:line; exit 0 when every include points down.
set -u
cd "$(dirname "$0")/.."
declare -A floor
while IFS='|' read -r _ f folders _; do
  f=${f// /}
  [[ $f =~ ^[0-9]+$ ]] || continue
  for d in ${folders//,/ }; do floor[$d]=$f; done
done < harness/README.md
[ "${#floor[@]}" -ge 8 ] || { echo "check-floors: no floor table in harness/README.md"; exit 2; }
bad=0
while IFS= read -r -d '' file; do
  case "$file" in
    harness/main.c) src=main.c ;;
    kernels/*) src=kernels ;;
    harness/*/*) src=$(echo "$file" | cut -d/ -f2) ;;
    *) continue ;;
  esac
  [ -n "${floor[$src]:-}" ] || { echo "check-floors: $file: folder '$src' is not in the table"; bad=1; continue; }
  while IFS=: read -r line inc; do
    to=${inc%%/*}
    case "$to" in cpu | cuda) to=kernels ;; esac
    [ "$to" = "$src" ] && continue
    [ -n "${floor[$to]:-}" ] || continue   # a file of the same folder, or a system header
    if [ "${floor[$to]}" -ge "${floor[$src]}" ]; then
      echo "$file:$line: includes \"$inc\": floor ${floor[$to]} ($to) is not below floor ${floor[$src]} ($src)"
      bad=1
    fi
  done < <(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$file" | sed -E 's/^([0-9]+):[^"]*"([^"]+)".*/\1:\2/')
done < <(find harness kernels -name '*.[ch]' -print0 -o -name '*.cu' -print0)
# The backend seam (model/engine.h): the stages reach kernels, the forward and
# backward passes and the optimizer only through it.
while IFS=: read -r file line inc; do
  echo "$file:$line: includes \"$inc\": stages reach the backend only through model/engine.h"
  bad=1
done < <(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"\(cpu/\|cuda/\|model/forward\.h\|model/optim\.h\)' \
           harness/train/* harness/eval/* harness/minitron/* harness/exp/* |
         sed -E 's/^([^:]+):([0-9]+):[^"]*"([^"]+)".*/\1:\2:\3/')
[ "$bad" -eq 0 ] && echo "check-floors: every include points down (${#floor[@]} folders); stages use the backend seam only"
exit "$bad"
