#!/usr/bin/env bash
# jobs/rows.sh: a small table runs end to end from the shipped teacher, a rerun skips every row (each
# result is found in the store), a grown table runs only its new row, and malformed tables exit 2 naming
# the line.
set -uo pipefail
. "$(cd "$(dirname "$0")/.." && pwd)/lib.sh"
FS_JOB=rows-test
cd "$(dirname "$0")/../.."
fs_tools fs-rollout fs-distill fs-sample fs-eval fs-store
passed=0 failed=0
check() { local what=$1; shift; if "$@"; then passed=$((passed + 1)); echo "ok   - $what"; else failed=$((failed + 1)); echo "FAIL - $what"; fi; }
W=$(mktemp -d "${TMPDIR:-/tmp}/fs-rows-test.XXXXXX")
trap '[ "${KEEP:-0}" = 1 ] || rm -rf "$W"' EXIT
export STORE=$W/rows.db THREADS=1 OUT=$W/out

cat > "$W/t.rows" <<'ROWS'
# a tiny chain: bank, student, two evaluations, a grid
param EVAL "--num-samples 24 --seed 500000"
param N    4    2
import teacher models/teacher-mnist.safetensors
run fs-rollout --teacher teacher --name bank --seeds 0-7 --segments 2 --substeps 2 --schedule fixed --cfg-range 1,1.5 --resume
section students
run fs-distill --run s --teacher teacher --bank bank --method flowsteer --ota --segments 2 --steps ${N} --batch-size 4 --checkpoint-every 2 --resume
row abl 2 "student, 2 steps" fs-eval --checkpoint s ${EVAL} --name t/abl/s
row abl 1 "teacher, 4 'fixed' steps" fs-eval --checkpoint teacher --steps 4 --schedule fixed ${EVAL} --name t/abl/teacher
run fs-sample --checkpoint s --seeds 900000-900009 --no-store-artifact --png ${OUT}/grids/t_abl_s.png
ROWS
bash jobs/rows.sh --quick "$W/t.rows" > "$W/1.log" 2>&1; rc=$?
check "the table runs (exit $rc)" [ "$rc" -eq 0 ]
check "the student reached the --quick step count (N=2)" bash -c "fs-store show --store '$STORE' s@2 >/dev/null"
check "both evaluations are stored under their row names" bash -c "fs-store show --store '$STORE' eval_result:t/abl/s >/dev/null && fs-store show --store '$STORE' eval_result:t/abl/teacher >/dev/null"
check "the grid was written" [ -s "$OUT/grids/t_abl_s.png" ]
check "every tool got --threads 1" bash -c "! grep 'rows: done in' '$W/1.log' | grep -v -- '--threads 1'"
bash jobs/rows.sh --quick "$W/t.rows" > "$W/2.log" 2>&1; rc=$?
check "a rerun exits 0 (exit $rc)" [ "$rc" -eq 0 ]
check "a rerun runs nothing" grep -q '0 run, 6 already stored' "$W/2.log"
echo 'row abl 3 "teacher, 2 steps" fs-eval --checkpoint teacher --steps 2 ${EVAL} --name t/abl/teacher-2' >> "$W/t.rows"
bash jobs/rows.sh --quick --only students "$W/t.rows" > "$W/3.log" 2>&1; rc=$?
check "a grown table runs only its new row (exit $rc)" grep -q '1 run, 6 already stored' "$W/3.log"
THREADS=2 bash jobs/rows.sh --quick --only nothing --dry-run "$W/t.rows" > "$W/4.log" 2>&1
check "--only skips other sections but keeps the set-up rows" grep -q '0 run, 2 already stored' "$W/4.log"

bad() {  # bad WHAT LINE-TEXT EXPECTED-MESSAGE
  printf 'param X 1\n%s\n' "$2" > "$W/bad.rows"
  bash jobs/rows.sh --dry-run "$W/bad.rows" > "$W/bad.log" 2>&1; local rc=$?
  check "$1: exit 2 (exit $rc) naming line 2" bash -c "[ $rc -eq 2 ] && grep -q 'bad.rows:2: .*$3' '$W/bad.log'"
}
bad "an unknown row kind" "frobnicate x" "unknown row kind"
bad "an undefined param" 'run fs-eval --num-samples ${Y}' 'not a param'
bad "a row without --name" 'row abl 1 "x" fs-eval --checkpoint teacher' "needs --name"
bad "a row that is not fs-eval" 'row abl 1 "x" fs-sample --checkpoint teacher' "is an fs-eval command"
bad "unbalanced quotes" 'row abl 1 "x fs-eval' "unbalanced quotes"
bad "a non-tool command" 'run rm -rf /' "not a FlowSteer tool"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
