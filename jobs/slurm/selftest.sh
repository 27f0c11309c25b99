#!/usr/bin/env bash
# Real-Slurm self-test (needs root): installs slurmctld/slurmd/slurm-client/munge if missing, starts
# munged, slurmctld and slurmd for a single-node cluster on localhost in a fresh scratch directory,
# trains a tiny teacher, submits the chain of jobs/slurm/submit.sh (2 rollout shards -> merge ->
# distill -> eval) on the tiny preset, waits for it, checks the merged store and the metrics, then runs
# the data-parallel distill job (distill-mpi.sbatch, 2 tasks; SELFTEST_MPI=0 skips it) and requires the
# single-process student's bytes, and shuts everything down again (also on failure). Recipe: ../shared/docs/slurm.md.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/jobs/lib.sh"
FS_JOB=slurm-selftest

SHARDS=2                      # rollout array tasks
SEEDS=0-11                    # 12 trajectories, 6 per shard
TEACHER_STEPS=20              # fs-train --preset tiny
DISTILL_STEPS=${SELFTEST_DISTILL_STEPS:-6}
EVAL_SAMPLES=${SELFTEST_EVAL_SAMPLES:-50}
TIMEOUT=${SELFTEST_TIMEOUT:-900}   # seconds for the whole chain (the machine may be busy)

[ "$(id -u)" -eq 0 ] || fs_die "needs root (installs packages, starts munged as user munge)"
t_start=$(date +%s)

