"""PyTorch reference of FlowSteer's velocity UNet (issue 2, "The velocity UNet").

This file is the binding definition the Swift `NN.UNet` must match by parameter name, shape and
numerics. It is used only to generate golden fixtures (tools/golden/make_fixtures.py), to check
exported checkpoints (tools/golden/check_export.py) and by the peer benchmark (bench/peer_torch.py).

Conventions (docs/design.md):
  x_sigma = (1 - sigma) * x0 + sigma * eps   (sigma = 1 is pure noise)
  the model predicts v = eps - x0
  Euler step: x_next = x + (sigma_next - sigma) * v
  labels 0..9, null label 10; CFG: v = v_null + w * (v_cond - v_null)  (w = 1: no guidance, 1 NFE)
"""
import json
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

NULL_LABEL = 10
NUM_CLASSES = 11          # 10 digits + null label
TIME_DIM = 64             # sinusoidal features
EMB_DIM = 128             # width of the time/class embedding
GROUPS = 8
GN_EPS = 1e-5


def timestep_embedding(sigma: torch.Tensor, dim: int = TIME_DIM) -> torch.Tensor:
    """Sinusoidal embedding of t = 1000 * sigma: [cos(t f_i), sin(t f_i)], f_i = exp(-ln(1e4) i / (dim/2)).

    Computed in float32 exactly as written here (as diffusers' get_timestep_embedding does):
    freqs = exp(float32(-ln(10000)) * i / 32) in float32; args = (1000 * sigma) * freqs in float32.
    """
    half = dim // 2
    dtype = sigma.dtype if sigma.is_floating_point() else torch.float32   # float64 only for error studies
    t = sigma.to(dtype) * 1000.0
    exponent = -math.log(10000.0) * torch.arange(half, dtype=dtype) / half
    freqs = torch.exp(exponent)
    args = t[:, None] * freqs[None, :]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=1)


class ResBlock(nn.Module):
    """h = conv1(SiLU(norm1(x))); h += emb_proj(SiLU(e))[:, :, None, None];
    h = conv2(SiLU(norm2(h))); out = skip(x) + h  (skip = Conv1x1 only when cin != cout)."""

    def __init__(self, cin: int, cout: int, emb_dim: int = EMB_DIM):
        super().__init__()
        self.norm1 = nn.GroupNorm(GROUPS, cin, eps=GN_EPS)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.emb_proj = nn.Linear(emb_dim, cout)
        self.norm2 = nn.GroupNorm(GROUPS, cout, eps=GN_EPS)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x, e):
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.emb_proj(F.silu(e))[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        s = self.skip(x) if self.skip is not None else x
        return s + h


class DownLevel(nn.Module):
    def __init__(self, cprev: int, cin: int, cout: int, downsample: bool):
        super().__init__()
        # `downsample` is registered first so state_dict order is downsample.*, block.*
        self.downsample = nn.Conv2d(cprev, cprev, 3, stride=2, padding=1) if downsample else None
        self.block = ResBlock(cin, cout)


class UpLevel(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.block = ResBlock(cin, cout)


class UNet(nn.Module):
    def __init__(self, channels=(32, 64, 64)):
        super().__init__()
        channels = list(channels)
        assert len(channels) >= 1 and all(c % GROUPS == 0 for c in channels), channels
        self.channels = channels
        c0 = channels[0]
        self.time_embed = nn.Sequential(nn.Linear(TIME_DIM, EMB_DIM), nn.SiLU(), nn.Linear(EMB_DIM, EMB_DIM))
        self.class_embed = nn.Embedding(NUM_CLASSES, EMB_DIM)
        self.conv_in = nn.Conv2d(1, c0, 3, padding=1)
        self.down = nn.ModuleList()
        for i, c in enumerate(channels):
            cprev = channels[i - 1] if i > 0 else c0
            self.down.append(DownLevel(cprev, cprev, c, downsample=i > 0))
        clast = channels[-1]
        self.mid = ResBlock(clast, clast)
        # up[i] consumes [h, skip_i]; h has channels[i+1] channels (or c_last after mid).
        self.up = nn.ModuleList()
        for i, c in enumerate(channels):
            prev = channels[i + 1] if i + 1 < len(channels) else clast
            self.up.append(UpLevel(prev + c, c))
        self.norm_out = nn.GroupNorm(GROUPS, c0, eps=GN_EPS)
        self.conv_out = nn.Conv2d(c0, 1, 3, padding=1)
        nn.init.zeros_(self.conv_out.weight)
        nn.init.zeros_(self.conv_out.bias)

    def config(self) -> dict:
        return {"channels": self.channels}

    def forward(self, x, sigma, labels):
        """x [B,1,H,W] float32, sigma [B] float32 (t = 1000*sigma), labels [B] int64 in 0..10."""
        e = self.time_embed(timestep_embedding(sigma)) + self.class_embed(labels)
        h = self.conv_in(x)
        skips = []
        for lvl in self.down:
            if lvl.downsample is not None:
                h = lvl.downsample(h)
            h = lvl.block(h, e)
            skips.append(h)
        h = self.mid(h, e)
        for i in reversed(range(len(self.up))):
            skip = skips[i]
            h = F.interpolate(h, size=skip.shape[-2:], mode="nearest")
            h = torch.cat([h, skip], dim=1)
            h = self.up[i].block(h, e)
        h = F.silu(self.norm_out(h))
        return self.conv_out(h)


def cfg_velocity(model, x, sigma, labels, cfg: float, null_label: int = NULL_LABEL):
    """diffusers-style classifier-free guidance: v = v_null + w (v_cond - v_null); w == 1 is 1 NFE.
    Any network with forward(x, sigma, labels) works (the DiT's null label is its num_classes)."""
    v_cond = model(x, sigma, labels)
    if cfg == 1.0:
        return v_cond
    v_null = model(x, sigma, torch.full_like(labels, null_label))
    return v_null + cfg * (v_cond - v_null)


@torch.no_grad()
def sample(model, noise, labels, sigmas, cfg: float = 1.0, null_label: int = NULL_LABEL):
    """Euler sampling from sigmas[0] (normally 1) to sigmas[-1] (normally 0).

    x_next = x + (sigma_next - sigma) * v, with v from cfg_velocity. Conditional and null passes are
    separate forward calls (not one concatenated batch)."""
    x = noise.clone()
    B = x.shape[0]
    sig = [float(s) for s in sigmas]
    for s, s_next in zip(sig[:-1], sig[1:]):
        sigma = torch.full((B,), s, dtype=x.dtype)
        v = cfg_velocity(model, x, sigma, labels, cfg, null_label)
        x = x + (s_next - s) * v
    return x


def unet_from_metadata(metadata: dict) -> UNet:
    """Builds the UNet described by a safetensors `__metadata__` dict (its `config` JSON string)."""
    if metadata is None or "config" not in metadata:
        raise ValueError("safetensors metadata has no 'config' entry")
    cfg = json.loads(metadata["config"])
    if "channels" not in cfg:
        raise ValueError(f"config has no 'channels': {metadata['config']}")
    return UNet(cfg["channels"])
