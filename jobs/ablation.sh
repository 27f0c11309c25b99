#!/usr/bin/env bash
# The paper's ablation reproduced at MNIST scale (issue 7 §3), resumable, with every number stored.
#
#   bash jobs/ablation.sh              # full run (~3 h on 2 shared cores), then docs/results.md
#   bash jobs/ablation.sh --quick      # smoke run (< 10 min): tiny counts, results in $OUT/results.md
#   bash jobs/ablation.sh --results-only [--quick]   # only regenerate the results page from the store
#
# Units of work, in order (each is skipped when its result is already in the store, so a rerun after a
# kill continues where it stopped; interrupted banks and students continue with --resume):
#   0  import the teacher (ABLATION_TEACHER: a .safetensors file, or a checkpoint reference in
#      ABLATION_TEACHER_STORE) and the FID noise floor (two disjoint, interleaved halves of MNIST test)
#   a  teacher guidance sweep at 32 fixed steps -> recommended_cfg = the FID-best w
#   b  Table 2 analogue: teacher at N = 1,2,3,4,8,16,32 steps, diffusers vs fixed (w = recommended_cfg)
#   c  Table 1 analogue: the teacher's last 1 or 2 segments resumed from authentic vs interpolated states
#   d  component ablation at 4 steps (students: EMA weights, guidance-free), main chain A, B, C, FULL first
#   e  beyond the paper: FlowSteer with K = 1, 2, 4, 8, OTA from a bank vs --online; then the second seeds
#   f  sample grids per row, then jobs/results.sh writes the tables, the FID-vs-NFE plot and the reading
#   g  the targets at HEADLINE_N (10k) samples: teacher 32 steps at w*, full FlowSteer, the PeRFlow baseline; and
#      full FlowSteer's FID after LENGTH_STEPS distillation steps (its stored checkpoints)
#   h  tuned FlowSteer (beyond the paper's settings): full FlowSteer with the teacher's guidance fixed at w* (bank of
#      TUNED_BANK_N trajectories), then lambda_fm = TUNED_LAMBDA_FM, then TUNED_START_SHARE of the distillation samples
#      at the segment start, then the student's grid on shift TUNED_SHIFT, then that student trained TUNED_LONG_STEPS;
#      the tuned student and the 32-step teacher at HEADLINE_N samples too
#   i  probes on the tuned recipe (ONLY=probes): one change each to section h's tuned student (EMA, a bank of
#      PROBE_BANK_N trajectories, rollout fakes, rollout starts, real data for D, D's segment probabilities, L_dist in
#      state space), and the same recipe at K = 8, measured with the 32-step teacher on noise no bank holds (seeds
#      from PROBE_EVAL_SEED)
#
# ONLY=t1 runs section c alone, ONLY=headline section g, ONLY=tuned section h and ONLY=probes section i alone, each into a
# full run's store without touching its other units, so a section can run beside a long ablation.
#
# Every evaluation is stored in the store as an artifact of kind eval_result named ablation/<table>/<row>
# (a zero-tensor safetensors record whose metadata holds the fs-eval JSON, the row's description and the
# command), so jobs/results.sh reads numbers only from the store.
set -euo pipefail
cd "$(dirname "$0")/.."
. jobs/lib.sh
FS_JOB=ablation

MODE=full RESULTS_ONLY=0
for arg in "$@"; do
  case $arg in
    --quick) MODE=quick ;;
    --results-only) RESULTS_ONLY=1 ;;
    -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
    *) fs_die "unknown argument '$arg' (use --quick, --results-only, --help)" ;;
  esac
done

# ---- parameters (environment overrides; "full | quick" defaults) --------------------------------------
# param VAR FULL QUICK: VAR from the environment, else the mode's default.
param() { if [ -z "${!1+x}" ]; then if [ "$MODE" = quick ]; then printf -v "$1" '%s' "$3"; else printf -v "$1" '%s' "$2"; fi; fi; export "${1?}"; }
param ABLATION_TEACHER     models/teacher-mnist.safetensors models/teacher-mnist.safetensors
param ABLATION_TEACHER_STORE ""            ""          # store holding ABLATION_TEACHER when it is a reference
param OUT                  out/ablation    out/ablation-quick
param RESULTS_MD           docs/results.md "$OUT/results.md"
param RESULTS_DIR          docs/results    "$OUT/results"
param THREADS              "$(nproc)"      1
param EVAL_SEED            2024            2024        # fs-eval --seed: the same noise for every row
param SWEEP_CFGS           "1 1.25 1.5 1.75 2 2.25 2.5 2.75 3" "1 2 3"
param SWEEP_N              400             16          # samples per guidance value (fewer than 10k: say so)
param T2_STEPS             "1 2 3 4 8 16 32" "1 2 4"
param T2_N                 1000            16          # samples per Table-2 row
param EVAL_N               5000            24          # samples per ablation row and teacher reference
param TRAJ_N               500             8           # seeds 0..TRAJ_N-1 for trajectory MSE vs the teacher
param GRID_SEEDS           0-99            0-19        # PNG grid per row (labels cycle: 10 per row)
param BANK_N               2048            8           # trajectories in the K=4 banks
param BANK_N_K             1024            4           # trajectories in the K=1,2,8 banks
param PAIRS                4096            16          # PeRFlow pair pool
param DISTILL_PRESET       mnist           mnist       # fs-distill preset (hyper-parameters; pilot's settings)
param DISTILL_STEPS        800             4
param DISTILL_BATCH        64              4
param ONLINE_STEPS         150             3           # OTA bank-vs-online rows (online solves every step)
param CKPT_EVERY           100             2
param CFG_HALF_WIDTH       0.5             0.5         # distillation w ~ U[max(1, w*-h), w*+h]
param STRONG_CFG_RANGE     2,4             2,4         # "OTA under stronger guidance"
param LAMBDA_ADV           0.05            0.05
param LAMBDA_FM            0.1             0.1
param SECOND_SEED_ROWS     "C FULL B"      "FULL"      # rows that decide an ordering get training seed 1 too
param K_LIST               "1 2 4 8"       "1 2 4 8"
param T1_N                 2000            20          # Table 1: samples per row (seeds 0..T1_N-1, labels cycling)
param T1_SEGMENTS          "1 2"           "1 2"       # Table 1: last segments resumed (of 4; 1 -> from sigma 0.5, 2 -> 0.75)
param T1_STRONG_CFGS       2.5             2.5         # Table 1: guidance weights besides w*
param T1_REAL              mnist-train     mnist-train # Table 1: real x0 (train, so the FID reference, MNIST test, is unseen)
param T1_ONLY              0               0           # 1: the same as ONLY=t1 (kept for older scripts)
param ONLY                 ""              ""          # t1 | headline | tuned: only the teacher, the noise floor and that section
param HEADLINE_N           10000           24          # samples per target row (issue 7 measures the targets at 10k)
param LENGTH_STEPS         "200 400 600"   "2"         # full FlowSteer's checkpoints evaluated for FID vs distillation steps
param TUNED_BANK_N         4096            8           # section h: trajectories of the bank at fixed w*
param TUNED_LAMBDA_FM      1.0             1.0         # section h: feature-matching weight
param TUNED_START_SHARE    1               1           # section h: share of distillation samples at the segment start
param TUNED_SEEDS          "0 1"           "0"         # section h: training seeds of the tuned student
param TUNED_SHIFT          2               2           # section h: shift of the student's fixed grid in the last row
param TUNED_LONG_STEPS     2400            6           # section h: the tuned student trained longer (does length close the gap?)
param PROBE_EVAL_SEED      500000          500000      # section i: evaluation and trajectory-MSE seeds, disjoint from every bank's 0..N-1
param PROBE_BANK_N         16384           16          # section i: trajectories of the larger bank
param PROBE_LONG_STEPS     2000            6           # section i: the combined probe's distillation steps
# --------------------------------------------------------------------------------------------------------

