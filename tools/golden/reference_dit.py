"""The PyTorch definition of the DiT velocity backbone the Swift `DiT` (Sources/NN/DiT.swift) must match.

Written from facebookresearch/DiT `models.py` (DiT, DiTBlock, FinalLayer, TimestepEmbedder, LabelEmbedder,
get_2d_sincos_pos_embed, initialize_weights) with timm's PatchEmbed / Attention / Mlp spelled out under the
same module names, so the state dict is the reference's key for key:

    pos_embed [1, T, D]  x_embedder.proj.{weight,bias}  t_embedder.mlp.{0,2}.{weight,bias}
    y_embedder.embedding_table.weight [num_classes + 1, D]
    blocks.{i}.attn.qkv  blocks.{i}.attn.proj  blocks.{i}.mlp.fc1  blocks.{i}.mlp.fc2  blocks.{i}.adaLN_modulation.1
    final_layer.linear  final_layer.adaLN_modulation.1

Differences from the reference, all deliberate:
- learn_sigma is False: the output has in_channels channels (the flow-matching velocity v = eps - x0).
- The timestep fed in is t = 1000 * sigma (the project's convention), computed by `forward(x, sigma, labels)`.
- Labels are taken as given (0..num_classes-1, or num_classes = the null label); label dropout for CFG
  training is the trainer's job, so `LabelEmbedder.token_drop` is not applied inside forward.
- `fused_attn=True` uses F.scaled_dot_product_attention (timm's default path), False the explicit
  q*scale @ k^T, softmax, @ v (timm's fallback); the two agree to float32 rounding.
"""
import json
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

FREQ_DIM = 256


def modulate(x, shift, scale):
    return x * (1 + scale.unsqueeze(1)) + shift.unsqueeze(1)


