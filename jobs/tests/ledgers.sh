#!/usr/bin/env bash
# The results pages against their ledgers (docs/results/ledger): each ledger restores into a new store, and the blocks
# rendered from it are the page's, byte for byte (`fs-store report --check`). A page edited by hand inside a block,
# or a ledger that lost a row, fails here. The control: a block changed on a copy of the page is caught.
#   FS_BIN=/path/to/bin jobs/tests/ledgers.sh      (default: the release build)
set -uo pipefail
. "$(cd "$(dirname "$0")/.." && pwd)/lib.sh"
FS_JOB=ledgers-test
cd "$(dirname "$0")/../.."
fs_tools fs-store
. "$FS_ROOT/jobs/tests/lib/checks.sh"
W=$(mktemp -d "${TMPDIR:-/tmp}/fs-ledgers.XXXXXX"); trap 'rm -rf "$W"' EXIT

# LEDGER TABLE PAGE GRIDS BLOCKS: the blocks of PAGE that were rendered from LEDGER (the others hold older runs)
while read -r ledger table page grids blocks; do
  [ -n "$ledger" ] || continue
  name=$(basename "$ledger" .tar.zst)
  fs-store restore --store "$W/$name.db" "$ledger" > "$W/$name.log" 2>&1; rc=$?
  check "$ledger restores into a new store (exit $rc)" [ "$rc" -eq 0 ]
  fs-store report --store "$W/$name.db" --table "$table" --page "$page" --grids "$grids" --blocks "$blocks" --check \
    >> "$W/$name.log" 2>&1; rc=$?
  check "$page: blocks $blocks are what $ledger renders (exit $rc)" [ "$rc" -eq 0 ]
  first=${blocks%%,*}
  awk -v b="<!-- report:table $first -->" '$0 == b { f = 1 } f && /^\| / && !/^\|---/ && ++n == 2 { sub(/[0-9]\.[0-9][0-9]/, "9.99") } { print }' \
    "$page" > "$W/page.md"
  check "control: a number of block $first's second row changed on a copy" bash -c "! cmp -s '$page' '$W/page.md'"
  fs-store report --store "$W/$name.db" --table "$table" --page "$W/page.md" --grids "$grids" --blocks "$first" --check \
    > /dev/null 2>&1; rc=$?
  check "control: the changed number is caught (exit $rc)" [ "$rc" -eq 1 ]
done <<'LEDGERS'
docs/results/ledger/mnist.tar.zst jobs/tables/mnist.rows docs/results.md docs/results/grids sweep,t2,t1,abl,beyond_k,beyond_online,head,length,tuned,probes,probes-head,results/fid-vs-nfe.png
docs/results/ledger/fashion-mnist.tar.zst jobs/tables/fashion-mnist.rows docs/results-fashion-mnist.md docs/results-fashion-mnist/grids t2,abl,results-fashion-mnist/fid-vs-nfe.png
LEDGERS
checks_summary
