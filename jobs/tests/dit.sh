#!/usr/bin/env bash
# The DiT behind the model seam (issues 19 and 21), end to end on MNIST with the dit-tiny preset: train a
# few steps, resume bit-identically, roll out, distill 4-step students (FlowSteer with OTA and a
# discriminator from the teacher's first block; PeRFlow), sample a PNG grid and --save-tensors, evaluate
# (finite FID), and check that `fs-store export` of the teacher has the reference DiT's state-dict names
# (and loads strictly into tools/golden/reference_dit.py when a Python with torch is at $TORCH_PYTHON,
# default /work/venv-torch/bin/python). Prints "N passed, M failed".
set -uo pipefail
. "$(cd "$(dirname "$0")/.." && pwd)/lib.sh"
FS_JOB=dit-test
fs_tools fs-train fs-rollout fs-distill fs-sample fs-eval fs-store || exit 1
W=$(mktemp -d "${TMPDIR:-/tmp}/fs-dit.XXXXXX")
trap 'rm -rf "$W"' EXIT
. "$FS_ROOT/jobs/tests/lib/checks.sh"
hash_of() { fs-store show --store "$1" "$2" --json 2>/dev/null | jq -r ".hash // empty"; }
S=$W/dit.db
train=(--run t --model dit --preset tiny --seed 5 --checkpoint-every 3 --threads 2 --quiet)

# 1. train, and train again in two invocations: the same bits
fs-train --store "$S" "${train[@]}" --steps 6 > /dev/null 2> "$W/train.err"; rc=$?
check "fs-train --model dit --preset tiny trains 6 steps (exit $rc)" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || tail -5 "$W/train.err"
R=$W/resume.db
fs-train --store "$R" "${train[@]}" --steps 3 > /dev/null 2>&1 && fs-train --store "$R" "${train[@]}" --steps 6 --resume > /dev/null 2>&1
a=$(hash_of "$S" t@6) b=$(hash_of "$R" t@6)
check "a resumed run ends bit-identical to an uninterrupted one (${a:0:12} vs ${b:0:12})" eval '[ -n "$a" ] && [ "$a" = "$b" ]'
check "the checkpoint's manifest names the DiT" \
  eval 'fs-store show --store "$S" t@6 --json | grep -q "model[^a-z]\{0,8\}dit"'
rc=0; err=$(fs-train --store "$W/bad.db" --run x --model dit --preset tiny --patch-size 5 --steps 1 --quiet 2>&1 >/dev/null) || rc=$?
check "a patch size that does not divide 28 is refused (exit $rc: ${err:0:120})" eval '[ "$rc" -eq 3 ] && [[ "$err" == *"patch_size 5"* ]]'
rc=0; fs-train --store "$W/bad.db" --run y --model dit --preset tiny --channels 8,16 --steps 1 --quiet >/dev/null 2>&1 || rc=$?
check "a UNet option with --model dit is a usage error (exit $rc)" [ "$rc" -eq 2 ]

# 2. roll out, distill 4-step students from the checkpoint alone
fs-rollout --store "$S" --teacher t --name bank --seeds 0-15 --segments 4 --substeps 2 --quiet --threads 2 > /dev/null 2> "$W/rollout.err"; rc=$?
check "fs-rollout reads the DiT from the checkpoint (exit $rc)" [ "$rc" -eq 0 ]
fs-distill --store "$S" --run fs --teacher t --bank bank --method flowsteer --ota --adversarial --disc encoder --disc-blocks 1 \
  --segments 4 --steps 4 --preset tiny --batch-size 4 --adv-batch-size 4 --quiet --threads 2 > /dev/null 2> "$W/distill.err"; rc=$?
check "fs-distill flowsteer --ota --adversarial --disc encoder --disc-blocks 1 (exit $rc)" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || tail -5 "$W/distill.err"
check "its discriminator holds block 0 only" \
  eval 'fs-store show --store "$S" fs@4 --json | grep -qF "disc.blocks.0.attn.qkv.weight" && ! fs-store show --store "$S" fs@4 --json | grep -qF "disc.blocks.1."'
# no --disc: the default discriminator, the frozen teacher's heads (LADD)
fs-distill --store "$S" --run lh --teacher t --bank bank --method flowsteer --ota --adversarial \
  --disc-blocks 2 --segments 4 --steps 4 --preset tiny --batch-size 4 --adv-batch-size 4 --quiet --threads 2 > /dev/null 2> "$W/heads.err"; rc=$?
