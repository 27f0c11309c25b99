#!/usr/bin/env bash
# Issue 4 acceptance: SIGKILL `fs-train --preset tiny` mid-run (twice, at moments that depend on how far
# it got), resume it with --resume, and require the final checkpoint to be bit-identical to an
# uninterrupted run with the same seed (threads.sh covers resuming at another thread count): equal content hash of the whole checkpoint
# (model, EMA, AdamW moments, metadata) and byte-identical `fs-store export` files. Also checks that
# the resumed store verifies and holds no partial artifact.
#
#   jobs/tests/train_resume.sh                 # builds fs-train and fs-store (release) first
#   FS_BIN=/path/to/bin jobs/tests/train_resume.sh   # use already built tools
#   STEPS=60 EVERY=10 THREADS=2 SEED=3 jobs/tests/train_resume.sh
#
# Exit 0 on success, 1 on a mismatch or failure. Takes about a minute in release on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
STEPS=${STEPS:-120}
EVERY=${EVERY:-10}
THREADS=${THREADS:-2}
SEED=${SEED:-3}
if [ -z "${FS_BIN:-}" ]; then
  for p in fs-train fs-store; do swift build -c release --product "$p" 2>&1 | tail -1; done
  FS_BIN=$(swift build -c release --show-bin-path)
fi
TRAIN="$FS_BIN/fs-train"; STORE="$FS_BIN/fs-store"
[ -x "$TRAIN" ] && [ -x "$STORE" ] || { echo "train_resume: no fs-train/fs-store in $FS_BIN" >&2; exit 1; }
# JSON helpers on stdin (jq, which jobs/setup.sh installs): the hash field, and how many artifacts are
# (or are not) in state "complete".
json_hash() { jq -r .hash; }
json_count() {  # $1 = complete | incomplete
  if [ "$1" = complete ]; then jq '[.artifacts[] | select(.state == "complete")] | length'
  else jq '[.artifacts[] | select(.state != "complete")] | length'; fi
}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/train_resume.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
args=(--run r --preset tiny --steps "$STEPS" --checkpoint-every "$EVERY" --seed "$SEED" --threads "$THREADS" --quiet)

echo "train_resume: uninterrupted run ($STEPS steps, checkpoint every $EVERY, seed $SEED, $THREADS threads)"
t_a=$(date +%s%N)
"$TRAIN" --store "$WORK/a.db" "${args[@]}" --json > "$WORK/a.json"
t_a=$(( ($(date +%s%N) - t_a) / 1000000 ))   # ms: the kills below wait fractions of it, so they land mid-run
# frac LO HI: a random delay in seconds between LO% and HI% of the uninterrupted run's wall time.
frac() { awk -v ms="$t_a" -v lo="$1" -v hi="$2" -v r="$RANDOM" 'BEGIN { printf "%.3f\n", ms / 1000 * (lo + (hi - lo) * r / 32767) / 100 }'; }

# Number of complete checkpoints of run r in store $1 (0 while the store does not exist yet).
checkpoints() {
  [ -f "$1" ] || { echo 0; return; }
  "$STORE" ls --store "$1" --kind checkpoint --run r --json 2>/dev/null \
    | json_count complete 2>/dev/null || echo 0
}

# Starts fs-train on b.db, waits until it has written at least $1 checkpoints, sleeps $2 more seconds,
# and SIGKILLs it. Fails if the run finished before it could be killed.
kill_after() {
  local want=$1 extra=$2 resume=${3:-}
  "$TRAIN" --store "$WORK/b.db" "${args[@]}" $resume > /dev/null 2> "$WORK/b.err" &
  local pid=$!
  local t=0
  while [ "$(checkpoints "$WORK/b.db")" -lt "$want" ]; do
    kill -0 "$pid" 2>/dev/null || { echo "train_resume: fs-train exited before $want checkpoints" >&2; cat "$WORK/b.err" >&2; exit 1; }
    sleep 0.2; t=$((t + 1))
    [ "$t" -lt 3000 ] || { echo "train_resume: timed out waiting for checkpoint $want" >&2; kill -9 "$pid"; exit 1; }
  done
  sleep "$extra"
  if ! kill -9 "$pid" 2>/dev/null; then
    echo "train_resume: run finished before the kill; use more --steps" >&2; exit 1
  fi
  wait "$pid" 2>/dev/null || true
  echo "train_resume: killed fs-train (SIGKILL) with $(checkpoints "$WORK/b.db") checkpoints stored"
}

# After checkpoint 1 (of STEPS/EVERY) most of the run is left; after checkpoint 3 about half. The extra
# delays stay well inside that, whatever the machine's speed (a fixed 0.1-0.9 s outlived a fast run).
kill_after 1 "$(frac 2 10)"
kill_after 3 "$(frac 2 20)" --resume
echo "train_resume: resuming to the end"
"$TRAIN" --store "$WORK/b.db" "${args[@]}" --resume --json > "$WORK/b.json"

ref="r@$STEPS"
ha=$("$STORE" show --store "$WORK/a.db" "$ref" --json | json_hash)
hb=$("$STORE" show --store "$WORK/b.db" "$ref" --json | json_hash)
"$STORE" export --store "$WORK/a.db" "$ref" -o "$WORK/a.safetensors" > /dev/null
"$STORE" export --store "$WORK/b.db" "$ref" -o "$WORK/b.safetensors" > /dev/null
"$STORE" verify --store "$WORK/b.db" > /dev/null
partial=$("$STORE" ls --store "$WORK/b.db" --json | json_count incomplete)
echo "train_resume: final checkpoint hash uninterrupted $ha, killed+resumed $hb"
status=0
[ -n "$ha" ] && [ "$ha" = "$hb" ] || { echo "FAIL: checkpoint content hashes differ" >&2; status=1; }
cmp "$WORK/a.safetensors" "$WORK/b.safetensors" || { echo "FAIL: exported weights differ" >&2; status=1; }
[ "$partial" = 0 ] || { echo "FAIL: $partial partial artifacts visible" >&2; status=1; }
[ "$status" = 0 ] && echo "PASS: resumed run is bit-identical to the uninterrupted one (hash and exported bytes)"
exit "$status"
