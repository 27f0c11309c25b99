#!/usr/bin/env bash
# jobs/rows.sh: a small table runs end to end from the shipped teacher, a rerun skips every row (each
# result is found in the store), a grown table runs only its new row, and malformed tables exit 2 naming
# the line. fs-store report renders a page's marked blocks from that store and keeps the rest. Includes.
set -uo pipefail
. "$(cd "$(dirname "$0")/.." && pwd)/lib.sh"
FS_JOB=rows-test
cd "$(dirname "$0")/../.."
fs_tools fs-rollout fs-distill fs-sample fs-eval fs-store
. "$FS_ROOT/jobs/tests/lib/checks.sh"
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
row abl 1 "teacher, 4 'fixed' steps" series=teacher fs-eval --checkpoint teacher --steps 4 --schedule fixed ${EVAL} --name t/abl/teacher
run fs-sample --checkpoint s --seeds 900000-900009 --no-store-artifact --png ${OUT}/grids/t_abl_s.png
compare abl "the teacher beats its student" t/abl/s* t/abl/teacher
target abl "the student" t/abl/s t/abl/teacher 1.1
ROWS
bash jobs/rows.sh --quick "$W/t.rows" > "$W/1.log" 2>&1; rc=$?
check "the table runs (exit $rc)" [ "$rc" -eq 0 ]
check "the student reached the --quick step count (N=2)" bash -c "fs-store show --store '$STORE' s@2 >/dev/null"
check "both evaluations are stored under their row names" bash -c "fs-store show --store '$STORE' eval_result:t/abl/s >/dev/null && fs-store show --store '$STORE' eval_result:t/abl/teacher >/dev/null"
check "the grid was written" [ -s "$OUT/grids/t_abl_s.png" ]
check "every tool got --threads 1" bash -c "grep -q 'rows \\[[0-9]*/6\\]: done in' '$W/1.log' && ! grep 'rows \\[[0-9]*/6\\]: done in' '$W/1.log' | grep -v -- '--threads 1'"
check "the log numbers the table's 6 commands" bash -c "grep -q 'rows \\[1/6\\]: ' '$W/1.log' && grep -q 'rows \\[6/6\\]: ' '$W/1.log'"
bash jobs/rows.sh --quick "$W/t.rows" > "$W/2.log" 2>&1; rc=$?
check "a rerun exits 0 (exit $rc)" [ "$rc" -eq 0 ]
check "a rerun runs nothing" grep -q '0 run, 6 already stored' "$W/2.log"
echo 'row abl 3 "teacher, 2 steps" fs-eval --checkpoint teacher --steps 2 ${EVAL} --name t/abl/teacher-2' >> "$W/t.rows"
bash jobs/rows.sh --quick --only students "$W/t.rows" > "$W/3.log" 2>&1; rc=$?
check "a grown table runs only its new row (exit $rc)" grep -q '1 run, 6 already stored' "$W/3.log"
THREADS=2 bash jobs/rows.sh --quick --only nothing --dry-run "$W/t.rows" > "$W/4.log" 2>&1
check "--only skips other sections but keeps the set-up rows" grep -q '0 run, 2 already stored' "$W/4.log"

# a results ledger: the evaluations alone (fs-store archive --shallow) restored into a new store. A rerun there makes
# no bank or student, since every command that uses them is done, until a grid that needs the student is missing.
fs-store archive --store "$STORE" --shallow --kind eval_result -o "$W/ledger.tar.zst" > "$W/ledger.log" 2>&1
fs-store restore --store "$W/fresh.db" "$W/ledger.tar.zst" >> "$W/ledger.log" 2>&1
STORE=$W/fresh.db bash jobs/rows.sh --quick "$W/t.rows" > "$W/5.log" 2>&1; rc=$?
check "after a ledger restore only the teacher's import runs (exit $rc)" bash -c "[ $rc -eq 0 ] && grep -q '1 run, 4 already stored, 2 not needed' '$W/5.log'"
check "the bank and the student are skipped as not needed" bash -c "grep -q 'skip (not needed: every later command that uses bank is done): fs-rollout' '$W/5.log' && grep -q 'skip (not needed: every later command that uses s is done): fs-distill' '$W/5.log'"
printf '<!-- report:table abl -->\n<!-- /report -->\n' > "$W/led1.md"; cp "$W/led1.md" "$W/led2.md"
fs-store report --store "$STORE" --table "$W/t.rows" --page "$W/led1.md" --quick > /dev/null 2>&1
fs-store report --store "$W/fresh.db" --table "$W/t.rows" --page "$W/led2.md" --quick > /dev/null 2>&1
check "the ledger renders the same table, the student's run columns (s/step, loss) included" \
  bash -c "cmp -s '$W/led1.md' '$W/led2.md' && grep -q '| student, 2 steps | .* | [0-9.]* | [0-9.e-]* |\$' '$W/led1.md'"