check "fs-distill --adversarial --disc-blocks 2 (default --disc) from the DiT teacher (exit $rc)" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || tail -5 "$W/heads.err"
check "its discriminator is the default frozen-heads: two token heads and no teacher copy, recorded in its config" \
  eval 'fs-store show --store "$S" lh@4 --json | grep -qF "disc.heads.1.fc.weight" && ! fs-store show --store "$S" lh@4 --json | grep -qF "\"disc.blocks." && fs-store show --store "$S" lh@4 --json | grep -qE "disc[^a-z_]+frozen-heads"'
fs-distill --store "$S" --run pf --teacher t --method perflow --segments 4 --steps 3 --preset tiny --pairs 16 --batch-size 4 \
  --quiet --threads 2 > /dev/null 2> "$W/perflow.err"; rc=$?
check "fs-distill perflow from the DiT teacher (exit $rc)" [ "$rc" -eq 0 ]
rc=0; fs-distill --store "$S" --run bad --teacher t --bank bank --method flowsteer --ota --adversarial --disc-blocks 9 \
  --segments 4 --steps 1 --preset tiny --quiet > /dev/null 2>&1 || rc=$?
check "--disc-blocks beyond the teacher's depth is refused (exit $rc)" [ "$rc" -eq 2 ]

# 3. sample and evaluate the student
fs-sample --store "$S" --checkpoint fs --seeds 0-19 --png "$W/grid.png" --save-tensors "$W/s.safetensors" --quiet > /dev/null 2>&1; rc=$?
check "fs-sample writes a PNG grid and tensors (exit $rc)" eval '[ "$rc" -eq 0 ] && [ -s "$W/grid.png" ] && [ -s "$W/s.safetensors" ]'
out=$(fs-eval --store "$S" --checkpoint fs --num-samples 30 --json 2>/dev/null); rc=$?
fid=$(jq -r ".fid // empty" <<<"$out")
check "fs-eval of the DiT student gives a finite FID (exit $rc, FID $fid)" \
  awk -v f="$fid" 'BEGIN { exit !(f != "" && f + 0 == f && f >= 0 && f < 1e6) }'

# 4. the exported teacher has the reference's names (and loads strictly into the PyTorch reference)
fs-store export --store "$S" t@6 -o "$W/teacher.safetensors" > /dev/null 2>&1
names=$(python3 - "$W/teacher.safetensors" <<'EOF'
import json, struct, sys
b = open(sys.argv[1], "rb").read(); n = struct.unpack("<Q", b[:8])[0]; h = json.loads(b[8:8 + n])
meta = h.pop("__metadata__", {}); c = json.loads(meta["config"])
want = {"pos_embed", "x_embedder.proj.weight", "x_embedder.proj.bias", "y_embedder.embedding_table.weight",
        "final_layer.linear.weight", "final_layer.linear.bias",
        "final_layer.adaLN_modulation.1.weight", "final_layer.adaLN_modulation.1.bias"}
want |= {f"t_embedder.mlp.{i}.{p}" for i in (0, 2) for p in ("weight", "bias")}
for i in range(c["depth"]):
    for m in ("attn.qkv", "attn.proj", "mlp.fc1", "mlp.fc2", "adaLN_modulation.1"):
        want |= {f"blocks.{i}.{m}.weight", f"blocks.{i}.{m}.bias"}
print("ok" if c["model"] == "dit" and set(h) == want else f"names differ: {sorted(set(h) ^ want)}")
EOF
)
check "the exported DiT teacher has the reference's state-dict names ($names)" [ "$names" = ok ]
TORCH_PYTHON=${TORCH_PYTHON:-/work/venv-torch/bin/python}
if [ -x "$TORCH_PYTHON" ] && "$TORCH_PYTHON" -c 'import torch, safetensors' 2>/dev/null; then
  strict=$("$TORCH_PYTHON" - "$W/teacher.safetensors" "$FS_ROOT/tools/golden" <<'EOF' 2>&1
import json, sys
sys.path.insert(0, sys.argv[2])
from safetensors import safe_open
from reference_dit import dit_from_config
with safe_open(sys.argv[1], "pt") as f:
    sd = {k: f.get_tensor(k) for k in f.keys()}; meta = f.metadata()
dit_from_config(meta["config"]).load_state_dict(sd, strict=True)
print("ok")
EOF
)
  check "the exported teacher loads with strict=True into the PyTorch reference (${strict:0:120})" [ "$strict" = ok ]
else
  echo "skip - no torch at $TORCH_PYTHON: the strict PyTorch load is not checked"
fi

checks_summary
