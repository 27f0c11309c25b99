#!/usr/bin/env bash
# Two builds of the tools against each other and against PyTorch, in alternated rounds on the reference UNet workload
# (fs-bench: [32, 64, 64], batch 128, 28x28; bench/peer_torch.py, its better layout): a change's cost or gain measured
# in the same window as the peer (issue 19: "the seams cost nothing measurable"; issue 23: the ratio to PyTorch).
#
#   OLD=/path/to/old/bin NEW=/path/to/new/bin [PYTHON=.../python] bash bench/before_after.sh [THREADS] [ROUNDS]
#
# Prints one JSON object per round ({old, new, new_bf16, torch}: [train img/s, forward img/s]) and then the medians and
# the ratios new/old and Swift/PyTorch. new_bf16 is skipped when NEW's fs-bench has no --precision or the CPU lacks it.
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=${1:-2} ROUNDS=${2:-5} PYTHON=${PYTHON:-/root/venv/bin/python}
: "${OLD:?set OLD to the directory of the old build's tools}" "${NEW:?set NEW to the directory of the new build's tools}"
rounds=()
for r in $(seq 1 "$ROUNDS"); do
  o=$("$OLD/fs-bench" --threads "$THREADS" --json 2>/dev/null)
  n=$("$NEW/fs-bench" --threads "$THREADS" --json 2>/dev/null)
  b=$("$NEW/fs-bench" --threads "$THREADS" --precision bf16 --json 2>/dev/null || echo '{}')
  p=$("$PYTHON" bench/peer_torch.py --threads "$THREADS" 2>/dev/null)
  rounds+=("$(python3 -c 'import json,sys; print(json.dumps([json.loads(a) for a in sys.argv[1:]]))' "$o" "$n" "$b" "$p")")
  echo "round $r/$ROUNDS done (load $(cut -d' ' -f1 /proc/loadavg))" >&2
done
python3 - "${rounds[@]}" <<'PY'
import json, statistics, sys
keys = ("unet_train_images_per_second", "unet_forward_images_per_second")
names = ("old", "new", "new_bf16", "torch")
rows = [dict(zip(names, [[d.get(k) for k in keys] for d in json.loads(r)])) for r in sys.argv[1:]]
med = {n: [statistics.median(r[n][i] for r in rows) if all(r[n][i] for r in rows) else None for i in (0, 1)] for n in names}
ratio = lambda a, b: [round(x / y, 3) if x and y else None for x, y in zip(med[a], med[b])]
print(json.dumps({"rounds": rows, "median": med, "new_over_old": ratio("new", "old"), "old_over_torch": ratio("old", "torch"),
                  "new_over_torch": ratio("new", "torch"), "new_bf16_over_torch": ratio("new_bf16", "torch")}))
PY