rm "$OUT/grids/t_abl_s.png"
STORE=$W/fresh.db bash jobs/rows.sh --quick "$W/t.rows" > "$W/6.log" 2>&1; rc=$?
check "a missing grid makes the student, and so its bank, needed again (exit $rc)" bash -c "[ $rc -eq 0 ] && grep -q '3 run, 4 already stored' '$W/6.log' && [ -s '$OUT/grids/t_abl_s.png' ]"
{ cat "$W/t.rows"; printf 'section later\nrow abl 9 "again" fs-eval --checkpoint s ${EVAL} --name t/abl/s-again\n'; } > "$W/t2.rows"
fs-store restore --store "$W/fresh2.db" "$W/ledger.tar.zst" > /dev/null 2>&1
STORE=$W/fresh2.db bash jobs/rows.sh --quick --only students "$W/t2.rows" > "$W/7.log" 2>&1; rc=$?
check "a row that --only leaves out still needs the student, so --only students makes it (exit $rc)" \
  bash -c "[ $rc -eq 0 ] && grep -q 'done in .*fs-distill --run s ' '$W/7.log' && ! grep -q 'not needed' '$W/7.log' && ! grep -q 't/abl/s-again' '$W/7.log'"

# ... and with a selection: the test row needs only the chosen trial's student, once both trials' evaluations are
# in; while one is missing the choice is open and the test row may need either, so both students are made
cat > "$W/lazy.rows" <<'ROWS'
param EVAL "--num-samples 24 --seed 500000"
param A    "--seed 0"
param B    "--seed 1"
import teacher models/teacher-mnist.safetensors
run fs-rollout --teacher teacher --name lazy-bank --seeds 0-7 --segments 2 --substeps 2 --schedule fixed --cfg-range 1,1.5 --resume
run fs-distill --run v-A --teacher teacher --bank lazy-bank --method flowsteer --ota --segments 2 --steps 2 --batch-size 4 --checkpoint-every 2 --resume ${A}
row lazy 1 "trial A" fs-eval --checkpoint v-A ${EVAL} --name t/lazy/A
run fs-distill --run v-B --teacher teacher --bank lazy-bank --method flowsteer --ota --segments 2 --steps 2 --batch-size 4 --checkpoint-every 2 --resume ${B}
row lazy 2 "trial B" fs-eval --checkpoint v-B ${EVAL} --name t/lazy/B
select PICK t/lazy/ A B
row lazy 3 "picked" fs-eval --checkpoint v-${PICK} ${EVAL} --name t/lazy/test
ROWS
STORE=$W/lazy.db bash jobs/rows.sh "$W/lazy.rows" > "$W/lazy.log" 2>&1; rc=$?
pick=$(sed -n 's/.*select PICK = \([AB]\) .*/\1/p' "$W/lazy.log"); other=$([ "$pick" = A ] && echo B || echo A)
check "the selection table runs (exit $rc, picked '$pick')" bash -c "[ $rc -eq 0 ] && [ -n '$pick' ]"
fs-store archive --store "$W/lazy.db" --shallow -o "$W/lazy-val.tar.zst" eval_result:t/lazy/A eval_result:t/lazy/B > /dev/null 2>&1
fs-store restore --store "$W/lazy2.db" "$W/lazy-val.tar.zst" > /dev/null 2>&1
STORE=$W/lazy2.db bash jobs/rows.sh "$W/lazy.rows" > "$W/lazy2.log" 2>&1; rc=$?
check "both trials evaluated: only the chosen student is made again (exit $rc)" bash -c "[ $rc -eq 0 ] && grep -q 'done in .*fs-distill --run v-$pick ' '$W/lazy2.log' && grep -q 'skip (not needed: every later command that uses v-$other is done)' '$W/lazy2.log'"
fs-store archive --store "$W/lazy.db" --shallow -o "$W/lazy-a.tar.zst" eval_result:t/lazy/A > /dev/null 2>&1
fs-store restore --store "$W/lazy3.db" "$W/lazy-a.tar.zst" > /dev/null 2>&1
STORE=$W/lazy3.db bash jobs/rows.sh "$W/lazy.rows" > "$W/lazy3.log" 2>&1; rc=$?
check "one trial evaluated: the choice is open, so both students are made (exit $rc)" bash -c "[ $rc -eq 0 ] && grep -q 'done in .*fs-distill --run v-A ' '$W/lazy3.log' && grep -q 'done in .*fs-distill --run v-B ' '$W/lazy3.log' && ! grep -q 'not needed' '$W/lazy3.log'"
# ... and in two lanes (--lanes 2: two --share processes): the same choice and the same test FID as one process
STORE=$W/lazy-lanes.db FS_CLAIM_POLL=1 THREADS=1 bash jobs/rows.sh --lanes 2 "$W/lazy.rows" > "$W/lazy-lanes.log" 2>&1; rc=$?
fid_lazy() { fs-store show --store "$1" --json eval_result:t/lazy/test 2>/dev/null | jq -r '.metadata.fid // empty'; }
check "--lanes 2 runs the selection table in two prefixed lanes (exit $rc)" \
  bash -c "[ $rc -eq 0 ] && grep -q '^\[lane 1\] ' '$W/lazy-lanes.log' && grep -q '^\[lane 2\] ' '$W/lazy-lanes.log'"
