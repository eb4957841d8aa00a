#!/usr/bin/env bash
# Kill it anywhere: SIGKILLs `harness run` at random points, resumes with --resume, and
# repeats, then proves the killed-and-resumed run equals an uninterrupted one.
# Usage: chaos.sh HARNESS [KILLS [SEED [MANIFEST]]]   (`make chaos`: 20 kills; `make test`: 3)
#   1. runs MANIFEST uninterrupted into $work/run, moved to $work/A when done;
#   2. episode: starts the run into $work/run, sleeps a random delay in [0, D], D the
#      duration of the uninterrupted run (stratified: draw j is uniform in stratum
#      perm[j mod KILLS] of KILLS equal strata, perm a shuffle; a seeded LCG, so the same
#      SEED gives the same delays), SIGKILLs the whole process group, checks that h5dump
#      reads the results file and that it has no end_time before every arm is complete,
#      and restarts with --resume; until a start finishes (exit 0);
#   3. then compares $work/run with $work/A: the full h5dump (every table row, every
#      array and attribute) and every other file byte for byte (weights, optimizer and
#      trainer state, students, shards, summary, plot data); starts a new episode
#      until KILLS kills have landed.
# Both runs use the same absolute paths ($work/run), so paths recorded in the results
# are equal and only the VOLATILE items below may differ.
set -u -o pipefail
harness=${1:?usage: chaos.sh HARNESS [KILLS [SEED [MANIFEST]]]}
kills=${2:-20}
seed=${3:-1}
manifest=${4:-tests/fixtures/pipeline/chaos.yaml}
case "$harness" in /*) ;; *) harness=$PWD/$harness ;; esac
[ -x "$harness" ] || { echo "chaos: $harness is not executable"; exit 2; }
command -v h5dump >/dev/null || { echo "chaos: h5dump not found (Debian package hdf5-tools)"; exit 2; }

# What may legitimately differ between the uninterrupted and the resumed run, and why.
# Attributes and datasets are named as h5dump prints them; their values are dropped
# from the comparison, their presence, type and shape are still compared.
VOLATILE_VALUES=(
  start_time     # root attribute: wall-clock time of the first start
  end_time       # root attribute: wall-clock time of the end
  tokens_per_s   # train column: measured throughput (wall clock)
  seconds        # importance attribute: wall time of the importance pass
  seconds_width  # importance attribute: wall time of its width pass
)
VOLATILE_PRESENCE=(
  resume_time    # root attribute: time of the latest resume; absent when never resumed
)
# Files not compared byte for byte: gnuplot's pdfcairo stamps each PDF with its creation
# date (the PNG, SVG and TSV beside them are compared).
NOT_COMPARED='*.pdf'

export HX_THREADS=${HX_THREADS:-2} OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
work=$(mktemp -d "${TMPDIR:-/tmp}/hx-chaos.XXXXXX")
export HX_TEST_OUT=$work/run
set -m # each background start is its own process group, so one kill takes gnuplot too

fail() {
  echo "chaos: FAIL: $*"
  echo "chaos: work directory kept: $work"
  exit 1
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# The results file of a results tree (the manifest's outputs.dir holds one *.h5).
h5_of() { local f; for f in "$1"/*/*.h5; do [ -f "$f" ] && echo "$f"; done; }

