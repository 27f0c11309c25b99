#!/usr/bin/env bash
# A teacher trained in stages of STAGE steps up to LAST, each stage's EMA weights exported and evaluated (FID with a
# bootstrap 95% interval, N samples on seeds 500000.., 32 fixed Euler steps, w = W): the curve that says when a
# teacher has reached its plateau (issue 20's MNIST teacher, issue 21's DiT teacher; docs/results.md,
# docs/results-dit.md). Each stage is also evaluated on the validation seeds 400000.. (N samples, w = W), which decide
# the stop and the pick: the stage of lowest validation FID is the teacher, and its guidance w* is the FID-best of WS
# on the same seeds. The last line is `teacher FILE w* W` for the tables (TEACHER=FILE W=W bash jobs/rows.sh ...).
# The curve stops early at the plateau, judged on the validation seeds (the test seeds decide nothing): after
# PATIENCE stages in a row (default 2) whose validation FID is not below the best so far, or not MIN_GAIN below it
# (a fraction; default 0: the FID has stopped improving). Same-seed FIDs of neighbouring stages move together, so a
# point comparison is meaningful here; the 95% intervals (about +-0.35 at N=2000) are too wide to see a slope of 0.15
# a stage, and stopped an earlier rule too soon. The stop only decides how long to train; the pick is
# the stage of lowest validation FID. Resumable: the run continues with --resume and finished evaluations are kept in
# $OUT. STAGES lists the stages instead (e.g. "6000 10000 12000" to continue a run whose stage 6000 was exported
# earlier); a stage whose weights are already in $OUT is not trained again.
#   STORE=runs/mnist-teacher.db OUT=runs/mnist-teacher RUN=teacher-mnist LAST=16000 \
#     INIT="--preset mnist --data mnist" bash jobs/teacher_curve.sh
#   STORE=runs/dit-mnist.db OUT=runs/dit-teacher RUN=teacher-dit-mnist LAST=20000 \
#     INIT="--model dit --preset dit-mnist --data mnist" bash jobs/teacher_curve.sh
set -uo pipefail
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
STORE=${STORE:?} OUT=${OUT:?} RUN=${RUN:?} LAST=${LAST:-16000} STAGE=${STAGE:-2000} INIT=${INIT:-"--preset mnist --data mnist"}
PATIENCE=${PATIENCE:-2} MIN_GAIN=${MIN_GAIN:-0} N=${N:-2000} W=${W:-1.25} WS=${WS:-"1 1.25 1.5 1.75 2"}
THREADS=${THREADS:-2}
fs_tools fs-train fs-eval fs-store || exit 1
mkdir -p "$OUT"; [ -f "$STORE" ] || fs-store init --store "$STORE" >/dev/null
val() {  # val FILE CFG OUTPUT: FID of FILE at guidance CFG on the validation seeds 400000.., kept in OUTPUT
  [ -s "$3" ] || fs-eval --store "$STORE" --checkpoint "$1" --steps 32 --schedule fixed --cfg "$2" --num-samples "$N" \
    --seed 400000 --bootstrap 0 --threads "$THREADS" --json --quiet > "$3" || { rm -f "$3"; return 1; }
  jq -r .fid "$3"
}
below() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }   # below A B: A < B
echo "| step | FID (95% interval) | class accuracy | samples | validation FID |"; echo "|---|---|---|---|---|"
STAGES=${STAGES:-$(seq "$STAGE" "$STAGE" "$LAST")}
best="" bestFID="" stale=0 plateau=0 st=""
for st in $STAGES; do
  f=$OUT/$RUN-$st.safetensors j=$OUT/$RUN-$st-w$W.json
  if [ -f "$f" ]; then :
  elif fs-store show --store "$STORE" "$RUN" >/dev/null 2>&1; then
    fs-train --store "$STORE" --run "$RUN" --steps "$st" --threads "$THREADS" --resume --quiet >&2 || exit $?
  else
    # shellcheck disable=SC2086
    fs-train --store "$STORE" --run "$RUN" $INIT --steps "$st" --checkpoint-every 250 --seed 0 --threads "$THREADS" --quiet >&2 || exit $?
  fi
  [ -f "$f" ] || fs-store export --store "$STORE" "$RUN@$st" -o "$f" >/dev/null || exit $?
  [ -s "$j" ] || fs-eval --store "$STORE" --checkpoint "$f" --steps 32 --schedule fixed --cfg "$W" --num-samples "$N" \
    --seed 500000 --bootstrap 200 --threads "$THREADS" --json --quiet > "$j" || { rm -f "$j"; exit 1; }
  fid=$(val "$f" "$W" "$OUT/$RUN-$st-val.json") || exit 1
  printf '| %s | %s (%s-%s) | %s | %s | %s |\n' "$st" "$(fs_num "$(jq -r .fid "$j")" 2)" "$(fs_num "$(jq -r '.fid_ci95[0]' "$j")" 2)" \
    "$(fs_num "$(jq -r '.fid_ci95[1]' "$j")" 2)" "$(jq -r .class_accuracy "$j")" "$N" "$(fs_num "$fid" 2)"
  if [ -z "$best" ] || below "$fid" "$(awk -v b="$bestFID" -v g="$MIN_GAIN" 'BEGIN { print b * (1 - g) }')"; then stale=0
  else stale=$((stale + 1)); fi
  if [ -z "$best" ] || below "$fid" "$bestFID"; then best=$st bestFID=$fid; fi
  if [ "$stale" -ge "$PATIENCE" ]; then
    echo "plateau: $stale stages in a row not improving the best validation FID ($(fs_num "$bestFID" 2), step $best) by more than MIN_GAIN=$MIN_GAIN; stopped at step $st of $LAST" >&2
    plateau=1; break
  fi
done

# Out of stages before the rule fired: say so (the pick is then not shown to be at a plateau).
[ "$plateau" = 1 ] || echo "no plateau: the stages ran out at step $st ($stale since the best validation FID $(fs_num "$bestFID" 2), step $best; PATIENCE=$PATIENCE); train on with more STAGES to reach it" >&2

# The pick: the stage of lowest validation FID, then its guidance w*, the FID-best of WS on the same seeds.
echo "picked step $best (validation FID $(fs_num "$bestFID" 2))" >&2
wstar="" wFID=""
for w in $WS; do
  o=$OUT/sweep-$best-w$w.json; [ "$w" = "$W" ] && o=$OUT/$RUN-$best-val.json   # already evaluated above
  fid=$(val "$OUT/$RUN-$best.safetensors" "$w" "$o") || exit 1
  echo "validation FID, step $best, w = $w: $(fs_num "$fid" 2)" >&2
  if [ -z "$wstar" ] || below "$fid" "$wFID"; then wstar=$w wFID=$fid; fi
done
echo "teacher $OUT/$RUN-$best.safetensors w* $wstar"