check "... with one process's choice and test FID ($(fid_lazy "$W/lazy-lanes.db") = $(fid_lazy "$W/lazy.db"))" \
  bash -c "grep -q 'select PICK = $pick ' '$W/lazy-lanes.log' && [ -n '$(fid_lazy "$W/lazy.db")' ] && [ '$(fid_lazy "$W/lazy-lanes.db")' = '$(fid_lazy "$W/lazy.db")' ]"
# ... and kept samples: a sample set and its state file, made for an evaluation that the ledger holds, are not redrawn
cat > "$W/set.rows" <<'ROWS'
import teacher models/teacher-mnist.safetensors
run fs-sample --checkpoint teacher --steps 2 --schedule fixed --seeds 500000-500023 --name t/set/two --save-tensors ${OUT}/set/two.st
row set 1 "two steps, kept" fs-eval --samples t/set/two --seed 500000 --name t/set/two
ROWS
STORE=$W/set.db bash jobs/rows.sh "$W/set.rows" > "$W/set.log" 2>&1; rc=$?
fs-store archive --store "$W/set.db" --shallow --kind eval_result -o "$W/set.tar.zst" > /dev/null 2>&1
fs-store restore --store "$W/set2.db" "$W/set.tar.zst" > /dev/null 2>&1; rm -f "$OUT/set/two.st"
STORE=$W/set2.db bash jobs/rows.sh "$W/set.rows" > "$W/set2.log" 2>&1; rc2=$?
check "a kept sample set whose evaluation the ledger holds is not drawn again (exit $rc, $rc2)" \
  bash -c "[ $rc -eq 0 ] && [ $rc2 -eq 0 ] && grep -q 'skip (not needed: every later command that uses t/set/two is done): fs-sample' '$W/set2.log' && [ ! -e '$OUT/set/two.st' ]"
set_meta() { fs-store show --store "$W/set.db" --json eval_result:t/set/two 2>/dev/null | jq -r ".metadata.$1"; }
check "fs-eval of a sample set records the set's steps and NFE (2 guided steps: steps $(set_meta steps), NFE $(set_meta nfe))" \
  bash -c "[ '$(set_meta steps)' = 2 ] && [ '$(set_meta nfe)' = 4 ]"