# h5dump of a file with the VOLATILE values (and VOLATILE_PRESENCE objects) dropped.
dump_stable() {
  h5dump -m '%.17g' "$1" | awk -v vals=" ${VOLATILE_VALUES[*]} " -v pres=" ${VOLATILE_PRESENCE[*]} " '
    NR == 1 { print "HDF5 file"; next }
    skip_to != "" { if ($0 == skip_to) skip_to = ""; next }
    match($0, /^ *(ATTRIBUTE|DATASET) "[^"]*" \{$/) {
      name = $0; sub(/^[^"]*"/, "", name); sub(/".*/, "", name)
      ind = $0; sub(/[^ ].*/, "", ind)
      if (index(pres, " " name " ")) { skip_to = ind "}"; next }
      if (index(vals, " " name " ")) drop_data = ind "   "
    }
    drop_data != "" && $0 == drop_data "DATA {" { print; skip_to = drop_data "}"; print skip_to; drop_data = ""; next }
    { print }'
}

has_attr() { h5dump -a "/$2" "$1" >/dev/null 2>&1; }
# Every dataset under /arms with its shape (the rows of every table).
arms_shape() { h5dump -H -A 0 -g /arms "$1" | sed 1d; }

# Last value of a 1-D dataset (empty when absent or empty).
last_value() {
  h5dump -A 0 -d "$2" "$1" 2>/dev/null | awk '/^ *\([0-9]+\):/ { sub(/^ *\([0-9]+\): */, ""); n = split($0, v, /, */); last = v[n] } END { print last }' | tr -d ', '
}

# The phase a kill hit, from what the killed start left behind: a checkpoint or an atomic
# write of this pid in progress, else the last line it printed (stdout is line-buffered),
# refined to "eval" when the arm's train table is ahead of its eval table.
phase_of() {
  local log=$1 pid=$2 h5=$3 line arm t e
  if [ -n "$(find "$work/run" -name "step-*.tmp-$pid*" -print -quit 2>/dev/null)" ]; then echo checkpoint; return; fi
  local f; f=$(find "$work/run" -name "*.tmp.$pid" -print -quit 2>/dev/null)
  case "$f" in
    "") ;;
    */students/*) echo prune; return ;;
    */summary.md.*) echo summary; return ;;
    */plots/*) echo plots; return ;;
    *) echo "write:${f#"$work/run/"}"; return ;;
  esac
  line=$(grep -v -E '^(step [0-9]+ \||note:|warning:|\s*$)' "$log" | tail -n 1)
  case "$line" in
    "") echo startup ;;
    data:* | tokenize:*) echo data ;;
    "teacher: training"* | "teacher: already"*) echo teacher-train ;;
    teacher:* | "teacher_correction: KD arms"*) echo teacher-load ;;
    "teacher_correction: training"*) echo teacher-correction ;;
    "importance: "*" samples"*) echo importance ;;
    importance:* | *": pruned "* | *": dropping "* | *": param_budget "* | *": round "*) echo prune ;;
    *": training "*" tokens"*)
      arm=${line%%: training*}; arm=${arm%%/round*}
      t=$(last_value "$h5" "/arms/$arm/train/tokens"); e=$(last_value "$h5" "/arms/$arm/eval/tokens")
      if [ -z "$e" ] || { [ -n "$t" ] && [ "$t" -gt "$e" ]; }; then echo eval; else echo train; fi ;;
    *": "*" steps, last loss"* | *": already trained"*) echo arm-end ;;
    "summary:"* | "plots:"* | "run: done"*) echo plots ;;
    *) echo summary ;; # the summary table and its lines
  esac
}

# Seeded LCG (glibc's constants; its low bits are weak, so the top 23 are used), reproducible
# across machines; sets $r. These run in this shell, not a $(...) subshell, to keep the state.
lcg() { rng=$(((rng * 1103515245 + 12345) % 2147483648)); r=$((rng >> 8)); }
# Sets $delay (ms): draw j is uniform in stratum perm[j mod kills] of [0, dur_ms].
next_delay() {
  lcg
  local s=${perm[draws % kills]}
  draws=$((draws + 1))
  delay=$(((s * dur_ms + r % (dur_ms + 1)) / kills))
}
rng=$seed draws=0 perm=()
for ((i = 0; i < kills; i++)); do perm[i]=$i; done
for ((i = kills - 1; i > 0; i--)); do lcg; j=$((r % (i + 1))); t=${perm[i]}; perm[i]=${perm[j]}; perm[j]=$t; done

echo "chaos: $manifest, $kills kills, seed $seed, work $work"
t0=$(now_ms)
"$harness" run "$manifest" >"$work/A.log" 2>&1 || { tail -n 20 "$work/A.log"; fail "uninterrupted run failed"; }
dur_ms=$(($(now_ms) - t0))
mv "$work/run" "$work/A"
h5A=$(h5_of "$work/A")
[ -n "$h5A" ] || fail "uninterrupted run wrote no *.h5"
rel_h5=${h5A#"$work/A/"}
dump_stable "$h5A" >"$work/A.dump" || fail "h5dump of $h5A"
arms_shape "$h5A" >"$work/A.arms"
has_attr "$h5A" end_time || fail "the uninterrupted run has no end_time"
! has_attr "$h5A" resume_time || fail "the uninterrupted run has a resume_time (it was never resumed)"
echo "chaos: uninterrupted run: ${dur_ms} ms; kill delays drawn from [0, ${dur_ms}] ms"

# Compares the finished $work/run with $work/A.
compare() {
  local ep=$1 h5B=$work/run/$rel_h5
  [ -f "$h5B" ] || fail "episode $ep: no $rel_h5"
  dump_stable "$h5B" >"$work/B.dump" || fail "episode $ep: h5dump of the finished run"
  if ! diff -u "$work/A.dump" "$work/B.dump" >"$work/dump.diff"; then
    head -n 60 "$work/dump.diff"
    fail "episode $ep: the HDF5 file differs from the uninterrupted run's (rows lost, duplicated or changed)"
  fi
  if ! diff -r -x "$NOT_COMPARED" -x "$(basename "$rel_h5")" "$work/A" "$work/run" >"$work/tree.diff"; then
    head -n 40 "$work/tree.diff"
    fail "episode $ep: files differ from the uninterrupted run's (weights, state, students, summary or plots)"
  fi
  if [ "$resumed" = 1 ]; then
    has_attr "$h5B" resume_time || fail "episode $ep: the resumed run has no resume_time"
  else
    ! has_attr "$h5B" resume_time || fail "episode $ep: resume_time, but no start found the file started"
  fi
  local n; n=$(find "$work/run" -name model.safetensors | wc -l)
  [ "$n" -gt 0 ] || fail "episode $ep: no model.safetensors to compare"
  local rows; rows=$(grep -c 'DATASPACE  SIMPLE' "$work/B.dump")
  echo "chaos: episode $ep equals the uninterrupted run: $rows datasets, $n model.safetensors bit-identical, summary equal"
}

landed=0 episode=1 starts=0 fresh=1 resumed=0 phases=""
while [ "$landed" -lt "$kills" ]; do
  next_delay
  starts=$((starts + 1))
  slog=$work/start-$starts.log
  flag=--resume
  [ "$fresh" = 1 ] && flag=""
  # stdbuf preloads libstdbuf, which ASan (make test SAN=1) must be told to accept
  ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
    stdbuf -oL -eL "$harness" run "$manifest" $flag >"$slog" 2>&1 &
  pid=$!
  sleep "$(awk -v ms="$delay" 'BEGIN { printf "%.3f", ms / 1000 }')"
  kill -KILL -- "-$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  rc=$?
  fresh=0
  if [ "$rc" -eq 137 ]; then
    landed=$((landed + 1))
    h5=$work/run/$rel_h5
    phase=$(phase_of "$slog" "$pid" "$h5")
    phases="$phases $phase"
    printf 'chaos: kill %2d/%d: episode %d, start %d%s, after %5d ms: %s\n' "$landed" "$kills" "$episode" "$starts" \
      "${flag:+ ($flag)}" "$delay" "$phase"
    if [ -f "$h5" ] && ! h5dump "$h5" >/dev/null 2>"$work/h5dump.err"; then
      head -n 20 "$work/h5dump.err"
      fail "kill $landed: h5dump cannot read $h5 after the kill"
    fi
    if [ -f "$h5" ] && has_attr "$h5" end_time && ! arms_shape "$h5" | diff -q - "$work/A.arms" >/dev/null; then
      fail "kill $landed: $h5 has end_time although its arms are not all complete"
    fi
    [ -f "$h5" ] && has_attr "$h5" start_time && resumed=1 # so the next start is a resume of it
  elif [ "$rc" -eq 0 ]; then
    echo "chaos: start $starts finished before its kill at $delay ms"
    compare "$episode"
    episode=$((episode + 1)) fresh=1 resumed=0
    rm -rf "$work/run"
  else
    tail -n 30 "$slog"
    fail "start $starts (${flag:-fresh}) exited with status $rc instead of finishing or being killed"
  fi
done
echo "chaos: letting episode $episode finish"
if [ "$fresh" = 0 ]; then
  starts=$((starts + 1))
  "$harness" run "$manifest" --resume >"$work/start-$starts.log" 2>&1 ||
    { tail -n 30 "$work/start-$starts.log"; fail "the final --resume failed"; }
  compare "$episode"
fi
echo "chaos: kill phases:$(echo "$phases" | tr ' ' '\n' | sed '/^$/d' | sort | uniq -c | awk '{ printf " %s %d,", $2, $1 }' | sed 's/,$//')"
echo "chaos: PASS: $landed kills in $starts starts over $episode episode(s), $(($(now_ms) - t0)) ms"
rm -rf "$work"
