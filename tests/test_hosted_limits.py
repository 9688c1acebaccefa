"""What a shared host runs, and on how many threads: recursion counts up to 16, bounded by the arithmetic of one
trace rather than by a fixed T, so that a small model can think deeper than a paper-size one (trm_viz.ui.limits);
a tiny model on one thread (trm_viz.ui.runner)."""
from __future__ import annotations

import pytest

from trm_viz.bench import CONFIGS
from trm_viz.model.config import TRMConfig
from trm_viz.ui.limits import HOSTED_GFLOP, hosted_counts, hosted_variants

TINY_SUDOKU = TRMConfig(vocab_size=11, seq_len=81, hidden_size=64, num_heads=8, expansion=2.0, L_layers=1, mlp_t=True,
                        pos_encodings="none", puzzle_emb_ndim=64, H_cycles=16, L_cycles=2, task="sudoku")


def test_a_small_model_thinks_as_deep_as_the_sliders_go():
    assert hosted_counts(TINY_SUDOKU) == (16, 16, 2)                 # 0 / nothing: the model's own counts
    assert hosted_counts(TINY_SUDOKU, 16, 16, 16) == (16, 16, 16)
    assert hosted_counts(TINY_SUDOKU, 16.0, 16.0, 16.0) == (16, 16, 16)    # what sliders and gradio_client send


def test_paper_models_run_at_their_own_settings_and_are_told_what_fits_beyond():
    sudoku, maze = CONFIGS["sudoku"], CONFIGS["maze"]
    assert hosted_counts(sudoku) == (16, 3, 6) and hosted_counts(maze) == (16, 3, 4)
    with pytest.raises(ValueError) as e:
        hosted_counts(sudoku, 16, 16, 16)
    # 16 x 17 net calls per step at ~1.2 GFLOP each: T 12 (12 x 17) or n 11 (16 x 12) or 12 steps fit under 4,000
    assert f"more than the {HOSTED_GFLOP:,} GFLOP" in str(e.value)
    assert "lower H_cycles to 12, or L_cycles to 11, or steps to 12 (any one is enough)" in str(e.value)
    assert hosted_counts(sudoku, 16, 12, 16) == (16, 12, 16) and hosted_counts(sudoku, 16, 16, 11) == (16, 16, 11)
    with pytest.raises(ValueError, match="19,872 GFLOP .* lower H_cycles to 1, or L_cycles to 1, or steps to 3"):
        hosted_counts(maze, 16, 6, 12)     # the old fixed bound's deepest run: ~3 minutes of one worker on 2 cores


def test_a_model_too_large_for_the_host_is_refused_at_every_setting():
    huge = TRMConfig(vocab_size=12, seq_len=900, hidden_size=4096, num_heads=32, L_layers=8, task="arc")
    with pytest.raises(ValueError, match="too large for it at any setting; run it with the CLI"):
        hosted_counts(huge, 1, 1, 1)


def test_counts_outside_the_sliders_are_refused_before_any_cost():
    for bad, name in (((17, 0, 0), "steps"), ((0, 17, 0), "H_cycles"), ((0, 0, 0.5), "L_cycles")):
        with pytest.raises(ValueError, match=f"{name} must be a whole number from 1 to 16"):
            hosted_counts(TINY_SUDOKU, *bad)


def test_a_tiny_model_runs_on_one_thread_and_a_large_run_on_every_core():
    """Two threads cost a 0.1M-parameter model more than they bring (sudoku-tiny: 0.35 s per trace on one thread,
    0.90 s on two); a paper-size model, or a tiny one voting over 16 copies at once, gains from every core."""
    import torch

    from trm_viz.ui.runner import _CORES, use_threads

    before = torch.get_num_threads()
    try:
        assert use_threads(TINY_SUDOKU) == 1 == torch.get_num_threads()
        assert use_threads(TINY_SUDOKU, batch=16) == _CORES == torch.get_num_threads()
        assert use_threads(CONFIGS["sudoku"]) == _CORES
    finally:
        torch.set_num_threads(before)


def test_a_vote_is_bounded_by_what_its_copies_cost_together():
    """The vote runs every copy in one batch: 16 copies of the paper Sudoku at its own settings fit (6,562 GFLOP),
    32 do not, nor 16 at the deepest single run the host allows; sudoku-tiny may vote with 32 copies at T=16, n=16."""
    sudoku = CONFIGS["sudoku"]
    assert hosted_variants(sudoku, 16, 3, 6, 16) == 16 and hosted_variants(TINY_SUDOKU, 16, 16, 16, 32) == 32
    with pytest.raises(ValueError, match="13,124 GFLOP .* more than the 8,000 GFLOP this host runs per vote: vote "
                                         "over at most 19 variants"):
        hosted_variants(sudoku, 16, 3, 6, 32)
    with pytest.raises(ValueError, match="vote over at most 2 variants"):
        hosted_variants(sudoku, 16, 12, 16, 16)
    assert hosted_variants(sudoku, 16, 12, 16, 2.5) == 2.5          # not a count: run_vote says what it must be
