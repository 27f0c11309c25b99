#!/usr/bin/env bash
# Issue 22 acceptance: data-parallel fs-train and fs-distill over MPI give the same bits as one process.
#   1. fs-train (preset tiny, 20 steps) one process (no launcher), `mpirun -np 2` and `-np 4` (1 thread per
#      rank), each in a store of its own: the checkpoints' content hashes and exported bytes are identical.
#   2. fs-rollout a small bank in each store, then fs-distill (FlowSteer + OTA + adversarial, batch 8,
#      adversarial batch 4) the same way: identical hashes and bytes.
#   3. Failure: an `mpirun -np 2` fs-train whose rank 0 (the store's writer) gets kill -9 after its second
#      checkpoint: the job exits non-zero, `fs-store verify` passes, and `--resume` under `-np 4` ends with
#      the bytes of an uninterrupted one-process run. The same for fs-distill under `-np 4` with rank 1
#      killed, resumed by one process.
#   4. Divergence is collective: `-np 2` fs-train at an absurd --lr exits 5 and the run is marked failed.
# Prints "N passed, M failed". Skips (exit 0) without mpirun. About 30-40 s on 2 cores.
set -uo pipefail
. "$(cd "$(dirname "$0")/.." && pwd)/lib.sh"
FS_JOB=data-parallel-test
command -v mpirun > /dev/null || { echo "skip - mpirun not installed (apt-get install openmpi-bin libopenmpi-dev)"; exit 0; }
fs_tools fs-train fs-rollout fs-distill fs-store || exit 1
TRAIN_BIN=$(command -v fs-train); DISTILL_BIN=$(command -v fs-distill)
W=$(mktemp -d "${TMPDIR:-/tmp}/fs-dp.XXXXXX")
trap 'rm -rf "$W"' EXIT
RANKS=${RANKS:-2 4}
MPI=(timeout 120 mpirun --oversubscribe); [ "$(id -u)" -eq 0 ] && MPI+=(--allow-run-as-root)
. "$FS_ROOT/jobs/tests/lib/checks.sh"
hash_of() { fs-store show --store "$1" "$2" --json 2>/dev/null | jq -r ".hash // empty"; }
same() { local f; for f in "$@"; do [ -s "$f" ] && cmp -s "$1" "$f" || return 1; done; }
all_equal() { local w; for w in "$@"; do [ -n "$w" ] && [ "$w" = "$1" ] || return 1; done; }
# launch P TOOL ARGS...: the tool as one process (P = 1, no launcher) or under mpirun -np P.
launch() { local p=$1 tool=$2; shift 2; if [ "$p" = 1 ]; then "$tool" "$@"; else "${MPI[@]}" -np "$p" "$tool" "$@"; fi; }

train=(--run t --preset tiny --checkpoint-every 10 --seed 3 --threads 1 --quiet)
rollout=(--teacher t --name bank --seeds 0-23 --segments 2 --substeps 2 --schedule fixed --quiet --threads 2)
distill=(--run s --teacher t --bank bank --method flowsteer --ota --adversarial --lambda-adv 0.1 --lambda-fm 0.1
         --segments 2 --schedule fixed --preset tiny --batch-size 8 --adv-batch-size 4 --threads 1 --quiet)

