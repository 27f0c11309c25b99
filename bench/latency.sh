#!/usr/bin/env bash
# Sampling latency (issue 23): UNet [32, 64, 64] forward milliseconds at batch 1, 8, 64 and 256, Swift
# (`fs-bench --only latency`, fp32 and optionally bf16) and PyTorch (bench/peer_torch.py --latency, its
# better layout per batch), alternated ROUNDS times; medians per batch and ratio = PyTorch ms / Swift ms
# (above 1: Swift is faster). The load average is recorded before every round (the host is shared).
#
#   bash bench/latency.sh [THREADS] [ROUNDS]            # default: 2 threads, 3 rounds
#   PRECISIONS="fp32 bf16" bash bench/latency.sh 2 3
#   OLD=/path/to/old/bin bash bench/latency.sh 2 5        # also an older build's fp32 in every round (swift_old_*)
set -euo pipefail
cd "$(dirname "$0")/.."
. jobs/lib.sh
FS_JOB=bench-latency
THREADS=${1:-2} ROUNDS=${2:-3} PYTHON=${PYTHON:-/root/venv/bin/python} PRECISIONS=${PRECISIONS:-fp32}
fs_tools fs-bench
"$PYTHON" -c 'import torch' 2>/dev/null || fs_die "no torch at $PYTHON (set PYTHON)"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
loads=()
for r in $(seq 1 "$ROUNDS"); do
  loads+=("$(cut -d' ' -f1 /proc/loadavg)")
  for p in $PRECISIONS; do
    fs_log "round $r/$ROUNDS: fs-bench --only latency --precision $p"
    fs-bench --threads "$THREADS" --only latency --precision "$p" --json 2>/dev/null >"$dir/swift-$p-$r.json"
  done
  if [ -n "${OLD:-}" ]; then
    fs_log "round $r/$ROUNDS: old fs-bench --only latency"
    "$OLD/fs-bench" --threads "$THREADS" --only latency --json 2>/dev/null >"$dir/swift-old-$r.json"
  fi
  fs_log "round $r/$ROUNDS: bench/peer_torch.py --latency"
  "$PYTHON" bench/peer_torch.py --threads "$THREADS" --latency 2>/dev/null >"$dir/torch-$r.json"
done
loads+=("$(cut -d' ' -f1 /proc/loadavg)")
"$PYTHON" - "$dir" "$THREADS" "$ROUNDS" "$PRECISIONS" "${loads[*]}" <<'PY'
import json, statistics, sys, glob
d, threads, rounds, precs, loads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4].split(), sys.argv[5].split()
def med(files):
    runs = [json.load(open(f))["forward_latency_ms"] for f in sorted(files)]
    return {b: round(statistics.median(r[b] for r in runs), 3) for b in runs[0]}, runs
torch_med, torch_runs = med(glob.glob(f"{d}/torch-*.json"))
out = {"threads": threads, "rounds": rounds, "load_average_per_round": [float(x) for x in loads],
       "pytorch_ms": torch_med, "pytorch_rounds": torch_runs}
for p in precs + (["old"] if glob.glob(f"{d}/swift-old-*.json") else []):
    m, runs = med(glob.glob(f"{d}/swift-{p}-*.json"))
    out[f"swift_{p}_ms"] = m
    out[f"swift_{p}_rounds"] = runs
    out[f"ratio_pytorch_over_swift_{p}"] = {b: round(torch_med[b] / m[b], 2) for b in m}
print(json.dumps(out))
PY
