"""Checks a Swift-written DiT state dict against the PyTorch reference (tools/golden/reference_dit.py).

    /work/venv-torch/bin/python tools/golden/check_dit_export.py [DIR]      # DIR default $TMPDIR/flowsteer-dit

DIR holds what `swift test --filter DiTGoldenTests/exportForReferenceCheck` writes:
    init.safetensors       DiT(config).initialParameters(seed:) with metadata `config` (DiTConfig JSON)
    perturbed.safetensors  the same with every all-zero tensor replaced by N(0, 0.05^2)
    io.safetensors         x [4,1,8,8], sigma [4], labels [4] (F32), v = Swift's forward with the perturbed weights

Checks: both state dicts load into the reference with load_state_dict(strict=True) (names, shapes, no extra or
missing keys); the Swift init follows initialize_weights (pos_embed equals the reference's table, zero-init
tensors are zero, xavier bounds, std 0.02 tables); the reference's forward on the perturbed weights reproduces
Swift's v. Prints one line per check and PASS/FAIL. Exit codes: 0 pass, 1 a check failed, 3 bad input.
"""
import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_common import Checks, read  # noqa: E402
from reference_dit import dit_from_config  # noqa: E402




def main():
    d = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.environ.get("TMPDIR", "/tmp"), "flowsteer-dit")
    torch.set_num_threads(1)
    checks = Checks()
    report = checks.report

    init, meta = read(os.path.join(d, "init.safetensors"))
    config = json.loads(meta["config"])
    print(f"config {json.dumps(config, sort_keys=True)}")
    ref = dit_from_config(config)
    ref.eval()
    ref_sd = ref.state_dict()
    try:
        ref.load_state_dict(init, strict=True)
        report("init.safetensors loads with strict=True", True, f"{len(init)} tensors, {sum(v.numel() for v in init.values())} values")
    except RuntimeError as e:
        report("init.safetensors loads with strict=True", False, str(e))
    report("key set equals the reference state_dict", set(init) == set(ref_sd),
           f"missing {sorted(set(ref_sd) - set(init))} unexpected {sorted(set(init) - set(ref_sd))}")
    # Initialisation laws (initialize_weights).
    report("pos_embed equals the reference's sin-cos table",
           torch.equal(init["pos_embed"], ref_sd["pos_embed"]),
           f"max diff {float((init['pos_embed'] - ref_sd['pos_embed']).abs().max()):.3g}")
    zero = [k for k in ref_sd if ("adaLN_modulation" in k or k.startswith("final_layer") or k.endswith(".bias"))]
    report("adaLN, final layer and biases are zero", all(int(torch.count_nonzero(init[k])) == 0 for k in zero), f"{len(zero)} tensors")
    bad = []
    for k, w in init.items():
        if k.endswith(".weight") and k not in zero and "embedding_table" not in k and "t_embedder" not in k:
            w2 = w.reshape(w.shape[0], -1)
            bound = math.sqrt(6.0 / (w2.shape[0] + w2.shape[1]))
            if float(w2.abs().max()) > bound * (1 + 1e-6) or float(w2.abs().max()) < 0.9 * bound:
                bad.append(k)
    report("xavier_uniform bounds of linear / patch weights", not bad, f"outside: {bad}" if bad else "")
    stds = {k: float(init[k].std()) for k in init if "embedding_table" in k or "t_embedder.mlp" in k and k.endswith("weight")}
    report("std 0.02 for the label table and timestep MLP", all(abs(s - 0.02) < 0.004 for s in stds.values()),
           ", ".join(f"{k} {s:.4f}" for k, s in stds.items()))

    pert, _ = read(os.path.join(d, "perturbed.safetensors"))
    io, _ = read(os.path.join(d, "io.safetensors"))
    try:
        ref.load_state_dict(pert, strict=True)
    except RuntimeError as e:
        report("perturbed.safetensors loads with strict=True", False, str(e))
        sys.exit(1)
    with torch.no_grad():
        v = ref(io["x"], io["sigma"], io["labels"].round().long())
    diff = float((v - io["v"]).abs().max())
    scale = float(io["v"].abs().max())
    report("reference forward on the Swift weights equals Swift's v", diff <= 2e-5 * max(scale, 1e-3),
           f"max |diff| {diff:.3g} (|v| max {scale:.3g})")
    print("PASS" if checks.ok else "FAIL")
    sys.exit(0 if checks.ok else 1)


if __name__ == "__main__":
    main()
