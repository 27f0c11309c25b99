#!/usr/bin/env bash
# Tests jobs/cron/nightly.sh: it evaluates the newest checkpoint, writes a dated archive that restores
# and verifies, prunes to KEEP archives, and two overlapping runs never both work (the second one is
# skipped by the lock). Prints "N passed, M failed"; exit 1 on any failure. About 1 minute.
set -uo pipefail
. "$(cd "$(dirname "$0")/.." && pwd)/lib.sh"
FS_JOB=cron-test
fs_tools fs-train fs-eval fs-store || exit 1
W=$(mktemp -d "${TMPDIR:-/tmp}/fs-cron.XXXXXX")
trap 'rm -rf "$W"' EXIT
. "$FS_ROOT/jobs/tests/lib/checks.sh"
nightly=$FS_ROOT/jobs/cron/nightly.sh
export STORE=$W/runs.db ARCHIVE_DIR=$W/archives KEEP=2 EVAL_SAMPLES=20 EVAL_STEPS=2 THREADS=1

fs-train --store "$STORE" --run t --preset tiny --steps 6 --checkpoint-every 3 --seed 1 --threads 2 --quiet >/dev/null \
  || { echo "FAIL - could not train the tiny test checkpoint"; exit 1; }

# 1. overlapping runs: start one, start a second while the first holds the lock
STAMP=2026-01-01 bash "$nightly" >"$W/a.out" 2>"$W/a.err" &
apid=$!
for _ in $(seq 1 100); do [ -s "$W/a.err" ] && break; sleep 0.1; done    # the first run logs after taking the lock
STAMP=2026-01-01 bash "$nightly" >"$W/b.out" 2>"$W/b.err"; brc=$?
wait "$apid"; arc=$?
check "first run succeeds (exit $arc)" [ "$arc" -eq 0 ]
check "overlapping second run is skipped by the lock (exit $brc: $(cat "$W/b.out"))" \
  eval '[ "$brc" -eq 0 ] && grep -q "skipped: locked" "$W/b.out"'
check "the first run evaluated the newest checkpoint t@6 and printed its FID" grep -q "t@6 FID [0-9]" "$W/a.out"
check "exactly one archive after the overlap" [ "$(ls "$W/archives" | grep -c '\.tar\.zst$')" -eq 1 ]
check "no partial archive left" eval '! ls "$W/archives" | grep -q "\.part$"'

# 2. the archive restores into a fresh store that verifies and holds the checkpoint
a=$(ls "$W"/archives/flowsteer-2026-01-01-*.tar.zst 2>/dev/null | head -1)
check "archive is named by date and checkpoint ($(basename "${a:-none}"))" [ -n "$a" ]
check "archive restores into a fresh store" eval 'fs-store restore "$a" --store "$W/restored.db" >/dev/null'
check "restored store verifies" eval 'fs-store verify --store "$W/restored.db" >/dev/null'
check "restored store has t@6 with the original content hash" \
  [ "$(fs-store show t@6 --store "$W/restored.db" --json | jq -r ".hash // empty")" = "$(fs-store show t@6 --store "$STORE" --json | jq -r ".hash // empty")" ]

# 3. retention: three more nights with KEEP=2 leave the two newest. Each night re-evaluates the same
# unchanged checkpoint (fs-eval keeps the identical stored result) and must succeed, or its archive is
# missing and the retention check below would fail for the wrong reason.
nights_failed=""
for d in 2026-01-02 2026-01-03 2026-01-04; do
  STAMP=$d bash "$nightly" >"$W/c-$d.out" 2>"$W/c-$d.err" || nights_failed+=" $d: $(grep -v '^$' "$W/c-$d.err" | tail -2 | tr '\n' ' ')"
done
check "three more nights on the unchanged checkpoint all exit 0${nights_failed:+ (failed:$nights_failed)}" [ -z "$nights_failed" ]
left=$(ls "$W/archives" | grep '\.tar\.zst$' | tr '\n' ' ')
check "retention keeps the newest 2 archives ($left)" [ "$left" = "flowsteer-2026-01-03-t_6.tar.zst flowsteer-2026-01-04-t_6.tar.zst " ]

# 4. errors are reported
check "a missing store is a clear failure" eval '! STORE=$W/none.db bash "$nightly" >/dev/null 2>"$W/d.err" && grep -q "no store at" "$W/d.err"'
checks_summary