STORE=$OUT/ablation.db
export FS_STORE=$STORE
mkdir -p "$OUT/tensors" "$RESULTS_DIR/grids"
T=(--threads "$THREADS")

if [ "$RESULTS_ONLY" = 1 ]; then
  fs_tools fs-store
  exec bash jobs/results.sh
fi
fs_tools fs-train fs-rollout fs-distill fs-sample fs-eval fs-store
t_start=$(date +%s)
fs_log "mode $MODE, store $STORE, $THREADS threads, results -> $RESULTS_MD"

# ---- store records ---------------------------------------------------------------------------------------
# A record is a zero-tensor safetensors file whose __metadata__ holds string fields, imported as an
# eval_result artifact named ablation/<key>. record_put KEY k=v ... ; record_has KEY.
json_str() { printf '%s' "$1" | awk 'BEGIN { ORS = "" } { gsub(/\\/, "\\\\"); gsub(/"/, "\\\""); gsub(/\t/, "\\t"); if (NR > 1) print "\\n"; print }'; }
record_has() { fs-store show --store "$STORE" "ablation/$1" >/dev/null 2>&1; }
record_put() {
  local key=$1; shift
  local body='{"__metadata__":{' sep='' kv k v f len pad
  for kv in "$@"; do k=${kv%%=*}; v=${kv#*=}; body+="$sep\"$(json_str "$k")\":\"$(json_str "$v")\""; sep=','; done
  body+='}}'
  len=${#body}; pad=$(( (8 - len % 8) % 8 )); body+=$(printf '%*s' "$pad" ''); len=$((len + pad))
  f=$OUT/tensors/record.$$.safetensors
  # 8-byte little-endian header length, then the header (no tensor data)
  printf "$(printf '\\%03o\\%03o\\%03o\\%03o\\000\\000\\000\\000' $((len & 255)) $(((len >> 8) & 255)) $(((len >> 16) & 255)) $(((len >> 24) & 255)))" > "$f"
  printf '%s' "$body" >> "$f"
  local out
  fs_run out fs-store import "$f" --store "$STORE" --kind eval_result --name "ablation/$key" >/dev/null
  rm -f "$f"
}
# record_field KEY FIELD: one stored field of a record.
record_field() { fs-store show --store "$STORE" "ablation/$1" --json | json_get "metadata.safetensors_metadata.$2"; }

# ---- units of work -----------------------------------------------------------------------------------------
nfe_of() { awk -v s="$1" -v w="$2" 'BEGIN { print (w + 0 == 1) ? s : 2 * s }'; }

# evaluate KEY TABLE ORDER LABEL REF STEPS SCHEDULE CFG N [RUN] [NOTE]: fs-eval -> record (skipped if stored).
evaluate() {
  local key=$1 table=$2 order=$3 label=$4 ref=$5 steps=$6 sched=$7 cfg=$8 n=$9 run=${10:-} note=${11:-}
  if record_has "eval/$key"; then fs_log "skip eval/$key (stored)"; return 0; fi
  local cmd=(fs-eval --store "$STORE" --checkpoint "$ref" --steps "$steps" --schedule "$sched" --cfg "$cfg"
             --num-samples "$n" --seed "$EVAL_SEED" "${T[@]}")
  local t0 ev; t0=$(date +%s)
  fs_run ev "${cmd[@]}"
  local f; for f in fid kid kid_std class_accuracy num_samples; do json_require "$f" "$ev" >/dev/null; done
  record_put "eval/$key" table="$table" order="$order" label="$label" ref="$ref" steps="$steps" schedule="$sched" \
    cfg="$cfg" nfe="$(nfe_of "$steps" "$cfg")" run="$run" note="$note" seconds="$(( $(date +%s) - t0 ))" \
    fid="$(json_get fid <<<"$ev")" kid="$(json_get kid <<<"$ev")" kid_std="$(json_get kid_std <<<"$ev")" \
    class_accuracy="$(json_get class_accuracy <<<"$ev")" num_samples="$(json_get num_samples <<<"$ev")" \
    command="${cmd[*]} --json" result="$ev"
}

# samples_tensors FILE REF STEPS SCHEDULE CFG: fs-sample of seeds TRAJ_SEED0.. (TRAJ_N of them) into a safetensors file.
TRAJ_SEED0=0
samples_tensors() {
  local out; [ -s "$1" ] && return 0
  fs_run out fs-sample --store "$STORE" --checkpoint "$2" --steps "$3" --schedule "$4" --cfg "$5" \
    --seeds "$TRAJ_SEED0-$((TRAJ_SEED0 + TRAJ_N - 1))" --save-tensors "$1.part" --no-store-artifact "${T[@]}"
  mv -f "$1.part" "$1"
}

# t1_mse A B: trajectory MSE between the samples of two tensors files, by fs-eval's one definition (Eval's
# TrajectoryFidelity: per pixel, both clamped to [-1, 1]).
t1_mse() {
  local out; fs_run out fs-eval trajectory-mse "$1" "$2"
  json_get trajectory_mse <<<"$out"
}

# trajectory KEY REF STEPS SCHEDULE CFG: per-pixel MSE (pixels clamped to [-1, 1]) between REF's samples and
# the teacher's 32-step fixed-schedule samples at recommended_cfg from the same seeds/labels -> record.
trajectory() {
  local key=$1 ref=$2 steps=$3 sched=$4 cfg=$5
  if record_has "traj/$key"; then fs_log "skip traj/$key (stored)"; return 0; fi
  local file=$OUT/tensors/$(printf '%s' "$key" | tr '/' '_').safetensors mse
  if [ "$ref $steps $sched $cfg" = "teacher 32 fixed $W_STAR" ]; then cp "$TEACHER_REF_TENSORS" "$file"   # the reference itself
  else samples_tensors "$file" "$ref" "$steps" "$sched" "$cfg"; fi
  mse=$(t1_mse "$file" "$TEACHER_REF_TENSORS")
  record_put "traj/$key" mse="$mse" pixels_per_sample=784 samples="$TRAJ_N" ref="$ref" steps="$steps" \
    schedule="$sched" cfg="$cfg" reference="teacher fixed-32 w=$W_STAR seeds $TRAJ_SEED0-$((TRAJ_SEED0 + TRAJ_N - 1))"
  rm -f "$file"
}

# grid KEY REF STEPS SCHEDULE CFG: PNG grid of GRID_SEEDS under RESULTS_DIR/grids (skipped if present).
grid() {
  local png=$RESULTS_DIR/grids/$(printf '%s' "$1" | tr '/' '_').png out
  [ -s "$png" ] && return 0
  fs_run out fs-sample --store "$STORE" --checkpoint "$2" --steps "$3" --schedule "$4" --cfg "$5" \
    --seeds "$GRID_SEEDS" --png "$png" --png-scale 2 --no-store-artifact "${T[@]}"
}

# bank NAME K SUBSTEPS N CFG_RANGE: a fixed-grid trajectory bank (resumed if open, skipped if complete).
bank() {  # bank NAME K SUBSTEPS N CFG_RANGE [SHIFT]
  local name=$1 k=$2 sub=$3 n=$4 range=$5 shift=${6:-3} ls out
  ls=$(fs-store ls --store "$STORE" --kind trajectory_bank --json)
  if json_flat <<<"$ls" | awk -F '\t' -v n="$name" '$1 ~ /\.name$/ { nm = $2 } $1 ~ /\.state$/ && nm == n && $2 == "complete" { f = 1 } END { exit !f }'; then
    fs_log "skip bank $name (complete)"; return 0
  fi
  fs_run out fs-rollout --store "$STORE" --teacher teacher --name "$name" --seeds "0-$((n - 1))" --segments "$k" \
    --substeps "$sub" --schedule fixed --shift "$shift" --cfg-range "$range" --resume "${T[@]}"
}

# distill RUN STEPS ARGS...: fs-distill to STEPS (skipped when RUN@STEPS exists, resumed when interrupted).
distill() {
  local run=$1 steps=$2; shift 2
  if fs-store show --store "$STORE" "$run@$steps" >/dev/null 2>&1; then fs_log "skip distill $run (at step $steps)"; return 0; fi
  local out t0; t0=$(date +%s)
  fs_run out fs-distill --store "$STORE" --run "$run" --teacher teacher --preset "$DISTILL_PRESET" --steps "$steps" \
    --batch-size "$DISTILL_BATCH" --checkpoint-every "$CKPT_EVERY" --resume "${T[@]}" "$@"
  fs_log "distill $run: $(fs_elapsed "$t0")"
  record_put "train/$run/$(date +%s)" run="$run" seconds="$(( $(date +%s) - t0 ))" command="fs-distill --run $run --steps $steps $*"
}

# student KEY TABLE ORDER LABEL RUN STEPS SCHEDULE NOTE: evaluate, trajectory MSE and grid of a student.
student() {
  local key=$1 table=$2 order=$3 label=$4 run=$5 k=$6 sched=$7 note=${8:-}
  evaluate "$key" "$table" "$order" "$label" "$run" "$k" "$sched" 1 "$EVAL_N" "$run" "$note"
  trajectory "$key" "$run" "$k" "$sched" 1
  grid "$key" "$run" "$k" "$sched" 1
}

# ---- the targets (section g) -----------------------------------------------------------------------------------------
# headline_unit: the issue's target rows at HEADLINE_N samples (same seed as every row), then FID of full FlowSteer's
# intermediate checkpoints at EVAL_N samples (its last step is the ablation row itself).
headline_unit() {
  local run s
  for run in abl-FULL-s0 abl-A-s0; do
    fs-store show --store "$STORE" "$run@$DISTILL_STEPS" >/dev/null 2>&1 ||
      fs_die "section g needs $run@$DISTILL_STEPS in $STORE (run the ablation's section d first)"
  done
  evaluate head/teacher-32 head 1 "teacher, 32 fixed steps, w*" teacher 32 fixed "$W_STAR" "$HEADLINE_N" "" reference
  evaluate head/FULL-s0 head 2 "full FlowSteer, 4 fixed steps (seed 0)" abl-FULL-s0 4 fixed 1 "$HEADLINE_N" abl-FULL-s0 "seed 0"
  evaluate head/A-s0 head 3 "PeRFlow baseline, 4 diffusers steps (seed 0)" abl-A-s0 4 diffusers 1 "$HEADLINE_N" abl-A-s0 "seed 0"
  for s in $LENGTH_STEPS; do
    [ "$s" -lt "$DISTILL_STEPS" ] || continue
    evaluate "length/FULL-s0@$s" length "$s" "full FlowSteer after $s steps" "abl-FULL-s0@$s" 4 fixed 1 "$EVAL_N" abl-FULL-s0 "step $s"
  done
}

# ---- h. tuned FlowSteer (beyond the paper's settings) ------------------------------------------------------------------
# Each row changes one thing from the previous one, starting from section d's full FlowSteer: (1) the teacher's guidance
# fixed at w* instead of U[w* +- h] (the guidance-free student cannot tell w from the noise, so a range asks it for an
# average), from a bank of TUNED_BANK_N trajectories; (2) feature matching weighted TUNED_LAMBDA_FM; (3)
# TUNED_START_SHARE of the distillation samples at the segment start, the only point the student's Euler step evaluates;
# (4) the student's 4-step grid (and its bank) on shift TUNED_SHIFT instead of 3: shift 3 puts the boundaries at
# 1, .9, .75, .5, 0, so the last step spans half the trajectory; then (5) row 4 trained TUNED_LONG_STEPS steps.
tuned_unit() {
  local base=(--schedule fixed --method flowsteer --ota --adversarial --lambda-adv "$LAMBDA_ADV" --adv-fake step)
  local fm=(--lambda-fm "$TUNED_LAMBDA_FM") share=(--start-share "$TUNED_START_SHARE") s
  local grid=(--bank bank-k4-wstar-s"$TUNED_SHIFT" --shift "$TUNED_SHIFT") w3=(--bank bank-k4-wstar)
  TEACHER_REF_TENSORS=$OUT/tensors/teacher-ref-32.safetensors
  samples_tensors "$TEACHER_REF_TENSORS" teacher 32 fixed "$W_STAR"
  bank bank-k4-wstar 4 8 "$TUNED_BANK_N" "$W_STAR"
  bank bank-k4-wstar-s"$TUNED_SHIFT" 4 8 "$TUNED_BANK_N" "$W_STAR" "$TUNED_SHIFT"
  # the tuned student (all four changes) and its target evaluation first; the rows that explain it come next
  tuned_row() {  # tuned_row SEED
    distill "tun-WFSG-s$1" "$DISTILL_STEPS" --seed "$1" "${base[@]}" "${grid[@]}" "${fm[@]}" "${share[@]}"
    student "tuned/WFSG-s$1" tuned 4 "+ shift-$TUNED_SHIFT grid (tuned FlowSteer)" "tun-WFSG-s$1" 4 fixed "seed $1"
  }
  tuned_row 0
  evaluate head/teacher-32 head 1 "teacher, 32 fixed steps, w*" teacher 32 fixed "$W_STAR" "$HEADLINE_N" "" reference
  evaluate head/tuned-s0 head 4 "tuned FlowSteer, 4 fixed steps (seed 0)" tun-WFSG-s0 4 fixed 1 "$HEADLINE_N" tun-WFSG-s0 "seed 0"
  distill tun-W-s0 "$DISTILL_STEPS" --seed 0 "${base[@]}" "${w3[@]}" --lambda-fm "$LAMBDA_FM"
  student tuned/W-s0 tuned 1 "full FlowSteer, w fixed at w*, bank $TUNED_BANK_N" tun-W-s0 4 fixed "seed 0"
  distill tun-WF-s0 "$DISTILL_STEPS" --seed 0 "${base[@]}" "${w3[@]}" "${fm[@]}"
  student tuned/WF-s0 tuned 2 "+ lambda_fm $TUNED_LAMBDA_FM" tun-WF-s0 4 fixed "seed 0"
  for s in $TUNED_SEEDS; do
    distill "tun-WFS-s$s" "$DISTILL_STEPS" --seed "$s" "${base[@]}" "${w3[@]}" "${fm[@]}" "${share[@]}"
    student "tuned/WFS-s$s" tuned 3 "+ start share $TUNED_START_SHARE" "tun-WFS-s$s" 4 fixed "seed $s"
  done
  for s in $TUNED_SEEDS; do tuned_row "$s"; done
  distill tun-WFSG-L-s0 "$TUNED_LONG_STEPS" --seed 0 "${base[@]}" "${grid[@]}" "${fm[@]}" "${share[@]}"
  student tuned/WFSG-L-s0 tuned 5 "trained $TUNED_LONG_STEPS steps instead of $DISTILL_STEPS" tun-WFSG-L-s0 4 fixed "seed 0"
}

# ---- i. probes on the tuned recipe (beyond the paper) --------------------------------------------------------------
# Each row changes one thing in section h's tuned student (shift-TUNED_SHIFT grid, w*, lambda_fm TUNED_LAMBDA_FM, start
# share TUNED_START_SHARE, DISTILL_STEPS steps, seed 0). Every row, and the 32-step teacher it is compared with, is measured
# on noise no bank holds: evaluation seeds PROBE_EVAL_SEED.. and trajectory-MSE seeds from there (the other sections'
# seeds 2024.. and 0.. overlap the banks' seeds 0..N-1 in noise, though mostly with other labels).
probes_unit() {
  local base=(--schedule fixed --shift "$TUNED_SHIFT" --method flowsteer --ota --adversarial --lambda-adv "$LAMBDA_ADV"
              --lambda-fm "$TUNED_LAMBDA_FM" --start-share "$TUNED_START_SHARE")
  local bank=bank-k4-wstar-s"$TUNED_SHIFT" big=bank-k4-wstar-s"$TUNED_SHIFT"-n"$PROBE_BANK_N" k8=bank-k8-wstar-s"$TUNED_SHIFT"
  local fine=bank-k4-wstar-s"$TUNED_SHIFT"-n"$PROBE_BANK_N"-sub16 finer=bank-k4-wstar-s"$TUNED_SHIFT"-n"$PROBE_BANK_N"-sub32
  EVAL_SEED=$PROBE_EVAL_SEED TRAJ_SEED0=$PROBE_EVAL_SEED
  TEACHER_REF_TENSORS=$OUT/tensors/teacher-ref-32-probes.safetensors
  samples_tensors "$TEACHER_REF_TENSORS" teacher 32 fixed "$W_STAR"
  bank "$bank" 4 8 "$TUNED_BANK_N" "$W_STAR" "$TUNED_SHIFT"
  probe() {  # probe ORDER NAME LABEL FS-DISTILL-ARGS...: one probe student (training seed PROBE_SEED, default 0), trained and measured
    local order=$1 name=$2 label=$3 seed=${PROBE_SEED:-0}; shift 3
    [ "$seed" = 0 ] || name=$name-s$seed
    distill "prb-$name" "${PROBE_STEPS:-$DISTILL_STEPS}" --seed "$seed" "${base[@]}" "$@"
    student "probe/$name" probes "$order" "$label" "prb-$name" 4 fixed "seed $seed"
  }
  evaluate probe/teacher-32 probes 0 "teacher, 32 fixed steps, w* (the reference)" teacher 32 fixed "$W_STAR" "$EVAL_N" "" reference
  probe 1 tuned "tuned FlowSteer (section h's recipe), unchanged" --bank "$bank" --adv-fake step
  probe 2 ema99 "student EMA decay 0.99 instead of 0.995" --bank "$bank" --adv-fake step --ema-decay 0.99
  probe 3 fake-rollout "adversarial fake = the student's own rollout" --bank "$bank" --adv-fake rollout
  probe 4 dist-rollout "distillation starts = the student's own rollout" --bank "$bank" --adv-fake step --dist-start rollout
  probe 5 real-data "D's real = MNIST images of the label, noised to the segment end" --bank "$bank" --adv-fake step --adv-real data
  probe 6 adv-probs "adversarial segments 0.1, 0.1, 0.2, 0.6 (weight on the last)" --bank "$bank" --adv-fake step --adv-probs 0.1,0.1,0.2,0.6
  probe 7 dist-state "L_dist weighted as the MSE of the state each step lands on" --bank "$bank" --adv-fake step --dist-weight state
  bank "$big" 4 8 "$PROBE_BANK_N" "$W_STAR" "$TUNED_SHIFT"
  probe 8 bank-big "a bank of $PROBE_BANK_N trajectories instead of $TUNED_BANK_N" --bank "$big" --adv-fake step
  # not a fix but a diagnosis: the same recipe with 8 segments (8 NFE), from a bank with 4 teacher sub-steps per segment
  bank "$k8" 8 4 "$TUNED_BANK_N" "$W_STAR" "$TUNED_SHIFT"
  distill prb-k8 "$DISTILL_STEPS" --seed 0 "${base[@]}" --bank "$k8" --segments 8 --adv-fake step
  student probe/k8 probes 9 "8 segments, sampled with 8 steps (8 NFE; diagnosis, not the 4-step target)" prb-k8 8 fixed "seed 0"
  # a second training seed for the unchanged recipe and the best probe of the first pass: how large is seed noise?
  PROBE_SEED=1 probe 1 tuned "tuned FlowSteer (section h's recipe), unchanged" --bank "$bank" --adv-fake step
  PROBE_SEED=1 probe 4 dist-rollout "distillation starts = the student's own rollout" --bank "$bank" --adv-fake step --dist-start rollout
  # the two changes that helped most, together and trained longer; then it and the teacher at HEADLINE_N samples (same unseen seeds)
  PROBE_STEPS=$PROBE_LONG_STEPS probe 10 combined "rollout starts + the $PROBE_BANK_N-trajectory bank, $PROBE_LONG_STEPS steps" --bank "$big" --adv-fake step --dist-start rollout
  evaluate probe-head/teacher-32 probes-head 1 "teacher, 32 fixed steps, w*" teacher 32 fixed "$W_STAR" "$HEADLINE_N" "" reference
  evaluate probe-head/combined probes-head 2 "combined probe, 4 fixed steps" prb-combined 4 fixed 1 "$HEADLINE_N" prb-combined "seed 0"
  # the bank's teacher: 8 Euler sub-steps per segment solve 32 steps; with 16 (64 steps) the teacher's own samples score
  # better than the 32-step reference, and a student learns from the bank, not from the reference
  evaluate probe/teacher-64 probes 11 "teacher, 64 fixed steps, w* (what a bank with 16 sub-steps per segment solves)" teacher 64 fixed "$W_STAR" "$EVAL_N" "" reference
  bank "$fine" 4 16 "$PROBE_BANK_N" "$W_STAR" "$TUNED_SHIFT"
  PROBE_STEPS=$PROBE_LONG_STEPS probe 12 combined-fine "combined, from a $PROBE_BANK_N-trajectory bank solved with 16 teacher sub-steps per segment" --bank "$fine" --adv-fake step --dist-start rollout
  evaluate probe-head/combined-fine probes-head 3 "combined probe from the 16-sub-step bank, 4 fixed steps" prb-combined-fine 4 fixed 1 "$HEADLINE_N" prb-combined-fine "seed 0"
  # a probe that did not help in exploratory runs, kept here so the negative result can be rerun
  probe 13 backprop "distillation through the student's rollout with gradients (--dist-start backprop)" --bank "$bank" --adv-fake step --dist-start backprop
  # the bank's teacher solved with 32 sub-steps per segment (128 steps): Euler's error halves again
  bank "$finer" 4 32 "$PROBE_BANK_N" "$W_STAR" "$TUNED_SHIFT"
  PROBE_STEPS=$PROBE_LONG_STEPS probe 14 combined-finer "combined, from a $PROBE_BANK_N-trajectory bank solved with 32 teacher sub-steps per segment" --bank "$finer" --adv-fake step --dist-start rollout
  evaluate probe-head/combined-finer probes-head 4 "combined probe from the 32-sub-step bank, 4 fixed steps" prb-combined-finer 4 fixed 1 "$HEADLINE_N" prb-combined-finer "seed 0"
  # the same with a second training seed: is the target met by the recipe or by one run?
  PROBE_SEED=1 PROBE_STEPS=$PROBE_LONG_STEPS probe 14 combined-finer "combined, from a $PROBE_BANK_N-trajectory bank solved with 32 teacher sub-steps per segment" --bank "$finer" --adv-fake step --dist-start rollout
  evaluate probe-head/combined-finer-s1 probes-head 5 "combined probe from the 32-sub-step bank, 4 fixed steps (training seed 1)" prb-combined-finer-s1 4 fixed 1 "$HEADLINE_N" prb-combined-finer-s1 "seed 1"
}

# ---- Table 1 (section c): the teacher's last segment(s) resumed from authentic vs interpolated states ------------
# The teacher at 32 fixed steps = the 4-segment grid 1, .9, .75, .5, 0 with 8 Euler steps per segment, seeds
# 0..T1_N-1. Its authentic states are saved at each start sigma by a chain of runs (noise -> 0.75 -> 0.5 -> 0, each leg
# resumed from the previous one's states, so the chain is the uninterrupted 32-step run bit for bit and its end is
# x0_teacher). From each start sigma_k the teacher then runs to 0 from (1) its authentic state, (2) sigma_k*eps +
# (1-sigma_k)*x0_teacher, (3) sigma_k*eps + (1-sigma_k)*x_real with eps the sample's own seeded noise. Each row is a
# stored sample set, evaluated by fs-eval, plus its per-pixel MSE (clamped) to the authentic final samples.
T1_DIR=$OUT/tensors/t1
mkdir -p "$T1_DIR"
t1_sigma() { awk -v k="$1" 'BEGIN { u = k / 4; printf "%g\n", 3 * u / (1 + 2 * u) }'; }   # shift-3 boundary, k segments left
# t1_run FILE ARGS...: fs-sample of the Table-1 seeds on the 32-step fixed grid into FILE (skipped if FILE exists).
t1_run() {
  local file=$1 out; shift
  [ -s "$file" ] && return 0
  fs_run out fs-sample --store "$STORE" --checkpoint teacher --steps 32 --schedule fixed --shift 3 \
    --seeds "0-$((T1_N - 1))" --save-tensors "$file.part" "${T[@]}" "$@"
  mv -f "$file.part" "$file"
}
# t1_row W K START ORDER LABEL FILE: evaluate sample set t1/w<W>/<START>-k<K> (written with FILE) -> record.
t1_row() {
  local w=$1 k=$2 start=$3 order=$4 label=$5 file=$6 key=t1/w$1/$3-k$2
  if record_has "eval/$key"; then fs_log "skip eval/$key (stored)"; return 0; fi
  local cmd=(fs-eval --store "$STORE" --samples "$key" --seed "$EVAL_SEED" "${T[@]}")
  local t0 ev; t0=$(date +%s)
  fs_run ev "${cmd[@]}"
  local f; for f in fid kid kid_std class_accuracy num_samples; do json_require "$f" "$ev" >/dev/null; done
  record_put "eval/$key" table=t1 order="$order" label="$label" cfg="$w" start="$start" segments="$k" \
    sigma="$(t1_sigma "$k")" steps="$((8 * k))" nfe="$(nfe_of $((8 * k)) "$w")" x0="$([ "$start" = real ] && echo "$T1_REAL" || echo -)" \
    mse_to_authentic="$(t1_mse "$file" "$T1_DIR/w$w-authentic-k$T1_KMIN.st")" seconds="$(( $(date +%s) - t0 ))" \
    fid="$(json_get fid <<<"$ev")" kid="$(json_get kid <<<"$ev")" kid_std="$(json_get kid_std <<<"$ev")" \
    class_accuracy="$(json_get class_accuracy <<<"$ev")" num_samples="$(json_get num_samples <<<"$ev")" \
    command="fs-sample --checkpoint teacher --steps 32 --schedule fixed --seeds 0-$((T1_N - 1)) --cfg $w ... (start $start, from sigma $(t1_sigma "$k")); ${cmd[*]} --json" \
    result="$ev"
}
# table1_unit: every Table-1 row for w* and T1_STRONG_CFGS (skips what is stored or written).
table1_unit() {
  local w k s i=0 t1_cfgs=" " from
  T1_KS=$(tr ' ' '\n' <<<"$T1_SEGMENTS" | awk 'NF' | sort -rn | tr '\n' ' ')   # most segments first: the chain's order
  T1_KMIN=$(awk '{ print $NF }' <<<"$T1_KS")                                          # the chain's last leg
  for k in $T1_KS; do [[ "$k" =~ ^[123]$ ]] || fs_die "T1_SEGMENTS: '$k' is not 1, 2 or 3 (segments of the 4-segment grid)"; done
  for w in $W_STAR $T1_STRONG_CFGS; do
    case $t1_cfgs in *" $w "*) continue ;; esac   # w* may also be listed
    t1_cfgs+="$w " i=$((i + 1)) from=()
    for k in $T1_KS; do   # authentic states at each start sigma, one chained leg after the other
      t1_run "$T1_DIR/w$w-state-k$k.st" --cfg "$w" --stop-sigma "$(t1_sigma "$k")" --no-store-artifact "${from[@]}"
      from=(--init-tensors "$T1_DIR/w$w-state-k$k.st")
    done
    for k in $T1_KS; do   # (1) authentic; the last leg of the chain (k = T1_KMIN) is x0_teacher
      t1_run "$T1_DIR/w$w-authentic-k$k.st" --cfg "$w" --init-tensors "$T1_DIR/w$w-state-k$k.st" --name "t1/w$w/authentic-k$k"
    done
    for k in $T1_KS; do
      s=$(t1_sigma "$k")
      t1_run "$T1_DIR/w$w-own-k$k.st" --cfg "$w" --start-sigma "$s" --init-x0 "$T1_DIR/w$w-authentic-k$T1_KMIN.st" --name "t1/w$w/own-k$k"
      t1_run "$T1_DIR/w$w-real-k$k.st" --cfg "$w" --start-sigma "$s" --init-x0 "$T1_REAL" --name "t1/w$w/real-k$k"
      t1_row "$w" "$k" authentic "$((100 * i + 10 * k + 1))" "authentic state" "$T1_DIR/w$w-authentic-k$k.st"
      t1_row "$w" "$k" own "$((100 * i + 10 * k + 2))" "interpolated, x0 = teacher's own sample" "$T1_DIR/w$w-own-k$k.st"
      t1_row "$w" "$k" real "$((100 * i + 10 * k + 3))" "interpolated, x0 = real image ($T1_REAL)" "$T1_DIR/w$w-real-k$k.st"
    done
  done
}

# ---- 0. teacher and noise floor ----------------------------------------------------------------------------
if ! fs-store show --store "$STORE" teacher >/dev/null 2>&1; then
  src=$ABLATION_TEACHER
  if [ ! -f "$src" ]; then
    [ -n "$ABLATION_TEACHER_STORE" ] || fs_die "ABLATION_TEACHER=$src is not a file; set ABLATION_TEACHER_STORE to the store holding that reference
  (the shipped teacher is models/teacher-mnist.safetensors; for a smoke test: fs-train --store /tmp/t.db --run tiny --preset tiny --steps 30)"
    fs_run out fs-store export --store "$ABLATION_TEACHER_STORE" "$src" -o "$OUT/teacher.safetensors"
    src=$OUT/teacher.safetensors
  fi
  fs_run out fs-store import "$src" --store "$STORE" --name teacher-import --run teacher --step 0
  record_put "choice/teacher" source="$ABLATION_TEACHER" store="$ABLATION_TEACHER_STORE" \
    hash="$(json_get hash <<<"$out")" mode="$MODE"
fi

# FID noise floor: FID between two disjoint halves of MNIST test of EVAL_N images each (even vs odd indices:
# the first and last 5000 test digits differ systematically, docs/eval.md), the same size as the rows.
# The halves are written as sample_set artifacts (perl packs the IDX bytes into F32 in [-1, 1]).
MNIST_DIR=${FS_DATA_DIR:-$FS_ROOT/data}; [ -d "$MNIST_DIR/mnist" ] && MNIST_DIR=$MNIST_DIR/mnist
# test_half FILE PARITY N: safetensors with samples [N,1,28,28] F32, labels [N] I64, seeds [N] U64 (= test index).
test_half() {
  perl -e '
    use strict; my ($imgs, $labs, $parity, $n, $out) = @ARGV;
    sub slurp { my $f = shift; open(my $h, "-|", "gzip", "-dc", $f) or die "$f: $!"; binmode $h; local $/; my $d = <$h>; close $h or die "$f: gzip failed"; $d }
    my $I = slurp($imgs); my $L = slurp($labs);
    my ($mi, $cnt, $r, $c) = unpack("N4", $I); die "$imgs: not IDX images\n" unless $mi == 2051 && $r == 28 && $c == 28;
    die "only " . int($cnt / 2) . " test images per half\n" if $n > int($cnt / 2);
    my ($px, $lb, $sd) = ("", "", "");
    for (my $k = 0; $k < $n; $k++) {
      my $i = 2 * $k + $parity;
      $px .= pack("f<*", map { $_ / 127.5 - 1 } unpack("C*", substr($I, 16 + 784 * $i, 784)));
      $lb .= pack("q<", unpack("C", substr($L, 8 + $i, 1)));
      $sd .= pack("Q<", $i);
    }
    my ($a, $b, $cc) = (length $px, length $lb, length $sd);
    my $h = sprintf(q({"__metadata__":{"source":"MNIST test, %s indices, first %d"},"samples":{"dtype":"F32","shape":[%d,1,28,28],"data_offsets":[0,%d]},"labels":{"dtype":"I64","shape":[%d],"data_offsets":[%d,%d]},"seeds":{"dtype":"U64","shape":[%d],"data_offsets":[%d,%d]}}),
                    $parity ? "odd" : "even", $n, $n, $a, $n, $a, $a + $b, $n, $a + $b, $a + $b + $cc);
    $h .= " " x ((8 - length($h) % 8) % 8);
    open(my $o, ">", $out) or die "$out: $!"; binmode $o;
    print $o pack("Q<", length $h), $h, $px, $lb, $sd; close $o or die "$out: $!";
  ' "$MNIST_DIR/t10k-images-idx3-ubyte.gz" "$MNIST_DIR/t10k-labels-idx1-ubyte.gz" "$2" "$3" "$1"
}
if ! record_has floor/test-halves; then
  t0=$(date +%s)
  for half in even odd; do
    name=mnist-test-$half-$EVAL_N
    if ! fs-store show --store "$STORE" "$name" >/dev/null 2>&1; then
      test_half "$OUT/tensors/$name.safetensors" "$([ $half = odd ] && echo 1 || echo 0)" "$EVAL_N"
      fs_run out fs-store import "$OUT/tensors/$name.safetensors" --store "$STORE" --kind sample_set --name "$name"
      rm -f "$OUT/tensors/$name.safetensors"
    fi
    fs_run out fs-eval stats --store "$STORE" --samples "$name" --save-stats "$OUT/tensors/$name.stats.safetensors" "${T[@]}"
  done
  fs_run fl fs-eval fd "$OUT/tensors/mnist-test-even-$EVAL_N.stats.safetensors" "$OUT/tensors/mnist-test-odd-$EVAL_N.stats.safetensors"
  record_put floor/test-halves fid="$(json_require fid "$fl")" n="$EVAL_N" seconds="$(( $(date +%s) - t0 ))" \
    command="fs-eval stats --samples mnist-test-{even,odd}-$EVAL_N --save-stats ...; fs-eval fd even odd --json" result="$fl"
fi

# what ran it, for every params record: the machine and the compiler
MACHINE=(threads="$THREADS" nproc="$(nproc)" cpu="$(awk -F ': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)" swift="$(swift --version 2>&1 | head -1)")

# ONLY=t1 | headline | tuned | probes: that section alone, at w* = the sweep's choice if stored, else (t1, tuned, probes) the teacher's
# recorded recommended_cfg.
[ "$T1_ONLY" = 1 ] && ONLY=t1
case $ONLY in
  "") ;;
  t1|headline|tuned|probes)
    if ! record_has choice/recommended_cfg; then
      [ "$ONLY" = headline ] && fs_die "ONLY=headline: no recommended_cfg in $STORE (run the ablation first)"
      W_STAR=$(fs-store show --store "$STORE" teacher --json | json_get metadata.safetensors_metadata.recommended_cfg)
      [ -n "$W_STAR" ] || fs_die "ONLY=$ONLY: no recommended_cfg stored and none in the teacher's metadata"
      record_put choice/recommended_cfg w="$W_STAR" rule="the teacher's recorded recommended_cfg (ONLY=$ONLY run, no sweep)"
    fi
    W_STAR=$(record_field choice/recommended_cfg w)
    if [ "$ONLY" = t1 ]; then
      # params-t1/ and done-t1/ keys: a section-c run into a full run's store leaves that run's set-up table as it was
      record_put "params-t1/$t_start" mode="$MODE" command="ONLY=t1 bash jobs/ablation.sh $*" \
        started="$(date -u -d "@$t_start" '+%F %T UTC')" "${MACHINE[@]}" \
        parameters="T1_N=$T1_N T1_SEGMENTS='$T1_SEGMENTS' T1_STRONG_CFGS='$T1_STRONG_CFGS' T1_REAL=$T1_REAL EVAL_SEED=$EVAL_SEED"
      table1_unit
      record_put "done-t1/$(date +%s)" seconds="$(( $(date +%s) - t_start ))" finished="$(date -u '+%F %T UTC')" mode="$MODE"
    elif [ "$ONLY" = headline ]; then
      headline_unit
    elif [ "$ONLY" = probes ]; then
      record_put "params-probes/$t_start" command="ONLY=probes bash jobs/ablation.sh $*" started="$(date -u -d "@$t_start" '+%F %T UTC')" \
        "${MACHINE[@]}" parameters="PROBE_EVAL_SEED=$PROBE_EVAL_SEED PROBE_BANK_N=$PROBE_BANK_N PROBE_LONG_STEPS=$PROBE_LONG_STEPS HEADLINE_N=$HEADLINE_N TUNED_BANK_N=$TUNED_BANK_N TUNED_LAMBDA_FM=$TUNED_LAMBDA_FM TUNED_START_SHARE=$TUNED_START_SHARE TUNED_SHIFT=$TUNED_SHIFT DISTILL_STEPS=$DISTILL_STEPS EVAL_N=$EVAL_N TRAJ_N=$TRAJ_N"
      probes_unit
      record_put "done-probes/$(date +%s)" seconds="$(( $(date +%s) - t_start ))" finished="$(date -u '+%F %T UTC')" mode="$MODE"
    else
      record_put "params-tuned/$t_start" command="ONLY=tuned bash jobs/ablation.sh $*" started="$(date -u -d "@$t_start" '+%F %T UTC')" \
        "${MACHINE[@]}" parameters="TUNED_BANK_N=$TUNED_BANK_N TUNED_LAMBDA_FM=$TUNED_LAMBDA_FM TUNED_START_SHARE=$TUNED_START_SHARE TUNED_SEEDS='$TUNED_SEEDS' TUNED_SHIFT=$TUNED_SHIFT TUNED_LONG_STEPS=$TUNED_LONG_STEPS DISTILL_STEPS=$DISTILL_STEPS HEADLINE_N=$HEADLINE_N"
      tuned_unit
      record_put "done-tuned/$(date +%s)" seconds="$(( $(date +%s) - t_start ))" finished="$(date -u '+%F %T UTC')" mode="$MODE"
    fi
    if [ "$RESULTS_MD" = docs/results.md ]; then   # a one-section run never replaces the full results page
      export RESULTS_MD=$OUT/results.md RESULTS_DIR=$OUT/results
    fi
    exec bash jobs/results.sh ;;
  *) fs_die "ONLY='$ONLY': use t1, headline, tuned or probes" ;;
