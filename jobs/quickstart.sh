#!/usr/bin/env bash
# The main job (README): from the shipped MNIST teacher, roll out a small trajectory bank, distill a
# 4-step FlowSteer student briefly, sample a PNG grid, evaluate teacher (32 steps) and student (4 steps)
# with fs-eval, and print where everything went and both FIDs. Under 15 minutes on 2 cores.
# Everything lands in $OUT; the store stays there for `fs-store ls --store $OUT/flowsteer.db`.
# Re-running resumes (the bank and the student continue; evaluations run again).
set -euo pipefail
cd "$(dirname "$0")/.."

# ---- sizes (environment overrides) -----------------------------------------------------------------
TEACHER_FILE=${TEACHER_FILE:-models/teacher-mnist.safetensors}
OUT=${OUT:-out/quickstart}
THREADS=${THREADS:-$(nproc)}
BANK_SAMPLES=${BANK_SAMPLES:-256}     # trajectories in the bank (seeds 0..N-1)
SEGMENTS=${SEGMENTS:-4}               # student steps
SUBSTEPS=${SUBSTEPS:-8}               # teacher Euler steps per segment in the rollout (4 x 8 = 32)
CFG_RANGE=${CFG_RANGE:-}                # teacher w ~ U[LO,HI]; empty: the teacher's recommended_cfg +- 0.5 (fs-rollout)
DISTILL_STEPS=${DISTILL_STEPS:-150}
GRID_SEEDS=${GRID_SEEDS:-900000-900099}  # the PNG grid, 10 rows (classes) x 10, on seeds no bank row uses
EVAL_SAMPLES=${EVAL_SAMPLES:-500}     # per model; FID on few samples is biased upward, compare like with like
EVAL_SEED=${EVAL_SEED:-2024}
TEACHER_EVAL_STEPS=${TEACHER_EVAL_STEPS:-32}
# ------------------------------------------------------------------------------------------------------

. jobs/lib.sh
FS_JOB=quickstart
[ -f "$TEACHER_FILE" ] || fs_die "no teacher at $TEACHER_FILE: this checkout lacks the shipped teacher.
  Restore it (git checkout -- models/teacher-mnist.safetensors), or train and export one and point TEACHER_FILE at it:
    fs-train --store t.db --run teacher --preset mnist --steps 4000 && fs-store export teacher --store t.db -o teacher.safetensors
    TEACHER_FILE=teacher.safetensors bash jobs/quickstart.sh"
fs_tools fs-rollout fs-distill fs-sample fs-eval fs-store
mkdir -p "$OUT"
STORE=$OUT/flowsteer.db
export FS_STORE=$STORE
t0=$(date +%s)
fs_log "output in $OUT, $THREADS threads"

# 1. the shipped teacher into the store (once)
if [ -f "$STORE" ] && fs-store show teacher-mnist >/dev/null 2>&1; then
  fs_log "teacher already imported"
else
  fs_run imp fs-store import "$TEACHER_FILE" --name teacher-mnist --run teacher-mnist --step 0
fi
teacher=teacher-mnist

# 2. a small bank of teacher trajectories (K+1 states each)
t=$(date +%s)
fs_run roll fs-rollout --teacher "$teacher" --name bank-k$SEGMENTS --seeds "0-$((BANK_SAMPLES - 1))" \
  --segments "$SEGMENTS" --substeps "$SUBSTEPS" --schedule fixed ${CFG_RANGE:+--cfg-range "$CFG_RANGE"} --threads "$THREADS" --resume
bank=$(json_require bank "$roll"); t_roll=$(fs_elapsed "$t")

# 3. a brief FlowSteer distillation
t=$(date +%s)
fs_run dist fs-distill --run student-k$SEGMENTS --teacher "$teacher" --bank "$bank" --method flowsteer --ota \
  --adversarial --lambda-adv 0.1 --lambda-fm 0.1 --segments "$SEGMENTS" --schedule fixed \
  --steps "$DISTILL_STEPS" --preset mnist --threads "$THREADS" --resume
student=$(json_require checkpoint "$dist"); t_dist=$(fs_elapsed "$t")

# 4. a grid of the student's samples
fs_run samp fs-sample --checkpoint "$student" --steps "$SEGMENTS" --schedule fixed --seeds "$GRID_SEEDS" \
  --png "$OUT/student-grid.png" --threads "$THREADS"
png=$(json_require png "$samp")

# 5. FID of teacher and student on the same number of samples
t=$(date +%s)
fs_run ev_t fs-eval --checkpoint "$teacher" --steps "$TEACHER_EVAL_STEPS" --schedule fixed \
  --num-samples "$EVAL_SAMPLES" --seed "$EVAL_SEED" --threads "$THREADS"
printf '%s\n' "$ev_t" > "$OUT/eval-teacher.json"; t_evt=$(fs_elapsed "$t"); t=$(date +%s)
fs_run ev_s fs-eval --checkpoint "$student" --steps "$SEGMENTS" --schedule fixed \
  --num-samples "$EVAL_SAMPLES" --seed "$EVAL_SEED" --threads "$THREADS"
printf '%s\n' "$ev_s" > "$OUT/eval-student.json"; t_evs=$(fs_elapsed "$t")
fid_t=$(json_require fid "$ev_t"); fid_s=$(json_require fid "$ev_s")

cat <<EOF

quickstart done in $(fs_elapsed "$t0") (rollout $t_roll, distill $t_dist, eval teacher $t_evt, eval student $t_evs)
  store         $STORE   (fs-store ls --store $STORE)
  teacher       $teacher   (from $TEACHER_FILE)
  bank          $bank: $(jq -r ".trajectories // empty" <<<"$roll") trajectories, $SEGMENTS segments x $SUBSTEPS teacher steps
  student       $student: $DISTILL_STEPS FlowSteer steps
  sample grid   $png
  evaluations   $OUT/eval-teacher.json, $OUT/eval-student.json ($EVAL_SAMPLES samples each)

  FID teacher ($TEACHER_EVAL_STEPS steps): $(fs_num "$fid_t" 3)   (KID $(fs_kid "$(jq -r ".kid // empty" <<<"$ev_t")"), class accuracy $(fs_num "$(jq -r ".class_accuracy // empty" <<<"$ev_t")" 4))
  FID student ($SEGMENTS steps):  $(fs_num "$fid_s" 3)   (KID $(fs_kid "$(jq -r ".kid // empty" <<<"$ev_s")"), class accuracy $(fs_num "$(jq -r ".class_accuracy // empty" <<<"$ev_s")" 4))
EOF
