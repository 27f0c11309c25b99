#!/usr/bin/env bash
# LoRA students (issue 21 part 2) against the release tools, on the dit-tiny preset (about 1 minute):
#   1. fs-distill --lora 4 --lora-alpha 8 (FlowSteer, OTA online, adversarial) trains adapters only: the checkpoint holds lora_A/lora_B tensors
#      (model., ema., opt.) and no copy of the base, which it names by hash;
#   2. killed-and-resumed (--steps 3, then --resume --steps 6) ends bit-identical to an uninterrupted run;
#   3. fs-store export writes the merged model (a plain model: merged = base + (alpha / r) B A in the
#      exported tensors, everything else the base's) or, with --adapters-only, PEFT names and metadata;
#   4. fs-sample samples the LoRA checkpoint (base + adapters from the store) bit-identically to the
#      merged file, and differently from the teacher; fs-eval evaluates it;
#   5. bad options: a target matching nothing, --lora-alpha without --lora, a changed --lora on --resume,
#      --adapters-only on a teacher;
#   6. a UNet teacher takes adapters on its linears (time_embed.0, time_embed.2, every emb_proj).
# The DiT's default targets: attn.qkv, attn.proj, mlp.fc1, mlp.fc2, adaLN_modulation.1, final_layer.linear.
# Prints "N passed, M failed".
set -uo pipefail
. "$(cd "$(dirname "$0")/.." && pwd)/lib.sh"
FS_JOB=lora-test
fs_tools fs-train fs-distill fs-sample fs-eval fs-store || exit 1
W=$(mktemp -d "${TMPDIR:-/tmp}/fs-lora.XXXXXX")
trap 'rm -rf "$W"' EXIT
cd "$W"
unset FS_STORE
export FS_STORE=$W/lora.db
. "$FS_ROOT/jobs/tests/lib/checks.sh"
hash_of() { fs-store show "$1" --json 2>/dev/null | jq -r ".hash // empty"; }

# The same teacher in a second store, where the interrupted twin of run l is made (a checkpoint's hash covers
# its metadata, run name included).
for db in "$FS_STORE" "$W/resume.db"; do
  fs-train --store "$db" --run t --model dit --preset tiny --steps 10 --checkpoint-every 10 --threads 2 --quiet >/dev/null 2>"$W/train.err" \
    || { tail -5 "$W/train.err"; fs_die "teacher training failed"; }
done
# --adversarial with an explicit warm-up: the discriminator trains beside the adapters, and the warm-up (by
# default 30% of the --steps a run starts with) is the same for the 3-step start and the 6-step run.
D=(--teacher t --method flowsteer --ota --online --adversarial --adv-warmup 2 --preset tiny --checkpoint-every 3 --threads 2 --quiet)

echo "== 1. adapters only"
fs-distill --run l "${D[@]}" --lora 4 --lora-alpha 8 --steps 6 >/dev/null 2>"$W/l.err"; rc=$?
check "fs-distill --lora 4 runs 6 steps (exit $rc)" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || tail -5 "$W/l.err"
fs-store show l@6 --json >"$W/l.json" 2>/dev/null
names=$(jq -r '.. | strings' "$W/l.json" | grep -E '^(model|ema|opt\.m|opt\.v)\.' | sort -u)
check "the checkpoint holds lora_A/lora_B under model., ema., opt.m., opt.v." \
  eval '[ -n "$(grep -E "^model\..*\.lora_A\.weight$" <<<"$names")" ] && [ -n "$(grep -E "^ema\..*\.lora_B\.weight$" <<<"$names")" ] && [ -n "$(grep -E "^opt\.v\..*\.lora_A\.weight$" <<<"$names")" ]'
check "  ... and no copy of the base (no model.*.weight other than adapters)" \
  eval '[ -z "$(grep -E "^(model|ema)\." <<<"$names" | grep -vE "\.lora_[AB]\.weight$")" ]'
