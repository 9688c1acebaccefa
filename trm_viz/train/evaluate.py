"""Held-out evaluation of a TRM: exact accuracy after every supervision step, at the halting step, and how well
q_halt predicts correctness. Shared by the trainer and ``python -m trm_viz eval``.

Like the official evaluation, every puzzle runs all ``steps`` supervision steps (batched, no early exit); the answer
"at halt" is the one of the first step whose halting probability sigmoid(q_halt_logit) exceeds 0.5 (q_halt_logit > 0),
or of the last step when it never halts.
"""
from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch

from ..model.config import resolve_counts
from ..model.precision import autocast
from ..model.trm import TRM
from .losses import label_targets


def autocast_for(device: torch.device, dtype: torch.dtype | None):
    """bfloat16 autocast on CUDA (the tensor cores' format), nothing on CPU (bf16 matmuls are slow on CPUs without
    AMX, so float32 is the CPU default)."""
    if dtype is None:
        dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    return autocast(device, dtype)


def _as_tensor(a: Any, device: torch.device) -> torch.Tensor:
    t = a if isinstance(a, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(a))
    return t.to(device=device, dtype=torch.long)


@torch.no_grad()
def evaluate(model: TRM, inputs: Any, labels: Any, puzzle_identifiers: Any = None, *, batch_size: int = 256,
             steps: int | None = None, H_cycles: int | None = None, L_cycles: int | None = None,
             dtype: torch.dtype | None = None, per_puzzle: bool = False) -> dict[str, Any]:
    """inputs/labels: (N, seq_len) official tokens (numpy or torch); puzzle_identifiers: (N,) or None (all 0).

    Returns n, steps, exact_by_step (list of `steps` floats), cell_acc_by_step, exact_at_halt, halt_accuracy
    (fraction of puzzles whose final-step q_halt > 0 agrees with final-step exactness, the official metric),
    mean_steps (mean halting step), calibration (does q_halt mean what it says: over every puzzle and step,
    sigmoid(q_halt) in ten bins of 0.1, each bin's count and share of whole answers right), seconds. With
    ``per_puzzle``, also puzzles: one row a puzzle (``puzzle_rows``), to find those that halt on a wrong answer.
    """
    device = next(model.parameters()).device
    inputs, labels = _as_tensor(inputs, device), _as_tensor(labels, device)
    n = int(inputs.shape[0])
    if labels.shape != inputs.shape:
        raise ValueError(f"inputs {tuple(inputs.shape)} and labels {tuple(labels.shape)} differ in shape")
    if n == 0:
        raise ValueError("nothing to evaluate: the evaluation set is empty")
    ids = (torch.zeros(n, dtype=torch.long, device=device) if puzzle_identifiers is None
           else _as_tensor(puzzle_identifiers, device))
    N, H_cycles, L_cycles = resolve_counts(model.config, steps, H_cycles, L_cycles)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a whole number >= 1; got {batch_size!r}.")
    was_training = model.training
    model.eval()
    t0 = time.perf_counter()
    exact = torch.zeros(N, device=device)
    cell_acc = torch.zeros(N, device=device)
    exact_at_halt = torch.zeros((), device=device)
    halt_agree = torch.zeros((), device=device)
    halt_steps = torch.zeros((), device=device)
    cal_n, cal_right = torch.zeros(10, device=device), torch.zeros(10, device=device)
    rows_ok, rows_q = [], []          # per_puzzle: (B, N) exactness and q_halt probability per batch
    try:
        for lo in range(0, n, batch_size):
            inp, lab, pid = inputs[lo:lo + batch_size], labels[lo:lo + batch_size], ids[lo:lo + batch_size]
            lab, valid = label_targets(lab)
            counts = valid.sum(-1).clamp_min(1)
            B = inp.shape[0]
            halted = torch.zeros(B, dtype=torch.bool, device=device)
            halt_step = torch.full((B,), N, device=device)
            correct_at_halt = torch.zeros(B, dtype=torch.bool, device=device)
            ok_steps, q_steps = [], []
            with autocast_for(device, dtype):
                x = model.input_embeddings(inp, pid)
                z_H, z_L = model.initial_latents(B)
                for s in range(N):
                    z_H, z_L, logits, q_halt = model.supervision_step(z_H, z_L, x, H_cycles, L_cycles)
                    hit = (logits.argmax(-1) == lab) & valid
                    seq_ok = hit.sum(-1) == valid.sum(-1)
                    exact[s] += seq_ok.sum()
                    cell_acc[s] += (hit.sum(-1) / counts).sum()
                    # The answer at halt: frozen at the first step that halts, else the last step's.
                    first = ~halted & ((q_halt > 0) | (s == N - 1))
                    correct_at_halt = torch.where(first, seq_ok, correct_at_halt)
                    halt_step = torch.where(first & (q_halt > 0), float(s + 1), halt_step)
                    halted |= first
                    prob = torch.sigmoid(q_halt.float())
                    bins = (prob * 10).long().clamp(0, 9)
                    cal_n.index_add_(0, bins, torch.ones_like(prob))
                    cal_right.index_add_(0, bins, seq_ok.float())
                    if per_puzzle:
                        ok_steps.append(seq_ok)
                        q_steps.append(prob)
            if per_puzzle:
                rows_ok.append(torch.stack(ok_steps, 1).cpu())
                rows_q.append(torch.stack(q_steps, 1).cpu())
            exact_at_halt += correct_at_halt.sum()
            halt_agree += ((q_halt > 0) == seq_ok).sum()
            halt_steps += halt_step.sum()
    finally:
        model.train(was_training)
    return {
        "n": n,
        "steps": N,
        "exact_by_step": [round(v, 6) for v in (exact / n).tolist()],
        "cell_acc_by_step": [round(v, 6) for v in (cell_acc / n).tolist()],
        "exact_at_halt": round(float(exact_at_halt) / n, 6),
        "halt_accuracy": round(float(halt_agree) / n, 6),
        "mean_steps": round(float(halt_steps) / n, 4),
        "calibration": [{"q_halt": f"{k / 10:.1f}-{(k + 1) / 10:.1f}", "n": int(cal_n[k]),
                         "right": round(float(cal_right[k] / cal_n[k]), 4) if cal_n[k] else None} for k in range(10)],
        **({"puzzles": puzzle_rows(torch.cat(rows_ok).numpy(), torch.cat(rows_q).numpy())} if per_puzzle else {}),
        "seconds": round(time.perf_counter() - t0, 3),
    }


def puzzle_rows(exact: Any, q_halt_prob: Any) -> list[dict[str, Any]]:
    """One row a puzzle from its (N,) per-step exactness and sigmoid(q_halt): the step it halts at (first q_halt
    probability > 0.5; None: it never does, and the last step's answer stands), whether that answer is right, the
    first step whose answer is right (None: none is), whether the last step's is, the q_halt probability at the
    halting step, and the steps' exactness as a 0/1 string. A row right somewhere but wrong at its halt either
    halted too early (first_right after halt_step) or lost the answer before it halted."""
    rows = []
    for ok, q in zip(exact, q_halt_prob):
        halts = [k for k in range(len(q)) if q[k] > 0.5]
        at = halts[0] if halts else len(q) - 1
        right = [k for k in range(len(ok)) if ok[k]]
        rows.append({"halt_step": at + 1 if halts else None, "right_at_halt": bool(ok[at]),
                     "first_right_step": right[0] + 1 if right else None, "right_at_last": bool(ok[-1]),
                     "q_halt_at_halt": round(float(q[at]), 4), "exact_by_step": "".join("01"[bool(v)] for v in ok)})
    return rows
