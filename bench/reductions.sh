#!/usr/bin/env bash
# Issue 22's cost measurement: the training step of the reference UNet (fs-bench --only train: [32, 64, 64],
# batch 128) with fixed-chunk reductions (the default) against the per-thread order, alternated ROUNDS times
# so every variant sees the same machine state; prints each round's img/s, the medians and the ratios.
#
#   bash bench/reductions.sh [THREADS] [ROUNDS] [OLD_FS_BENCH]
#
# Variants: "fixed" (this build), "per_thread" (this build with FS_PER_THREAD_REDUCTIONS=1) and, when
# OLD_FS_BENCH (an fs-bench binary built before issue 22) is given, "old". Besides img/s (wall clock, noisy
# when other jobs share the cores) it reports each run's CPU seconds (user + sys of the whole fs-bench
# process, from /usr/bin/time: the same setup and step count for every variant), which other load moves less.
set -euo pipefail
cd "$(dirname "$0")/.."
. jobs/lib.sh
FS_JOB=bench-reductions
THREADS=${1:-2} ROUNDS=${2:-5} OLD=${3:-}
fs_tools fs-bench
names=(fixed per_thread); [ -n "$OLD" ] && names+=(old)
declare -A R C
T=$(mktemp); trap 'rm -f "$T"' EXIT
load=$(cut -d' ' -f1-3 /proc/loadavg)
for r in $(seq 1 "$ROUNDS"); do
  for v in "${names[@]}"; do
    bin=$FS_BIN/fs-bench env=()
    case $v in
      per_thread) env=(FS_PER_THREAD_REDUCTIONS=1) ;;
      old) bin=$OLD ;;
    esac
    out=$(env "${env[@]}" /usr/bin/time -f '%U %S' -o "$T" "$bin" --only train --threads "$THREADS" --json 2>/dev/null)
    x=$(jq -r ".unet_train_images_per_second // empty" <<<"$out")
    c=$(awk '{ printf "%.2f", $1 + $2 }' "$T")
    R[$v]="${R[$v]:-} $x"; C[$v]="${C[$v]:-} $c"
    fs_log "round $r/$ROUNDS $v: $x img/s, $c CPU s"
  done
done
median() { printf '%s\n' $1 | sort -g | awk '{ v[NR] = $1 } END { printf "%.2f\n", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
printf '{"threads": %s, "rounds": %s, "load_average_before": "%s", "load_average_after": "%s"' \
  "$THREADS" "$ROUNDS" "$load" "$(cut -d' ' -f1-3 /proc/loadavg)"
for v in "${names[@]}"; do
  printf ', "%s": {"train_images_per_second": [%s], "median": %s, "cpu_seconds": [%s], "median_cpu_seconds": %s}' "$v" \
    "$(echo ${R[$v]} | sed 's/ /, /g')" "$(median "${R[$v]}")" "$(echo ${C[$v]} | sed 's/ /, /g')" "$(median "${C[$v]}")"
done
f=$(median "${R[fixed]}") fc=$(median "${C[fixed]}")
for v in "${names[@]}"; do
  [ "$v" = fixed ] && continue
  printf ', "ratio_fixed_over_%s": %s' "$v" "$(awk -v a="$f" -v b="$(median "${R[$v]}")" 'BEGIN { printf "%.3f", a / b }')"
  printf ', "cpu_ratio_fixed_over_%s": %s' "$v" "$(awk -v a="$fc" -v b="$(median "${C[$v]}")" 'BEGIN { printf "%.3f", a / b }')"
done
echo "}"
