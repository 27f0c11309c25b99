#!/usr/bin/env bash
# The whole FlowSteer pipeline as one plain shell chain, every tool's --json output feeding the next:
#   fs-train (teacher) -> fs-rollout (trajectory bank) -> fs-distill (few-step student)
#   -> fs-sample (PNG grid) -> fs-eval (FID/KID/accuracy/precision/recall) -> fs-store archive (.tar.zst of the student
#   with its whole lineage: bank, teacher, runs and metrics)
# Every step resumes: re-running the script after a crash or a kill continues where it stopped.
# The defaults are a small demo on the tiny preset (a few minutes on 2 cores); for a real run e.g.
#   PRESET=mnist TEACHER_STEPS=20000 BANK_SEEDS=0-9999 DISTILL_STEPS=4000 EVAL_SAMPLES=10000 jobs/pipeline.sh
set -euo pipefail

# ---- parameters -----------------------------------------------------------------------------------
OUT=${OUT:-out/pipeline}                     # everything goes here
STORE=${STORE:-$OUT/flowsteer.db}            # the artifact store (local disk; see docs/operations.md)
PRESET=${PRESET:-tiny}                       # tiny | mnist (teacher and student architecture)
DATA=${DATA:-mnist}                          # --data SPEC: mnist, fashion-mnist, idx:PREFIX, DIR, FILE.zip
FEATNET_EPOCHS=${FEATNET_EPOCHS:-}           # set: train a feature network for DATA first (datasets without a shipped one)
SEED=${SEED:-0}
THREADS=${THREADS:-${SLURM_CPUS_PER_TASK:-$(nproc)}}
TEACHER_RUN=${TEACHER_RUN:-teacher}
TEACHER_STEPS=${TEACHER_STEPS:-200}
CHECKPOINT_EVERY=${CHECKPOINT_EVERY:-100}
BANK=${BANK:-bank-k4}
BANK_SEEDS=${BANK_SEEDS:-0-63}
SEGMENTS=${SEGMENTS:-4}                      # student steps K
SUBSTEPS=${SUBSTEPS:-8}                      # teacher Euler steps per segment
SCHEDULE=${SCHEDULE:-fixed}
CFG_RANGE=${CFG_RANGE:-}                     # teacher w ~ U[LO,HI]; empty: recommended_cfg +- 0.5 (fs-rollout)
STUDENT_RUN=${STUDENT_RUN:-student}
DISTILL_STEPS=${DISTILL_STEPS:-50}
LAMBDA_ADV=${LAMBDA_ADV:-0.1}
LAMBDA_FM=${LAMBDA_FM:-0.1}
GRID_SEEDS=${GRID_SEEDS:-900000-900099}   # outside the bank's seeds: the student is not shown its training inputs
EVAL_SAMPLES=${EVAL_SAMPLES:-200}
EVAL_SEED=${EVAL_SEED:-12345}
ARCHIVE=${ARCHIVE:-$OUT/$STUDENT_RUN.tar.zst}
# ----------------------------------------------------------------------------------------------------

. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
FS_JOB=pipeline
fs_tools fs-train fs-rollout fs-distill fs-sample fs-eval fs-store
mkdir -p "$OUT"
export FS_STORE=$STORE                       # every tool's default --store
t0=$(date +%s)

# 1. teacher
fs_run train fs-train --run "$TEACHER_RUN" --data "$DATA" --preset "$PRESET" --steps "$TEACHER_STEPS" \
  --checkpoint-every "$CHECKPOINT_EVERY" --seed "$SEED" --threads "$THREADS" --resume
teacher=$(json_require checkpoint "$train")
fs_log "teacher: $teacher ($(fs_elapsed "$t0"))"

# 2. trajectory bank of the teacher
fs_run rollout fs-rollout --teacher "$teacher" --name "$BANK" --seeds "$BANK_SEEDS" --segments "$SEGMENTS" \
  --substeps "$SUBSTEPS" --schedule "$SCHEDULE" ${CFG_RANGE:+--cfg-range "$CFG_RANGE"} --threads "$THREADS" --resume
bank=$(json_require bank "$rollout")
fs_log "bank: $bank, $(jq -r ".trajectories // empty" <<<"$rollout") trajectories ($(fs_elapsed "$t0"))"

# 3. FlowSteer student
fs_run distill fs-distill --run "$STUDENT_RUN" --teacher "$teacher" --bank "$bank" --method flowsteer --ota \
  --adversarial --lambda-adv "$LAMBDA_ADV" --lambda-fm "$LAMBDA_FM" --segments "$SEGMENTS" \
  --schedule "$SCHEDULE" --steps "$DISTILL_STEPS" --preset "$PRESET" --threads "$THREADS" --resume
student=$(json_require checkpoint "$distill")
fs_log "student: $student ($(fs_elapsed "$t0"))"

# 4. a PNG grid of the student's samples (one row per class)
fs_run sample fs-sample --checkpoint "$student" --steps "$SEGMENTS" --schedule "$SCHEDULE" --seeds "$GRID_SEEDS" \
  --png "$OUT/$STUDENT_RUN-grid.png" --threads "$THREADS"
png=$(json_require png "$sample")

# 5. evaluation of the student at its own step count (with DATA's feature network, trained here if asked)
if [ -n "$FEATNET_EPOCHS" ]; then
  fs_run featnet fs-eval featnet train --data "$DATA" --epochs "$FEATNET_EPOCHS" --threads "$THREADS"
  fs_log "feature network: $(jq -r ".name // empty" "$featnet"), accuracy $(jq -r ".accuracy // empty" "$featnet")"
fi
fs_run eval fs-eval --checkpoint "$student" --steps "$SEGMENTS" --schedule "$SCHEDULE" \
  --num-samples "$EVAL_SAMPLES" --seed "$EVAL_SEED" --precision-recall --threads "$THREADS"
printf '%s\n' "$eval" > "$OUT/eval.json"
fid=$(json_require fid "$eval")

# 6. archive of the student with its lineage (restorable into any store)
fs_run archive fs-store archive -o "$ARCHIVE" "$student"
archived=$(json_require artifacts "$archive")

cat <<EOF
pipeline done in $(fs_elapsed "$t0")
  store    $STORE            (inspect: fs-store ls --store $STORE)
  teacher  $teacher
  bank     $bank
  student  $student
  grid     $png
  eval     FID $(fs_num "$fid" 3), KID $(fs_kid "$(jq -r ".kid // empty" <<<"$eval")"), class accuracy $(fs_num "$(jq -r ".class_accuracy // empty" <<<"$eval")" 4), precision $(fs_num "$(jq -r ".precision // empty" <<<"$eval")" 4), recall $(fs_num "$(jq -r ".recall // empty" <<<"$eval")" 4) ($EVAL_SAMPLES samples, $SEGMENTS steps) -> $OUT/eval.json
  archive  $ARCHIVE ($archived artifacts; restore: fs-store restore $ARCHIVE --store other.db)
EOF
