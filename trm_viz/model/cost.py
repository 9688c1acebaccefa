"""What the recursion costs, in FLOPs (2 x multiply-adds, matmuls only: norms and activations are noise).

The benchmarks divide by it to report achieved TFLOP/s, and a shared host bounds a run by it (ui/limits.py) rather
than by T and n alone: T=16 costs a 0.1M-parameter Sudoku model a fraction of a second, a 30x30 TRM-Att minutes.
"""
from __future__ import annotations

from .config import TRMConfig
from .layers import swiglu_inter


def net_flops(cfg: TRMConfig) -> float:
    """One net(h, injection) call (L_layers blocks) on one sequence."""
    S, D = cfg.total_len, cfg.hidden_size
    channel = 6 * S * D * swiglu_inter(D, cfg.expansion)          # SwiGLU over channels: gate_up (2 x inter), down
    if cfg.mlp_t:
        mixing = 6 * D * S * swiglu_inter(S, cfg.expansion)       # the same SwiGLU over positions (TRM-MLP)
    else:
        mixing = 8 * S * D * D + 4 * S * S * D                    # q, k, v, output projections; scores, weighted sum
    return float(cfg.L_layers * (channel + mixing))


def head_flops(cfg: TRMConfig) -> float:
    """The output head (lm_head) on one sequence."""
    return 2.0 * cfg.total_len * cfg.hidden_size * cfg.vocab_size


def trace_flops(cfg: TRMConfig, steps: int, H_cycles: int, L_cycles: int) -> float:
    """``steps`` supervision steps of one puzzle: each calls the net H_cycles x (L_cycles + 1) times (n z_L updates
    and one z_H update per cycle) and the output head once."""
    return steps * (H_cycles * (L_cycles + 1) * net_flops(cfg) + head_flops(cfg))
