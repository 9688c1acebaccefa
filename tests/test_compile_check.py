"""The offline GPU compile check (trm_viz/train/compile_check.py) finds, on a CPU, the compiler failure that cost the
first H200 session its whole-step compile, and the training step as it is now compiles for sm_90."""
from __future__ import annotations

import pytest
import torch

pytest.importorskip("triton")

from trm_viz.train import compile_check, loop  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from trm_viz.train.losses import label_targets, stablemax_cross_entropy  # noqa: E402

TINY = {"hidden_size": "32", "num_heads": "2", "expansion": "2", "L_layers": "1", "H_cycles": "1", "L_cycles": "1",
        "global_batch_size": "16"}
FAST = {"XBLOCK": (8,), "YBLOCK": (16,), "R0_BLOCK": (128,)}    # the size that failed; one compile per kernel


def act_loss_as_on_the_h200(logits, q_halt_logit, labels):
    """act_loss as it was on 2026-11-27, the cell accuracy divided inside the compiled step (the kernel that
    fuses it with the loss and the two counts is the one Triton 3.6 cannot compile for sm_90)."""
    labels, valid = label_targets(labels)
    counts = valid.sum(-1)
    divisor = counts.clamp_min(1)
    with torch.no_grad():
        cell_correct = (logits.argmax(-1) == labels) & valid
        seq_correct = cell_correct.sum(-1) == counts
        cell_acc = cell_correct.sum(-1).float() / divisor
    lm_loss = (stablemax_cross_entropy(logits, labels, valid).sum(-1) / divisor).mean()
    q_halt_loss = F.binary_cross_entropy_with_logits(q_halt_logit.float(), seq_correct.float())
    stats = {"lm_loss": lm_loss.detach().float(), "q_halt_loss": q_halt_loss.detach(), "seq_correct": seq_correct,
             "cell_acc": cell_acc}
    return lm_loss.float() + 0.5 * q_halt_loss, stats


def test_it_reports_the_loss_kernel_that_failed_on_the_h200(monkeypatch):
    monkeypatch.setattr(loop, "act_loss", act_loss_as_on_the_h200)
    monkeypatch.setattr(loop, "cell_accuracy", lambda stats: stats["cell_acc"])
    lines = []
    failing = compile_check.check("sudoku", TINY, ["step"], say=lines.append, blocks=FAST)
    assert failing == 1, lines
    assert "gather_log" in lines[1] and "PassManager::run failed" in lines[1]     # the fused stablemax loss


def test_the_training_step_compiles_for_sm90():
    lines = []
    assert compile_check.check("sudoku", TINY, ["step"], say=lines.append, blocks=FAST) == 0, lines
    assert lines[0].startswith("sudoku step/bfloat16: ") and " 0 fail" in lines[0]
