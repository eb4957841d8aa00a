#!/usr/bin/env bash
# Runs every cmocka test binary in BUILD/tests and the CLI checks, replays the
# fuzz corpora (BUILD/tests/fuzz/fuzz_* on tests/fuzz/corpus/*), runs the
# include floors check (tests/check-floors.sh) and the quick kill-anywhere
# check (tests/chaos.sh, 3 kills), then prints a closing summary line
# "N passed, N failed". Usage: run-tests.sh BUILD HARNESS
set -u
build=${1:-build}; harness=${2:-bin/harness}
export HX_THREADS=${HX_THREADS:-2}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}  # idle OpenMP threads must not steal cores from OpenBLAS
export HX_HARNESS=$harness
passed=0; failed=0; failed_names=()
for t in "$build"/tests/test_*; do
  [ -x "$t" ] || continue
  case "$t" in *.o|*.d) continue;; esac
  name=$(basename "$t")
  log="$build/tests/$name.log"
  "$t" >"$log" 2>&1; rc=$?
  p=$(grep -Eo '^\[  PASSED  \] [0-9]+' "$log" | awk '{s+=$4} END {print s+0}')
  f=$(grep -Eo '^\[  FAILED  \] [0-9]+' "$log" | awk '{s+=$4} END {print s+0}')
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi   # crashed before cmocka's summary
  passed=$((passed + p)); failed=$((failed + f))
  grep -E '^(SKIP|NOTE):' "$log" || true
  if [ "$f" -ne 0 ]; then failed_names+=("$name"); echo "---- $name (exit $rc) ----"; tail -n 40 "$log"; fi
  printf '%-28s %3d passed %3d failed\n' "$name" "$p" "$f"
done
# Fuzz corpora: each replayer runs every committed input of its target once; one pass per target.
for t in "$build"/tests/fuzz/fuzz_*; do
  case "$t" in *.o|*.d) continue;; esac
  [ -x "$t" ] || continue
  name=$(basename "$t"); log="$build/tests/fuzz/$name.log"
  if "$t" "tests/fuzz/corpus/${name#fuzz_}" >"$log" 2>&1; then p=1 f=0; else p=0 f=1; fi
  passed=$((passed + p)); failed=$((failed + f))
  if [ "$f" -ne 0 ]; then failed_names+=("$name"); echo "---- $name ----"; tail -n 40 "$log"; fi
  printf '%-28s %3d passed %3d failed  (%s)\n' "$name" "$p" "$f" "$(tail -n 1 "$log")"
done

# Every include points down the floors of harness/README.md: one suite line.
if tests/check-floors.sh >"$build/tests/floors.log" 2>&1; then passed=$((passed + 1)); p=1; f=0; else failed=$((failed + 1)); p=0; f=1; fi
if [ "$f" -ne 0 ]; then failed_names+=(floors); echo "---- floors ----"; cat "$build/tests/floors.log"; fi
printf '%-28s %3d passed %3d failed\n' floors "$p" "$f"

# The kill-anywhere check, quick variant (`make chaos` runs 20 kills): one suite line.
log="$build/tests/chaos.log"
tests/chaos.sh "$harness" "${CHAOS_QUICK_KILLS:-3}" "${CHAOS_SEED:-1}" >"$log" 2>&1; rc=$?
if [ "$rc" -eq 0 ]; then passed=$((passed + 1)); p=1; f=0; else failed=$((failed + 1)); p=0; f=1; fi
if [ "$f" -ne 0 ]; then failed_names+=(chaos); echo "---- chaos (exit $rc) ----"; tail -n 40 "$log"; fi
printf '%-28s %3d passed %3d failed   %s\n' chaos "$p" "$f" "$(grep -E '^chaos: (kill phases|PASS)' "$log" | tr '\n' ' ')"

echo
[ ${#failed_names[@]} -gt 0 ] && echo "failing suites: ${failed_names[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
