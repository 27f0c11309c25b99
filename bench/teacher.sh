#!/usr/bin/env bash
# Teacher throughput, Swift vs PyTorch side by side (issue 4): training images/s of the shipped teacher's UNet
# (batch 128) and sampling images/s of the shipped weights at 4 and 32 fixed steps, w = 1 and w = 1.5.
#
#   bash bench/teacher.sh [THREADS] [SAMPLES]     # default: 2 threads, 512 samples per sampling row
#
# Needs the release tools (jobs/lib.sh builds them) and a Python with torch + safetensors for the peer
# (PYTHON, default /root/venv/bin/python; without it only the Swift numbers are printed).
# Prints one JSON object: {"swift": {...}, "pytorch": {...}, "ratio_swift_over_pytorch": {...}, "load_average": ...}.
set -euo pipefail
cd "$(dirname "$0")/.."
. jobs/lib.sh
FS_JOB=bench-teacher
THREADS=${1:-2} SAMPLES=${2:-512} PYTHON=${PYTHON:-/root/venv/bin/python}
fs_tools fs-bench fs-sample
W=models/teacher-mnist.safetensors
channels=$(jq -r '.config.channels[0:3] | map(tostring) | join(",")' models/teacher-mnist.json)
load=$(cut -d' ' -f1-3 /proc/loadavg)

fs_log "swift: fs-bench --channels $channels --batch 128"
b=$(fs-bench --channels "$channels" --batch 128 --threads "$THREADS" --json 2>/dev/null)
swift="\"train_images_per_second\": $(jq -r ".unet_train_images_per_second // empty" <<<"$b")"
for steps in 4 32; do
  for cfg in 1 1.5; do
    fs_log "swift: fs-sample $steps steps, cfg $cfg"
    s=$(fs-sample --checkpoint "$W" --steps "$steps" --schedule fixed --cfg "$cfg" --seeds "0-$((SAMPLES - 1))" \
          --batch-size 256 --no-store-artifact --threads "$THREADS" --quiet --json)
    swift+=", \"sample_${steps}_steps_cfg_${cfg/./p}_images_per_second\": $(jq -r ".images_per_second // empty" <<<"$s")"
  done
done

peer='null' ratio='null'
if [ -x "$PYTHON" ] && "$PYTHON" -c 'import torch, safetensors' 2>/dev/null; then
  fs_log "pytorch: bench/peer_teacher.py"
  peer=$("$PYTHON" bench/peer_teacher.py --threads "$THREADS" --samples "$SAMPLES")
  # swift / pytorch for every rate both report, to 2 decimals
  ratio=$(jq -c -n --argjson s "{$swift}" --argjson p "$peer" \
    '$s | with_entries(select($p[.key] != null) | .value = (.value / $p[.key] * 100 | round) / 100)')
else
  fs_warn "no torch at $PYTHON: PyTorch peer skipped"
fi
printf '{"threads": %s, "load_average_before": "%s", "load_average_after": "%s", "swift": {%s}, "pytorch": %s, "ratio_swift_over_pytorch": %s}\n' \
  "$THREADS" "$load" "$(cut -d' ' -f1-3 /proc/loadavg)" "$swift" "$peer" "$ratio"