# ... and the run columns of a row that evaluates an early checkpoint describe the run up to that checkpoint
cat > "$W/len.rows" <<'ROWS'
param EVAL "--num-samples 24 --seed 500000"
import teacher models/teacher-mnist.safetensors
run fs-rollout --teacher teacher --name len-bank --seeds 0-7 --segments 2 --substeps 2 --schedule fixed --cfg-range 1,1.5 --resume
run fs-distill --run L --teacher teacher --bank len-bank --method flowsteer --ota --segments 2 --steps 4 --batch-size 4 --checkpoint-every 2 --resume
row len 1 "after 2 steps" fs-eval --checkpoint L@2 ${EVAL} --name t/len/L@2
row len 2 "after 4 steps" fs-eval --checkpoint L ${EVAL} --name t/len/L
ROWS
STORE=$W/len.db bash jobs/rows.sh "$W/len.rows" > "$W/len.log" 2>&1; rc=$?
printf '<!-- report:table len -->\n<!-- /report -->\n' > "$W/len.md"
fs-store report --store "$W/len.db" --table "$W/len.rows" --page "$W/len.md" > /dev/null 2>&1
loss_at() { grep "^| after $1 steps |" "$W/len.md" | awk -F'|' '{print $(NF-1)}' | tr -d ' '; }
check "a row at step 2 of a 4-step run shows step 2's L_dist, not step 4's (exit $rc: '$(loss_at 2)' vs '$(loss_at 4)')" \
  bash -c "[ $rc -eq 0 ] && [ -n '$(loss_at 2)' ] && [ -n '$(loss_at 4)' ] && [ '$(loss_at 2)' != '$(loss_at 4)' ]"

# --share: two processes on one table and store split its commands (the teacher's evaluation beside the bank and
# student), run none twice, and store what one process alone stored: the same FIDs, bit for bit
run_shared() { FS_CLAIM_POLL=1 STORE=$W/share.db bash jobs/rows.sh --quick --share "$W/t.rows" > "$W/share$1.log" 2>&1; echo $? > "$W/share$1.rc"; }
OUT=$W/share-out run_shared a & OUT=$W/share-out run_shared b & wait
ran_once() { local c; c=$(cat "$W/sharea.log" "$W/shareb.log" | grep -c "done in .*$1"); [ "$c" = 1 ]; }
check "both shared processes exit 0 ($(cat "$W/sharea.rc"), $(cat "$W/shareb.rc"))" bash -c "[ $(cat "$W/sharea.rc") = 0 ] && [ $(cat "$W/shareb.rc") = 0 ]"
check "each command ran in exactly one of them" bash -c "$(declare -f ran_once); W='$W'; ran_once 'fs-rollout --teacher teacher --name bank ' && ran_once 'fs-distill --run s ' && ran_once 'name t/abl/s ' && ran_once 'name t/abl/teacher ' && ran_once 'png $W/share-out/grids/t_abl_s.png'"
fid_in() { fs-store show --store "$1" --json "eval_result:$2" 2>/dev/null | jq -r '.metadata.fid // empty'; }
check "their FIDs equal one process's ($(fid_in "$W/share.db" t/abl/s), $(fid_in "$W/share.db" t/abl/teacher))" \
  bash -c "[ -n '$(fid_in "$W/share.db" t/abl/s)' ] && [ '$(fid_in "$W/share.db" t/abl/s)' = '$(fid_in "$STORE" t/abl/s)' ] && [ '$(fid_in "$W/share.db" t/abl/teacher)' = '$(fid_in "$STORE" t/abl/teacher)' ]"
check "no claim is left behind" bash -c "[ -z \"\$(ls -A '$W/share.db.claims')\" ]"
# a claim held by a live process is passed over, with every command that needs what it makes, while the rest runs;
# once that process is gone the claim is stale and taken over. (The holder here is a sleep with the claim's format.)
mkdir -p "$W/held.db.claims/bank"; sleep 30 & holder=$!
printf '%s %s %s\n' "$(hostname)" "$holder" "$(sed 's/.*) //' /proc/$holder/stat | awk '{ print $20 }')" > "$W/held.db.claims/bank/owner"
( sleep 6; kill "$holder" ) &
FS_CLAIM_POLL=1 STORE=$W/held.db OUT=$W/held-out bash jobs/rows.sh --quick --share "$W/t.rows" > "$W/held.log" 2>&1; rc=$?
check "a live claim is passed over with the commands that need it, the teacher's evaluation runs meanwhile (exit $rc)" \
  bash -c "[ $rc -eq 0 ] && grep -q 'later (another process runs it: .* $holder): fs-rollout' '$W/held.log' && grep -q 'later (needs bank, which another process is making): fs-distill' '$W/held.log' && grep -q 'later (needs s, which another process is making): fs-eval' '$W/held.log' && [ \"\$(grep -n -m1 'done in .*name t/abl/teacher ' '$W/held.log' | cut -d: -f1)\" -lt \"\$(grep -n 'waiting for' '$W/held.log' | cut -d: -f1)\" ]"
