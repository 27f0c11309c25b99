#!/usr/bin/env bash
# What --precision bf16 does to quality (issue 23, item 2), beside fp32 on the same seeds:
#   1. the shipped teacher sampled in bf16 vs fp32 (32 fixed steps, w = 1.25, N_TEACHER samples, seeds 500000..);
#   2. the shipped 4-step FlowSteer student sampled in bf16 vs fp32 (N_STUDENT samples, seeds 500000..);
#   3. a student distilled in bf16 vs fp32: ReFlow, 4 fixed steps, from one fp32 bank of BANK_N trajectories
#      (seeds 0..), STEPS steps at batch 64, seed 0, each evaluated in fp32 (N_STUDENT samples).
# FIDs carry bootstrap 95% intervals (embedded MNIST network). Prints one JSON object.
#   THREADS=2 bash bench/bf16_quality.sh            # STORE (default runs/bf16-quality.db) keeps every result
set -euo pipefail
cd "$(dirname "$0")/.."
. jobs/lib.sh
FS_JOB=bench-bf16-quality
THREADS=${THREADS:-2} STORE=${STORE:-runs/bf16-quality.db}
N_TEACHER=${N_TEACHER:-2000} N_STUDENT=${N_STUDENT:-5000} BANK_N=${BANK_N:-2048} STEPS=${STEPS:-600}
fs_tools fs-store fs-eval fs-rollout fs-distill
mkdir -p "$(dirname "$STORE")"; [ -f "$STORE" ] || fs-store init --store "$STORE" >/dev/null
fs-store show --store "$STORE" teacher >/dev/null 2>&1 || fs-store import --store "$STORE" models/teacher-mnist.safetensors --name teacher >/dev/null
ev() {  # ev NAME ARGS...: fs-eval's JSON for NAME, kept in the store (rerun-safe)
  local name=$1; shift
  fs-store show --store "$STORE" "$name" >/dev/null 2>&1 || \
    fs-eval --store "$STORE" "$@" --seed 500000 --bootstrap 200 --threads "$THREADS" --quiet --name "$name" >/dev/null
  fs-store show --store "$STORE" "$name" --json | jq -c '.metadata | {fid, fid_ci95, class_accuracy, num_samples}'
}
out=()
for p in fp32 bf16; do
  fs_log "teacher, $p"
  out+=("\"teacher_$p\": $(ev "q/teacher-$p" --checkpoint teacher --steps 32 --schedule fixed --cfg 1.25 --num-samples "$N_TEACHER" --precision $p)")
  fs_log "shipped student, $p"
  out+=("\"student_$p\": $(ev "q/student-$p" --checkpoint models/student-flowsteer-4-tuned.safetensors --num-samples "$N_STUDENT" --precision $p)")
done
fs-rollout --store "$STORE" --teacher teacher --name bank --seeds "0-$((BANK_N - 1))" --segments 4 --substeps 8 \
  --schedule fixed --shift 3 --cfg-range 1,1.75 --threads "$THREADS" --resume --quiet >/dev/null
for p in fp32 bf16; do
  fs_log "ReFlow student distilled in $p"
  fs-distill --store "$STORE" --run "reflow-$p" --teacher teacher --preset mnist --bank bank --method reflow \
    --schedule fixed --shift 3 --steps "$STEPS" --batch-size 64 --checkpoint-every 100 --seed 0 --precision $p \
    --threads "$THREADS" --resume --quiet >/dev/null
  out+=("\"distilled_$p\": $(ev "q/reflow-$p" --checkpoint "reflow-$p" --num-samples "$N_STUDENT")")
done
( IFS=,; echo "{\"threads\": $THREADS, \"bank\": $BANK_N, \"distill_steps\": $STEPS, ${out[*]}}" ) | jq .