check "  ... its metadata names the base by hash and records r / lora_alpha / target_modules" \
  eval 'grep -q "$(hash_of t)" "$W/l.json" && grep -q "target_modules" "$W/l.json"'

echo "== 2. resume is bit-identical"
fs-distill --store "$W/resume.db" --run l "${D[@]}" --lora 4 --lora-alpha 8 --steps 3 >/dev/null 2>&1
# The full command again (with --resume, at another thread count): the manifest records the command.
fs-distill --store "$W/resume.db" --run l "${D[@]}" --lora 4 --lora-alpha 8 --steps 6 --resume --threads 1 >/dev/null 2>"$W/r.err"; rc=$?
check "--resume continues the LoRA run (exit $rc)" [ "$rc" -eq 0 ]
check "  ... and ends bit-identical: adapters, EMA, AdamW state, metadata (hash of l@6 in both stores)" \
  eval '[ -n "$(hash_of l@6)" ] && [ "$(FS_STORE=$W/resume.db hash_of l@6)" = "$(hash_of l@6)" ]'

echo "== 3. export"
fs-store export t -o base.safetensors >/dev/null
fs-store export l -o merged.safetensors >/dev/null 2>"$W/e1.err"; rc1=$?
fs-store export l -o adapters.safetensors --adapters-only >/dev/null 2>"$W/e2.err"; rc2=$?
check "merged and adapters-only exports succeed (exit $rc1, $rc2)" [ "$rc1" -eq 0 -a "$rc2" -eq 0 ]
if command -v python3 >/dev/null 2>&1; then
  python3 - base.safetensors merged.safetensors adapters.safetensors >"$W/py.out" 2>&1 <<'EOF'
# Pure Python (no numpy): merged == base + (alpha / r) B A within float32 rounding, PEFT names and metadata.
import json, struct, sys
def read(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n]); meta = h.pop("__metadata__", {})
    out = {}
    for k, v in h.items():
        s, e = v["data_offsets"]
        out[k] = (v["shape"], struct.unpack(f"<{(e - s) // 4}f", b[8 + n + s:8 + n + e]))
    return out, meta
base, bm = read(sys.argv[1]); merged, mm = read(sys.argv[2]); ad, am = read(sys.argv[3])
r, alpha = int(am["r"]), float(am["lora_alpha"]); targets = json.loads(am["target_modules"]); s = alpha / r
assert am.get("peft_type") == "LORA" and json.loads(am["adapter_config"])["r"] == r, am
assert set(merged) == set(base), "merged keys differ from the base's"
mods = sorted({k[:-len(".lora_A.weight")] for k in ad if k.endswith(".lora_A.weight")})
assert mods and all(m == t or m.endswith("." + t) for m in mods for t in [next(t for t in targets if m == t or m.endswith("." + t))])
worst = 0.0
for m in mods:
    (o, i), w = base[m + ".weight"]
    (ra, ia), A = ad[m + ".lora_A.weight"]; (ob, rb), B = ad[m + ".lora_B.weight"]
    assert (ra, ia, ob, rb) == (r, i, o, r), (m, ra, ia, ob, rb)
    got = merged[m + ".weight"][1]
    for p in range(o):
        for q in range(i):
            t = [B[p * r + j] * A[j * i + q] for j in range(r)]
            want = w[p * i + q] + s * sum(t)
            bound = (r + 2) * 2 ** -23 * (abs(w[p * i + q]) + s * sum(abs(x) for x in t)) + 1e-30
            worst = max(worst, abs(got[p * i + q] - want) / bound)
