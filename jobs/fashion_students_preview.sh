#!/usr/bin/env bash
# A first, preliminary look at 4-step Fashion-MNIST students at equal budget (800 distillation steps each) from the
# shipped teacher: FlowSteer (bank of 2048 trajectories, OTA, adversarial, fixed grid) against PeRFlow (diffusers'
# grid), with the teacher at 32 steps for reference; 2000 samples each on seeds 500000.. (docs/results-fashion-mnist.md).
#   STORE=/tmp/fstud.db OUT=/tmp/fstud THREADS=2 bash jobs/fashion_students_preview.sh
set -euo pipefail
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
STORE=${STORE:-runs/fstud.db} OUT=${OUT:-runs/fstud} THREADS=${THREADS:-2} T=${TEACHER_FILE:-$FS_ROOT/models/teacher-fashion-mnist.safetensors}
fs_tools fs-rollout fs-distill fs-eval fs-store
mkdir -p "$OUT"; export FS_STORE=$STORE
[ -f "$STORE" ] || fs-store init >/dev/null
fs-store ls --json | grep -q '"teacher"' || fs-store import "$T" --name teacher >/dev/null
fs_run r fs-rollout --teacher teacher --name bank --seeds 0-2047 --segments 4 --substeps 8 --threads "$THREADS" --resume
fs_run d1 fs-distill --run flowsteer --teacher teacher --bank bank --method flowsteer --ota --adversarial --segments 4 --steps 800 --threads "$THREADS" --resume
fs_run d2 fs-distill --run perflow --teacher teacher --method perflow --segments 4 --schedule diffusers --steps 800 --threads "$THREADS" --resume
echo "| model | NFE | FID | class accuracy |"; echo "|---|---|---|---|"
for m in "teacher --steps 32" flowsteer perflow; do
  fs_run e fs-eval --checkpoint $m --num-samples 2000 --seed 500000 --threads "$THREADS"
  printf '| %s | %s | %s | %s |\n' "$(json_get model <<<"$e")" "$(json_get nfe <<<"$e")" "$(fs_num "$(json_get fid <<<"$e")" 3)" "$(json_get class_accuracy <<<"$e")"
done
