"""The Trace: everything recorded while a TRM refines one puzzle, as plain numpy arrays.

Arrays are indexed by step (index 0 = supervision step 1) and by cell of the task's token canvas
(9x9 for Sudoku, 30x30 for maze and ARC). Only compact summaries of the latents are kept (norms and a 3-component
projection per cell), never the full hidden states, so a 16-step 30x30 trace stays a few MB.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

TRACE_FORMAT_VERSION = 1


@dataclass
class Trace:
    task: str
    input_grid: np.ndarray            # (h, w) the puzzle as the user gave it, task cell codes
    input_tokens: np.ndarray          # (L,) official tokens fed to the model
    canvas_shape: tuple[int, int]     # token canvas as a grid, H*W == L
    # --- per supervision step (N = number of steps run) ---
    tokens: np.ndarray                # (N, H, W) int  argmax token per canvas cell
    answers: list[np.ndarray]         # N grids, task cell codes (ARC: cropped, so shapes may differ per step)
    confidence: np.ndarray            # (N, H, W) float32  probability of the chosen token
    q_halt_prob: np.ndarray           # (N,) float32  sigmoid(q_halt_logit)
    changed: np.ndarray               # (N, H, W) bool  token differs from the previous step (step 1: from the input)
    z_H_delta: np.ndarray             # (N, H, W) float32  ||z_H(step) - z_H(step-1)|| per cell
    z_L_delta: np.ndarray             # (N, H, W) float32  same for z_L
    z_H_proj: np.ndarray              # (N, H, W, 3) float32  projection on 3 fixed directions (one basis per run)
    z_L_proj: np.ndarray              # (N, H, W, 3) float32
    inner_tokens: np.ndarray          # (N, K, H, W) int  lm_head decode after each inner update, K = H_cycles*(L_cycles+1)
    inner_kinds: list[str]            # K labels, e.g. "L1.1" (cycle 1, z_L update 1) ... "H1" (z_H update of cycle 1)
    halt_step: int | None             # first step (1-based) with q_halt_prob > 0.5, None if it never halts
    # --- when the answer is known ---
    label_tokens: np.ndarray | None = None   # (H, W) tokens of the correct answer
    solution: np.ndarray | None = None       # correct answer grid
    correct: np.ndarray | None = None        # (N, H, W) bool  token == label
    # --- metadata: checkpoint, config, H_cycles/L_cycles used, dtype, timings ---
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def num_steps(self) -> int:
        return int(self.tokens.shape[0])

    @property
    def exact(self) -> np.ndarray | None:
        """(N,) bool: the whole answer is right at each step (None when the answer is unknown)."""
        if self.correct is None:
            return None
        return self.correct.reshape(self.num_steps, -1).all(axis=1)
