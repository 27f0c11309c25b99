#!/usr/bin/env bash
# Issue 22 part 2: `Communicator.orderedChunkSum` (Sources/Distributed) gives the same bits for any rank
# count. Runs mpi-check (Sources/Checks/mpi-check) without a launcher (the one-rank fallback) and under
# `mpirun --oversubscribe -np N` for N = 1, 2, 3 (RANKS), and requires every run's Float and Double result
# hashes to be identical and to match each rank's one-process reduction. Prints "N passed, M failed".
# Skips (exit 0) when mpirun is not installed (jobs/setup.sh installs openmpi-bin). About 10 s.
set -uo pipefail
. "$(cd "$(dirname "$0")/.." && pwd)/lib.sh"
FS_JOB=mpi-test
RANKS=${RANKS:-1 2 3}
command -v mpirun > /dev/null || { echo "skip - mpirun not installed (apt-get install openmpi-bin libopenmpi-dev)"; exit 0; }
if [ -z "${FS_BIN:-}" ]; then
  (cd "$FS_ROOT" && swift build -c release --product mpi-check 2>&1 | tail -1) >&2
  FS_BIN=$(cd "$FS_ROOT" && swift build -c release --show-bin-path)
fi
CHECK="$FS_BIN/mpi-check"
if [ ! -x "$CHECK" ]; then
  (cd "$FS_ROOT" && swift build -c release --product mpi-check 2>&1 | tail -1) >&2
  CHECK="$(cd "$FS_ROOT" && swift build -c release --show-bin-path)/mpi-check"
fi
[ -x "$CHECK" ] || fs_die "no mpi-check in $FS_BIN"
root=(); [ "$(id -u)" -eq 0 ] && root=(--allow-run-as-root)
. "$FS_ROOT/jobs/tests/lib/checks.sh"
hashes=()
run() {  # run LABEL CMD...: one mpi-check run; keeps its "float ... double ..." hashes
  local label=$1 out rc=0; shift
  out=$("$@" 2>&1) || rc=$?
  echo "     $label: $(grep '^ranks' <<<"$out" | head -1)"
  check "$label exits 0 and matches the one-process sum (exit $rc)" eval '[ "$rc" -eq 0 ] && grep -q "matches the one-process sum" <<<"$out"'
  hashes+=("$(grep -o 'float [0-9a-f]* double [0-9a-f]*' <<<"$out" | head -1)")
}
run "no launcher (one-rank fallback)" "$CHECK" 45 10007
for n in $RANKS; do
  run "mpirun -np $n" timeout 120 mpirun --oversubscribe "${root[@]}" -np "$n" "$CHECK" 45 10007
done
same=1; for h in "${hashes[@]}"; do [ -n "$h" ] && [ "$h" = "${hashes[0]}" ] || same=0; done
check "the result hashes are identical for every rank count (${hashes[0]:-none})" [ "$same" = 1 ]
checks_summary
