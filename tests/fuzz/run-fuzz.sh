#!/usr/bin/env bash
# Fuzzes each named target (build-fuzz/fuzz_<name>) for SECONDS, one after the
# other, and prints one line per target: executions, final coverage (cov:
# edges, ft: features), corpus size and findings. The committed corpus
# tests/fuzz/corpus/<name> is read; new inputs go to build-fuzz/corpus/<name>,
# crashes, hangs and leaks to build-fuzz/findings/<name>/, the log to
# build-fuzz/logs/<name>.log. With FUZZ_MERGE=1 the inputs that add coverage
# are merged into the committed corpus afterwards. Exit status 1 when any
# target had a finding. Leaks inside HDF5 itself are suppressed (lsan.supp).
# Usage: run-fuzz.sh SECONDS NAME...
set -u
secs=$1; shift
export LSAN_OPTIONS="suppressions=$PWD/tests/fuzz/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
status=0
printf '%-14s %8s %12s %7s %7s %7s  %s\n' target seconds execs cov ft corpus findings
for name in "$@"; do
  bin=build-fuzz/fuzz_$name seeds=tests/fuzz/corpus/$name work=build-fuzz/corpus/$name
  found=build-fuzz/findings/$name log=build-fuzz/logs/$name.log
  mkdir -p "$seeds" "$work" "$found" build-fuzz/logs
  dict=(); [ -f "tests/fuzz/$name.dict" ] && dict=(-dict="tests/fuzz/$name.dict")
  start=$(date +%s)
  "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
         -artifact_prefix="$found/" "${dict[@]}" "$work" "$seeds" >"$log" 2>&1
  took=$(( $(date +%s) - start ))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -n 1)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  if [ "${FUZZ_MERGE:-0}" = 1 ]; then
    "$bin" -merge=1 -timeout=10 -rss_limit_mb=2048 "$seeds" "$work" >>"$log" 2>&1
  fi
  findings=$(ls "$found" 2>/dev/null | tr '\n' ' ')
  [ -n "$findings" ] && status=1
  printf '%-14s %8s %12s %7s %7s %7s  %s\n' "$name" "$took" "${execs:-?}" "${cov:-?}" "${ft:-?}" \
         "$(ls "$seeds" | wc -l)" "${findings:-none}"
done
exit $status