check "... and taken over once its process is gone, every row then done" \
  bash -c "grep -q 'claim bank: taken over from .* $holder ' '$W/held.log' && grep -q 'all rows done in .*: 7 run here, 0 already stored' '$W/held.log'"
mkdir -p "$W/far.db.claims/teacher"; echo "elsewhere-host 1 1" > "$W/far.db.claims/teacher/owner"
STORE=$W/far.db bash jobs/rows.sh --quick --share "$W/t.rows" > "$W/far.log" 2>&1; rc=$?
check "a claim made on another host exits 2 naming the host (exit $rc)" bash -c "[ $rc -eq 2 ] && grep -q \"claim made on host 'elsewhere-host'\" '$W/far.log'"

# fs-store report: the page's marked blocks are rewritten from the store, the rest is kept
P=$W/page.md
cat > "$P" <<'PAGE'
# Hand-written title
Narrative stays.
<!-- report:table abl -->
stale text
<!-- /report -->
<!-- report:orderings abl -->
<!-- /report -->
<!-- report:plot img/fid-vs-nfe.png -->
<!-- /report -->
The end.
PAGE
report() { fs-store report --store "$STORE" --table "$W/t.rows" --page "$P" --grids "$OUT/grids" --quick "$@"; }
report > "$W/r.log" 2>&1; rc=$?
check "fs-store report exits 0 (exit $rc)" [ "$rc" -eq 0 ]
check "the narrative is kept and the stale block replaced" bash -c "grep -q '^Narrative stays.' '$P' && grep -q '^The end.' '$P' && ! grep -q 'stale text' '$P'"
check "the table lists the rows by ORDER: teacher, student, teacher-2" bash -c "[ \"\$(grep '^| ' '$P' | grep -o '\`t/abl/[a-z0-9-]*\`' | tr -d '\`' | tr '\n' ' ')\" = 't/abl/teacher t/abl/s t/abl/teacher-2 ' ]"
fid=$(fs-eval --store "$STORE" --checkpoint s --num-samples 24 --seed 500000 --name t/again --json 2>/dev/null | jq -r '.fid // empty')
check "the student's FID (and interval, when stored) is the stored one ($fid)" grep -q "| student, 2 steps | \`t/abl/s\` | $(printf '%.2f' "$fid") " "$P"   # then " |", or " (" and its interval
check "the student's grid is linked" grep -q '\[grid\](out/grids/t_abl_s.png)' "$P"
check "the claims are decided" bash -c "grep -q '^- the teacher beats its student: \*\*' '$P' && grep -q 'FID(the student, 2 NFE)' '$P'"
check "the plot is a PNG" bash -c "[ \"\$(head -c 4 '$W/img/fid-vs-nfe.png' | tail -c 3)\" = PNG ] && grep -q '!\[FID against NFE\](img/fid-vs-nfe.png)' '$P'"
report --check > /dev/null 2>&1; rc=$?
check "--check: the page is current (exit $rc)" [ "$rc" -eq 0 ]
sed -i 's/^| student, 2 steps .*/| edited |/' "$P"
report --check > /dev/null 2>&1; rc=$?
check "--check: an edited block is out of date (exit $rc)" [ "$rc" -eq 1 ]
report --blocks img/fid-vs-nfe.png > "$W/r.log" 2>&1; rc=$?
check "--blocks rewrites only the named block, the edited table is kept (exit $rc)" bash -c "[ $rc -eq 0 ] && grep -q '^| edited |' '$P' && grep -q '1 blocks rewritten\|1 blocks already current' '$W/r.log'"
report --check --blocks abl > /dev/null 2>&1; rc=$?
check "--check --blocks abl: the edited table is out of date (exit $rc)" [ "$rc" -eq 1 ]
report --blocks abl,nosuch > "$W/r.log" 2>&1; rc=$?
check "--blocks naming no block of the page exits 3 naming it, the page unchanged (exit $rc)" bash -c "[ $rc -eq 3 ] && grep -q 'nosuch' '$W/r.log' && grep -q '^| edited |' '$P'"
cp "$P" "$W/before.md"
printf '<!-- report:frobnicate -->\n<!-- /report -->\n' >> "$P"
report > "$W/r.log" 2>&1; rc=$?
check "an unknown block exits 3 naming it, the page unchanged (exit $rc)" bash -c "[ $rc -eq 3 ] && grep -q 'frobnicate' '$W/r.log' && diff -q <(head -n -2 '$P') '$W/before.md' >/dev/null && grep -q '^| edited |' '$P'"
printf '<!-- report:table abl -->\n' > "$P"
report > "$W/r.log" 2>&1; rc=$?
check "an unclosed block exits 3 (exit $rc)" bash -c "[ $rc -eq 3 ] && grep -q 'no closing' '$W/r.log'"

