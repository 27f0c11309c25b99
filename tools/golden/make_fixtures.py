"""Writes the NN golden fixtures into Tests/NNTests/Fixtures/ from the PyTorch reference.

Run from anywhere (takes a few seconds on one thread):
    /root/venv/bin/python tools/golden/make_fixtures.py

Outputs (see tools/golden/README.md for every tensor name):
    unet_keys.json                  state_dict key/shape lists for channels [8,16], [16,32,32], [32,64,64]
    layers.safetensors              per-primitive inputs, parameters, outputs and gradients
    unet_small.safetensors          tiny UNet [8,16]: params, forward, loss, all grads, a 4-step CFG sample
    export_tiny.safetensors         an "exported checkpoint" (params only, metadata config) for check_export.py
    export_tiny_samples.safetensors what `fs-sample --save-tensors` writes, produced by the reference sampler
"""
import json
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import load_file

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from reference_unet import UNet, ResBlock, timestep_embedding, sample  # noqa: E402

ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
OUT = os.path.join(ROOT, "Tests", "NNTests", "Fixtures")

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)

SAMPLE_SIGMAS = [1.0, 0.9, 0.75, 0.5, 0.0]
SAMPLE_CFG = 1.5


def gen(seed):
    g = torch.Generator().manual_seed(seed)
    return g


def randn(g, *shape):
    return torch.randn(*shape, generator=g, dtype=torch.float32)


def uniform(g, *shape, lo=-1.0, hi=1.0):
    return lo + (hi - lo) * torch.rand(*shape, generator=g, dtype=torch.float32)


def scalar(x):
    """Scalars are stored with shape [1] (not 0-d) to keep readers simple."""
    return x.detach().reshape(1).clone()


def record(out, name, fn, inputs, params=None, seed=0, grads=True):
    """Runs fn(*inputs, **params); stores <name>.<input>, <name>.<param>, <name>.out, and for
    grads=True a fixed random cotangent <name>.r plus <name>.grad_<input/param> = d sum(out * r)."""
    params = params or {}
    g = gen(10_000 + seed)
    leaves = {}
    for k, v in list(inputs.items()) + list(params.items()):
        t = v.detach().clone()
        if grads and t.dtype == torch.float32:
            t.requires_grad_(True)
        leaves[k] = t
        out[f"{name}.{k}"] = v.detach().clone()
    y = fn(**leaves)
    out[f"{name}.out"] = y.detach().clone() if y.dim() > 0 else scalar(y)
    if not grads:
        return
    if y.dim() == 0:
        y.backward()            # scalar outputs (mse): gradient of the output itself, no r
    else:
        r = randn(g, *y.shape)
        out[f"{name}.r"] = r
        (y * r).sum().backward()
    for k, t in leaves.items():
        if t.requires_grad:
            out[f"{name}.grad_{k}"] = t.grad.detach().clone()


