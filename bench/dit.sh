#!/usr/bin/env bash
# The DiT reference workload (28x28x1, patch 2, hidden 192, depth 6, heads 3, mlp ratio 4, batch 64), Swift vs
# PyTorch side by side in one run: `fs-bench --model dit` and `bench/peer_torch.py --model dit`, alternated ROUNDS
# times so both see the same machine state.
#
#   bash bench/dit.sh [THREADS] [ROUNDS]     # default: 2 threads, 2 rounds
#   OLD=/path/to/old/bin bash bench/dit.sh 2 3    # also an older build's fs-bench in every round ("swift_old")
#   PRECISION=bf16 bash bench/dit.sh 2 3           # Swift's matrix products in bf16 (--precision); PyTorch in fp32
#                                                  # ("pytorch") and under bf16 autocast ("pytorch_bf16_autocast")
#
# Needs the release tools (jobs/lib.sh builds them) and a Python with torch (PYTHON, default
# /root/venv/bin/python; without it only the Swift numbers are printed). Prints one JSON object with each
# round's images/s, the medians, and ratio_swift_over_pytorch (PyTorch's faster attention path, as peer_torch.py reports).
set -euo pipefail
cd "$(dirname "$0")/.."
. jobs/lib.sh
FS_JOB=bench-dit
THREADS=${1:-2} ROUNDS=${2:-2} PYTHON=${PYTHON:-/root/venv/bin/python} PRECISION=${PRECISION:-fp32}
fs_tools fs-bench
have_peer=0
if [ -x "$PYTHON" ] && "$PYTHON" -c 'import torch' 2>/dev/null; then have_peer=1; else fs_warn "no torch at $PYTHON: PyTorch peer skipped"; fi

[ -z "${OLD:-}" ] || [ -x "$OLD/fs-bench" ] || fs_die "OLD=$OLD has no fs-bench"
load=$(cut -d' ' -f1-3 /proc/loadavg)
S=() P=() A=() O=() L=()
for r in $(seq 1 "$ROUNDS"); do
  L+=("$(cut -d' ' -f1 /proc/loadavg)")
  if [ -n "${OLD:-}" ]; then
    fs_log "round $r/$ROUNDS: $OLD/fs-bench --model dit --threads $THREADS"
    b=$("$OLD/fs-bench" --model dit --threads "$THREADS" --precision "$PRECISION" --json 2>/dev/null)
    O+=("$(jq -r ".dit_train_images_per_second // empty" <<<"$b") $(jq -r ".dit_forward_images_per_second // empty" <<<"$b")")
  fi
  fs_log "round $r/$ROUNDS: fs-bench --model dit --threads $THREADS --precision $PRECISION"
  b=$(fs-bench --model dit --threads "$THREADS" --precision "$PRECISION" --json 2>/dev/null)
  S+=("$(jq -r ".dit_train_images_per_second // empty" <<<"$b") $(jq -r ".dit_forward_images_per_second // empty" <<<"$b")")
  if [ "$have_peer" = 1 ]; then
    fs_log "round $r/$ROUNDS: bench/peer_torch.py --model dit --threads $THREADS"
    p=$("$PYTHON" bench/peer_torch.py --model dit --threads "$THREADS" 2>/dev/null)
    P+=("$(jq -r ".dit_train_images_per_second // empty" <<<"$p") $(jq -r ".dit_forward_images_per_second // empty" <<<"$p")")
    if [ "$PRECISION" = bf16 ]; then
      # The like-for-like peer of Swift's bf16 mode: PyTorch's own mixed precision on the CPU.
      fs_log "round $r/$ROUNDS: bench/peer_torch.py --model dit --threads $THREADS --autocast-bf16"
      p=$("$PYTHON" bench/peer_torch.py --model dit --threads "$THREADS" --autocast-bf16 2>/dev/null)
      A+=("$(jq -r ".dit_train_images_per_second // empty" <<<"$p") $(jq -r ".dit_forward_images_per_second // empty" <<<"$p")")
    fi
  fi
done

. bench/lib.sh  # list, median, ratio

st=$(median 1 "${S[@]}") sf=$(median 2 "${S[@]}") pt=$(median 1 "${P[@]}") pf=$(median 2 "${P[@]}")
printf '{"threads": %s, "precision": "%s", "rounds": %s, "load_average_before": "%s", "load_average_after": "%s", "load_average_per_round": [%s], ' \
  "$THREADS" "$PRECISION" "$ROUNDS" "$load" "$(cut -d' ' -f1-3 /proc/loadavg)" "$(IFS=,; echo "${L[*]}")"
if [ -n "${OLD:-}" ]; then
  ot=$(median 1 "${O[@]}") of=$(median 2 "${O[@]}")
  printf '"swift_old": {"bin": "%s", "train_images_per_second": %s, "forward_images_per_second": %s, "median_train": %s, "median_forward": %s, "ratio_over_pytorch": {"train": %s, "forward": %s}}, ' \
    "$OLD" "$(list 1 "${O[@]}")" "$(list 2 "${O[@]}")" "$ot" "$of" "$(ratio "$ot" "$(median 1 "${P[@]}")")" "$(ratio "$of" "$(median 2 "${P[@]}")")"
fi
printf '"swift": {"train_images_per_second": %s, "forward_images_per_second": %s, "median_train": %s, "median_forward": %s}, ' \
  "$(list 1 "${S[@]}")" "$(list 2 "${S[@]}")" "$st" "$sf"
printf '"pytorch": {"train_images_per_second": %s, "forward_images_per_second": %s, "median_train": %s, "median_forward": %s}, ' \
  "$(list 1 "${P[@]}")" "$(list 2 "${P[@]}")" "$pt" "$pf"
if [ "${#A[@]}" -gt 0 ]; then
  at=$(median 1 "${A[@]}") af=$(median 2 "${A[@]}")
  printf '"pytorch_bf16_autocast": {"train_images_per_second": %s, "forward_images_per_second": %s, "median_train": %s, "median_forward": %s}, ' \
    "$(list 1 "${A[@]}")" "$(list 2 "${A[@]}")" "$at" "$af"
  printf '"ratio_swift_over_pytorch_bf16_autocast": {"train": %s, "forward": %s}, ' "$(ratio "$st" "$at")" "$(ratio "$sf" "$af")"
fi
printf '"ratio_swift_over_pytorch": {"train": %s, "forward": %s}}\n' "$(ratio "$st" "$pt")" "$(ratio "$sf" "$pf")"
