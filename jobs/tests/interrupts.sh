#!/usr/bin/env bash
# Issue 24 ("nothing lost, nothing silent"), the tools' side, against the release tools (about 1-2 min):
#   1. signals: SIGTERM/SIGINT stop fs-train, fs-distill and fs-rollout at a safe point (checkpoint or
#      committed batch), exit 143/130, mark the run `interrupted`, say how to resume, and --resume ends
#      the run; a second signal aborts at once.
#   2. --resume with a different --lr (and other settings) is refused (exit 2, with the recorded value)
#      unless --override-config, which records the change.
#   3. NaN: a checkpoint with a NaN weight neither samples nor evaluates (exit 3, nothing stored); float
#      options refuse nan/inf (exit 2).
#   4. memory planning: sizes that cannot fit are refused (exit 2, saying what fits), no run left running.
#   5. shipped students sample on their own 4-step grid; a file checkpoint without a store creates no
#      ./flowsteer.db; an unwritable PNG path fails before sampling; --help examples never wrap mid-command;
#      fs-eval's human line prints FID with 3 decimals.
#   6. hostile odds: empty/huge seed lists, --threads 0, negative counts, wrong-shape and truncated files.
# Prints "N passed, M failed" and exits 1 on any failure.
set -uo pipefail
. "$(cd "$(dirname "$0")/.." && pwd)/lib.sh"
FS_JOB=interrupts
fs_tools fs-train fs-rollout fs-distill fs-eval fs-sample fs-store fs-bench || exit 1
W=$(mktemp -d "${TMPDIR:-/tmp}/fs-interrupts.XXXXXX")
trap 'rm -rf "$W"' EXIT
cd "$W"
unset FS_STORE
. "$FS_ROOT/jobs/tests/lib/checks.sh"
MODELS=$FS_ROOT/models

# run_status STORE RUN: the run's status (via sqlite3 or python3; "?" when neither is installed).
run_status() {
  if command -v sqlite3 >/dev/null 2>&1; then sqlite3 "$1" "SELECT status FROM run WHERE name = '$2'"
  elif command -v python3 >/dev/null 2>&1; then
    python3 -c 'import sqlite3,sys; r=sqlite3.connect(sys.argv[1]).execute("SELECT status FROM run WHERE name=?", (sys.argv[2],)).fetchone(); print(r[0] if r else "")' "$1" "$2"
  else echo "?"; fi
}
status_is() { local s; s=$(run_status "$1" "$2"); [ "$s" = "$3" ] || [ "$s" = "?" ] || { echo "  run $2 is '$s', not '$3'"; return 1; }; }
run_config() {
  if command -v sqlite3 >/dev/null 2>&1; then sqlite3 "$1" "SELECT config FROM run WHERE name = '$2'"
  elif command -v python3 >/dev/null 2>&1; then
    python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT config FROM run WHERE name=?", (sys.argv[2],)).fetchone()[0])' "$1" "$2"
  else echo "resume_overrides (not checked)"; fi
}