def make_layers():
    out = {}
    g = gen(1)
    # conv2d 3x3 stride 1 pad 1
    record(out, "conv3x3s1", lambda x, weight, bias: F.conv2d(x, weight, bias, stride=1, padding=1),
           {"x": uniform(g, 2, 3, 6, 6)}, {"weight": randn(g, 5, 3, 3, 3) * 0.3, "bias": randn(g, 5) * 0.1}, seed=1)
    # conv2d 3x3 stride 2 pad 1 on an odd size (7x7 -> 4x4)
    record(out, "conv3x3s2", lambda x, weight, bias: F.conv2d(x, weight, bias, stride=2, padding=1),
           {"x": uniform(g, 2, 3, 7, 7)}, {"weight": randn(g, 4, 3, 3, 3) * 0.3, "bias": randn(g, 4) * 0.1}, seed=2)
    # conv2d 3x3 stride 2 pad 1 on an even size (8x8 -> 4x4)
    record(out, "conv3x3s2even", lambda x, weight, bias: F.conv2d(x, weight, bias, stride=2, padding=1),
           {"x": uniform(g, 2, 3, 8, 8)}, {"weight": randn(g, 4, 3, 3, 3) * 0.3, "bias": randn(g, 4) * 0.1}, seed=3)
    # conv2d 1x1
    record(out, "conv1x1", lambda x, weight, bias: F.conv2d(x, weight, bias),
           {"x": uniform(g, 2, 6, 5, 5)}, {"weight": randn(g, 4, 6, 1, 1) * 0.3, "bias": randn(g, 4) * 0.1}, seed=4)
    # linear: y = x W^T + b, W [out, in]
    record(out, "linear", lambda x, weight, bias: F.linear(x, weight, bias),
           {"x": uniform(g, 4, 10)}, {"weight": randn(g, 6, 10) * 0.3, "bias": randn(g, 6) * 0.1}, seed=5)
    # group norm, 8 groups over 16 channels, eps 1e-5, affine (non-trivial weight/bias)
    record(out, "groupnorm", lambda x, weight, bias: F.group_norm(x, 8, weight, bias, eps=1e-5),
           {"x": uniform(g, 2, 16, 3, 3) * 2 + 0.5},
           {"weight": 1 + 0.3 * randn(g, 16), "bias": 0.2 * randn(g, 16)}, seed=6)
    # silu
    record(out, "silu", lambda x: F.silu(x), {"x": uniform(g, 2, 3, 4, 4) * 3}, seed=7)
    # relu (inputs kept at least 0.05 away from the kink)
    u = uniform(g, 2, 3, 4, 4)
    record(out, "relu", lambda x: F.relu(x), {"x": torch.sign(u) * (0.05 + u.abs())}, seed=8)
    # embedding lookup (11 x 6 table; indices are int64 and repeat, so grad_weight accumulates rows)
    idx = torch.tensor([3, 10, 0, 3, 7], dtype=torch.int64)
    record(out, "embedding", lambda indices, weight: F.embedding(indices, weight),
           {"indices": idx}, {"weight": randn(g, 11, 6)}, seed=9)
    # sinusoidal time embedding of t = 1000 * sigma (forward only)
    sig = torch.tensor([0.0, 1.0, 0.5, 0.001, 0.123456, 0.9, 0.75, 0.008929], dtype=torch.float32)
    record(out, "timeembed", lambda sigma: timestep_embedding(sigma), {"sigma": sig}, grads=False)
    # nearest resize 7x7 -> 14x14 (exact 2x) and 4x4 -> 7x7 (non-integer ratio)
    record(out, "resize2x", lambda x: F.interpolate(x, size=(14, 14), mode="nearest"),
           {"x": uniform(g, 2, 3, 7, 7)}, seed=10)
    record(out, "resize4to7", lambda x: F.interpolate(x, size=(7, 7), mode="nearest"),
           {"x": uniform(g, 2, 3, 4, 4)}, seed=11)
    # concat on channels
    record(out, "concat", lambda a, b: torch.cat([a, b], dim=1),
           {"a": uniform(g, 2, 3, 4, 4), "b": uniform(g, 2, 5, 4, 4)}, seed=12)
    # mse = mean((x - target)^2); out has shape [1]; grads are of the loss itself (no r)
    record(out, "mse", lambda x, target: F.mse_loss(x, target),
           {"x": uniform(g, 2, 3, 4, 4), "target": uniform(g, 2, 3, 4, 4)}, seed=13)
    # one ResBlock(8 -> 16) with a 1x1 skip, embedding width 128, random non-trivial norms
    torch.manual_seed(14)
    rb = ResBlock(8, 16)
    with torch.no_grad():
        for n in ("norm1", "norm2"):
            m = getattr(rb, n)
            m.weight.copy_(1 + 0.3 * randn(g, *m.weight.shape))
            m.bias.copy_(0.2 * randn(g, *m.bias.shape))
    rb_params = {k: v.detach().clone() for k, v in rb.state_dict().items()}

    def rb_fn(x, e, **p):
        return torch.func.functional_call(rb, p, (x, e))

    record(out, "resblock", rb_fn, {"x": uniform(g, 2, 8, 5, 5), "e": randn(g, 2, 128)}, rb_params, seed=14)
    return out


def perturb_for_fixture(model, g):
    """Default init has zero conv_out and identity norms; make every parameter matter."""
    with torch.no_grad():
        model.conv_out.weight.copy_(0.2 * randn(g, *model.conv_out.weight.shape))
        model.conv_out.bias.copy_(0.1 * randn(g, *model.conv_out.bias.shape))
        for m in model.modules():
            if isinstance(m, nn.GroupNorm):
                m.weight.copy_(1 + 0.2 * randn(g, *m.weight.shape))
                m.bias.copy_(0.1 * randn(g, *m.bias.shape))