printf 'run fs-eval --checkpoint no-such-model --num-samples 4 --name t/none\nrun fs-sample --checkpoint s --seeds 0-1 --no-store-artifact --png %s/after.png\n' "$W" > "$W/fail.rows"
bash jobs/rows.sh "$W/fail.rows" > "$W/fail.log" 2>&1; rc=$?
check "a failing tool stops the table with its own exit code (exit $rc, 3 = bad input)" bash -c "[ $rc -eq 3 ] && [ ! -e '$W/after.png' ]"

# select: the choice whose evaluation has the lowest FID, and its param's value, reach the later rows and the report
cat > "$W/sel.rows" <<'ROWS'
param EVAL "--num-samples 24 --seed 500000"
param ONE  "--steps 1"
param FOUR "--steps 4"
import teacher models/teacher-mnist.safetensors
row sel 1 "one step" fs-eval --checkpoint teacher ${ONE} --schedule fixed ${EVAL} --name t/sel/ONE
row sel 2 "four steps" fs-eval --checkpoint teacher ${FOUR} --schedule fixed ${EVAL} --name t/sel/FOUR
select BEST t/sel/ ONE FOUR
row sel 3 "selected: ${BEST}" fs-eval --checkpoint teacher ${BEST_ARGS} --schedule fixed ${EVAL} --name t/sel/best
ROWS
bash jobs/rows.sh "$W/sel.rows" > "$W/sel.log" 2>&1; rc=$?
fidof() { fs-store show --store "$STORE" --json "eval_result:$1" 2>/dev/null | jq -r .metadata.fid; }
f_best=$(fidof t/sel/best) f_four=$(fidof t/sel/FOUR)
check "select picks the lower FID (4 steps) and its args reach the next row (exit $rc, $f_best = $f_four)" bash -c "[ $rc -eq 0 ] && grep -q 'select BEST = FOUR' '$W/sel.log' && [ -n '$f_best' ] && [ '$f_best' = '$f_four' ]"
printf '<!-- report:table sel -->\n<!-- /report -->\n' > "$W/sel.md"
fs-store report --store "$STORE" --table "$W/sel.rows" --page "$W/sel.md" > /dev/null 2>&1
check "the report makes the same selection (its label reads 'selected: FOUR')" grep -q '| selected: FOUR |' "$W/sel.md"

# a select whose section --only leaves out, with its evaluations missing, cannot choose: a row that uses its
# choice exits 2 naming the select, and runs once the choice is named in the environment
cat > "$W/prov.rows" <<'ROWS'
param EVAL "--num-samples 24 --seed 500000"
param ONE  "--steps 1"
param TWO  "--steps 2"
import teacher models/teacher-mnist.safetensors
section val
row prov 1 "one step" fs-eval --checkpoint teacher ${ONE} --schedule fixed ${EVAL} --name t/prov/ONE
row prov 2 "two steps" fs-eval --checkpoint teacher ${TWO} --schedule fixed ${EVAL} --name t/prov/TWO
select PICK t/prov/ ONE TWO
section test
row prov 3 "picked: ${PICK}" fs-eval --checkpoint teacher ${PICK_ARGS} --schedule fixed ${EVAL} --name t/prov/pick
ROWS
bash jobs/rows.sh --only test "$W/prov.rows" > "$W/prov.log" 2>&1; rc=$?
check "a row using a select that --only left unevaluated exits 2 naming it (exit $rc)" \
  bash -c "[ $rc -eq 2 ] && grep -q 'prov.rows:10: .*uses \${PICK}.*select PICK.*section val.*t/prov/ONE' '$W/prov.log' && ! fs-store show --store '$STORE' eval_result:t/prov/pick >/dev/null 2>&1"
printf '<!-- report:table prov -->\n<!-- /report -->\n' > "$W/prov.md"
fs-store report --store "$STORE" --table "$W/prov.rows" --page "$W/prov.md" > /dev/null 2>&1
check "while the trials are not evaluated the report names no choice (label 'picked: unselected', no FID)" \
  grep -q '| picked: unselected | `t/prov/pick` | – |' "$W/prov.md"