def timestep_embedding(t, dim=FREQ_DIM, max_period=10000):
    """[cos(t f), sin(t f)], f_i = exp(-ln(max_period) i / half), float32 (the reference's order)."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(start=0, end=half, dtype=torch.float32) / half)
    args = t[:, None].float() * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


def get_1d_sincos_pos_embed_from_grid(embed_dim, pos):
    omega = np.arange(embed_dim // 2, dtype=np.float64)
    omega /= embed_dim / 2.0
    omega = 1.0 / 10000 ** omega
    out = np.einsum("m,d->md", pos.reshape(-1), omega)
    return np.concatenate([np.sin(out), np.cos(out)], axis=1)


def get_2d_sincos_pos_embed(embed_dim, grid_size):
    grid_h = np.arange(grid_size, dtype=np.float32)
    grid_w = np.arange(grid_size, dtype=np.float32)
    grid = np.stack(np.meshgrid(grid_w, grid_h), axis=0).reshape([2, 1, grid_size, grid_size])  # w goes first
    emb_h = get_1d_sincos_pos_embed_from_grid(embed_dim // 2, grid[0])
    emb_w = get_1d_sincos_pos_embed_from_grid(embed_dim // 2, grid[1])
    return np.concatenate([emb_h, emb_w], axis=1)


class PatchEmbed(nn.Module):
    def __init__(self, img_size, patch_size, in_chans, embed_dim):
        super().__init__()
        self.patch_size = (patch_size, patch_size)
        self.num_patches = (img_size // patch_size) ** 2
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size, bias=True)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)  # [N, T, D]


class Attention(nn.Module):
    def __init__(self, dim, num_heads, fused_attn=False):
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.scale = self.head_dim ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=True)
        self.proj = nn.Linear(dim, dim)
        self.fused_attn = fused_attn

    def forward(self, x):
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        if self.fused_attn:
            x = F.scaled_dot_product_attention(q, k, v)
        else:
            q = q * self.scale
            attn = (q @ k.transpose(-2, -1)).softmax(dim=-1)
            x = attn @ v
        x = x.transpose(1, 2).reshape(B, N, C)
        return self.proj(x)


class Mlp(nn.Module):
    def __init__(self, in_features, hidden_features):
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden_features)
        self.act = nn.GELU(approximate="tanh")
        self.fc2 = nn.Linear(hidden_features, in_features)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class TimestepEmbedder(nn.Module):
    def __init__(self, hidden_size, frequency_embedding_size=FREQ_DIM):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(frequency_embedding_size, hidden_size), nn.SiLU(),
                                 nn.Linear(hidden_size, hidden_size))
        self.frequency_embedding_size = frequency_embedding_size

    def forward(self, t):
        return self.mlp(timestep_embedding(t, self.frequency_embedding_size))


class LabelEmbedder(nn.Module):
    def __init__(self, num_classes, hidden_size, dropout_prob):
        super().__init__()
        assert dropout_prob > 0, "the null-label row exists only with class dropout (the reference's use_cfg_embedding)"
        self.embedding_table = nn.Embedding(num_classes + 1, hidden_size)
        self.num_classes = num_classes

    def forward(self, labels):
        return self.embedding_table(labels)


class DiTBlock(nn.Module):
    def __init__(self, hidden_size, num_heads, mlp_ratio=4.0, fused_attn=False):
        super().__init__()
        self.norm1 = nn.LayerNorm(hidden_size, elementwise_affine=False, eps=1e-6)
        self.attn = Attention(hidden_size, num_heads=num_heads, fused_attn=fused_attn)
        self.norm2 = nn.LayerNorm(hidden_size, elementwise_affine=False, eps=1e-6)
        self.mlp = Mlp(hidden_size, int(hidden_size * mlp_ratio))
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(hidden_size, 6 * hidden_size, bias=True))

    def forward(self, x, c):
        shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp = self.adaLN_modulation(c).chunk(6, dim=1)
        x = x + gate_msa.unsqueeze(1) * self.attn(modulate(self.norm1(x), shift_msa, scale_msa))
        x = x + gate_mlp.unsqueeze(1) * self.mlp(modulate(self.norm2(x), shift_mlp, scale_mlp))
        return x


class FinalLayer(nn.Module):
    def __init__(self, hidden_size, patch_size, out_channels):
        super().__init__()
        self.norm_final = nn.LayerNorm(hidden_size, elementwise_affine=False, eps=1e-6)
        self.linear = nn.Linear(hidden_size, patch_size * patch_size * out_channels, bias=True)
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(hidden_size, 2 * hidden_size, bias=True))

    def forward(self, x, c):
        shift, scale = self.adaLN_modulation(c).chunk(2, dim=1)
        return self.linear(modulate(self.norm_final(x), shift, scale))


class DiT(nn.Module):
    def __init__(self, input_size=28, patch_size=2, in_channels=1, hidden_size=192, depth=6, num_heads=3,
                 mlp_ratio=4.0, class_dropout_prob=0.1, num_classes=10, learn_sigma=False, fused_attn=False):
        super().__init__()
        assert not learn_sigma, "learn_sigma=False only: the output is the velocity"
        self.cfg = dict(model="dit", input_size=input_size, patch_size=patch_size, in_channels=in_channels,
                        hidden_size=hidden_size, depth=depth, num_heads=num_heads, mlp_ratio=mlp_ratio,
                        num_classes=num_classes, class_dropout_prob=class_dropout_prob, learn_sigma=False)
        self.in_channels = self.out_channels = in_channels
        self.patch_size = patch_size
        self.num_classes = num_classes
        self.x_embedder = PatchEmbed(input_size, patch_size, in_channels, hidden_size)
        self.t_embedder = TimestepEmbedder(hidden_size)
        self.y_embedder = LabelEmbedder(num_classes, hidden_size, class_dropout_prob)
        self.pos_embed = nn.Parameter(torch.zeros(1, self.x_embedder.num_patches, hidden_size), requires_grad=False)
        self.blocks = nn.ModuleList([DiTBlock(hidden_size, num_heads, mlp_ratio, fused_attn) for _ in range(depth)])
        self.final_layer = FinalLayer(hidden_size, patch_size, self.out_channels)
        self.initialize_weights()

    def config(self):
        return dict(self.cfg)

    def initialize_weights(self):
        def _basic_init(module):
            if isinstance(module, nn.Linear):
                torch.nn.init.xavier_uniform_(module.weight)
                if module.bias is not None:
                    nn.init.constant_(module.bias, 0)
        self.apply(_basic_init)
        pos = get_2d_sincos_pos_embed(self.pos_embed.shape[-1], int(self.x_embedder.num_patches ** 0.5))
        self.pos_embed.data.copy_(torch.from_numpy(pos).float().unsqueeze(0))
        w = self.x_embedder.proj.weight.data
        nn.init.xavier_uniform_(w.view([w.shape[0], -1]))
        nn.init.constant_(self.x_embedder.proj.bias, 0)
        nn.init.normal_(self.y_embedder.embedding_table.weight, std=0.02)
        nn.init.normal_(self.t_embedder.mlp[0].weight, std=0.02)
        nn.init.normal_(self.t_embedder.mlp[2].weight, std=0.02)
        for block in self.blocks:
            nn.init.constant_(block.adaLN_modulation[-1].weight, 0)
            nn.init.constant_(block.adaLN_modulation[-1].bias, 0)
        nn.init.constant_(self.final_layer.adaLN_modulation[-1].weight, 0)
        nn.init.constant_(self.final_layer.adaLN_modulation[-1].bias, 0)
        nn.init.constant_(self.final_layer.linear.weight, 0)
        nn.init.constant_(self.final_layer.linear.bias, 0)

    def unpatchify(self, x):
        c, p = self.out_channels, self.patch_size
        h = w = int(x.shape[1] ** 0.5)
        assert h * w == x.shape[1]
        x = x.reshape(shape=(x.shape[0], h, w, p, p, c))
        x = torch.einsum("nhwpqc->nchpwq", x)
        return x.reshape(shape=(x.shape[0], c, h * p, h * p))

    def forward(self, x, sigma, labels):
        """x [N, C, H, W], sigma [N] in [0, 1] (t = 1000 sigma), labels [N] int64 (num_classes = null)."""
        x = self.x_embedder(x) + self.pos_embed
        c = self.t_embedder(sigma * 1000) + self.y_embedder(labels)
        for block in self.blocks:
            x = block(x, c)
        return self.unpatchify(self.final_layer(x, c))


def cfg_velocity(model, x, sigma, labels, cfg: float):
    """v = v_null + w (v_cond - v_null), the null label being num_classes; w == 1 is 1 NFE."""
    v_cond = model(x, sigma, labels)
    if cfg == 1.0:
        return v_cond
    v_null = model(x, sigma, torch.full_like(labels, model.num_classes))
    return v_null + cfg * (v_cond - v_null)


def dit_from_config(config, **kwargs):
    """A DiT from the `config` JSON (text or dict) that Swift writes (DiTConfig.json)."""
    c = json.loads(config) if isinstance(config, str) else dict(config)
    assert c.pop("model", "dit") == "dit", "not a DiT config"
    return DiT(**c, **kwargs)
