#!/usr/bin/env bash
# Submits the distillation chain to Slurm:
#   rollout job array (one shard store per task) -> merge -> distill -> eval
# each step `--dependency=afterok` on the previous one and `--kill-on-invalid-dep=yes`, so a failed
# step cancels the rest instead of leaving it pending forever. Prints the job ids (and writes them
# to $FS_WORK/jobs.env). Parameters are environment variables with these defaults:
set -euo pipefail
: "${FS_WORK:=$PWD/fs-work}"                # shared directory: main store, shards, logs, results
: "${FS_TEACHER_FILE:=}"                    # a teacher .safetensors to import (e.g. models/teacher-mnist.safetensors)
: "${FS_TEACHER:=teacher}"                  # the teacher's reference in $FS_WORK/flowsteer.db
: "${FS_BANK:=bank-k4}"                     # trajectory bank name
: "${FS_SEEDS:=0-9999}"                     # every rollout seed; task i takes the i-th contiguous part
: "${FS_SHARDS:=8}"                         # rollout array size
: "${FS_ROLLOUT_CPUS:=1}"                   # --cpus-per-task of each rollout task (= its --threads)
: "${FS_SEGMENTS:=4}" "${FS_SUBSTEPS:=8}" "${FS_SCHEDULE:=fixed}" "${FS_CFG_RANGE:=}"
: "${FS_STUDENT:=student}"                  # run name of the distilled student
: "${FS_DISTILL_STEPS:=2000}" "${FS_PRESET:=mnist}" "${FS_DISTILL_CPUS:=2}"
: "${FS_DISTILL_TASKS:=1}"                  # >1: distill-mpi.sbatch with that many MPI ranks (FS_DISTILL_CPUS threads each)
: "${FS_EVAL_SAMPLES:=1000}" "${FS_EVAL_SEED:=0}" "${FS_EVAL_CPUS:=2}"
: "${FS_SBATCH_ARGS:=}"                     # extra sbatch options for every job, e.g. "--partition=cpu --time=4:00:00"
export FS_WORK FS_TEACHER FS_BANK FS_SEEDS FS_SHARDS FS_SEGMENTS FS_SUBSTEPS FS_SCHEDULE FS_CFG_RANGE \
  FS_STUDENT FS_DISTILL_STEPS FS_PRESET FS_EVAL_SAMPLES FS_EVAL_SEED

. "$(cd "$(dirname "$0")/.." && pwd)/lib.sh"
export FS_ROOT
FS_JOB=submit
command -v sbatch >/dev/null || fs_die "sbatch not found: run this on a Slurm login node"
fs_tools                                    # built once here; the jobs find them through FS_BIN
mkdir -p "$FS_WORK/shards" "$FS_WORK/logs"
FS_WORK=$(cd "$FS_WORK" && pwd)
main=$FS_WORK/flowsteer.db

if [ -n "$FS_TEACHER_FILE" ]; then
  [ -f "$FS_TEACHER_FILE" ] || fs_die "teacher file $FS_TEACHER_FILE does not exist"
  if [ -f "$main" ] && fs-store show "$FS_TEACHER" --store "$main" >/dev/null 2>&1; then
    fs_log "teacher $FS_TEACHER already in $main"
  else
    fs_run out fs-store import "$FS_TEACHER_FILE" --name "$FS_TEACHER" --run "$FS_TEACHER" --step 0 --store "$main"
  fi
fi
[ -f "$main" ] || fs_die "no main store $main: set FS_TEACHER_FILE, or put a teacher there (fs-train --store $main)"
fs_run out fs-store show "$FS_TEACHER" --store "$main" || fs_die "teacher '$FS_TEACHER' not found in $main"
teacher_name=$(jq -r ".name // empty" <<<"$out")
# The array tasks read the teacher from a plain file (safe on NFS), never from the shared SQLite store.
fs_run out fs-store archive -o "$FS_WORK/teacher.tar.zst" "$FS_TEACHER" --store "$main"
FS_TEACHER=$teacher_name                   # pin the resolved name (e.g. teacher@20000) for every job
export FS_TEACHER

here=$FS_ROOT/jobs/slurm
common=(--parsable --kill-on-invalid-dep=yes --output="$FS_WORK/logs/%x-%j.out")
# shellcheck disable=SC2086
rollout=$(sbatch $FS_SBATCH_ARGS --parsable --array="0-$((FS_SHARDS - 1))" --cpus-per-task="$FS_ROLLOUT_CPUS" \
  --output="$FS_WORK/logs/%x-%A_%a.out" "$here/rollout-array.sbatch")
# shellcheck disable=SC2086
merge=$(sbatch $FS_SBATCH_ARGS "${common[@]}" --dependency="afterok:$rollout" "$here/merge.sbatch")
# shellcheck disable=SC2086
distill_job=(--cpus-per-task="$FS_DISTILL_CPUS" "$here/distill.sbatch")
[ "$FS_DISTILL_TASKS" -gt 1 ] && distill_job=(--ntasks="$FS_DISTILL_TASKS" --cpus-per-task="$FS_DISTILL_CPUS" "$here/distill-mpi.sbatch")
# shellcheck disable=SC2086
distill=$(sbatch $FS_SBATCH_ARGS "${common[@]}" --dependency="afterok:$merge" "${distill_job[@]}")
# shellcheck disable=SC2086
eval_job=$(sbatch $FS_SBATCH_ARGS "${common[@]}" --cpus-per-task="$FS_EVAL_CPUS" --dependency="afterok:$distill" "$here/eval.sbatch")
printf 'ROLLOUT_JOB=%s\nMERGE_JOB=%s\nDISTILL_JOB=%s\nEVAL_JOB=%s\n' "$rollout" "$merge" "$distill" "$eval_job" \
  | tee "$FS_WORK/jobs.env"
fs_log "submitted: rollout array $rollout ($FS_SHARDS tasks) -> merge $merge -> distill $distill -> eval $eval_job; logs in $FS_WORK/logs, result in $FS_WORK/eval.json"