# 1. packages (Debian 12: slurm 22.05, munge 0.5; policy-rc.d keeps the postinst from starting them)
need=()
for b in slurmctld slurmd sbatch munged; do command -v "$b" >/dev/null 2>&1 || need+=("$b"); done
if [ ${#need[@]} -gt 0 ]; then
  fs_log "installing slurmctld slurmd slurm-client munge (missing: ${need[*]})"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    slurmctld slurmd slurm-client munge >/dev/null
fi
[ -s /etc/munge/munge.key ] || fs_die "/etc/munge/munge.key missing (munge's postinst creates it)"

# 2. tools first (no compiler inside jobs)
fs_tools fs-train fs-rollout fs-distill fs-eval fs-store

# 3. a fresh cluster in a scratch dir (state must not survive between runs: slurm.md pitfall 15)
BASE=$(mktemp -d /tmp/fs-slurm-selftest.XXXXXX)
export SLURM_CONF=$BASE/etc/slurm.conf
mkdir -p "$BASE"/{etc,state,spool,log,run,work}
NODE=$(hostname -s)
topo=$(slurmd -C | head -1 | grep -o 'CPUs=[0-9]* Boards=[0-9]* SocketsPerBoard=[0-9]* CoresPerSocket=[0-9]* ThreadsPerCore=[0-9]*')
mem=$(( $(free -m | awk '/^Mem:/ {print $2}') * 9 / 10 ))
cat > "$SLURM_CONF" <<CONF
ClusterName=selftest
SlurmctldHost=$NODE(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
CredType=cred/munge
MailProg=/bin/true
StateSaveLocation=$BASE/state
SlurmdSpoolDir=$BASE/spool
SlurmctldPidFile=$BASE/run/slurmctld.pid
SlurmdPidFile=$BASE/run/slurmd.pid
SlurmctldLogFile=$BASE/log/slurmctld.log
SlurmdLogFile=$BASE/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerParameters=batch_sched_delay=0
NodeName=$NODE NodeAddr=127.0.0.1 $topo RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
CONF

MUNGED_PID="" CTLD_PID="" SLURMD_PID="" ok=0
cleanup() {
  local rc=$?
  set +e
  if [ -n "$CTLD_PID" ] && kill -0 "$CTLD_PID" 2>/dev/null; then
    timeout 10 scancel --user=root 2>/dev/null
    for _ in $(seq 1 60); do
      [ -z "$(timeout 5 squeue -h -o %i 2>/dev/null)" ] && break
      sleep 0.5
    done
    timeout 10 scontrol shutdown >/dev/null 2>&1   # stops slurmctld and slurmd (jobs are gone already)
  fi
  for p in $CTLD_PID $SLURMD_PID; do
    for _ in $(seq 1 20); do kill -0 "$p" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$p" 2>/dev/null && { fs_warn "daemon $p still running after shutdown; SIGTERM"; kill -TERM "$p"; }
    wait "$p" 2>/dev/null
  done
  if [ -n "$MUNGED_PID" ]; then kill -TERM "$MUNGED_PID" 2>/dev/null; wait "$MUNGED_PID" 2>/dev/null; fi
  if [ "$ok" -ne 1 ]; then
    fs_warn "self-test FAILED; daemon logs and job output follow (kept in $BASE)"
    tail -n 20 "$BASE"/log/*.log 2>/dev/null >&2
    for f in "$BASE"/work/logs/*.out; do [ -f "$f" ] && { echo "=== $f" >&2; tail -n 30 "$f" >&2; }; done
    [ "$rc" -ne 0 ] || rc=1
  else
    rm -rf "$BASE"
  fi
  fs_log "cleanup done in $(fs_elapsed "$t_start") total"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

install -d -o munge -g munge -m 0755 /run/munge
setpriv --reuid=munge --regid=munge --init-groups /usr/sbin/munged --foreground >"$BASE/log/munged.stderr" 2>&1 &
MUNGED_PID=$!
for i in $(seq 1 50); do
  munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break
  [ "$i" -lt 50 ] || fs_die "munged did not come up: $(cat "$BASE/log/munged.stderr")"
  sleep 0.1
done
slurmctld -D -i >"$BASE/log/slurmctld.stdout" 2>&1 &
CTLD_PID=$!
slurmd -D -N "$NODE" >"$BASE/log/slurmd.stdout" 2>&1 &
SLURMD_PID=$!
for i in $(seq 1 60); do
  st=$(timeout 5 sinfo -h -n "$NODE" -o %T 2>/dev/null || true)
  [ "$st" = idle ] && break
  [ "$i" -lt 60 ] || fs_die "node $NODE not idle after 30 s (state '$st')"
  sleep 0.5
done
fs_log "cluster up: node $NODE idle ($(fs_elapsed "$t_start"))"

# 4. the chain on the tiny preset
WORK=$BASE/work
fs_run out fs-train --store "$WORK/flowsteer.db" --run teacher --preset tiny --steps "$TEACHER_STEPS" \
  --checkpoint-every "$TEACHER_STEPS" --seed 0 --threads 2 --quiet
t_submit=$(date +%s)
FS_WORK=$WORK FS_TEACHER=teacher FS_BANK=bank-selftest FS_SEEDS=$SEEDS FS_SHARDS=$SHARDS \
FS_SEGMENTS=4 FS_SUBSTEPS=2 FS_CFG_RANGE=1,2 FS_STUDENT=student FS_DISTILL_STEPS=$DISTILL_STEPS \
FS_PRESET=tiny FS_DISTILL_CPUS=2 FS_EVAL_SAMPLES=$EVAL_SAMPLES FS_EVAL_CPUS=2 FS_NODE_SCRATCH=$BASE/node-local \
  bash "$ROOT/jobs/slurm/submit.sh" >"$BASE/submit.out"
. "$BASE/submit.out"
ids="$ROLLOUT_JOB,$MERGE_JOB,$DISTILL_JOB,$EVAL_JOB"
fs_log "submitted $ids; waiting (timeout ${TIMEOUT}s)"
while [ -n "$(timeout 10 squeue -h -j "$ids" -o %i 2>/dev/null || echo busy)" ]; do
  [ $(( $(date +%s) - t_submit )) -lt "$TIMEOUT" ] || fs_die "chain not finished after ${TIMEOUT}s: $(squeue -j "$ids" 2>&1)"
  sleep 1
done
fs_log "chain finished in $(fs_elapsed "$t_submit")"

# 5. checks: every job (and every array task) COMPLETED with exit 0
fail=0
ids_all=""
for t in $(seq 0 $((SHARDS - 1))); do ids_all+=" ${ROLLOUT_JOB}_$t"; done
for j in ${ids_all} "$MERGE_JOB" "$DISTILL_JOB" "$EVAL_JOB"; do
  info=$(timeout 10 scontrol show job "$j" 2>&1 || true)
  state=$(grep -o 'JobState=[A-Z_]*' <<<"$info" | head -1)
  code=$(grep -o ' ExitCode=[0-9:]*' <<<"$info" | head -1 | tr -d ' ')
  fs_log "job $j: $state $code"
  [ "$state" = JobState=COMPLETED ] && [ "$code" = ExitCode=0:0 ] || fail=1
done
[ "$fail" -eq 0 ] || fs_die "a job of the chain did not complete"
for t in $(seq 0 $((SHARDS - 1))); do
  [ -f "$WORK/shards/rollout-$t.db" ] || fs_die "shard store $t missing"
done
main=$WORK/flowsteer.db
fs_run v fs-store verify --store "$main" || fs_die "merged store does not verify"
[ "$(jq -r ".ok // empty" <<<"$v")" = true ] || fs_die "verify: $v"
fs_run ls fs-store ls --store "$main"
# the bank: complete, 12 rows of (K+1) states of 784 floats (size / row bytes)
read -r bstate bsize < <(jq -r '[.artifacts[] | select(.name == "bank-selftest")] | last // empty
                                 | "\(.state) \(.size)"' <<<"$ls")
expected=$(( 12 ))
rows=$(( ${bsize:-0} / ((4 + 1) * 784 * 4) ))
fs_log "bank-selftest: state ${bstate:-missing}, $rows rows"
[ "$bstate" = complete ] || fs_die "bank state '${bstate:-missing}', expected complete"
[ "$rows" -eq "$expected" ] && [ $(( bsize % ((4 + 1) * 784 * 4) )) -eq 0 ] || fs_die "bank has $bsize bytes = $rows rows, expected $expected"
# both shard runs were merged, and the student exists
jq -e '.runs[] | select(.name == "fs-rollout:bank-selftest:shard-1-of-2")' <<<"$ls" >/dev/null || fs_die "shard 1's rollout run missing after merge"
fs_run s fs-store show student --store "$main" || fs_die "no student checkpoint in the merged store"
# the eval result: the JSON of the eval job and FID in range
[ -f "$WORK/eval.json" ] || fs_die "eval job wrote no $WORK/eval.json"
fid=$(jq -r ".fid // empty" "$WORK/eval.json"); n=$(jq -r ".num_samples // empty" "$WORK/eval.json")
fs_log "student FID $fid on $n samples"
awk -v f="$fid" 'BEGIN { exit !(f ~ /^[0-9.eE+-]+$/ && f + 0 >= 0) }' || fs_die "eval.json has no numeric fid: $(cat "$WORK/eval.json")"
[ "$n" = "$EVAL_SAMPLES" ] || fs_die "eval used $n samples, expected $EVAL_SAMPLES"

# 6. the data-parallel distill job (jobs/slurm/distill-mpi.sbatch) with 2 tasks x 1 CPU: the same student
#    options as the chain's single-process distill job, so the same bytes (docs/operations.md).
if [ "${SELFTEST_MPI:-1}" = 1 ]; then
  command -v mpirun >/dev/null || fs_die "mpirun not installed (apt-get install openmpi-bin libopenmpi-dev), or SELFTEST_MPI=0"
  fs_log "srun --mpi=list: $(timeout 10 srun --mpi=list 2>&1 | tr '\n' ' ')"
  t_mpi=$(date +%s)
  mpi_job=$(FS_MPI_LAUNCH=${SELFTEST_MPI_LAUNCH:-mpirun} FS_SRUN_MPI=${SELFTEST_SRUN_MPI:-pmix} \
    FS_WORK=$WORK FS_TEACHER=teacher FS_BANK=bank-selftest FS_STUDENT=student-dp FS_DISTILL_STEPS=$DISTILL_STEPS \
    FS_SEGMENTS=4 FS_PRESET=tiny FS_NODE_SCRATCH=$BASE/node-local FS_ROOT=$ROOT FS_BIN=$FS_BIN \
    sbatch --parsable --ntasks=2 --cpus-per-task=1 --output="$WORK/logs/%x-%j.out" "$ROOT/jobs/slurm/distill-mpi.sbatch")
  while [ -n "$(timeout 10 squeue -h -j "$mpi_job" -o %i 2>/dev/null || echo busy)" ]; do
    [ $(( $(date +%s) - t_mpi )) -lt "$TIMEOUT" ] || fs_die "distill-mpi job $mpi_job not finished after ${TIMEOUT}s"
    sleep 1
  done
  info=$(timeout 10 scontrol show job "$mpi_job" 2>&1 || true)
  fs_log "job $mpi_job (distill-mpi, 2 tasks): $(grep -o 'JobState=[A-Z_]*' <<<"$info" | head -1) $(grep -o ' ExitCode=[0-9:]*' <<<"$info" | head -1)"
  fs_log "distill-mpi: $(grep -ho '[0-9]* ranks on [0-9]* node.*' "$WORK"/logs/fs-distill-mpi-"$mpi_job".out)"
  grep -q '^fs-distill: 2 MPI ranks$' "$WORK"/logs/fs-distill-mpi-"$mpi_job".out || fs_die "fs-distill did not report 2 MPI ranks"
  grep -q 'JobState=COMPLETED' <<<"$info" && grep -q ' ExitCode=0:0' <<<"$info" \
    || { tail -n 30 "$WORK"/logs/fs-distill-mpi-"$mpi_job".out >&2; fs_die "the distill-mpi job did not complete"; }
  fs-store export --store "$main" student -o "$BASE/student.safetensors" >/dev/null || fs_die "cannot export student"
  fs-store export --store "$main" student-dp -o "$BASE/student-dp.safetensors" >/dev/null || fs_die "cannot export student-dp"
  cmp -s "$BASE/student.safetensors" "$BASE/student-dp.safetensors" \
    || fs_die "the 2-task MPI student differs from the single-process student"
  fs_log "distill-mpi (2 MPI ranks) = distill (1 process): identical exported bytes ($(fs_elapsed "$t_mpi"))"
fi
ok=1
echo "slurm selftest: PASS (chain $(fs_elapsed "$t_submit"), total $(fs_elapsed "$t_start"))"
