#!/usr/bin/env bash
# Runs jobs/pipeline.sh end to end on the tiny preset (train -> rollout -> distill -> sample -> eval ->
# archive, each step fed by the previous one's JSON) and checks its products: the PNG grid, the eval
# JSON, an archive that restores into a fresh store with the student's whole lineage, and that a
# second run resumes every step instead of redoing it; then the shipped students import and sample. Prints "N passed, M failed". About 1 minute.
set -uo pipefail
. "$(cd "$(dirname "$0")/.." && pwd)/lib.sh"
FS_JOB=pipeline-test
fs_tools fs-train fs-rollout fs-distill fs-sample fs-eval fs-store || exit 1
W=$(mktemp -d "${TMPDIR:-/tmp}/fs-pipeline.XXXXXX")
trap 'rm -rf "$W"' EXIT
. "$FS_ROOT/jobs/tests/lib/checks.sh"
export OUT=$W/out PRESET=tiny TEACHER_STEPS=20 CHECKPOINT_EVERY=10 BANK_SEEDS=0-15 SUBSTEPS=2 DISTILL_STEPS=8 \
  GRID_SEEDS=0-19 EVAL_SAMPLES=30 THREADS=2

bash "$FS_ROOT/jobs/pipeline.sh" >"$W/run1.out" 2>"$W/run1.err"; rc=$?
check "pipeline.sh exits 0 (exit $rc)" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || tail -20 "$W/run1.err"
check "it reports the student and its FID" grep -q "eval     FID [0-9]" "$W/run1.out"
check "  ... rounded for people: FID with 3 decimals, KID with 5 (issue 24)" grep -Eq "eval     FID [0-9]+\.[0-9]{3}, KID -?[0-9]\.[0-9]{5}[ ,]" "$W/run1.out"
check "the grid is a PNG" eval '[ "$(head -c 8 "$OUT/student-grid.png" | od -An -tx1 | tr -d " \n")" = 89504e470d0a1a0a ]'
check "eval.json holds fid, kid and num_samples $EVAL_SAMPLES" \
  eval '[ -n "$(jq -r ".fid // empty" "$OUT/eval.json")" ] && [ -n "$(jq -r ".kid // empty" "$OUT/eval.json")" ] && [ "$(jq -r ".num_samples // empty" "$OUT/eval.json")" = "$EVAL_SAMPLES" ]'
check "eval.json holds precision and recall in [0, 1]" \
  eval 'awk -v p="$(jq -r ".precision // empty" "$OUT/eval.json")" -v r="$(jq -r ".recall // empty" "$OUT/eval.json")" "BEGIN { exit !(p != \"\" && r != \"\" && p >= 0 && p <= 1 && r >= 0 && r <= 1) }"'
check "the pipeline's store verifies" eval 'fs-store verify --store "$OUT/flowsteer.db" >/dev/null'

fs-store restore "$OUT/student.tar.zst" --store "$W/restored.db" >/dev/null 2>"$W/restore.err"
check "the archive restores into a fresh store ($(cat "$W/restore.err"))" [ -s "$W/restored.db" ]
check "the restored store verifies" eval 'fs-store verify --store "$W/restored.db" >/dev/null'
show=$(fs-store show student --store "$W/restored.db" --json 2>/dev/null)
kinds=$(jq -r '[.lineage | .. | objects | .kind? | strings] | unique | join(" ")' <<<"$show")
check "the restored student keeps its lineage: bank and teacher ($kinds)" \
  eval '[[ "$kinds" == *trajectory_bank* ]] && [[ "$kinds" == *checkpoint* ]]'
check "the restored student is the same content as the original" \
  [ "$(jq -r ".hash // empty" <<<"$show")" = "$(fs-store show student --store "$OUT/flowsteer.db" --json | jq -r ".hash // empty")" ]

before=$(fs-store ls --store "$OUT/flowsteer.db" --kind checkpoint --json | jq '.artifacts | length')
bash "$FS_ROOT/jobs/pipeline.sh" >"$W/run2.out" 2>"$W/run2.err"; rc=$?
after=$(fs-store ls --store "$OUT/flowsteer.db" --kind checkpoint --json | jq '.artifacts | length')
check "a second run succeeds (exit $rc) and resumes instead of retraining ($before -> $after checkpoints)" \
  eval '[ "$rc" -eq 0 ] && [ "$before" -eq "$after" ]'
# the shipped students (issue 7 §4): importable with fs-store import, 4 steps on the grid their file records
fs-store init --store "$W/shipped.db" >/dev/null
for m in student-flowsteer-4 student-perflow-4 student-reflow-4 student-pcm-4 student-flowsteer-4-tuned; do
  check "models/$m.safetensors imports with fs-store import" \
    eval 'fs-store import "$FS_ROOT/models/$m.safetensors" --store "$W/shipped.db" --name "$m" >/dev/null'
  check "$m samples 4 steps of 20 seeds into a PNG" \
    eval 'fs-sample --store "$W/shipped.db" --checkpoint "$m" --steps 4 --seeds 0-19 --png "$W/$m.png" --threads 2 >/dev/null 2>&1 && [ -s "$W/$m.png" ]'
done
checks_summary