def make_unet_small():
    torch.manual_seed(20)
    model = UNet([8, 16])
    g = gen(21)
    perturb_for_fixture(model, g)
    out = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    x = randn(g, 3, 1, 28, 28)
    sigma = torch.tensor([0.05, 0.5, 0.97], dtype=torch.float32)
    labels = torch.tensor([3, 10, 7], dtype=torch.int64)
    target = randn(g, 3, 1, 28, 28)
    model.zero_grad()
    v = model(x, sigma, labels)
    loss = ((v - target) ** 2).mean()
    loss.backward()
    out.update({"input.x": x, "input.sigma": sigma, "input.labels": labels, "input.target": target,
                "output.v": v.detach().clone(), "output.loss": scalar(loss)})
    for k, p in model.named_parameters():
        out[f"grad.{k}"] = p.grad.detach().clone()
    noise = randn(g, 3, 1, 28, 28)
    slabels = torch.tensor([0, 5, 9], dtype=torch.int64)
    s = sample(model, noise, slabels, SAMPLE_SIGMAS, SAMPLE_CFG)
    out.update({"sample.noise": noise, "sample.labels": slabels,
                "sample.sigmas": torch.tensor(SAMPLE_SIGMAS, dtype=torch.float32),
                "sample.cfg": torch.tensor([SAMPLE_CFG], dtype=torch.float32), "sample.out": s})
    meta = {"format": "pt", "config": json.dumps(model.config()),
            "labels_dtype": "I64", "sample_sigmas": json.dumps(SAMPLE_SIGMAS), "sample_cfg": json.dumps(SAMPLE_CFG),
            "generator": "tools/golden/make_fixtures.py"}
    return out, meta


def make_export_tiny():
    """A checkpoint as `fs-store export` writes it plus a `fs-sample --save-tensors` file for it."""
    torch.manual_seed(30)
    model = UNet([8, 16])
    g = gen(31)
    perturb_for_fixture(model, g)
    params = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    meta = {"format": "pt", "config": json.dumps(model.config()), "recommended_cfg": "2.0",
            "schedule": "fixed", "shift": "3.0"}
    noise = randn(g, 4, 1, 28, 28)
    labels = torch.tensor([0, 1, 2, 3], dtype=torch.int64)
    sigmas = [1.0, 0.857692, 0.602151, 0.008929, 0.0]
    cfg = 2.0
    samples = sample(model, noise, labels, sigmas, cfg)
    smeta = {"sigmas": json.dumps(sigmas), "cfg": json.dumps(cfg)}
    return params, meta, {"noise": noise, "labels": labels, "samples": samples}, smeta


def make_keys():
    configs = []
    for ch in ([8, 16], [16, 32, 32], [32, 64, 64]):
        m = UNet(ch)
        sd = m.state_dict()
        configs.append({"channels": ch, "parameter_count": sum(v.numel() for v in sd.values()),
                        "keys": [[k, list(v.shape)] for k, v in sd.items()]})
    return {"generator": "tools/golden/make_fixtures.py", "configs": configs}


DTYPES = {torch.float32: "F32", torch.int64: "I64"}


def write_safetensors(path, tensors, meta=None):
    """Byte-deterministic safetensors writer (safetensors' own writer orders __metadata__ entries
    randomly). Header: __metadata__ first, then tensors in insertion order; data in the same order,
    contiguous, little-endian; header padded with spaces to a multiple of 8 bytes."""
    header = {}
    if meta:
        header["__metadata__"] = {k: str(v) for k, v in meta.items()}
    blobs, offset = [], 0
    for k, t in tensors.items():
        t = t.detach().contiguous().cpu()
        b = t.numpy().astype(t.numpy().dtype.newbyteorder("<"), copy=False).tobytes()
        header[k] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(len(h).to_bytes(8, "little"))
        f.write(h)
        for b in blobs:
            f.write(b)


def save(tensors, name, meta=None):
    path = os.path.join(OUT, name)
    write_safetensors(path, tensors, meta)
    back = load_file(path)  # round-trip through the official reader
    assert list(back) == list(tensors) or set(back) == set(tensors)
    assert all(torch.equal(back[k], tensors[k].detach()) for k in tensors)
    print(f"wrote {path}: {len(tensors)} tensors, {os.path.getsize(path)} bytes")


def main():
    os.makedirs(OUT, exist_ok=True)
    keys = make_keys()
    path = os.path.join(OUT, "unet_keys.json")
    with open(path, "w") as f:
        f.write("{\n")
        f.write(f'  "generator": {json.dumps(keys["generator"])},\n  "configs": [\n')
        for ci, c in enumerate(keys["configs"]):
            f.write(f'    {{"channels": {json.dumps(c["channels"])}, "parameter_count": {c["parameter_count"]}, "keys": [\n')
            f.write(",\n".join(f"      {json.dumps(kv)}" for kv in c["keys"]))
            f.write("\n    ]}" + ("," if ci + 1 < len(keys["configs"]) else "") + "\n")
        f.write("  ]\n}\n")
    print(f"wrote {path}")
    save(make_layers(), "layers.safetensors",
         {"format": "pt", "generator": "tools/golden/make_fixtures.py", "indices_dtype": "I64"})
    t, meta = make_unet_small()
    save(t, "unet_small.safetensors", meta)
    params, meta, samples, smeta = make_export_tiny()
    save(params, "export_tiny.safetensors", meta)
    save(samples, "export_tiny_samples.safetensors", smeta)


if __name__ == "__main__":
    main()
