#!/usr/bin/env bash
# jobs/ablation.sh --quick end to end (the rows of jobs/tables/mnist.rows with their --quick counts, then the page
# rendered by fs-store report): every section's block is filled from the store, a rerun runs nothing, --results-only
# renders the same page without running a tool; then ONLY=tuned into a fresh store and ONLY=probes into that store.
set -uo pipefail
. "$(cd "$(dirname "$0")/.." && pwd)/lib.sh"
FS_JOB=ablation-test
cd "$(dirname "$0")/../.."
. "$FS_ROOT/jobs/tests/lib/checks.sh"
has() { grep -qF -- "$2" "$1"; }
W=$(mktemp -d "${TMPDIR:-/tmp}/fs-ablation-test.XXXXXX")
trap '[ "${KEEP:-0}" = 1 ] || rm -rf "$W"' EXIT

# cpu_seconds FILE: user + system CPU seconds of the children waited for, from `times > FILE` (its second line;
# run in this shell, not in $(...), whose subshell has no children of its own). The budget is in CPU time, not
# wall time: CI runs this test beside the other stages on the same cores.
cpu_seconds() { awk 'NR == 2 { n = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); n += a[1] * 60 + a[2] } printf "%d", n }' "$1"; }
t0=$(date +%s); times > "$W/times0"
OUT=$W/full bash jobs/ablation.sh --quick > "$W/full.log" 2>&1; rc=$?
times > "$W/times1"; took=$(( $(date +%s) - t0 )) cpu=$(( $(cpu_seconds "$W/times1") - $(cpu_seconds "$W/times0") ))
check "ablation --quick exits 0 (exit $rc, ${took}s wall, ${cpu}s CPU)" [ "$rc" -eq 0 ]
check "it takes under 10 minutes of CPU (${cpu}s)" [ "$cpu" -lt 600 ]
page=$W/full/results.md
for s in "## a. " "## b. " "## c. " "## d. " "## e. " "## f. " "## g. " "## h. " "## i. " "## Which orderings hold" "SMOKE RUN"; do
  check "the page has '$s'" has "$page" "$s"
done
check "no block keeps the previous pipeline's numbers or placeholders" bash -c "! grep -q -e '(not run yet)' -e 'results/grids/abl_' -e 'against a noise floor' -e 'previous pipeline' '$page'"
check "every evaluation row has a FID (no dashes in the FID column)" bash -c "! grep -E '^\\| [^|]+ \\| \`mnist/[^|]*\` \\| – \\|' '$page'"
check "the chain's full FlowSteer row is there with its grid" bash -c "grep -F '| full FlowSteer (OTA + adv + FM, fixed) | \`mnist/abl/FULL-s0\` |' '$page' | grep -q 'grid](results/grids/mnist_abl_FULL-s0.png)'"
check "trajectory MSE comes from fs-eval --teacher" bash -c "grep -q 'traj MSE' '$page' && grep -q -- 'fs-eval --checkpoint abl-A-s0 .*--teacher teacher' '$W/full.log'"
check "the page states the tuned target" has "$page" "FID(tuned FlowSteer (section h), 4 NFE)"
check "the orderings are decided" has "$page" "- the fixed schedule helps PeRFlow (A → B): **"
check "the tuned section has the shift row" has "$page" "+ shift-2 grid (tuned FlowSteer)"
check "the FID-vs-NFE plot was drawn as a PNG" bash -c "[ \"\$(head -c 4 '$W/full/results/fid-vs-nfe.png' | tail -c 3)\" = PNG ] && grep -q '](results/fid-vs-nfe.png)' '$page'"
check "no shell writes safetensors or parses JSON: ablation.sh and rows.sh hold none of it, results.sh is gone" \
  bash -c "[ ! -e jobs/results.sh ] && ! grep -n -e record_put -e json_flat -e json_get -e __metadata__ -e perl jobs/ablation.sh jobs/rows.sh"
OUT=$W/full bash jobs/ablation.sh --quick > "$W/rerun.log" 2>&1; rc=$?
check "a rerun exits 0 (exit $rc)" [ "$rc" -eq 0 ]
check "a rerun runs nothing" bash -c "grep -q 'all rows done in .*: 0 run, ' '$W/rerun.log' && ! grep -q '\\$ fs-' '$W/rerun.log'"
cp "$page" "$W/page-before.md"; rm -f "$page"
OUT=$W/full bash jobs/ablation.sh --quick --results-only > "$W/results.log" 2>&1; rc=$?
check "--results-only renders the page again (exit $rc) without running a tool" \
  bash -c "[ $rc -eq 0 ] && ! grep -qE 'rows( \\[[0-9]+/[0-9]+\\])?: ' '$W/results.log' && diff <(grep -v '^> Rendered from' '$W/page-before.md') <(grep -v '^> Rendered from' '$page') >/dev/null"

ONLY=tuned OUT=$W/tuned bash jobs/ablation.sh --quick > "$W/tuned.log" 2>&1; rc=$?
check "ONLY=tuned --quick on a fresh store exits 0 (exit $rc)" [ "$rc" -eq 0 ]
page=$W/tuned/results.md
check "its page says which sections ran" has "$page" "Sections run: **tuned**"
check "it states the tuned target" has "$page" "FID(tuned FlowSteer (section h), 4 NFE)"
check "it ran no other section (section d's rows show dashes)" bash -c "grep -qF '| PeRFlow, diffusers grid | \`mnist/abl/A-s0\` | – |' '$page' && ! grep -q 'fs-distill --run abl-' '$W/tuned.log'"
check "it has the longer-training row" has "$page" "trained 6 steps instead of 4"

ONLY=probes OUT=$W/tuned bash jobs/ablation.sh --quick > "$W/probes.log" 2>&1; rc=$?
check "ONLY=probes --quick into the tuned store exits 0 (exit $rc)" [ "$rc" -eq 0 ]
check "the page's section i has the teacher's reference row" has "$page" "teacher, 32 fixed steps, w* (the reference)"
check "section i has the real-data row" has "$page" "D's real = MNIST images of the label"
check "section i's teacher is evaluated on the probe seeds" bash -c "grep -q -- 'fs-eval --checkpoint teacher .*--seed 500000 .*--name mnist/probe/teacher-32' '$W/probes.log'"
check "section i's fine bank is solved with 16 sub-steps per segment" bash -c "grep -q -- 'fs-rollout .*-sub16 .*--substeps 16' '$W/probes.log'"
check "section i has the 64-step teacher and the backprop probe" bash -c "grep -q 'teacher, 64 fixed steps' '$page' && grep -q -- '--dist-start backprop' '$W/probes.log'"
check "section h's rows are not rerun" bash -c "! grep -q '\\$ fs-distill --run tun-' '$W/probes.log'"

checks_summary
