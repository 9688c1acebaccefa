"""The deep-supervision loss: stablemax cross-entropy on the answer + 0.5 * BCE of the halting logit
(stablemax itself, and why, in trm_viz/model/stablemax.py)."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..model.stablemax import log_stablemax


def stablemax_cross_entropy(logits: torch.Tensor, labels: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Per-cell loss (same shape as labels), 0 where ``valid`` is False."""
    logprobs = log_stablemax(logits, dim=-1)
    safe = torch.where(valid, labels, 0).long()
    picked = logprobs.gather(-1, safe.unsqueeze(-1)).squeeze(-1)
    return -torch.where(valid, picked, 0.0)


def label_targets(labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Token labels -> (labels, valid mask). Token 0 is padding in every official encoding (ignore_label_id=0):
    maze/ARC cells outside the grid do not count towards the loss or exactness."""
    labels = labels.long()
    return labels, labels != 0


def act_loss(logits: torch.Tensor, q_halt_logit: torch.Tensor, labels: torch.Tensor):
    """(loss, stats) for one supervision step of a batch.

    lm_loss: per sequence, the mean over its valid cells; then the mean over the batch (the official code sums over
    the batch and divides by the global batch size: the same value). q_halt_loss: BCE of q_halt_logit against
    "this sequence's answer is exactly right now", mean over the batch. loss = lm_loss + 0.5 * q_halt_loss.
    stats (detached): seq_correct (B,) bool, and cells_right / cells (B,) int, for metrics. The cell accuracy
    cells_right / cells is left to the caller: computed here, inside the compiled training step, it made inductor
    fuse a kernel that Triton 3.6 cannot compile for sm_90 (PassManager::run failed in
    TritonGPURemoveLayoutConversions; python -m trm_viz.train.compile_check reproduces it without a GPU).
    """
    labels, valid = label_targets(labels)
    counts = valid.sum(-1)
    divisor = counts.clamp_min(1)
    with torch.no_grad():
        cell_correct = (logits.argmax(-1) == labels) & valid
        cells_right = cell_correct.sum(-1)
        seq_correct = cells_right == counts
    lm_per_seq = stablemax_cross_entropy(logits, labels, valid).sum(-1) / divisor
    lm_loss = lm_per_seq.mean()
    q_halt_loss = F.binary_cross_entropy_with_logits(q_halt_logit.float(), seq_correct.float())
    loss = lm_loss.float() + 0.5 * q_halt_loss
    return loss, {"lm_loss": lm_loss.detach().float(), "q_halt_loss": q_halt_loss.detach(),
                  "seq_correct": seq_correct, "cells_right": cells_right, "cells": counts.detach()}


def cell_accuracy(stats: dict) -> torch.Tensor:
    """(B,) share of each sequence's real cells that are right, from act_loss's stats."""
    return stats["cells_right"].float() / stats["cells"].clamp_min(1)
