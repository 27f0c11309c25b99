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
channels=$(json_get config.channels.0 models/teacher-mnist.json),$(json_get config.channels.1 models/teacher-mnist.json),$(json_get config.channels.2 models/teacher-mnist.json)
load=$(cut -d' ' -f1-3 /proc/loadavg)

fs_log "swift: fs-bench --channels $channels --batch 128"
b=$(fs-bench --channels "$channels" --batch 128 --threads "$THREADS" --json 2>/dev/null)
swift="\"train_images_per_second\": $(json_get unet_train_images_per_second <<<"$b")"
for steps in 4 32; do
  for cfg in 1 1.5; do
    fs_log "swift: fs-sample $steps steps, cfg $cfg"
    s=$(fs-sample --checkpoint "$W" --steps "$steps" --schedule fixed --cfg "$cfg" --seeds "0-$((SAMPLES - 1))" \
          --batch-size 256 --no-store-artifact --threads "$THREADS" --quiet --json)
    swift+=", \"sample_${steps}_steps_cfg_${cfg/./p}_images_per_second\": $(json_get images_per_second <<<"$s")"
  done
done

peer='null' ratio='null'
if [ -x "$PYTHON" ] && "$PYTHON" -c 'import torch, safetensors' 2>/dev/null; then
  fs_log "pytorch: bench/peer_teacher.py"
  peer=$("$PYTHON" bench/peer_teacher.py --threads "$THREADS" --samples "$SAMPLES")
  ratio=$(printf '{%s}' "$swift" | json_flat | while IFS=$'\t' read -r k v; do
      p=$(json_get "$k" <<<"$peer"); if [ -n "$p" ]; then awk -v k="$k" -v a="$v" -v b="$p" 'BEGIN { printf "\"%s\": %.2f\n", k, a / b }'; fi
    done | paste -sd, | sed 's/^/{/; s/$/}/')
else
  fs_warn "no torch at $PYTHON: PyTorch peer skipped"
fi
printf '{"threads": %s, "load_average_before": "%s", "load_average_after": "%s", "swift": {%s}, "pytorch": %s, "ratio_swift_over_pytorch": %s}\n' \
  "$THREADS" "$load" "$(cut -d' ' -f1-3 /proc/loadavg)" "$swift" "$peer" "$ratio"