esac

# ---- a. guidance sweep ---------------------------------------------------------------------------------------
i=0
for w in $SWEEP_CFGS; do
  i=$((i + 1))
  evaluate "sweep/w$w" sweep "$i" "teacher 32 fixed, w=$w" teacher 32 fixed "$w" "$SWEEP_N"
done
if ! record_has choice/recommended_cfg; then
  ls=$(fs-store ls --store "$STORE" --kind eval_result --json)
  W_STAR=$(json_flat <<<"$ls" | awk -F '\t' '
    $1 ~ /\.name$/ { nm = $2 } 
    $1 ~ /safetensors_metadata\.table$/ { tb[nm] = $2 }
    $1 ~ /safetensors_metadata\.cfg$/ { w[nm] = $2 }
    $1 ~ /safetensors_metadata\.fid$/ { f[nm] = $2 }
    END { best = ""; for (k in tb) if (tb[k] == "sweep" && (best == "" || f[k] + 0 < f[best] + 0 || (f[k] + 0 == f[best] + 0 && w[k] + 0 < w[best] + 0))) best = k
          if (best != "") print w[best] }')
  [ -n "$W_STAR" ] || fs_die "no guidance sweep result in the store"
  record_put choice/recommended_cfg w="$W_STAR" rule="FID-best w of the 32-step fixed sweep on $SWEEP_N samples"
fi
W_STAR=$(record_field choice/recommended_cfg w)
CFG_RANGE=$(awk -v w="$W_STAR" -v h="$CFG_HALF_WIDTH" 'BEGIN { lo = w - h; if (lo < 1) lo = 1; printf "%g,%g\n", lo, w + h }')
fs_log "recommended_cfg w* = $W_STAR; distillation guidance U[$CFG_RANGE]"
record_put "params/$t_start" mode="$MODE" command="bash jobs/ablation.sh $*" started="$(date -u -d "@$t_start" '+%F %T UTC')" \
  "${MACHINE[@]}" cfg_range="$CFG_RANGE" cfg_half_width="$CFG_HALF_WIDTH" \
  strong_cfg_range="$STRONG_CFG_RANGE" \
  distill="preset $DISTILL_PRESET, $DISTILL_STEPS steps at batch $DISTILL_BATCH, PeRFlow pool $PAIRS pairs, banks $BANK_N (K=4) / $BANK_N_K (K=1,2,8) trajectories, lambda_adv $LAMBDA_ADV, lambda_fm $LAMBDA_FM, adversarial warm-up 30% of the steps" \
  parameters="SWEEP_N=$SWEEP_N T2_N=$T2_N EVAL_N=$EVAL_N TRAJ_N=$TRAJ_N BANK_N=$BANK_N BANK_N_K=$BANK_N_K PAIRS=$PAIRS DISTILL_STEPS=$DISTILL_STEPS DISTILL_BATCH=$DISTILL_BATCH ONLINE_STEPS=$ONLINE_STEPS EVAL_SEED=$EVAL_SEED SECOND_SEED_ROWS='$SECOND_SEED_ROWS'"

# teacher reference (32 fixed steps at w*, EVAL_N samples) and its seeds' samples for trajectory MSE
TEACHER_REF_TENSORS=$OUT/tensors/teacher-ref-32.safetensors
samples_tensors "$TEACHER_REF_TENSORS" teacher 32 fixed "$W_STAR"

# ---- b. Table 2: the scheduler, training-free -------------------------------------------------------------------
i=0
for n in $T2_STEPS; do
  for s in diffusers fixed; do
    i=$((i + 1))
    [ "$n" = 1 ] && [ "$s" = diffusers ] && continue   # N = 1 is [1, 0] on both grids: reported once
    evaluate "t2/$s-$n" t2 "$i" "teacher $s $n" teacher "$n" "$s" "$W_STAR" "$T2_N"
    trajectory "t2/$s-$n" teacher "$n" "$s" "$W_STAR"
  done
done

# ---- c. Table 1 analogue (table1_unit, defined above) -------------------------------------------------------------
table1_unit

# ---- banks and teacher reference rows ----------------------------------------------------------------------------------
bank bank-k4 4 8 "$BANK_N" "$CFG_RANGE"

# ---- d. component ablation at 4 steps -------------------------------------------------------------------------------
TEACHER_ROW_N=$EVAL_N
evaluate abl/teacher-32 ablation 1 "teacher, 32 fixed steps, w*" teacher 32 fixed "$W_STAR" "$TEACHER_ROW_N" "" "reference"
trajectory abl/teacher-32 teacher 32 fixed "$W_STAR"
grid abl/teacher-32 teacher 32 fixed "$W_STAR"
evaluate abl/teacher-4 ablation 2 "teacher, 4 fixed steps, w*" teacher 4 fixed "$W_STAR" "$EVAL_N"
trajectory abl/teacher-4 teacher 4 fixed "$W_STAR"
grid abl/teacher-4 teacher 4 fixed "$W_STAR"

DA=(--cfg-range "$CFG_RANGE" --pairs "$PAIRS")
ADV=(--adversarial --lambda-adv "$LAMBDA_ADV" --lambda-fm "$LAMBDA_FM" --adv-fake step)
# row ID SEED ORDER LABEL SCHEDULE ARGS...: one student (run abl-ID-s<SEED>), distilled then evaluated.
row() {
  local id=$1 s=$2 order=$3 label=$4 sched=$5; shift 5
  distill "abl-$id-s$s" "$DISTILL_STEPS" --seed "$s" --schedule "$sched" "$@"
  student "abl/$id-s$s" ablation "$order" "$label" "abl-$id-s$s" 4 "$sched" "seed $s"
}
# The rows in priority order (an interrupted run has the main chain A -> B -> C -> FULL first); each row's
# definition is kept in ROWS so the second training seeds (SECOND_SEED_ROWS) run the same command last.
declare -A ROW_ORDER ROW_LABEL ROW_SCHED ROW_ARGS
ROWS=()
define() { ROWS+=("$1"); ROW_ORDER[$1]=$2; ROW_LABEL[$1]=$3; ROW_SCHED[$1]=$4; shift 4; ROW_ARGS[${ROWS[-1]}]="$*"; }
define A     10 "PeRFlow, diffusers grid"                 diffusers --method perflow "${DA[@]}"
define B     11 "+ fixed schedule (PeRFlow, fixed grid)"  fixed --method perflow "${DA[@]}"
define C     12 "+ OTA (bank)"                            fixed --method flowsteer --ota --bank bank-k4
define FULL  16 "full FlowSteer (OTA + adv + FM, fixed)"  fixed --method flowsteer --ota --bank bank-k4 "${ADV[@]}"
define FM    13 "+ OTA + feature matching alone"          fixed --method flowsteer --ota --bank bank-k4 --adversarial --lambda-adv 0 --lambda-fm "$LAMBDA_FM"
define ADVS  14 "+ OTA + adversarial alone (fake: step)"  fixed --method flowsteer --ota --bank bank-k4 --adversarial --lambda-adv "$LAMBDA_ADV" --lambda-fm 0 --adv-fake step
define REFLOW 20 "ReFlow (noise -> endpoint), fixed grid" fixed --method reflow --bank bank-k4
define FMPF  17 "feature matching on PeRFlow pairs (no OTA)" fixed --method flowsteer "${DA[@]}" --adversarial --lambda-adv 0 --lambda-fm "$LAMBDA_FM"
define ADVR  15 "+ OTA + adversarial alone (fake: rollout)" fixed --method flowsteer --ota --bank bank-k4 --adversarial --lambda-adv "$LAMBDA_ADV" --lambda-fm 0 --adv-fake rollout
define BSTR  18 "PeRFlow fixed grid, strong w U[$STRONG_CFG_RANGE]" fixed --method perflow --cfg-range "$STRONG_CFG_RANGE" --pairs "$PAIRS"
define CSTR  19 "+ OTA, strong w U[$STRONG_CFG_RANGE]"     fixed --method flowsteer --ota --bank bank-k4-strong
run_row() {  # run_row ID SEED
  local id=$1
  if [ "$id" = CSTR ]; then bank bank-k4-strong 4 8 "$BANK_N" "$STRONG_CFG_RANGE"; fi
  # shellcheck disable=SC2086  # ROW_ARGS holds words without spaces (labels live in ROW_LABEL)
  row "$id" "$2" "${ROW_ORDER[$id]}" "${ROW_LABEL[$id]}" "${ROW_SCHED[$id]}" ${ROW_ARGS[$id]}
}
for id in "${ROWS[@]}"; do run_row "$id" 0; done

# ---- e. beyond the paper: K and online OTA -----------------------------------------------------------------------------
for k in $K_LIST; do
  if [ "$k" = 4 ]; then run=abl-FULL-s0; else
    run=k$k-full
    bank "bank-k$k" "$k" $((32 / k)) "$BANK_N_K" "$CFG_RANGE"
    distill "$run" "$DISTILL_STEPS" --seed 0 --schedule fixed --segments "$k" --method flowsteer --ota --bank "bank-k$k" "${ADV[@]}"
  fi
  student "beyond/k$k" beyond_k "$k" "FlowSteer K=$k" "$run" "$k" fixed
done
distill ota-bank-short "$ONLINE_STEPS" --seed 0 --schedule fixed --method flowsteer --ota --bank bank-k4
student beyond/ota-bank beyond_online 1 "OTA from the bank ($ONLINE_STEPS steps)" ota-bank-short 4 fixed
distill ota-online-short "$ONLINE_STEPS" --seed 0 --schedule fixed --method flowsteer --ota --online --cfg-range "$CFG_RANGE"
student beyond/ota-online beyond_online 2 "OTA online ($ONLINE_STEPS steps)" ota-online-short 4 fixed

# ---- second training seeds of the rows that decide an ordering ------------------------------------------------------------
for id in $SECOND_SEED_ROWS; do [ -n "${ROW_ORDER[$id]+x}" ] || fs_die "SECOND_SEED_ROWS: unknown row '$id'"; run_row "$id" 1; done

# ---- g. the targets at HEADLINE_N samples, and FID against distillation steps ----------------------------------------------
headline_unit

# ---- h. tuned FlowSteer ---------------------------------------------------------------------------------------------------
tuned_unit

record_put "done/$(date +%s)" seconds="$(( $(date +%s) - t_start ))" finished="$(date -u '+%F %T UTC')" mode="$MODE"
fs_log "ablation units done in $(fs_elapsed "$t_start"); writing $RESULTS_MD"
exec bash jobs/results.sh
