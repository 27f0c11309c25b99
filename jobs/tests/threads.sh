#!/usr/bin/env bash
# Issue 22 acceptance: the same command gives the same bits at any --threads. Runs, at --threads 1, 2 and 4
# (THREAD_COUNTS), each in a store of its own:
#   fs-train   (preset tiny)                                   -> checkpoint content hash, exported bytes
#   fs-rollout (a small bank of that teacher)                  -> bank content hash, exported bytes
#   fs-distill (FlowSteer + OTA + adversarial, from that bank) -> checkpoint content hash, exported bytes
#   fs-eval    (that student, 300 samples, bootstrap B=50, --teacher) -> fid, kid, 95% intervals, trajectory MSE
# and requires every one identical across the thread counts; then resumes a teacher run at another thread
# count than it started with and requires the uninterrupted run's bytes. Prints "N passed, M failed".
#
#   jobs/tests/threads.sh                          # builds the release tools when FS_BIN is not set
#   THREAD_COUNTS="1 2 3 4" jobs/tests/threads.sh
#
# About 20-40 s on 2 cores.
set -uo pipefail
. "$(cd "$(dirname "$0")/.." && pwd)/lib.sh"
FS_JOB=threads-test
fs_tools fs-train fs-rollout fs-distill fs-eval fs-store || exit 1
W=$(mktemp -d "${TMPDIR:-/tmp}/fs-threads.XXXXXX")
trap 'rm -rf "$W"' EXIT
THREAD_COUNTS=${THREAD_COUNTS:-1 2 4}
. "$FS_ROOT/jobs/tests/lib/checks.sh"
hash_of() { fs-store show --store "$1" "$2" --json 2>/dev/null | jq -r ".hash // empty"; }
# same FILE...: all files exist, are non-empty and hold the same bytes.
same() { local f; for f in "$@"; do [ -s "$f" ] && cmp -s "$1" "$f" || return 1; done; }
# all_equal WORD...: every word equal to the first, none empty.
all_equal() { local w; for w in "$@"; do [ -n "$w" ] && [ "$w" = "$1" ] || return 1; done; }

common=(--run t --preset tiny --checkpoint-every 10 --seed 3 --quiet)
train=("${common[@]}" --steps 20)
rollout=(--teacher t --name bank --seeds 0-23 --segments 2 --substeps 2 --schedule fixed --quiet)
distill=(--run s --teacher t --bank bank --method flowsteer --ota --adversarial --lambda-adv 0.1 --lambda-fm 0.1
         --segments 2 --schedule fixed --steps 6 --preset tiny --quiet)
th=() bh=() sh=() tf=() bf=() sf=() ev=()
eval_fields='[.fid, .fid_ci95[0], .fid_ci95[1], .kid, .kid_ci95[0], .kid_ci95[1], .trajectory_mse] | map(tostring) | join(",")'
for n in $THREAD_COUNTS; do
  db="$W/t$n.db"
  rc=0
  fs-train --store "$db" "${train[@]}" --threads "$n" > /dev/null 2> "$W/train$n.err" \
    && fs-rollout --store "$db" "${rollout[@]}" --threads "$n" > /dev/null 2> "$W/rollout$n.err" \
    && fs-distill --store "$db" "${distill[@]}" --threads "$n" > /dev/null 2> "$W/distill$n.err" || rc=$?
  check "train -> rollout -> distill at --threads $n (exit $rc)" [ "$rc" -eq 0 ]
  [ "$rc" -eq 0 ] || { tail -5 "$W"/*"$n".err; continue; }
  fs-store export --store "$db" t@20 -o "$W/teacher$n.safetensors" > /dev/null
  fs-store export --store "$db" bank -o "$W/bank$n.safetensors" > /dev/null
  fs-store export --store "$db" s@6 -o "$W/student$n.safetensors" > /dev/null
  th+=("$(hash_of "$db" t@20)"); bh+=("$(hash_of "$db" bank)"); sh+=("$(hash_of "$db" s@6)")
  tf+=("$W/teacher$n.safetensors"); bf+=("$W/bank$n.safetensors"); sf+=("$W/student$n.safetensors")
  e=$(fs-eval --store "$db" --checkpoint s@6 --num-samples 300 --seed 7 --bootstrap 50 --teacher t --threads "$n" --json 2>/dev/null)
  ev+=("$(jq -r "$eval_fields" <<<"$e")")
  echo "     --threads $n: teacher ${th[-1]:0:12}  bank ${bh[-1]:0:12}  student ${sh[-1]:0:12}  eval ${ev[-1]}"
done
check "fs-train: checkpoint content hashes identical across --threads $THREAD_COUNTS" all_equal "${th[@]}"
check "fs-train: exported safetensors byte-identical" same "${tf[@]}"
check "fs-rollout: bank content hashes identical" all_equal "${bh[@]}"
check "fs-rollout: exported banks byte-identical" same "${bf[@]}"
check "fs-distill: checkpoint content hashes identical" all_equal "${sh[@]}"
check "fs-distill: exported safetensors byte-identical" same "${sf[@]}"
check "fs-eval: fid, kid, their bootstrap intervals and trajectory MSE identical" eval 'all_equal "${ev[@]}" && [[ ",${ev[0]}," != *",,"* ]]'
# The teacher's samples for trajectory MSE were kept in the store: a second evaluation (another thread count)
# reads them and gives the same numbers.
set -- $THREAD_COUNTS
e=$(fs-eval --store "$W/t$1.db" --checkpoint s@6 --num-samples 300 --seed 7 --bootstrap 50 --teacher t --threads "${!#}" --json 2> "$W/cached.err")
check "fs-eval --teacher again: the teacher's samples come from the store, same numbers" \
  eval 'grep -q "teacher samples of seeds 7-306 from the store" "$W/cached.err" && all_equal "$(jq -r "$eval_fields" <<<"$e")" "${ev[0]}"'

# Resume across thread counts: 10 steps at the first count, the rest at the last; same bytes as uninterrupted.
set -- $THREAD_COUNTS; first=$1; last=${!#}
fs-train --store "$W/r.db" "${common[@]}" --steps 10 --threads "$first" > /dev/null 2>&1 \
  && [ -n "$(hash_of "$W/r.db" t@10)" ] && [ -z "$(hash_of "$W/r.db" t@20)" ] \
  && fs-train --store "$W/r.db" "${train[@]}" --threads "$last" --resume > /dev/null 2>&1 \
  && fs-store export --store "$W/r.db" t@20 -o "$W/resumed.safetensors" > /dev/null
check "fs-train resumed at --threads $last after 10 steps at --threads $first: same hash and bytes" \
  eval 'all_equal "$(hash_of "$W/r.db" t@20)" "${th[0]}" && same "${tf[0]}" "$W/resumed.safetensors"'
checks_summary
