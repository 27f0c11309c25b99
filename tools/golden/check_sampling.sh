#!/usr/bin/env bash
# Issue 4 acceptance (and issue 21's for the DiT): weights exported from the store load into the PyTorch
# reference UNet / DiT by name (load_state_dict strict=True), and re-sampling the same noise with the same
# sigmas and CFG in PyTorch gives the same samples as fs-sample within float32 tolerance.
#
#   tools/golden/check_sampling.sh                       # builds fs-train/fs-sample/fs-store (release)
#   FS_BIN=/path/to/bin PYTHON=/root/venv/bin/python TOL=1e-4 tools/golden/check_sampling.sh
#
# Trains a small checkpoint with `fs-train --preset tiny --embed-dim 128` (the PyTorch reference
# hard-codes a 128-wide embedding, the tiny preset's default is 32), exports it with `fs-store export`,
# samples it with fs-sample in three settings (diffusers 4 steps shift 3 CFG 2; fixed 8 steps CFG 1;
# and straight from the exported file with fixed 4 steps CFG 3), and runs tools/golden/check_export.py on
# each samples file; then the same for a DiT (`fs-train --model dit --preset dit-tiny`, 8 fixed steps,
# CFG 1.5). Needs PyTorch (tools/golden/README.md); exit 0 when every check passes.
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON=${PYTHON:-/root/venv/bin/python}
TOL=${TOL:-1e-4}
STEPS=${STEPS:-40}
THREADS=${THREADS:-2}
if [ -z "${FS_BIN:-}" ]; then
  for p in fs-train fs-sample fs-store; do swift build -c release --product "$p" 2>&1 | tail -1; done
  FS_BIN=$(swift build -c release --show-bin-path)
fi
WORK=$(mktemp -d "${TMPDIR:-/tmp}/check_sampling.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
S="$WORK/s.db"

"$FS_BIN/fs-train" --store "$S" --run golden --preset tiny --embed-dim 128 --steps "$STEPS" \
    --checkpoint-every "$STEPS" --seed 0 --threads "$THREADS" --quiet --json
"$FS_BIN/fs-store" export --store "$S" golden -o "$WORK/model.safetensors"

status=0
check() {  # name, then fs-sample arguments (MODEL: the exported file to check against)
  local name=$1; shift
  "$FS_BIN/fs-sample" --store "$S" --seeds 0-15 --threads "$THREADS" --quiet --json \
      --save-tensors "$WORK/$name.safetensors" "$@"
  echo "== $name: PyTorch reference re-sampling"
  "$PYTHON" tools/golden/check_export.py "${MODEL:-$WORK/model.safetensors}" --samples "$WORK/$name.safetensors" \
      --tol "$TOL" --threads "$THREADS" || status=1
}
check diffusers4_cfg2 --checkpoint golden --steps 4 --schedule diffusers --shift 3 --cfg 2 --no-store-artifact
check fixed8_cfg1 --checkpoint golden --steps 8 --schedule fixed --shift 3 --cfg 1 --labels 0,10,7
check file_fixed4_cfg3 --checkpoint "$WORK/model.safetensors" --steps 4 --cfg 3 --no-store-artifact

"$FS_BIN/fs-train" --store "$S" --run golden-dit --model dit --preset dit-tiny --steps "$STEPS" \
    --checkpoint-every "$STEPS" --seed 0 --threads "$THREADS" --quiet --json
"$FS_BIN/fs-store" export --store "$S" golden-dit -o "$WORK/dit.safetensors"
MODEL="$WORK/dit.safetensors" check dit_fixed8_cfg1.5 --checkpoint golden-dit --steps 8 --schedule fixed --shift 3 \
    --cfg 1.5 --no-store-artifact
[ "$status" = 0 ] && echo "PASS: exported weights reproduce fs-sample's samples in PyTorch (tolerance $TOL)"
exit "$status"