same = all(merged[k][1] == base[k][1] for k in base if k[:-len(".weight")] not in mods)
nonzero = any(x != 0 for m in mods for x in ad[m + ".lora_B.weight"][1])
print(f"{len(mods)} modules, r {r}, lora_alpha {alpha}, worst {worst:.3f} x the rounding bound, others equal {same}, B trained {nonzero}")
sys.exit(0 if worst <= 1 and same and nonzero else 1)
EOF
  rc=$?
  check "merged = base + (alpha/r) B A in the exported tensors; PEFT names, shapes, metadata ($(tail -1 "$W/py.out"))" [ "$rc" -eq 0 ]
else
  echo "skip - python3 not installed: the exported tensors were not checked"
fi

echo "== 4. sampling"
S=(--steps 4 --seeds 0-7 --threads 2 --quiet)
fs-sample --checkpoint l "${S[@]}" --save-tensors store.safetensors >/dev/null 2>"$W/s1.err"; rc1=$?
fs-sample --checkpoint merged.safetensors "${S[@]}" --save-tensors file.safetensors >/dev/null 2>"$W/s2.err"; rc2=$?
fs-sample --checkpoint t "${S[@]}" --cfg 1 --save-tensors teacher.safetensors >/dev/null 2>&1
check "fs-sample takes the LoRA checkpoint and the merged file (exit $rc1, $rc2)" [ "$rc1" -eq 0 -a "$rc2" -eq 0 ]
[ "$rc1" -eq 0 ] || tail -3 "$W/s1.err"
tail_bytes() { local n; n=$(od -An -tu8 -N8 "$1" | tr -d ' '); tail -c +$((n + 9)) "$1" | md5sum | cut -d' ' -f1; }
check "  ... bit-identical samples (base + adapters = merged)" [ "$(tail_bytes store.safetensors)" = "$(tail_bytes file.safetensors)" ]
check "  ... which differ from the teacher's" [ "$(tail_bytes store.safetensors)" != "$(tail_bytes teacher.safetensors)" ]
fs-eval --checkpoint l --num-samples 16 --threads 2 --json >eval.json 2>"$W/eval.err"; rc=$?
check "fs-eval evaluates the LoRA checkpoint (exit $rc, FID $(jq -r ".fid // empty" eval.json), model $(jq -r ".model // empty" eval.json))" \
  eval '[ "$rc" -eq 0 ] && [ -n "$(jq -r ".fid // empty" eval.json)" ] && [ "$(jq -r ".model // empty" eval.json)" = "l@6" ]'

echo "== 5. bad options"
expect 2 "matches no linear" fs-distill --run x "${D[@]}" --lora 4 --lora-targets attn.nosuch --steps 2
expect 2 "need --lora" fs-distill --run x "${D[@]}" --lora-alpha 4 --steps 2
expect 2 "cannot change on --resume" fs-distill --run l --resume --lora 8 --steps 9 --threads 2
expect 2 "full fine-tuning" bash -c 'fs-distill --run f '"${D[*]}"' --steps 3 >/dev/null 2>&1; fs-distill --run f --resume --lora 4 --steps 6'
expect 3 "not a LoRA student" fs-store export t -o x.safetensors --adapters-only

echo "== 6. a UNet teacher"
fs-train --run u --preset tiny --steps 4 --threads 2 --quiet >/dev/null 2>&1
fs-distill --run ul --teacher u --method flowsteer --ota --online --preset tiny --lora 2 --steps 2 --threads 2 --quiet \
  >/dev/null 2>"$W/ul.err"; rc=$?
check "fs-distill --lora 2 from a UNet teacher (exit $rc)" [ "$rc" -eq 0 ]
check "  ... adapts its linears (time_embed, emb_proj)" eval 'fs-store show ul --json | grep -q "model.time_embed.0.lora_A.weight" && fs-store show ul --json | grep -q "emb_proj.lora_B.weight"'
fs-sample --checkpoint ul --steps 2 --seeds 0-3 --threads 2 --quiet --png ul.png >/dev/null 2>&1; rc=$?
check "  ... and samples (exit $rc)" eval '[ "$rc" -eq 0 ] && [ -s ul.png ]'

checks_summary
