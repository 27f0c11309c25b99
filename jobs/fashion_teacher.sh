#!/usr/bin/env bash
# The Fashion-MNIST teacher (issue 19): trains (or resumes) it, exports checkpoints along the way, and measures
# FID against training steps at w = 1.5 and against guidance w at the last step, each with N samples on seeds
# 500000.. (no seed a bank or grid uses), 32 fixed-schedule Euler steps, against Fashion-MNIST test with the
# embedded Fashion-MNIST feature network. Prints a markdown table per measurement (the rows of
# docs/results-fashion-mnist.md). Resumable: finished evaluations are kept as JSON files in $OUT.
#   STORE=/path/fashion.db OUT=/path/dir STEPS=6000 CURVE="2000 4000 6000" WS="1 1.25 1.5 2 3" N=1000 bash jobs/fashion_teacher.sh
set -uo pipefail
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
STORE=${STORE:-runs/fashion.db} OUT=${OUT:-runs/fashion-teacher} RUN=${RUN:-teacher-fashion}
STEPS=${STEPS:-6000} CURVE=${CURVE:-"2000 4000 6000"} WS=${WS:-"1 1.25 1.5 2 3"} N=${N:-1000} THREADS=${THREADS:-2}
fs_tools fs-train fs-eval fs-store || exit 1
mkdir -p "$OUT"
[ -f "$OUT/eval.db" ] || fs-store init --store "$OUT/eval.db" >/dev/null
fs_run train fs-train --store "$STORE" --run "$RUN" --data fashion-mnist --preset mnist --steps "$STEPS" \
  --checkpoint-every 250 --seed 0 --threads "$THREADS" --resume || exit $?
ev() {  # ev STEP W: FID of RUN@STEP at guidance W (cached in $OUT)
  local f="$OUT/t$1-w$2-n$N.json"
  [ -f "$OUT/t$1.safetensors" ] || fs-store export "$RUN@$1" --store "$STORE" --output "$OUT/t$1.safetensors" >/dev/null || return 1
  [ -s "$f" ] || fs-eval --store "$OUT/eval.db" --checkpoint "$OUT/t$1.safetensors" --steps 32 --cfg "$2" \
    --num-samples "$N" --seed 500000 --threads "$THREADS" --json --quiet > "$f" || { rm -f "$f"; return 1; }
  printf '| %s | %s | %s | %s | %s |\n' "$1" "$2" "$(fs_num "$(jq -r ".fid // empty" "$f")" 3)" "$(jq -r ".class_accuracy // empty" "$f")" "$N"
}
echo "| step | w | FID | class accuracy | samples |"; echo "|---|---|---|---|---|"
for s in $CURVE; do ev "$s" 1.5; done
echo; echo "| step | w | FID | class accuracy | samples |"; echo "|---|---|---|---|---|"
for w in $WS; do ev "$STEPS" "$w"; done