# signal_after_checkpoint SIG STORE RUN CMD...: starts CMD, waits until run RUN has a checkpoint, sends SIG,
# returns CMD's exit code (stderr in sig.err).
signal_after_checkpoint() {
  local sig=$1 db=$2 run=$3; shift 3
  "$@" >"$W/sig.out" 2>"$W/sig.err" &
  local pid=$! i
  for i in $(seq 1 600); do
    [ -f "$db" ] && [ "$(fs-store ls --store "$db" --kind checkpoint --json 2>/dev/null \
      | jq -n --arg r "$run" '[inputs | .artifacts[] | select(.run == $r)] | length')" -gt 0 ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -s "$sig" "$pid" 2>/dev/null
  wait "$pid"
}

echo "== 1. signals stop at a safe point"
signal_after_checkpoint TERM train.db t fs-train --store train.db --run t --preset tiny --steps 100000 --checkpoint-every 5 --threads 2
rc=$?
check "fs-train: SIGTERM exits 143 (exit $rc)" [ "$rc" -eq 143 ]
check "  ... says where it stopped and how to resume" grep -q "stopped by SIGTERM: checkpoint t@[0-9]* written.*--resume" sig.err
check "  ... run t is marked interrupted" status_is train.db t interrupted
step=$(grep -o 'checkpoint t@[0-9]*' sig.err | head -1 | cut -d@ -f2)
check "  ... the checkpoint of the stopping step t@$step exists" eval 'fs-store show "t@${step:-x}" --store train.db >/dev/null' 
fs-train --store train.db --run t --steps $(( ${step:-0} + 3 )) --resume --threads 2 --quiet >/dev/null 2>&1; rc=$?
check "  ... --resume continues it (exit $rc) and marks it finished" eval '[ "$rc" -eq 0 ] && status_is train.db t finished'

signal_after_checkpoint INT train2.db t fs-train --store train2.db --run t --preset tiny --steps 100000 --checkpoint-every 5 --threads 2
rc=$?
check "fs-train: SIGINT exits 130 (exit $rc) and marks the run interrupted" eval '[ "$rc" -eq 130 ] && status_is train2.db t interrupted'

fs-rollout --store train.db --teacher t --name bank --seeds 0-99999 --segments 2 --substeps 2 --batch-size 8 --threads 2 \
  >"$W/sig.out" 2>"$W/sig.err" &
pid=$!; sleep 3; kill -TERM "$pid"; wait "$pid"; rc=$?
check "fs-rollout: SIGTERM exits 143 after its batch (exit $rc)" [ "$rc" -eq 143 ]
check "  ... says how many trajectories are committed and to resume" grep -q "trajectories are committed to the open bank 'bank'.*--resume" sig.err
check "  ... its run is marked interrupted" status_is train.db "fs-rollout:bank:shard-0-of-1" interrupted
check "  ... the store verifies" eval 'fs-store verify --store train.db >/dev/null 2>&1'

signal_after_checkpoint TERM train.db d fs-distill --store train.db --run d --teacher t --method perflow --preset tiny \
  --steps 100000 --checkpoint-every 5 --pairs 64 --threads 2
rc=$?
check "fs-distill: SIGTERM exits 143 with a checkpoint (exit $rc)" eval '[ "$rc" -eq 143 ] && grep -q "checkpoint d@[0-9]* written" sig.err'
check "  ... run d is marked interrupted" status_is train.db d interrupted
dstep=$(fs-store ls --store train.db --kind checkpoint --json | jq '[.artifacts[] | select(.run == "d") | .step] | max')
fs-distill --store train.db --run d --steps "$dstep" --resume --threads 2 > /dev/null 2> "$W/done.err"; rc=$?
check "a PeRFlow run already at --steps ($dstep) says so without solving its pool again (exit $rc)" \
  eval '[ "$rc" -eq 0 ] && grep -q "nothing to do" "$W/done.err" && ! grep -q "generating" "$W/done.err"'

# A second signal during a phase without safe points (the PeRFlow pool) aborts at once.
fs-distill --store train.db --run d2 --teacher t --method perflow --preset tiny --steps 10 --pairs 200000 --threads 2 \
  >"$W/sig.out" 2>"$W/sig.err" &
pid=$!; sleep 2; kill -TERM "$pid"; sleep 0.5; t0=$(date +%s); kill -TERM "$pid"; wait "$pid"; rc=$?
check "a second SIGTERM aborts at once (exit $rc, $(( $(date +%s) - t0 )) s)" eval '[ "$rc" -eq 143 ] && [ $(( $(date +%s) - t0 )) -le 3 ]'

echo "== 2. --resume refuses silently different settings"
expect 2 "--lr 0.5 \(recorded: 0.002\)" fs-train --store train.db --run t --steps 200 --resume --lr 0.5
expect 2 "--seed 9 \(recorded: 0\)" fs-train --store train.db --run t --steps 200 --resume --seed 9
expect 2 "--lr 0.5 \(recorded: .*\).*override-config" fs-distill --store train.db --run d --steps 200 --resume --lr 0.5
expect 2 "--method \"reflow\" \(recorded: \"perflow\"\)" fs-distill --store train.db --run d --steps 200 --resume --method reflow
cur=$(fs-store ls --store train.db --kind checkpoint --json | jq '[.artifacts[] | select(.run == "t")] | length')
fs-train --store train.db --run t --steps $(( step + 5 )) --resume --lr 0.001 --override-config --threads 2 --quiet >/dev/null 2>"$W/err.txt"; rc=$?
check "--override-config applies the new --lr (exit $rc)" [ "$rc" -eq 0 ]
check "  ... and records it in the run" eval 'run_config train.db t | grep -q "resume_overrides"'

echo "== 3. NaN stops where it arises"
fs-store export t --store train.db -o good.safetensors >/dev/null
hdr=$(od -An -tu8 -N8 good.safetensors | tr -d ' ')
cp good.safetensors nan.safetensors
printf '\x00\x00\xc0\x7f' | dd of=nan.safetensors bs=1 seek=$(( 8 + hdr + 64 )) conv=notrunc 2>/dev/null
expect 3 "nan.safetensors.*NaN or infinite" fs-sample --checkpoint nan.safetensors --steps 2 --seeds 0-3 --store nan.db
check "  ... and stored nothing (no nan.db)" [ ! -e nan.db ]
expect 3 "nan.safetensors.*NaN or infinite" fs-eval --store train.db --checkpoint nan.safetensors --steps 2 --num-samples 10
for opt in "--cfg nan" "--cfg inf" "--shift nan" "--shift -1" "--stop-sigma nan"; do
  expect 2 "${opt%% *}" fs-sample --checkpoint good.safetensors --steps 2 --seeds 0-3 $opt
done
expect 2 "--cfg" fs-eval --store train.db --checkpoint t --cfg nan
expect 2 "--teacher-cfg" fs-eval --store train.db --checkpoint t --teacher t --teacher-cfg inf
expect 2 "--lr" fs-train --store train.db --run x --preset tiny --steps 2 --lr nan
expect 2 "--shift" fs-rollout --store train.db --teacher t --name b9 --seeds 0-3 --shift nan
expect 2 "--lambda-adv" fs-distill --store train.db --run x --teacher t --method perflow --lambda-adv nan
expect 2 "--ema-decay" fs-distill --store train.db --run x --teacher t --method perflow --ema-decay 2

echo "== 4. memory planning"
expect 2 "--num-samples 100000000 needs about .* fits" fs-eval --store train.db --checkpoint t --num-samples 100000000
expect 2 "--batch-size 100000 needs about .* fits" fs-train --store train.db --run big --preset tiny --steps 2 --batch-size 100000
check "  ... and left no run 'big' behind" eval '[ -z "$(run_status train.db big | grep -v "?")" ]'
expect 2 "--batch-size 64 needs about .*FS_MEMORY_LIMIT" env FS_MEMORY_LIMIT=100M fs-distill --store train.db --run big2 \
  --teacher t --method perflow --preset tiny --batch-size 64
expect 2 "--seeds \(sample count\) 10000000 needs" fs-sample --checkpoint good.safetensors --steps 2 --seeds 0-9999999

echo "== 5. shipped students, stores, outputs, help, human output"
out=$(fs-sample --checkpoint "$MODELS/student-flowsteer-4.safetensors" --seeds 0-9 --json 2>/dev/null)
check "the shipped FlowSteer student samples 4 steps by default (evaluations_per_sample $(jq -r ".evaluations_per_sample // empty" <<<"$out"))" \
  [ "$(jq -r ".evaluations_per_sample // empty" <<<"$out")" = 4 ]
check "  ... on its shift-3 grid" [ "$(jq -r ".sigmas[1] // empty" <<<"$out")" = 0.9 ]
out=$(fs-sample --checkpoint "$MODELS/student-perflow-4.safetensors" --seeds 0-9 --json 2>/dev/null)
check "the shipped PeRFlow student samples its 4-step shift-2 grid ($(jq -r ".sigmas[1] // empty" <<<"$out"))" \
  eval '[ "$(jq -r ".steps // empty" <<<"$out")" = 4 ] && [ "$(jq -r ".sigmas[1] // empty" <<<"$out")" = 0.85714287 ]'
fs-sample --checkpoint "$MODELS/student-flowsteer-4.safetensors" --steps 4 --seeds 0-9 --png grid.png >/dev/null 2>"$W/err.txt"; rc=$?
check "the README's sample command works (exit $rc) and writes grid.png" eval '[ "$rc" -eq 0 ] && [ -s grid.png ]'
check "  ... without creating ./flowsteer.db, and says so" eval '[ ! -e flowsteer.db ] && grep -q "no sample_set stored" "$W/err.txt"'
expect 2 "--png nodir/g.png: directory nodir does not exist" fs-sample --checkpoint good.safetensors --steps 2 --seeds 0-3 --png nodir/g.png
check "  ... checked before sampling (no progress line)" eval '! grep -q "done" "$W/err.txt"'
expect 2 "--save-tensors .* is a directory" fs-sample --checkpoint good.safetensors --steps 2 --seeds 0-3 --save-tensors .
expect 2 "--save-stats" fs-eval stats --mnist test --save-stats nodir/s.safetensors
for t in fs-train fs-rollout fs-distill fs-sample fs-eval fs-bench; do
  wrapped=$(COLUMNS=80 "$t" --help | awk '/^Examples?:/ {ex = 1; next} ex && /^$/ {ex = 0} ex && !/^  / {print}')
  long=$("$t" --help | grep -v USAGE | awk 'length > 80')
  check "$t --help: no example wraps mid-command, no line over 80 columns" [ -z "$wrapped$long" ]
done
# grep without -q reads the whole help: -q may exit before a help of more than one pipe write is out, and
# under pipefail the tool's SIGPIPE (141) would fail the check.
check "fs-train --help documents FS_DATA_DIR" eval 'fs-train --help | grep FS_DATA_DIR > /dev/null'
human=$(fs-eval --store train.db --checkpoint "$MODELS/student-flowsteer-4.safetensors" --num-samples 40 --seed 3 --quiet 2>/dev/null)
check "fs-eval's human line: FID with 3 decimals ($human)" eval 'grep -Eq "FID [0-9]+\.[0-9]{3}  KID" <<<"$human"'
check "  ... a negative KID is explained" eval 'grep -Eq "KID -" <<<"$human" && grep -q "below the estimator" <<<"$human" || ! grep -Eq "KID -" <<<"$human"'
out=$(fs-eval --checkpoint "$MODELS/student-flowsteer-4.safetensors" --num-samples 40 --seed 3 --json 2>"$W/err.txt"); rc=$?
check "fs-eval of a shipped .safetensors needs no store (exit $rc, FID $(jq -r ".fid // empty" <<<"$out"))" \
  eval '[ "$rc" -eq 0 ] && [ -n "$(jq -r ".fid // empty" <<<"$out")" ]'
check "  ... creates no ./flowsteer.db, and says nothing was stored" eval '[ ! -e flowsteer.db ] && grep -q "no eval_result stored" "$W/err.txt"'
expect 3 "store flowsteer.db does not exist" fs-eval --checkpoint t --num-samples 40

echo "== 6. hostile odds"
expect 2 "seed" fs-sample --checkpoint good.safetensors --steps 2 --seeds ""
expect 2 "threads" fs-sample --checkpoint good.safetensors --steps 2 --seeds 0-3 --threads 0
expect 2 "steps" fs-sample --checkpoint good.safetensors --steps -3 --seeds 0-3
expect 2 "seed" fs-sample --checkpoint good.safetensors --steps 2 --seeds 18446744073709551616
out=$(fs-sample --checkpoint good.safetensors --steps 2 --seeds 18446744073709551615 --json 2>/dev/null); rc=$?
check "the largest seed (2^64-1) samples (exit $rc)" [ "$rc" -eq 0 ]
expect 2 "num-samples" fs-eval --store train.db --checkpoint t --num-samples -5
expect 2 "--steps -1: negative values are not allowed" fs-train --store neg.db --run x --steps -1
expect 2 "--channels '0'" fs-train --store neg.db --run x --preset tiny --steps 2 --channels 0
expect 2 "unknown preset 'huge'" fs-train --store neg.db --run x --preset huge --steps 2
check "  ... usage errors of fs-train create no store" [ ! -e neg.db ]
expect 2 "batch-size" fs-distill --store train.db --run x --teacher t --method perflow --batch-size 0
head -c $(( $(wc -c < good.safetensors) - 100 )) good.safetensors > trunc.safetensors
expect 3 "trunc.safetensors" fs-sample --checkpoint trunc.safetensors --steps 2 --seeds 0-3
# a checkpoint whose config claims another UNet shape than its weights (same-length edit of the header)
head -c $(( 8 + hdr )) good.safetensors | sed 's/\[8,16\]/[8,32]/' > wrongshape.safetensors
tail -c +$(( 9 + hdr )) good.safetensors >> wrongshape.safetensors
expect 3 "wrongshape.safetensors.*do not fit" fs-sample --checkpoint wrongshape.safetensors --steps 2 --seeds 0-3
checks_summary
