#!/usr/bin/env bash
# jobs/teacher_curve.sh on the tiny preset: the curve stops at its plateau rule (PATIENCE stages whose validation FID is
# not MIN_GAIN below the best; MIN_GAIN=1 makes every stage after the first such a stage), picks a trained stage on
# the validation seeds, prints `teacher FILE w* W`, and a
# rerun reuses every evaluation (resumable). Also the control: with a patience larger than the curve it trains to LAST.
#   FS_BIN=/path/to/bin jobs/tests/teacher_curve.sh      (default: the release build)
set -euo pipefail
cd "$(dirname "$0")/../.."
FS_BIN=${FS_BIN:-$(swift build -c release --show-bin-path)}; export FS_BIN
WORK=$(mktemp -d "${TMPDIR:-/tmp}/teacher_curve.XXXXXX"); trap 'rm -rf "$WORK"' EXIT
fail() { echo "teacher_curve: FAIL: $*" >&2; exit 1; }
curve() {  # curve DIR PATIENCE: the tiny teacher's curve, stages of 2 steps up to 8
  mkdir -p "$1"
  STORE=$1/s.db OUT=$1 RUN=t LAST=8 STAGE=2 N=16 PATIENCE=$2 MIN_GAIN=${MIN_GAIN:-1} THREADS=1 WS="1 2" \
    INIT="--preset tiny --data mnist" bash jobs/teacher_curve.sh 2> "$1/log"
}
curve "$WORK/a" 1 > "$WORK/a.out"
grep -q '^plateau: 1 stages in a row not improving the best validation FID .* by more than MIN_GAIN=1;' "$WORK/a/log" \
  || fail "no plateau stop at patience 1: $(cat "$WORK/a/log")"
rows=$(grep -c '^| [0-9]' "$WORK/a.out"); [ "$rows" -eq 2 ] || fail "patience 1, MIN_GAIN 1 trained $rows stages, not 2"
[ -s "$WORK/a/t-2-val.json" ] && [ -s "$WORK/a/t-4-val.json" ] || fail "the stages were not evaluated on the validation seeds"
grep -q '^| 2 | .* | [0-9.]* |$' "$WORK/a.out" || fail "no validation FID column: $(cat "$WORK/a.out")"
last=$(tail -1 "$WORK/a.out")
[[ $last =~ ^teacher\ $WORK/a/t-([0-9]+)\.safetensors\ w\*\ (1|2)$ ]] || fail "last line: $last"
[ "${BASH_REMATCH[1]}" -le $((rows * 2)) ] || fail "picked step ${BASH_REMATCH[1]} beyond the trained $((rows * 2))"
[ -f "$(echo "$last" | cut -d' ' -f2)" ] || fail "picked file missing"
n=$(ls "$WORK"/a/*.json | wc -l)
curve "$WORK/a" 1 > "$WORK/a2.out"
cmp -s "$WORK/a.out" "$WORK/a2.out" || fail "rerun printed something else"
[ "$(ls "$WORK"/a/*.json | wc -l)" -eq "$n" ] || fail "rerun made new evaluations"
MIN_GAIN=0 curve "$WORK/b" 9 > "$WORK/b.out"
[ "$(grep -c '^| [0-9]' "$WORK/b.out")" -eq 4 ] || fail "patience 9 did not train to LAST"
! grep -q '^plateau' "$WORK/b/log" || fail "patience 9 stopped early"
grep -q '^no plateau: the stages ran out at step 8 ' "$WORK/b/log" || fail "patience 9 did not say it ran out of stages: $(cat "$WORK/b/log")"
! grep -q '^no plateau' "$WORK/a/log" || fail "a plateau stop also said 'no plateau'"
# STAGES continues a run: stages 2 and 6 are in OUT (not trained or evaluated again), 10 trains on from step 8.
before=$(md5sum "$WORK"/b/t-2-w1.25.json "$WORK"/b/t-6-w1.25.json)
STAGES="2 6 10" MIN_GAIN=0 curve "$WORK/b" 9 > "$WORK/b2.out"
[ "$(grep -c '^| [0-9]' "$WORK/b2.out")" -eq 3 ] || fail "STAGES=\"2 6 10\" printed $(grep -c '^| [0-9]' "$WORK/b2.out") stages"
[ -f "$WORK/b/t-10.safetensors" ] || fail "stage 10 was not trained and exported"
[ "$(md5sum "$WORK"/b/t-2-w1.25.json "$WORK"/b/t-6-w1.25.json)" = "$before" ] || fail "stages 2 and 6 evaluated again"
[ "$(grep -c 'trained t to step' "$WORK/b/log")" -le 1 ] || fail "STAGES trained more than stage 10: $(cat "$WORK/b/log")"
echo "teacher_curve: ok (patience 1, MIN_GAIN 1 stopped after $rows of 4 stages, pick: $last; patience 9 trained all 4; STAGES continued to 10)"
