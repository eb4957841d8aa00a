#!/usr/bin/env bash
# The one script to run on a GPU machine: builds the CUDA path (`make cuda`),
# runs build/cuda/cuda_check (kernel-vs-reference checks, then the benchmark)
# under a time limit, then the checks alone under compute-sanitizer memcheck
# when the device supports it. Writes everything to $OUT (or build/device-check).
# Exit status: 0 all checks passed; 1 a check failed; 2 setup/build failure or
# time-out; 3 memcheck found errors.
# Usage: tools/device-check.sh            (env: CHECK_TIMEOUT_S=300, MEMCHECK=1)
set -u -o pipefail
cd "$(dirname "$0")/.." || exit 2
out=${OUT:-build/device-check}
mkdir -p "$out"
limit=${CHECK_TIMEOUT_S:-300}
export PATH=/usr/local/cuda/bin:$PATH

{
  echo "== device-check $(date -u +%Y-%m-%dT%H:%M:%SZ) commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader 2>&1 || true
  nvcc --version 2>&1 | tail -n 1 || true
} | tee "$out/summary.txt"

# Build here when nvcc is present; otherwise use a binary carried from the dev machine.
if command -v nvcc >/dev/null; then
  if ! timeout 400 make cuda -j"$(nproc)" >"$out/build.log" 2>&1; then
    echo "BUILD FAILED (see build.log)" | tee -a "$out/summary.txt"; tail -n 30 "$out/build.log"; exit 2
  fi
  echo "build: ok ($(grep -ci warning "$out/build.log") warning lines)" | tee -a "$out/summary.txt"
elif [ -x build/cuda/cuda_check ]; then
  echo "build: nvcc not found; using the carried build/cuda/cuda_check" | tee -a "$out/summary.txt"
else
  echo "BUILD FAILED: no nvcc and no build/cuda/cuda_check" | tee -a "$out/summary.txt"; exit 2
fi

timeout "$limit" build/cuda/cuda_check 2>&1 | tee "$out/cuda_check.txt"
rc=${PIPESTATUS[0]}
[ "$rc" -eq 124 ] && { echo "cuda_check: TIMED OUT after ${limit}s"; rc=2; }
grep -E '^(FAIL|SUMMARY|BENCH|SETUP)' "$out/cuda_check.txt" >>"$out/summary.txt"
echo "cuda_check exit status: $rc" | tee -a "$out/summary.txt"

if [ "${MEMCHECK:-1}" = 1 ] && command -v compute-sanitizer >/dev/null; then
  timeout 240 compute-sanitizer --tool memcheck --error-exitcode 3 build/cuda/cuda_check --no-bench \
    >"$out/memcheck.txt" 2>&1
  mrc=$?
  if grep -q -E 'Device not supported|error 999' "$out/memcheck.txt"; then
    echo "memcheck: not supported on this machine (skipped)" | tee -a "$out/summary.txt"
  elif [ "$mrc" -eq 3 ]; then
    echo "memcheck: ERRORS (see memcheck.txt)" | tee -a "$out/summary.txt"; grep -m 20 -E '=====' "$out/memcheck.txt"
    [ "$rc" -eq 0 ] && rc=3
  else
    echo "memcheck: exit $mrc, $(grep -E 'ERROR SUMMARY' "$out/memcheck.txt" | tail -n 1)" | tee -a "$out/summary.txt"
  fi
fi
exit "$rc"
