#!/usr/bin/env bash
# A teacher trained in stages of STAGE steps up to LAST, each stage's EMA weights exported and evaluated (FID with a
# bootstrap 95% interval, N samples on seeds 500000.., 32 fixed Euler steps, w = W): the curve that says when a
# teacher has reached its plateau (issue 20's MNIST teacher, issue 21's DiT teacher; docs/results.md,
# docs/results-dit.md). Then the pick, on seeds the curve never used: every stage evaluated on the validation seeds
# 400000.. (N samples, w = W), the stage of lowest FID is the teacher, and its guidance w* is the FID-best of WS on the
# same validation seeds. The last line is `teacher FILE w* W` for the tables (TEACHER=FILE W=W bash jobs/rows.sh ...).
# The curve stops early at the plateau: after PATIENCE stages in a row (default 2) whose FID is not below the lower end
# of the 95% interval of the last stage that was (the stop only decides how long to train; the pick is on validation
# seeds). Resumable: the run continues with --resume and finished evaluations are kept in $OUT. STAGES lists the
# stages instead (e.g. "6000 10000 12000" to continue a run whose stage 6000 was exported earlier); a stage whose
# weights are already in $OUT is not trained again.
#   STORE=runs/mnist-teacher.db OUT=runs/mnist-teacher RUN=teacher-mnist LAST=16000 \
#     INIT="--preset mnist --data mnist" bash jobs/teacher_curve.sh
#   STORE=runs/dit-mnist.db OUT=runs/dit-teacher RUN=teacher-dit-mnist LAST=20000 \
#     INIT="--model dit --preset dit-mnist --data mnist" bash jobs/teacher_curve.sh
set -uo pipefail
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
STORE=${STORE:?} OUT=${OUT:?} RUN=${RUN:?} LAST=${LAST:-16000} STAGE=${STAGE:-2000} INIT=${INIT:-"--preset mnist --data mnist"}
PATIENCE=${PATIENCE:-2} N=${N:-2000} W=${W:-1.25} WS=${WS:-"1 1.25 1.5 1.75 2"} THREADS=${THREADS:-2}
fs_tools fs-train fs-eval fs-store || exit 1
mkdir -p "$OUT"; [ -f "$STORE" ] || fs-store init --store "$STORE" >/dev/null
echo "| step | FID (95% interval) | class accuracy | samples |"; echo "|---|---|---|---|"
STAGES=${STAGES:-$(seq "$STAGE" "$STAGE" "$LAST")}
refLow="" stale=0 done_stages=""
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
  printf '| %s | %s (%s-%s) | %s | %s |\n' "$st" "$(fs_num "$(jq -r .fid "$j")" 2)" "$(fs_num "$(jq -r '.fid_ci95[0]' "$j")" 2)" \
    "$(fs_num "$(jq -r '.fid_ci95[1]' "$j")" 2)" "$(jq -r .class_accuracy "$j")" "$N"
  done_stages="$done_stages $st"
  if [ -z "$refLow" ] || awk -v a="$(jq -r .fid "$j")" -v b="$refLow" 'BEGIN { exit !(a < b) }'; then
    refLow=$(jq -r '.fid_ci95[0]' "$j") stale=0
  else
    stale=$((stale + 1))
    if [ "$stale" -ge "$PATIENCE" ]; then
      echo "plateau: $stale stages without an FID below $(fs_num "$refLow" 2); stopped at step $st of $LAST" >&2; break
    fi
  fi
done

# The pick: validation seeds only (the curve above is on the test seeds 500000..).
val() {  # val FILE CFG OUTPUT: FID of FILE at guidance CFG on the validation seeds, kept in OUTPUT
  [ -s "$3" ] || fs-eval --store "$STORE" --checkpoint "$1" --steps 32 --schedule fixed --cfg "$2" --num-samples "$N" \
    --seed 400000 --bootstrap 0 --threads "$THREADS" --json --quiet > "$3" || { rm -f "$3"; return 1; }
  jq -r .fid "$3"
}
best="" bestFID=""
for st in $done_stages; do
  fid=$(val "$OUT/$RUN-$st.safetensors" "$W" "$OUT/$RUN-$st-val.json") || exit 1
  echo "validation FID, step $st: $(fs_num "$fid" 2)" >&2
  if [ -z "$best" ] || awk -v a="$fid" -v b="$bestFID" 'BEGIN { exit !(a < b) }'; then best=$st bestFID=$fid; fi
done
wstar="" wFID=""
for w in $WS; do
  o=$OUT/sweep-$best-w$w.json; [ "$w" = "$W" ] && o=$OUT/$RUN-$best-val.json   # already evaluated above
  fid=$(val "$OUT/$RUN-$best.safetensors" "$w" "$o") || exit 1
  echo "validation FID, step $best, w = $w: $(fs_num "$fid" 2)" >&2
  if [ -z "$wstar" ] || awk -v a="$fid" -v b="$wFID" 'BEGIN { exit !(a < b) }'; then wstar=$w wFID=$fid; fi
done
echo "teacher $OUT/$RUN-$best.safetensors w* $wstar"
