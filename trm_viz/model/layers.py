"""The building blocks of the TRM network: post-norm blocks of attention (or MLP-T) and SwiGLU.

Parameter names match the official TinyRecursiveModels modules (``embedding_weight``, ``qkv_proj``, ``gate_up_proj``
...) so an official state dict loads without renaming. Weights are cast to the activations' dtype at use, so the
same module runs in float32 (parity tests, CPU inference) or bfloat16 (GPU training; on CPUs only where AMX or
AVX512-BF16 exists: elsewhere bfloat16 matmuls are ~20x slower than float32).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .config import TRMConfig
from .fused_mlp_t import fused_token_mlp, use_fused


def trunc_normal_(t: torch.Tensor, std: float) -> torch.Tensor:
    """Normal truncated at +-2 std whose *actual* std is ``std`` (torch's trunc_normal_ std is the untruncated one;
    the std of a standard normal truncated at +-2 is 0.8796)."""
    if std == 0:
        return t.zero_()
    comp = std / 0.8796256610342398
    return nn.init.trunc_normal_(t, std=comp, a=-2 * comp, b=2 * comp)


def rms_norm(h: torch.Tensor, eps: float) -> torch.Tensor:
    """RMSNorm without a learned scale, computed in float32 whatever the activations' dtype."""
    dtype = h.dtype
    h = h.float()
    h = h * torch.rsqrt(h.square().mean(-1, keepdim=True) + eps)
    return h.to(dtype)


class Linear(nn.Module):
    """y = x W^T (+ b), LeCun-normal init, weight cast to x's dtype."""

    def __init__(self, in_features: int, out_features: int, bias: bool = False):
        super().__init__()
        self.weight = nn.Parameter(trunc_normal_(torch.empty(out_features, in_features), 1.0 / math.sqrt(in_features)))
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b = self.bias.to(x.dtype) if self.bias is not None else None
        return F.linear(x, self.weight.to(x.dtype), b)


class Embedding(nn.Module):
    def __init__(self, num: int, dim: int, init_std: float):
        super().__init__()
        self.embedding_weight = nn.Parameter(trunc_normal_(torch.empty(num, dim), init_std))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return F.embedding(ids, self.embedding_weight)


class PuzzleEmbedding(nn.Module):
    """One learned vector per puzzle identifier, zero-initialised (the official code keeps it in a buffer named
    ``weights`` and trains it with sparse sign-SGD; here it is a parameter under the same name)."""

    def __init__(self, num: int, dim: int):
        super().__init__()
        self.weights = nn.Parameter(torch.zeros(num, dim))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.weights[ids]


def swiglu_inter(dim: int, expansion: float) -> int:
    """Hidden width of a SwiGLU: round(expansion * dim * 2/3) rounded up to a multiple of 256 (official rule)."""
    return -(round(expansion * dim * 2 / 3) // -256) * 256


class SwiGLU(nn.Module):
    def __init__(self, dim: int, expansion: float):
        super().__init__()
        inter = swiglu_inter(dim, expansion)
        self.gate_up_proj = Linear(dim, 2 * inter)
        self.down_proj = Linear(inter, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate, up = self.gate_up_proj(x).chunk(2, dim=-1)
        return self.down_proj(F.silu(gate) * up)


def rope_cos_sin(head_dim: int, length: int, theta: float) -> tuple[torch.Tensor, torch.Tensor]:
    """RoPE tables in the "rotate half" layout: frequencies repeated, (length, head_dim)."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
    freqs = torch.outer(torch.arange(length, dtype=torch.float32), inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """x: (B, S, heads, head_dim). Computed in the tables' dtype (float32), returned in x's."""
    dtype = x.dtype
    x = x.to(cos.dtype)
    half = x.shape[-1] // 2
    rotated = torch.cat((-x[..., half:], x[..., :half]), dim=-1)
    out = x * cos[:, None, :] + rotated * sin[:, None, :]
    return out.to(dtype)


class Attention(nn.Module):
    """Non-causal multi-head self-attention with a fused QKV projection."""

    def __init__(self, hidden: int, num_heads: int):
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = hidden // num_heads
        self.qkv_proj = Linear(hidden, 3 * hidden)
        self.o_proj = Linear(hidden, hidden)

    def forward(self, h: torch.Tensor, cos_sin: tuple[torch.Tensor, torch.Tensor] | None) -> torch.Tensor:
        B, S, D = h.shape
        qkv = self.qkv_proj(h).view(B, S, 3, self.num_heads, self.head_dim)
        q, k, v = qkv.unbind(dim=2)
        if cos_sin is not None:
            q, k = apply_rope(q, *cos_sin), apply_rope(k, *cos_sin)
        out = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2))
        return self.o_proj(out.transpose(1, 2).reshape(B, S, D))


class Block(nn.Module):
    """Post-norm block: mix positions (attention, or MLP-T over the sequence axis), then a channel SwiGLU."""

    def __init__(self, config: TRMConfig):
        super().__init__()
        self.eps = config.rms_norm_eps
        self.mlp_t_mode = config.mlp_t
        if config.mlp_t:
            self.mlp_t = SwiGLU(config.total_len, config.expansion)
        else:
            self.self_attn = Attention(config.hidden_size, config.num_heads)
        self.mlp = SwiGLU(config.hidden_size, config.expansion)

    def forward(self, h: torch.Tensor, cos_sin=None) -> torch.Tensor:
        if self.mlp_t_mode:
            t = h.transpose(1, 2)
            mix = fused_token_mlp(h, self.mlp_t) if use_fused(h) else self.mlp_t(t)   # same values; see there
            h = rms_norm(t + mix, self.eps).transpose(1, 2)
        else:
            h = rms_norm(h + self.self_attn(h, cos_sin), self.eps)
        return rms_norm(h + self.mlp(h), self.eps)


class ReasoningModule(nn.Module):
    """The one tiny network of TRM: net(h, injection) = blocks(h + injection). Serves both z_L and z_H updates."""

    def __init__(self, config: TRMConfig):
        super().__init__()
        self.layers = nn.ModuleList(Block(config) for _ in range(config.L_layers))

    def forward(self, h: torch.Tensor, injection: torch.Tensor, cos_sin=None) -> torch.Tensor:
        h = h + injection
        for layer in self.layers:
            h = layer(h, cos_sin)
        return h
