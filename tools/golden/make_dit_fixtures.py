"""Writes the DiT golden fixtures into Tests/NNTests/Fixtures/ from tools/golden/reference_dit.py.

Run from anywhere (a few seconds on one thread; same environment as make_fixtures.py):
    /work/venv-torch/bin/python tools/golden/make_dit_fixtures.py

Outputs (tensor names follow make_fixtures.py's `record` convention: P.<input>, P.out, P.r, P.grad_<input>):
    dit_keys.json            state_dict keys/shapes/parameter counts for the small fixture DiT and the bench workload
    dit_ops.safetensors      layernorm, softmax, gelu, bmm, patchify, unpatchify, attention, modulate, gated,
                             chunk, posembed (forward), timeembed256 (forward) and one DiT block (all grads)
    dit_small.safetensors    a small DiT (8x8x1, patch 2, hidden 32, depth 2, heads 2, 3 classes): params,
                             input.*, output.v, output.loss, grad.<key>, cfg.* (guided velocity, w = 1.5)
"""
import json
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from make_fixtures import OUT, gen, randn, uniform, scalar, record, save  # noqa: E402
from reference_dit import (DiT, DiTBlock, cfg_velocity, get_2d_sincos_pos_embed,  # noqa: E402
                           timestep_embedding)

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)

SMALL = dict(input_size=8, patch_size=2, in_channels=1, hidden_size=32, depth=2, num_heads=2, mlp_ratio=4.0,
             num_classes=3, class_dropout_prob=0.1)
BENCH = dict(input_size=28, patch_size=2, in_channels=1, hidden_size=192, depth=6, num_heads=3, mlp_ratio=4.0,
             num_classes=10, class_dropout_prob=0.1)
CFG = 1.5


