#!/usr/bin/env bash
# Two builds' DiT steps as users run them (not the fs-bench reference workload): the dit-mnist preset's teacher step
# (fs-train --model dit) and two LoRA distillation steps of the shipped DiT teacher (FlowSteer from bank starts; and
# rollout starts with the frozen-teacher heads, section both of docs/results-dit.md), OLD and NEW alternated ROUNDS
# times at THREADS threads in a scratch store (a 512-trajectory bank is solved first, not timed).
#
#   OLD=/path/to/old/bin NEW=/path/to/new/bin bash bench/dit_steps.sh [THREADS] [ROUNDS] [STEPS]
#
# Prints one JSON object: steps/s of every round per job and build (from each tool's final progress line), the medians
# and new_over_old. Each job runs with the same seed in both builds, so their losses must agree (printed, not judged).
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=${1:-2} ROUNDS=${2:-3} STEPS=${3:-15}
: "${OLD:?set OLD to the directory of the old build's tools}" "${NEW:?set NEW to the directory of the new build's tools}"
W=$(mktemp -d "${TMPDIR:-/tmp}/fs-dit-steps.XXXXXX")
trap 'rm -rf "$W"' EXIT
S="--store $W/s.db"
"$NEW/fs-store" import models/teacher-dit-mnist.safetensors --name teacher $S >/dev/null
"$NEW/fs-rollout" $S --teacher teacher --name bank --num 512 --segments 4 --substeps 4 --shift 3 --schedule fixed \
  --cfg-range 1 --threads "$THREADS" --quiet >/dev/null
D="--teacher teacher --preset mnist --batch-size 64 --seed 0 --schedule fixed --shift 3 --checkpoint-every 100000"
declare -A ARGS=(
  [teacher]="fs-train --model dit --preset dit-mnist"
  [distill]="fs-distill $D --method flowsteer --ota --bank bank --lora 16 --start-share 1"
  [distill_rollout_heads]="fs-distill $D --method flowsteer --ota --bank bank --adversarial --lambda-adv 0.05 --lambda-fm 1 --adv-fake step --disc frozen-heads --disc-blocks 3 --lora 16 --start-share 1 --dist-start rollout"
)
jobs=(teacher distill distill_rollout_heads)
out=()
for r in $(seq 1 "$ROUNDS"); do
  for j in "${jobs[@]}"; do
    for b in old new; do
      dir=$OLD; [ "$b" = new ] && dir=$NEW
      read -r tool args <<<"${ARGS[$j]}"
      # One progress line at the end (stderr is a file): "... done N/N (100%) R step/s ..." or "... S s/step ...".
      line=$("$dir/$tool" $S --run "$j-$b-$r" $args --steps "$STEPS" --threads "$THREADS" 2>&1 >/dev/null | tr '\r' '\n' | grep "done $STEPS/$STEPS" | tail -1)
      rate=$(awk '{ for (i = 1; i < NF; i++) { if ($(i + 1) == "step/s") print $i; if ($(i + 1) == "s/step") print 1 / $i } }' <<<"$line" | head -1)
      loss=$(grep -oE '(loss|dist) [0-9.e-]+' <<<"$line" | head -1 | cut -d' ' -f2)
      out+=("$j $b $r ${rate:-null} ${loss:-null}")
    done
  done
  echo "round $r/$ROUNDS done (load $(cut -d' ' -f1 /proc/loadavg))" >&2
done
python3 - "$THREADS" "${out[@]}" <<'PY'
import json, statistics, sys
threads, rows = int(sys.argv[1]), [r.split() for r in sys.argv[2:]]
res = {"threads": threads, "steps_per_second": {}, "median": {}, "new_over_old": {}, "final_loss": {}}
for job in dict.fromkeys(r[0] for r in rows):
    rate = {b: [float(r[3]) for r in rows if r[0] == job and r[1] == b and r[3] != "null"] for b in ("old", "new")}
    res["steps_per_second"][job] = rate
    med = {b: statistics.median(v) if v else None for b, v in rate.items()}
    res["median"][job] = med
    res["new_over_old"][job] = round(med["new"] / med["old"], 3) if med["new"] and med["old"] else None
    res["final_loss"][job] = {b: sorted({r[4] for r in rows if r[0] == job and r[1] == b}) for b in ("old", "new")}
print(json.dumps(res))
PY
