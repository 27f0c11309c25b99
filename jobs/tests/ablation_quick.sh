#!/usr/bin/env bash
# jobs/ablation.sh --quick end to end (issue 7: the smoke mode finishes within 10 minutes; about 2 here), then
# ONLY=tuned --quick into a fresh store of its own: both results pages must hold their sections and target lines,
# and a rerun must skip every finished unit.
set -uo pipefail
. "$(cd "$(dirname "$0")/.." && pwd)/lib.sh"
FS_JOB=ablation-test
cd "$(dirname "$0")/../.."
passed=0 failed=0
check() { local what=$1; shift; if "$@"; then passed=$((passed + 1)); echo "ok   - $what"; else failed=$((failed + 1)); echo "FAIL - $what"; fi; }
has() { grep -qF -- "$2" "$1"; }
W=$(mktemp -d "${TMPDIR:-/tmp}/fs-ablation-test.XXXXXX")
trap 'rm -rf "$W"' EXIT

t0=$(date +%s)
OUT=$W/full bash jobs/ablation.sh --quick > "$W/full.log" 2>&1; rc=$?
took=$(( $(date +%s) - t0 ))
check "ablation --quick exits 0 (exit $rc, ${took}s)" [ "$rc" -eq 0 ]
check "it finishes within 10 minutes (${took}s)" [ "$took" -lt 600 ]
page=$W/full/results.md
for s in "## a. " "## b. " "## c. " "## d. " "## e. " "## f. " "## g. " "## h. " "## Which orderings hold" "SMOKE RUN"; do
  check "the full page has '$s'" has "$page" "$s"
done
check "the full page states the tuned target" has "$page" "FID(tuned FlowSteer (section h), 4 NFE)"
check "the tuned section has the shift row" has "$page" "+ shift-2 grid (tuned FlowSteer)"
check "the FID-vs-NFE plot was drawn" [ -s "$W/full/results/fid-vs-nfe.svg" ]
OUT=$W/full bash jobs/ablation.sh --quick > "$W/rerun.log" 2>&1; rc=$?
check "a rerun exits 0 (exit $rc)" [ "$rc" -eq 0 ]
check "a rerun trains nothing again" bash -c "! grep -q '\\$ fs-distill' '$W/rerun.log'"

ONLY=tuned OUT=$W/tuned bash jobs/ablation.sh --quick > "$W/tuned.log" 2>&1; rc=$?
check "ONLY=tuned --quick on a fresh store exits 0 (exit $rc)" [ "$rc" -eq 0 ]
page=$W/tuned/results.md
check "its page is the tuned-only page" has "$page" "section h of the ablation, run alone"
check "it states the tuned target" has "$page" "FID(tuned FlowSteer (section h), 4 NFE)"
check "it leaves out the other sections" bash -c "! grep -q '^## a\\. ' '$page'"
check "it has the longer-training row" has "$page" "trained 6 steps instead of 4"

ONLY=probes OUT=$W/tuned bash jobs/ablation.sh --quick > "$W/probes.log" 2>&1; rc=$?
check "ONLY=probes --quick into the tuned store exits 0 (exit $rc)" [ "$rc" -eq 0 ]
check "the page gains section i" has "$page" "## i. Probes on the tuned recipe"
check "section i has the teacher's reference row" has "$page" "teacher, 32 fixed steps, w* (the reference)"
check "section i has the real-data row" has "$page" "D's real = MNIST images of the label"
check "section i's teacher is evaluated on the probe seeds" bash -c "grep -q -- '--seed 500000' '$W/probes.log'"
check "section i's fine bank is solved with 16 sub-steps per segment" bash -c "grep -q -- 'fs-rollout .*-sub16 .*--substeps 16' '$W/probes.log'"
check "section i has the 64-step teacher and the backprop probe" bash -c "grep -q 'teacher, 64 fixed steps' '$page' && grep -q -- '--dist-start backprop' '$W/probes.log'"
check "section h's rows are not rerun" bash -c "! grep -q 'fs-distill .*--run tun-' '$W/probes.log'"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
