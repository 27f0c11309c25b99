#!/usr/bin/env bash
# Throughput of fs-train (preset mnist, batch 128) by gradient chunks C, ranks P and threads T, measured in
# alternated rounds (every configuration once per round, ROUNDS rounds) so that load from other jobs on the
# machine hits all of them alike. Prints one line per run and the median img/s per configuration.
# The allgather's share of the wall time comes from FS_MPI_STATS=1 (rank 0's time inside MPI_Allgatherv,
# which includes waiting for the slower rank).
#   bench/data_parallel.sh                 # STEPS=20 ROUNDS=3 CONFIGS="C1:P1:T2 C4:P1:T2 C4:P1:T1 C4:P2:T1"
set -uo pipefail
. "$(cd "$(dirname "$0")/.." && pwd)/jobs/lib.sh"
FS_JOB=bench-data-parallel
fs_tools fs-train || exit 1
STEPS=${STEPS:-20} ROUNDS=${ROUNDS:-3}
CONFIGS=${CONFIGS:-C1:P1:T2 C4:P1:T2 C4:P1:T1 C4:P2:T1}
W=$(mktemp -d "${TMPDIR:-/tmp}/fs-dpbench.XXXXXX"); trap 'rm -rf "$W"' EXIT
MPI=(mpirun --oversubscribe --bind-to none); [ "$(id -u)" -eq 0 ] && MPI+=(--allow-run-as-root)
declare -A rates
for r in $(seq 1 "$ROUNDS"); do
  for cfg in $CONFIGS; do
    IFS=: read -r c p t <<< "$cfg"; c=${c#C}; p=${p#P}; t=${t#T}
    db="$W/$r-$cfg.db"
    cmd=("$FS_BIN/fs-train" --store "$db" --run b --preset mnist --steps "$STEPS" --checkpoint-every 100000
         --gradient-chunks "$c" --threads "$t" --json --quiet)
    [ "$p" -gt 1 ] && cmd=("${MPI[@]}" -np "$p" "${cmd[@]}")
    out=$(FS_MPI_STATS=1 "${cmd[@]}" 2> "$W/err")
    rate=$(jq -r ".images_per_second // empty" <<< "$out")
    share=$(grep -o '([0-9.]*% of' "$W/err" | tr -d '(' | cut -d' ' -f1)
    rates[$cfg]+="$rate "
    printf 'round %d  %-10s  %8.1f img/s  allgather %s\n' "$r" "$cfg" "$rate" "${share:--}"
    rm -f "$db"*
  done
done
for cfg in $CONFIGS; do
  printf 'median %-10s %8.1f img/s\n' "$cfg" "$(tr ' ' '\n' <<< "${rates[$cfg]}" | grep . | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')"
done