th=() sh=() tf=() sf=()
for p in 1 $RANKS; do
  db="$W/p$p.db" rc=0
  launch "$p" "$TRAIN_BIN" --store "$db" "${train[@]}" --steps 20 > /dev/null 2> "$W/train$p.err" \
    && fs-rollout --store "$db" "${rollout[@]}" > /dev/null 2> "$W/rollout$p.err" \
    && launch "$p" "$DISTILL_BIN" --store "$db" "${distill[@]}" --steps 6 > /dev/null 2> "$W/distill$p.err" || rc=$?
  check "train -> rollout -> distill with $p rank(s) (exit $rc)" [ "$rc" -eq 0 ]
  [ "$rc" -eq 0 ] || { tail -5 "$W"/*"$p".err; continue; }
  fs-store export --store "$db" t@20 -o "$W/teacher$p.safetensors" > /dev/null
  fs-store export --store "$db" s@6 -o "$W/student$p.safetensors" > /dev/null
  th+=("$(hash_of "$db" t@20)"); sh+=("$(hash_of "$db" s@6)")
  tf+=("$W/teacher$p.safetensors"); sf+=("$W/student$p.safetensors")
  echo "     $p rank(s): teacher ${th[-1]:0:12}  student ${sh[-1]:0:12}"
done
check "fs-train: checkpoint content hashes identical for 1 $RANKS ranks" all_equal "${th[@]}"
check "fs-train: exported safetensors byte-identical" same "${tf[@]}"
check "fs-distill: checkpoint content hashes identical (student, EMA, D, both AdamW states)" all_equal "${sh[@]}"
check "fs-distill: exported safetensors byte-identical" same "${sf[@]}"
check "the run records gradient_chunks 4" eval 'fs-store show --store "$W/p1.db" t@20 --json | grep -q "gradient_chunks.\{0,4\}4"'

# kill_rank P RANK DB WAIT_FOR TOOL ARGS...: starts TOOL under mpirun -np P, waits for checkpoint WAIT_FOR,
# kill -9s the given rank's process (a child of mpirun, found by its OMPI_COMM_WORLD_RANK); returns mpirun's status.
kill_rank() {
  local p=$1 rank=$2 db=$3 want=$4 tool=$5 mp pid k i; shift 5
  "${MPI[@]}" -np "$p" "$tool" --store "$db" "$@" > /dev/null 2> "$W/killed.err" &
  mp=$!
  for i in $(seq 1 300); do [ -n "$(hash_of "$db" "$want")" ] && break; sleep 0.1; done
  pid=""
  for k in $(pgrep -P "$(pgrep -P "$mp" -x mpirun || echo "$mp")" 2>/dev/null); do
    tr '\0' '\n' < "/proc/$k/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$rank" && pid=$k
  done
  [ -n "$pid" ] && kill -9 "$pid"
  wait "$mp"
}

# 3a. fs-train: rank 0 killed after t@20 of 60; resumed under -np 4; vs one uninterrupted process.
fs-train --store "$W/ref.db" "${train[@]}" --steps 60 > /dev/null 2>&1
rc=0; kill_rank 2 0 "$W/k.db" t@20 "$TRAIN_BIN" "${train[@]}" --steps 60 || rc=$?
check "fs-train -np 2 with rank 0 killed -9 exits non-zero (exit $rc) before finishing" \
  eval '[ "$rc" -ne 0 ] && [ -z "$(hash_of "$W/k.db" t@60)" ]'
check "fs-store verify passes after the kill" eval 'fs-store verify --store "$W/k.db" > /dev/null 2>&1'
fs-store export --store "$W/ref.db" t@60 -o "$W/ref.safetensors" > /dev/null 2>&1
rc=0; launch 4 "$TRAIN_BIN" --store "$W/k.db" "${train[@]}" --steps 60 --resume > /dev/null 2>&1 || rc=$?
fs-store export --store "$W/k.db" t@60 -o "$W/resumed.safetensors" > /dev/null 2>&1
check "fs-train --resume under -np 4 (exit $rc) ends with the uninterrupted run's hash and bytes" \
  eval '[ "$rc" -eq 0 ] && all_equal "$(hash_of "$W/k.db" t@60)" "$(hash_of "$W/ref.db" t@60)" && same "$W/ref.safetensors" "$W/resumed.safetensors"'

# 3b. fs-distill: rank 1 of 4 killed after s@10 of 40; resumed by one process; vs one uninterrupted process.
fs-distill --store "$W/p1.db" "${distill[@]}" --run s40 --steps 40 --checkpoint-every 5 > /dev/null 2>&1
cp "$W/p1.db" "$W/kd.db"; [ -f "$W/p1.db-wal" ] && cp "$W/p1.db-wal" "$W/kd.db-wal"
rc=0; kill_rank 4 1 "$W/kd.db" s40k@10 "$DISTILL_BIN" "${distill[@]}" --run s40k --steps 40 --checkpoint-every 5 || rc=$?
check "fs-distill -np 4 with rank 1 killed -9 exits non-zero (exit $rc) before finishing" \
  eval '[ "$rc" -ne 0 ] && [ -z "$(hash_of "$W/kd.db" s40k@40)" ]'
check "fs-store verify passes after the kill" eval 'fs-store verify --store "$W/kd.db" > /dev/null 2>&1'
rc=0; fs-distill --store "$W/kd.db" --run s40k --resume --quiet --threads 2 > /dev/null 2>&1 || rc=$?
fs-store export --store "$W/p1.db" s40@40 -o "$W/dref.safetensors" > /dev/null 2>&1
fs-store export --store "$W/kd.db" s40k@40 -o "$W/dres.safetensors" > /dev/null 2>&1
check "fs-distill --resume by one process (exit $rc) ends with the uninterrupted run's bytes" \
  eval '[ "$rc" -eq 0 ] && same "$W/dref.safetensors" "$W/dres.safetensors"'

# 4. Divergence: every rank sees the same loss and stops; exit 5, run failed.
rc=0; launch 2 "$TRAIN_BIN" --store "$W/dv.db" "${train[@]}" --steps 30 --lr 1e30 > /dev/null 2>&1 || rc=$?
check "fs-train -np 2 diverging exits 5 on every rank (exit $rc) and marks the run failed" \
  eval '[ "$rc" -eq 5 ] && fs-store ls --store "$W/dv.db" --json | jq -e "any(.runs[]; .status == \"failed\")" >/dev/null'
checks_summary
