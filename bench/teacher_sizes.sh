#!/usr/bin/env bash
# The teacher presets' training cost on this machine (issue 21: the DiT preset is chosen by measurement): images/s
# of a training step at batch 128 for the UNet preset `mnist` ([16,32,32]), the UNet reference [32,64,64], and DiT
# candidates on 28x28x1 (patch 4: 49 tokens, patch 2: 196), each FIXED rounds, alternated.
#
#   bash bench/teacher_sizes.sh [THREADS] [ROUNDS]     # default: 2 threads, 2 rounds
#
# Prints one JSON object: per candidate its rounds and median images/s,
# and the peak resident memory of the benchmark process (peak_rss_mb, the largest of its rounds).
set -euo pipefail
cd "$(dirname "$0")/.."
. jobs/lib.sh
FS_JOB=bench-teacher-sizes
THREADS=${1:-2} ROUNDS=${2:-2}
fs_tools fs-bench
CANDIDATES=(
  "unet-16-32-32|--channels 16,32,32"
  "unet-32-64-64|--channels 32,64,64"
  "dit-h128-p4-d6|--model dit --dit-hidden 128 --dit-patch 4 --dit-depth 6 --dit-heads 4"
  "dit-h192-p4-d6|--model dit --dit-hidden 192 --dit-patch 4 --dit-depth 6 --dit-heads 3"
  "dit-h128-p2-d6|--model dit --dit-hidden 128 --dit-patch 2 --dit-depth 6 --dit-heads 4"
  "dit-h192-p2-d6|--model dit --dit-hidden 192 --dit-patch 2 --dit-depth 6 --dit-heads 3"
)
declare -A R=() M=()
load0=$(cut -d' ' -f1-3 /proc/loadavg)
for r in $(seq 1 "$ROUNDS"); do
  for c in "${CANDIDATES[@]}"; do
    name=${c%%|*} args=${c#*|}
    fs_log "round $r/$ROUNDS: $name"
    # shellcheck disable=SC2086
    b=$(fs-bench $args --batch 128 --only train --iterations 3 --threads "$THREADS" --json 2>/dev/null)
    v=$(jq -r '.unet_train_images_per_second // .dit_train_images_per_second // empty' <<<"$b")
    m=$(jq -r '.peak_rss_mb // empty' <<<"$b")
    R[$name]="${R[$name]:-} $v"
    if [ -z "${M[$name]:-}" ] || awk -v a="$m" -v b="${M[$name]}" 'BEGIN { exit !(a > b) }'; then M[$name]=$m; fi
  done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
{
  printf '{"threads":%s,"rounds":%s,"batch":128,"load_before":"%s","load_after":"%s","candidates":{' "$THREADS" "$ROUNDS" "$load0" "$(cut -d' ' -f1-3 /proc/loadavg)"
  first=1
  for c in "${CANDIDATES[@]}"; do
    name=${c%%|*}
    [ $first = 1 ] || printf ','; first=0
    printf '"%s":{"train_images_per_second":[%s],"median":%s,"peak_rss_mb":%s}' "$name" \
      "$(echo ${R[$name]} | tr ' ' ',')" "$(echo ${R[$name]} | median)" "${M[$name]}"
  done
  printf '}}\n'
} | jq -c .
