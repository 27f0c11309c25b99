"""Checks Swift-written LoRA adapters against PEFT and the reference DiT (tools/golden/reference_dit.py).

    /work/venv-torch/bin/python tools/golden/check_lora.py [DIR]     # DIR default $TMPDIR/flowsteer-lora
    PYTHON_WITH_PEFT tools/golden/check_lora.py [DIR]                # also loads the adapters with PEFT

DIR holds what `swift test --filter LoRATests/exportForPEFTCheck` writes:
    base.safetensors      a DiT state dict (every tensor random), metadata `config` (DiTConfig JSON)
    adapters.safetensors  LoRA adapters under PEFT's names, metadata r / lora_alpha / target_modules / adapter_config
    merged.safetensors    Swift's LoRA.merged(base, adapters)
    io.safetensors        x, sigma, labels (F32) and v = Swift's forward of base + adapters (optional: files
                          from the tools, `fs-store export TEACHER`, `fs-store export STUDENT [--adapters-only]`,
                          have none, and the forward checks are skipped)

Checks: the base and the merged file load into the reference with load_state_dict(strict=True); every adapter
tensor has PEFT's name and shape ({m}.lora_A.weight [r, in], {m}.lora_B.weight [out, r]) for exactly the
modules PEFT's target_modules matching selects; merged == W + (lora_alpha / r) (B @ A) in float32; the
reference's forward on the merged weights reproduces Swift's v. With PEFT importable (a venv of its own,
outside the repository), the adapters are injected with peft.inject_adapter_in_model and loaded with
set_peft_model_state_dict (no unexpected keys), PEFT's unmerged forward reproduces v, and PEFT's own merge
reproduces merged.safetensors. Exit codes: 0 pass, 1 a check failed, 3 bad input.
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_common import Checks, read  # noqa: E402
from reference_dit import dit_from_config  # noqa: E402




def rel(a, b):
    """max|a - b| relative to b's scale (floor 1e-3)."""
    return float((a - b).abs().max() / max(float(b.abs().max()), 1e-3))


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.environ.get("TMPDIR", "/tmp"), "flowsteer-lora")
    torch.set_num_threads(1)
    checks = Checks()
    report = checks.report

    base, meta = read(os.path.join(d, "base.safetensors"))
    adapters, ameta = read(os.path.join(d, "adapters.safetensors"))
    merged, _ = read(os.path.join(d, "merged.safetensors"))
    io_path = os.path.join(d, "io.safetensors")
    io = read(io_path)[0] if os.path.exists(io_path) else None
    r, alpha = int(ameta["r"]), json.loads(ameta["lora_alpha"])
    targets = json.loads(ameta["target_modules"])
    scaling = alpha / r
    print(f"r {r} lora_alpha {alpha} target_modules {targets}")

    ref = dit_from_config(meta["config"]).eval()
    for name, sd in (("base", base), ("merged", merged)):
        try:
            ref.load_state_dict(sd, strict=True)
            report(f"{name}.safetensors loads with strict=True", True, f"{len(sd)} tensors")
        except RuntimeError as e:
            report(f"{name}.safetensors loads with strict=True", False, str(e))

    # PEFT's list matching: the name equals a target or ends with "." + target; nn.Linear only.
    linears = {n: m for n, m in ref.named_modules() if isinstance(m, torch.nn.Linear)}
    chosen = [n for n in linears if n in targets or any(n.endswith("." + t) for t in targets)]
    want = {}
    for n in chosen:
        out_f, in_f = linears[n].weight.shape
        want[f"{n}.lora_A.weight"] = [r, in_f]
        want[f"{n}.lora_B.weight"] = [out_f, r]
    got = {k: list(v.shape) for k, v in adapters.items()}
    report("adapter names and shapes are PEFT's for the targeted linears", got == want,
           f"{len(chosen)} modules" if got == want else
           f"missing {sorted(set(want) - set(got))[:4]} unexpected {sorted(set(got) - set(want))[:4]}")

    worst = 0.0
    for n in chosen:
        w = base[f"{n}.weight"]
        expected = w + (adapters[f"{n}.lora_B.weight"] @ adapters[f"{n}.lora_A.weight"]) * scaling
        worst = max(worst, rel(merged[f"{n}.weight"], expected))
    untouched = all(torch.equal(merged[k], base[k]) for k in base if k[: -len(".weight")] not in chosen)
    report("merged = W + (lora_alpha / r) B A (float32 rounding)", worst < 1e-6, f"relative {worst:.2e}")
    report("tensors outside the adapters are unchanged", untouched)

    if io is not None:
        x, sigma, labels, v = io["x"], io["sigma"], io["labels"].long(), io["v"]
        with torch.no_grad():
            ref.load_state_dict(merged, strict=True)
            e = rel(ref(x, sigma, labels), v)
        report("reference forward on the merged weights reproduces Swift's v", e < 2e-5, f"relative {e:.2e}")

    try:
        import peft
        from peft import LoraConfig, inject_adapter_in_model, set_peft_model_state_dict
    except ImportError:
        print("PEFT not importable here: skipped loading the adapters with PEFT (the merge formula was checked by hand)")
        return 0 if checks.ok else 1
    print(f"peft {peft.__version__}")
    config = LoraConfig(**json.loads(ameta["adapter_config"]))
    model = dit_from_config(meta["config"]).eval()
    model.load_state_dict(base, strict=True)
    model = inject_adapter_in_model(config, model)
    result = set_peft_model_state_dict(model, adapters)
    unexpected = list(getattr(result, "unexpected_keys", []))
    lora_modules = sorted(n for n, m in model.named_modules() if hasattr(m, "lora_A") and "default" in m.lora_A)
    report("PEFT loads every adapter tensor (no unexpected keys)", not unexpected, f"unexpected {unexpected[:4]}")
    report("PEFT adapts exactly the same modules", lora_modules == sorted(chosen), f"{len(lora_modules)} modules")
    loaded = all(torch.equal(model.get_submodule(n).lora_A["default"].weight, adapters[f"{n}.lora_A.weight"]) and
                 torch.equal(model.get_submodule(n).lora_B["default"].weight, adapters[f"{n}.lora_B.weight"])
                 for n in chosen)
    report("PEFT holds the file's A and B", loaded)
    if io is not None:
        with torch.no_grad():
            e = rel(model(x, sigma, labels), v)
        report("PEFT's unmerged forward reproduces Swift's v", e < 2e-5, f"relative {e:.2e}")
    worst = 0.0
    with torch.no_grad():
        for n in chosen:
            layer = model.get_submodule(n)
            layer.merge()
            worst = max(worst, rel(layer.get_base_layer().weight, merged[f"{n}.weight"]))
    report("PEFT's merge equals merged.safetensors", worst < 1e-6, f"relative {worst:.2e}")
    return 0 if checks.ok else 1


if __name__ == "__main__":
    code = main()
    print("PASS" if code == 0 else "FAIL")
    sys.exit(code)
