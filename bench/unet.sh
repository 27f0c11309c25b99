#!/usr/bin/env bash
# Issue 2's reference workload, Swift vs PyTorch side by side in one run: `fs-bench` and bench/peer_torch.py
# (UNet [32, 64, 64], batch 128, 28x28), alternated ROUNDS times so both see the same machine state.
# With PRECISIONS="fp32 bf16" each round also times `fs-bench --precision bf16` (issue 23) between the two.
#
#   bash bench/unet.sh [THREADS] [ROUNDS]     # default: 2 threads, 2 rounds
#   PRECISIONS="fp32 bf16" bash bench/unet.sh 2 5
#
# Needs the release tools (jobs/lib.sh builds them) and a Python with torch (PYTHON, default
# /root/venv/bin/python; without it only the Swift numbers are printed). Prints one JSON object with each
# round's images/s, the medians, and ratio_swift_over_pytorch (PyTorch's better layout, as peer_torch.py reports);
# with bf16 also "swift_bf16" and ratio_bf16_over_pytorch / ratio_bf16_over_fp32. The load average is read
# before and after every round (the machine is shared: compare ratios, never lone times).
set -euo pipefail
cd "$(dirname "$0")/.."
. jobs/lib.sh
FS_JOB=bench-unet
THREADS=${1:-2} ROUNDS=${2:-2} PYTHON=${PYTHON:-/root/venv/bin/python} PRECISIONS=${PRECISIONS:-fp32}
fs_tools fs-bench
have_peer=0
if [ -x "$PYTHON" ] && "$PYTHON" -c 'import torch' 2>/dev/null; then have_peer=1; else fs_warn "no torch at $PYTHON: PyTorch peer skipped"; fi
bf16=0
case " $PRECISIONS " in *" bf16 "*) bf16=1 ;; esac

loads=()
S=() B=() P=()
for r in $(seq 1 "$ROUNDS"); do
  loads+=("$(cut -d' ' -f1 /proc/loadavg)")
  fs_log "round $r/$ROUNDS: fs-bench --threads $THREADS"
  b=$(fs-bench --threads "$THREADS" --json 2>/dev/null)
  S+=("$(jq -r ".unet_train_images_per_second // empty" <<<"$b") $(jq -r ".unet_forward_images_per_second // empty" <<<"$b")")
  if [ "$bf16" = 1 ]; then
    fs_log "round $r/$ROUNDS: fs-bench --threads $THREADS --precision bf16"
    b=$(fs-bench --threads "$THREADS" --precision bf16 --json 2>/dev/null)
    B+=("$(jq -r ".unet_train_images_per_second // empty" <<<"$b") $(jq -r ".unet_forward_images_per_second // empty" <<<"$b")")
  fi
  if [ "$have_peer" = 1 ]; then
    fs_log "round $r/$ROUNDS: bench/peer_torch.py --threads $THREADS"
    p=$("$PYTHON" bench/peer_torch.py --threads "$THREADS" 2>/dev/null)
    P+=("$(jq -r ".unet_train_images_per_second // empty" <<<"$p") $(jq -r ".unet_forward_images_per_second // empty" <<<"$p")")
  fi
done
loads+=("$(cut -d' ' -f1 /proc/loadavg)")

. bench/lib.sh  # list, median, ratio

st=$(median 1 "${S[@]}") sf=$(median 2 "${S[@]}") pt=$(median 1 "${P[@]}") pf=$(median 2 "${P[@]}")
printf '{"threads": %s, "rounds": %s, "load_average_per_round": [%s], ' "$THREADS" "$ROUNDS" "$(IFS=,; echo "${loads[*]}")"
printf '"swift": {"train_images_per_second": %s, "forward_images_per_second": %s, "median_train": %s, "median_forward": %s}, ' \
  "$(list 1 "${S[@]}")" "$(list 2 "${S[@]}")" "$st" "$sf"
if [ "$bf16" = 1 ]; then
  bt=$(median 1 "${B[@]}") bfw=$(median 2 "${B[@]}")
  printf '"swift_bf16": {"train_images_per_second": %s, "forward_images_per_second": %s, "median_train": %s, "median_forward": %s}, ' \
    "$(list 1 "${B[@]}")" "$(list 2 "${B[@]}")" "$bt" "$bfw"
  printf '"ratio_bf16_over_pytorch": {"train": %s, "forward": %s}, ' "$(ratio "$bt" "$pt")" "$(ratio "$bfw" "$pf")"
  printf '"ratio_bf16_over_fp32": {"train": %s, "forward": %s}, ' "$(ratio "$bt" "$st")" "$(ratio "$bfw" "$sf")"
fi
printf '"pytorch": {"train_images_per_second": %s, "forward_images_per_second": %s, "median_train": %s, "median_forward": %s}, ' \
  "$(list 1 "${P[@]}")" "$(list 2 "${P[@]}")" "$pt" "$pf"
printf '"ratio_swift_over_pytorch": {"train": %s, "forward": %s}}\n' "$(ratio "$st" "$pt")" "$(ratio "$sf" "$pf")"