PICK=TWO bash jobs/rows.sh --only test "$W/prov.rows" > "$W/prov2.log" 2>&1; rc=$?
check "PICK=TWO in the environment names the choice and the row runs with it (exit $rc)" \
  bash -c "[ $rc -eq 0 ] && grep -q 'select PICK = TWO (set in the environment)' '$W/prov2.log' && grep -q -- 'fs-eval --checkpoint teacher --steps 2 .*--name t/prov/pick' '$W/prov2.log'"
printf '<!-- report:table prov -->\n<!-- /report -->\n' > "$W/prov.md"
PICK=TWO fs-store report --store "$STORE" --table "$W/prov.rows" --page "$W/prov.md" > /dev/null 2>&1
check "the report takes the same named choice (its label reads 'picked: TWO')" grep -q '| picked: TWO |' "$W/prov.md"
PICK=THREE bash jobs/rows.sh --dry-run "$W/prov.rows" > "$W/prov3.log" 2>&1; rc=$?
check "a choice from the environment that is not one of the select's exits 2 (exit $rc)" \
  bash -c "[ $rc -eq 2 ] && grep -q \"PICK='THREE' is not one of its choices (ONE TWO)\" '$W/prov3.log'"

# include: a table reads a shared file in place (its path relative to the including table); the first definition of
# a param holds, so the including table overrides the shared file's default; the report reads the same rows
mkdir -p "$W/inc"
cat > "$W/inc/shared.rows" <<'ROWS'
param STEPS_ARG "--steps 1"
section shared
row inc 1 "shared row, ${STEPS_ARG}" fs-eval --checkpoint teacher ${STEPS_ARG} --schedule fixed --num-samples 24 --seed 500000 --name ${KEY}/shared
ROWS
printf 'param KEY t/inc\nparam STEPS_ARG "--steps 2"\nimport teacher models/teacher-mnist.safetensors\ninclude inc/shared.rows\n' > "$W/inc.rows"
bash jobs/rows.sh "$W/inc.rows" > "$W/inc.log" 2>&1; rc=$?
check "an included row runs with the including table's params (exit $rc)" \
  bash -c "[ $rc -eq 0 ] && grep -q -- 'fs-eval --checkpoint teacher --steps 2 .*--name t/inc/shared' '$W/inc.log'"
printf '<!-- report:table inc -->\n<!-- /report -->\n' > "$W/inc.md"
fs-store report --store "$STORE" --table "$W/inc.rows" --page "$W/inc.md" > /dev/null 2>&1; rc=$?
check "the report reads the included row (exit $rc)" grep -q '| shared row, --steps 2 | `t/inc/shared` | [0-9]' "$W/inc.md"
bash jobs/rows.sh --dry-run --only nothing "$W/inc.rows" > "$W/inc2.log" 2>&1
check "an included section is left out by --only" grep -q '0 run, 1 already stored' "$W/inc2.log"
printf 'include loop.rows\n' > "$W/loop.rows"
bash jobs/rows.sh --dry-run "$W/loop.rows" > "$W/loop.log" 2>&1; rc=$?
check "an include loop exits 2 naming it (exit $rc)" bash -c "[ $rc -eq 2 ] && grep -q 'loop.rows:1: include nested deeper' '$W/loop.log'"
fs-store report --store "$STORE" --table "$W/loop.rows" --page "$W/inc.md" > "$W/loop2.log" 2>&1; rc=$?
check "so does the report (exit $rc)" bash -c "[ $rc -eq 3 ] && grep -q 'include nested deeper' '$W/loop2.log'"

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
bad "a select whose choice is not a param" 'select S t/ X Q' "choice .Q. is not a param"
printf 'param X 1\nselect S t/ X\nparam Y "${S_ARGS}"\n' > "$W/bad.rows"
bash jobs/rows.sh --dry-run "$W/bad.rows" > "$W/bad.log" 2>&1; rc=$?
check "a param that uses a select's choice: exit 2 (exit $rc) naming line 3" bash -c "[ $rc -eq 2 ] && grep -q 'bad.rows:3: param Y uses .{S}, a select' '$W/bad.log'"
bad "an include of a missing file" 'include no-such.rows' "include: no file .no-such.rows."

checks_summary
