"""Checks an exported FlowSteer checkpoint against the PyTorch reference UNet or DiT.

    /root/venv/bin/python tools/golden/check_export.py MODEL.safetensors [--samples SAMPLES.safetensors] [--tol 1e-3]

MODEL.safetensors is what `fs-store export` writes (and what models/*.safetensors ship as): exactly the
network's parameters under their PyTorch names (F32), with `__metadata__` holding a `config` JSON string:
`"model": "dit"` selects tools/golden/reference_dit.py's DiT (built from the whole config), anything else the
UNet of reference_unet.py (from `channels`). It must load with `load_state_dict(strict=True)`.

SAMPLES.safetensors is what `fs-sample --save-tensors` writes: `noise` [B,C,H,W] F32, `labels` [B]
(I64; any integer or float dtype is accepted and rounded), `samples` [B,C,H,W] F32 (model space,
before clamping), and metadata `sigmas` (JSON list) and `cfg` (JSON number). The reference re-samples
the same noise with the same sigmas and CFG (Euler, v = v_null + w (v_cond - v_null)) and the script
prints the max abs difference.

Exit codes (docs/design.md): 0 ok, 1 difference above --tol, 3 bad input file.
Example that works without any Swift output (fixtures written by make_fixtures.py):
    /root/venv/bin/python tools/golden/check_export.py Tests/NNTests/Fixtures/export_tiny.safetensors \
        --samples Tests/NNTests/Fixtures/export_tiny_samples.safetensors
"""
import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_common import read  # noqa: E402
import reference_dit  # noqa: E402
import reference_unet  # noqa: E402


def model_from_metadata(meta):
    """The reference network, its description, its input channels and its null label, from `config`."""
    if meta is None or "config" not in meta:
        raise ValueError("safetensors metadata has no 'config' entry")
    config = json.loads(meta["config"])
    if config.get("model") == "dit":
        m = reference_dit.dit_from_config(config)
        return m, f"DiT({json.dumps(config, sort_keys=True)})", m.in_channels, m.num_classes
    m = reference_unet.unet_from_metadata(meta)
    return m, f"UNet(channels={m.channels})", 1, reference_unet.NULL_LABEL


def fail_input(msg):
    print(f"error: {msg}", file=sys.stderr)
    sys.exit(3)




def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("--samples", help="safetensors written by fs-sample --save-tensors")
    ap.add_argument("--tol", type=float, default=1e-3, help="max abs difference allowed (default 1e-3)")
    ap.add_argument("--sigmas", help="JSON list overriding the samples file's metadata")
    ap.add_argument("--cfg", type=float, help="override the samples file's cfg")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=64, help="samples per reference forward batch")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    params, meta = read(args.model)
    if meta.get("format") != "pt":
        print(f"warning: {args.model}: __metadata__ format is {meta.get('format')!r}, expected 'pt'", file=sys.stderr)
    try:
        model, what, channels, null_label = model_from_metadata(meta)
    except (ValueError, TypeError, AssertionError, json.JSONDecodeError) as e:
        fail_input(f"{args.model}: {e}")
    bad = [k for k, v in params.items() if v.dtype != torch.float32]
    if bad:
        fail_input(f"{args.model}: non-F32 tensors: {bad[:5]}")
    try:
        model.load_state_dict(params, strict=True)
    except RuntimeError as e:
        fail_input(f"{args.model} does not load into {what} with strict=True:\n{e}")
    model.eval()
    n = sum(v.numel() for v in params.values())
    print(f"ok: {args.model} loads strictly into {what}: {len(params)} tensors, {n} parameters")
    extra = {k: v for k, v in meta.items() if k not in ("format", "config")}
    if extra:
        print(f"    metadata: {json.dumps(extra)[:300]}")
    if not args.samples:
        return

    s, smeta = read(args.samples)
    for k in ("noise", "labels", "samples"):
        if k not in s:
            fail_input(f"{args.samples}: missing tensor '{k}' (has {sorted(s)})")
    noise, samples = s["noise"].float(), s["samples"].float()
    labels = s["labels"]
    labels = (labels.round() if labels.is_floating_point() else labels).to(torch.int64).reshape(-1)
    if noise.dim() != 4 or noise.shape[1] != channels or noise.shape != samples.shape or labels.shape[0] != noise.shape[0]:
        fail_input(f"{args.samples}: inconsistent shapes noise {list(noise.shape)}, labels {list(labels.shape)}, "
                   f"samples {list(samples.shape)}")
    if int(labels.min()) < 0 or int(labels.max()) > null_label:
        fail_input(f"{args.samples}: labels outside 0..{null_label}")
    try:
        sigmas = json.loads(args.sigmas if args.sigmas else smeta["sigmas"])
        cfg = args.cfg if args.cfg is not None else float(json.loads(smeta["cfg"]))
    except KeyError as e:
        fail_input(f"{args.samples}: metadata has no {e} (pass --sigmas/--cfg)")
    sigmas = [float(x) for x in sigmas]

    t0 = time.time()
    outs = [reference_unet.sample(model, noise[i:i + args.batch], labels[i:i + args.batch], sigmas, cfg, null_label)
            for i in range(0, noise.shape[0], args.batch)]
    ref = torch.cat(outs)
    diff = (ref - samples).abs()
    maxd = float(diff.max())
    per = diff.flatten(1).max(dim=1).values
    print(f"re-sampled {noise.shape[0]} samples, {len(sigmas) - 1} Euler steps, cfg {cfg}, sigmas {sigmas} "
          f"in {time.time() - t0:.1f}s")
    print(f"max abs difference: {maxd:.3e} (mean {float(diff.mean()):.3e}, worst sample {int(per.argmax())}; "
          f"sample range [{float(ref.min()):.3f}, {float(ref.max()):.3f}]; tolerance {args.tol:g})")
    if not maxd <= args.tol:
        print("FAIL: the exported model does not reproduce the samples", file=sys.stderr)
        sys.exit(1)
    print("PASS")


if __name__ == "__main__":
    main()