def patchify(x, p):
    """Tokens in a stride-p conv weight's feature order (c, a, b): conv(x).flatten(2).T == patchify(x) @ W.view(D, -1).T"""
    n, c, h, w = x.shape
    return x.reshape(n, c, h // p, p, w // p, p).permute(0, 2, 4, 1, 3, 5).reshape(n, (h // p) * (w // p), c * p * p)


def unpatchify(x, p, c):
    """The reference DiT.unpatchify (square images)."""
    h = w = int(x.shape[1] ** 0.5)
    x = x.reshape(shape=(x.shape[0], h, w, p, p, c))
    x = torch.einsum("nhwpqc->nchpwq", x)
    return x.reshape(shape=(x.shape[0], c, h * p, h * p))


def attention(qkv, heads):
    """timm Attention's core on packed qkv [B, N, 3C] (explicit path)."""
    B, N, C3 = qkv.shape
    C = C3 // 3
    q, k, v = qkv.reshape(B, N, 3, heads, C // heads).permute(2, 0, 3, 1, 4).unbind(0)
    attn = ((q * (C // heads) ** -0.5) @ k.transpose(-2, -1)).softmax(dim=-1)
    return (attn @ v).transpose(1, 2).reshape(B, N, C)


def perturb(module, g, skip=("pos_embed",)):
    """Zero-initialised tensors (adaLN, final layer, biases) get small random values so every one matters."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            if any(name.endswith(s) for s in skip) or not p.requires_grad:
                continue
            if torch.count_nonzero(p) == 0:
                p.copy_((0.1 if p.dim() > 1 else 0.05) * randn(g, *p.shape))


def make_ops():
    out = {}
    g = gen(101)
    record(out, "layernorm", lambda x: F.layer_norm(x, (12,), eps=1e-6), {"x": uniform(g, 2, 5, 12) * 2 + 0.3}, seed=101)
    record(out, "softmax", lambda x: torch.softmax(x, dim=-1), {"x": randn(g, 2, 5, 7) * 2}, seed=102)
    record(out, "gelu", lambda x: F.gelu(x, approximate="tanh"), {"x": randn(g, 3, 37) * 2}, seed=103)
    record(out, "bmm", lambda a, b: torch.bmm(a, b), {"a": randn(g, 3, 5, 4), "b": randn(g, 3, 4, 6)}, seed=104)
    record(out, "patchify", lambda x: patchify(x, 2), {"x": uniform(g, 2, 3, 4, 6)}, seed=105)
    record(out, "unpatchify", lambda x: unpatchify(x, 2, 3), {"x": uniform(g, 2, 4, 12)}, seed=106)
    record(out, "attention", lambda qkv: attention(qkv, 2), {"qkv": randn(g, 2, 6, 24)}, seed=107)
    record(out, "modulate", lambda x, shift, scale: x * (1 + scale.unsqueeze(1)) + shift.unsqueeze(1),
           {"x": randn(g, 2, 5, 8), "shift": randn(g, 2, 8), "scale": randn(g, 2, 8)}, seed=108)
    record(out, "gated", lambda x, gate, y: x + gate.unsqueeze(1) * y,
           {"x": randn(g, 2, 5, 8), "gate": randn(g, 2, 8), "y": randn(g, 2, 5, 8)}, seed=109)
    record(out, "chunk", lambda x: x.chunk(3, dim=1)[1], {"x": randn(g, 2, 18)}, seed=110)
    record(out, "posembed", lambda dummy: torch.from_numpy(get_2d_sincos_pos_embed(48, 5)).float().unsqueeze(0),
           {"dummy": torch.zeros(1)}, grads=False)
    sig = torch.tensor([0.0, 1.0, 0.5, 0.001, 0.123456], dtype=torch.float32)
    record(out, "timeembed256", lambda sigma: timestep_embedding(sigma * 1000, 256), {"sigma": sig}, grads=False)
    # One DiT block (hidden 32, heads 2, mlp ratio 4) with random adaLN so every parameter matters.
    torch.manual_seed(111)
    blk = DiTBlock(32, 2, 4.0)
    for m in blk.modules():
        if isinstance(m, nn.Linear):
            torch.nn.init.xavier_uniform_(m.weight)
            nn.init.constant_(m.bias, 0)
    perturb(blk, g)
    params = {k: v.detach().clone() for k, v in blk.state_dict().items()}

    def blk_fn(x, c, **p):
        return torch.func.functional_call(blk, p, (x, c))

    record(out, "block", blk_fn, {"x": randn(g, 2, 16, 32), "c": randn(g, 2, 32)}, params, seed=112)
    return out


def make_small():
    torch.manual_seed(120)
    model = DiT(**SMALL)
    model.eval()
    g = gen(121)
    perturb(model, g)
    out = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    x = randn(g, 3, 1, 8, 8)
    sigma = torch.tensor([0.05, 0.5, 0.97], dtype=torch.float32)
    labels = torch.tensor([2, 3, 0], dtype=torch.int64)   # 3 = null label
    target = randn(g, 3, 1, 8, 8)
    model.zero_grad()
    v = model(x, sigma, labels)
    loss = ((v - target) ** 2).mean()
    loss.backward()
    out.update({"input.x": x, "input.sigma": sigma, "input.labels": labels, "input.target": target,
                "output.v": v.detach().clone(), "output.loss": scalar(loss)})
    for k, p in model.named_parameters():
        if p.requires_grad:
            out[f"grad.{k}"] = p.grad.detach().clone()
    with torch.no_grad():
        cl = torch.tensor([0, 1, 2], dtype=torch.int64)
        out.update({"cfg.labels": cl, "cfg.scale": torch.tensor([CFG], dtype=torch.float32),
                    "cfg.out": cfg_velocity(model, x, sigma, cl, CFG)})
    meta = {"format": "pt", "config": json.dumps(model.config()), "labels_dtype": "I64",
            "generator": "tools/golden/make_dit_fixtures.py"}
    return out, meta


def make_keys():
    configs = []
    for c in (SMALL, BENCH):
        m = DiT(**c)
        sd = m.state_dict()
        configs.append({"config": m.config(), "parameter_count": sum(v.numel() for v in sd.values()),
                        "keys": [[k, list(v.shape)] for k, v in sd.items()]})
    return {"generator": "tools/golden/make_dit_fixtures.py", "configs": configs}


def main():
    os.makedirs(OUT, exist_ok=True)
    keys = make_keys()
    path = os.path.join(OUT, "dit_keys.json")
    with open(path, "w") as f:
        f.write("{\n")
        f.write(f'  "generator": {json.dumps(keys["generator"])},\n  "configs": [\n')
        for ci, c in enumerate(keys["configs"]):
            f.write(f'    {{"config": {json.dumps(c["config"], sort_keys=True)}, "parameter_count": {c["parameter_count"]}, "keys": [\n')
            f.write(",\n".join(f"      {json.dumps(kv)}" for kv in c["keys"]))
            f.write("\n    ]}" + ("," if ci + 1 < len(keys["configs"]) else "") + "\n")
        f.write("  ]\n}\n")
    print(f"wrote {path}")
    save(make_ops(), "dit_ops.safetensors", {"format": "pt", "generator": "tools/golden/make_dit_fixtures.py"})
    t, meta = make_small()
    save(t, "dit_small.safetensors", meta)


if __name__ == "__main__":
    main()
