#!/usr/bin/env bash
# Nightly job: evaluate the newest checkpoint in the store and archive it (with its whole lineage)
# to a dated .tar.zst, keeping the newest $KEEP archives. Safe to overlap: a second run while one
# holds the lock exits 0 at once ("skipped"), so a slow night never stacks up runs.
# See crontab.example; every setting is an environment variable:
set -euo pipefail
STORE=${STORE:-${FS_STORE:-$HOME/flowsteer/flowsteer.db}}   # the store to watch (local disk)
RUN=${RUN:-}                                   # only checkpoints of this run (default: any run)
ARCHIVE_DIR=${ARCHIVE_DIR:-$(dirname "$STORE")/archives}
KEEP=${KEEP:-7}                                # archives to keep (older ones are deleted)
EVAL_SAMPLES=${EVAL_SAMPLES:-1000}
EVAL_SEED=${EVAL_SEED:-0}
EVAL_STEPS=${EVAL_STEPS:-}                     # default: the checkpoint's segments (students), else 32
THREADS=${THREADS:-$(nproc)}
LOCK=${LOCK:-$ARCHIVE_DIR/.nightly.lock}
STAMP=${STAMP:-$(date +%F)}                    # archive date (override for tests/backfills)

. "$(cd "$(dirname "$0")/.." && pwd)/lib.sh"
FS_JOB=nightly
mkdir -p "$ARCHIVE_DIR"
exec 9>"$LOCK"
if ! flock -n 9; then
  fs_log "another nightly run holds $LOCK; skipped"
  echo "skipped: locked"
  exit 0
fi
fs_tools fs-eval fs-store
[ -f "$STORE" ] || fs_die "no store at $STORE (set STORE)"

# newest complete checkpoint (highest id) of RUN, or of any run
fs_run ls fs-store ls --store "$STORE" --kind checkpoint ${RUN:+--run "$RUN"}
read -r ckpt segments < <(jq -r '[.artifacts[] | select(.state == "complete")] | max_by(.id) // empty
                                  | "\(.name) \((.metadata.segments? | numbers) // "-")"' <<<"$ls") || true
[ -n "${ckpt:-}" ] || fs_die "no complete checkpoint${RUN:+ of run $RUN} in $STORE"
steps=${EVAL_STEPS:-$([ "$segments" != "-" ] && echo "$segments" || echo 32)}
fs_log "newest checkpoint: $ckpt (evaluating at $steps steps on $EVAL_SAMPLES samples)"

fs_run ev fs-eval --store "$STORE" --checkpoint "$ckpt" --steps "$steps" --schedule fixed \
  --num-samples "$EVAL_SAMPLES" --seed "$EVAL_SEED" --threads "$THREADS"
fid=$(json_require fid "$ev")

safe=$(printf '%s' "$ckpt" | tr -c 'A-Za-z0-9._-' '_')
archive=$ARCHIVE_DIR/flowsteer-$STAMP-$safe.tar.zst
fs_run ar fs-store archive --store "$STORE" -o "$archive.part" "$ckpt"
mv -f "$archive.part" "$archive"               # never leave a half-written archive under the final name

# retention: keep the newest $KEEP dated archives (names sort by date)
mapfile -t old < <(ls -1 "$ARCHIVE_DIR"/flowsteer-*.tar.zst 2>/dev/null | sort | head -n "-$KEEP")
for f in "${old[@]}"; do rm -f -- "$f"; fs_log "retention: removed $f"; done
echo "nightly $STAMP: $ckpt FID $(fs_num "$fid" 3) ($steps steps, $EVAL_SAMPLES samples) -> $archive ($(jq -r ".artifacts // empty" <<<"$ar") artifacts)"
