"""Stablemax (Prieto et al. 2025), the output normalisation TRM is trained with.

It replaces exp with s(x) = x + 1 for x >= 0 and 1 / (1 - x) for x < 0, which avoids the "softmax collapse" of very
confident logits. The loss (train/losses.py) and the confidence the trace reports both use it: a softmax over the
same logits would misstate how sure the model is. Computed in float64, as the official losses.py does: s grows only
linearly, so ratios of nearly equal sums need the precision.
"""
from __future__ import annotations

import torch


def _s(x: torch.Tensor) -> torch.Tensor:
    return torch.where(x < 0, 1.0 / (1.0 - x + 1e-30), x + 1.0)


def log_stablemax(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    s = _s(x.double())
    return torch.log(s / s.sum(dim=dim, keepdim=True))


def stablemax_probs(logits: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Probabilities (float32) of each token under stablemax."""
    s = _s(logits.double())
    return (s / s.sum(dim=dim, keepdim=True)).float()
