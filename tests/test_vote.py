"""The variant vote (trm_viz.vote) on the shipped models: every variant runs (ARC: the task's learned variants;
Sudoku, maze: symmetries), answers come back in the puzzle's own frame, the ranking gives the official pass@2, and
the app's Vote handler shows it."""
from __future__ import annotations

from pathlib import Path

import gradio as gr
import numpy as np
import pytest
from PIL import Image

from trm_viz.model.checkpoints import load_checkpoint
from trm_viz.tasks import PuzzleError, get_task
from trm_viz.tasks.arc import task_puzzles
from trm_viz.tasks.arc_data import find_task
from trm_viz.trace import run
from trm_viz.viz.style import RIGHT, rgb
from trm_viz.viz.vote import vote_image, vote_summary
from trm_viz.vote import run_vote, task_variants

CHECKPOINTS = Path(__file__).resolve().parents[1] / "checkpoints"


def shipped(name: str):
    if not (CHECKPOINTS / name / "model.safetensors").exists():
        pytest.fail(f"the shipped checkpoint is missing: {CHECKPOINTS / name}")
    return load_checkpoint(CHECKPOINTS / name)[0]


@pytest.fixture(scope="module")
def model():
    return shipped("arc-tiny")


def first_test_input(task_id: str):
    found = find_task(task_id)
    return task_puzzles(found[1] if isinstance(found, tuple) else found, task_id)[0]


def test_every_variant_votes_and_the_solution_leads_on_a_task_the_model_solves(model):
    puzzle = first_test_input("0d3d703e")               # colour swap: the card says arc-tiny solves it
    vv = run_vote(model, puzzle, steps=6)
    assert vv.variants[0] == "0d3d703e" and len(vv.variants) == vv.available == 16
    assert all("0d3d703e|||t" in name for name in vv.variants[1:])
    assert vv.num_steps == 6 and vv.q_halt_prob.shape == (6, 16)
    assert [sum(v.votes for v in ranked) for ranked in vv.ranked] == [16] * 6
    assert vv.pass_at(2) and np.array_equal(vv.ranked[-1][0].grid, puzzle.solution)
    assert vv.top_votes()[-1] >= 8                 # most variants agree on it
    # The identity variant is what a trace runs: the batched vote and the step-by-step trace give the same answers.
    trace = run(model, puzzle, steps=6)
    assert all(np.array_equal(vv.answers[s][0], trace.answers[s]) for s in range(6))
    summary = vote_summary(vv)
    assert "**16 of 16**" not in summary and "pass@2" in summary and "is **right**" in summary
    img = np.asarray(vote_image(vv, get_task("arc", model.config.seq_len), 6))
    assert (img.reshape(-1, 3) == rgb(RIGHT)).all(1).any()      # the leading answer is framed green


def test_a_task_the_model_fails_is_reported_wrong_and_fewer_variants_are_named(model):
    puzzle = first_test_input("1e0a9b12")               # gravity: arc-tiny gets it wrong (its card)
    vv = run_vote(model, puzzle, steps=4, variants=5)
    assert len(vv.variants) == 5 and vv.available == 16
    assert vv.pass_at(2) is False and "**wrong**" in vote_summary(vv)
    assert "the first 5 of the 16 variants" in vote_summary(vv, 2)
    for step in range(1, 5):          # more distinct answers than the picture draws large: the text says so
        shown = "(the picture shows the top 4;" in vote_summary(vv, step)
        assert shown == (len(vv.ranked[step - 1]) > 4)


def test_sudoku_and_maze_votes_run_the_symmetries_training_used():
    sudoku_model, sudoku = shipped("sudoku-tiny"), get_task("sudoku")
    puzzle = sudoku.examples()["Warm-up 1 (34 blanks)"]
    vv = run_vote(sudoku_model, puzzle, steps=4, variants=6)
    assert vv.variants[0] == "identity" and len(vv.variants) == 6 and vv.available is None
    # every variant is a different symmetric copy, yet each answer comes back in the puzzle's own frame
    copies = {sym.apply(puzzle.grid).tobytes() for sym in sudoku.symmetries(6)}
    assert len(copies) == 6
    given = puzzle.grid > 0      # the model may rewrite a clue now and then; a wrong frame would miss most of them
    assert all((a[given] != puzzle.grid[given]).mean() < 0.1 for a in vv.answers[-1])
    assert vv.pass_at(1) and np.array_equal(vv.solution, sudoku.solve(puzzle))   # the solver's answer leads
    trace = run(sudoku_model, puzzle, steps=4)
    assert all(np.array_equal(vv.answers[s][0], trace.answers[s]) for s in range(4))
    assert "symmetric copies" in vote_summary(vv) and "The vote's answer is **right**" in vote_summary(vv)

    maze_model = shipped("maze-tiny")
    maze = get_task("maze", maze_model.config.seq_len)
    vv = run_vote(maze_model, maze.examples()["generated 8x8"], steps=3, variants=32)
    assert len(vv.variants) == vv.available == 8 and vv.variants[1] == "rotated 90"   # 8 dihedral transforms only
    assert vv.pass_at(1) and "the 8 rotations and mirror images of the maze" in vote_summary(vv)     # not "of the None"


def test_votes_compute_in_bfloat16_only_where_the_cpu_has_it_and_it_pays(monkeypatch):
    """model/precision.py: a vote of a paper-size model runs in bfloat16 autocast on CPUs with native bfloat16 (the
    16-copy Sudoku vote ~3x faster); one puzzle's trace, the tiny models and other CPUs stay float32."""
    import torch

    from trm_viz.bench import CONFIGS
    from trm_viz.model import precision

    paper, tiny = CONFIGS["sudoku"], shipped("sudoku-tiny").config
    monkeypatch.delenv(precision.ENV, raising=False)
    monkeypatch.setattr(precision, "bf16_is_fast", lambda: True)
    assert precision.inference_dtype(paper, 16) == torch.bfloat16
    assert precision.inference_dtype(paper, 1) == torch.float32       # a trace: the path the README describes
    assert precision.inference_dtype(tiny, 16) == torch.float32       # per-call overhead, nothing to gain
    monkeypatch.setattr(precision, "bf16_is_fast", lambda: False)
    assert precision.inference_dtype(paper, 16) == torch.float32      # emulated bfloat16 is slower
    monkeypatch.setenv(precision.ENV, "bfloat16")
    assert precision.inference_dtype(tiny, 1) == torch.bfloat16       # TRM_VIZ_DTYPE (the CLI's --dtype) wins


def test_a_bfloat16_vote_and_trace_still_solve_and_say_so(monkeypatch):
    from trm_viz.model import precision

    model, sudoku = shipped("sudoku-tiny"), get_task("sudoku")
    puzzle = sudoku.examples()["Warm-up 1 (34 blanks)"]
    monkeypatch.setenv(precision.ENV, "bfloat16")
    vv = run_vote(model, puzzle, steps=4, variants=4)
    assert vv.dtype == "bfloat16" and vv.pass_at(1)
    assert "lower precision (bfloat16" in vote_summary(vv) and "the one the step viewer shows" not in vote_summary(vv)
    trace = run(model, puzzle, steps=4)
    # right where it halts, the step the viewer opens at (sudoku-tiny's z_L flips between two states, so a later
    # step can lose a cell: on an AMD EPYC its float32 step 4 does too)
    assert trace.meta["dtype"] == "bfloat16" and trace.halt_step and trace.exact[trace.halt_step - 1]
    assert trace.z_H_proj.dtype == trace.confidence.dtype == np.float32       # the recording stays float32


def test_the_vote_refuses_what_it_cannot_run(model):
    with pytest.raises(PuzzleError, match="cannot run a sudoku puzzle"):
        run_vote(model, get_task("sudoku").examples()["Warm-up 1 (34 blanks)"])
    with pytest.raises(ValueError, match="variants must be a whole number from 1 to 32"):
        run_vote(model, first_test_input("0d3d703e"), variants=33)
    unknown = first_test_input("0d3d703e")
    unknown.arc_task_id = "ffffffff"
    with pytest.raises(PuzzleError, match="not trained on ARC task 'ffffffff'"):
        run_vote(model, unknown)
    unnamed = first_test_input("0d3d703e")
    unnamed.arc_task_id = None
    with pytest.raises(PuzzleError, match="Which ARC task"):
        run_vote(model, unnamed)
    assert task_variants(model.config, "0d3d70") == []          # a prefix of a task id is not that task


def test_the_vote_handler_runs_the_traced_model_at_the_viewed_step(registry):
    from trm_viz.ui.handlers import RunHandlers

    runs = RunHandlers(registry)
    with pytest.raises(gr.Error, match="Run a puzzle first"):
        next(runs.vote_clicked(None, 16))
    loaded = registry.get("arc")
    puzzle = first_test_input("25ff71a9")
    result = {"trace": run(loaded.model, puzzle, steps=3), "puzzle": puzzle, "task": "arc", "user_model": None,
              "shipped": None, "step": 2}
    *progress, (text, img, result, status) = runs.vote_clicked(result, 16.0)     # it streams its steps
    assert [p[0] for p in progress[1:]] == [f"Voting: step {k} of 3 done..." for k in (1, 2, 3)]
    assert text.startswith("**Vote after step 2**") and Image.open(img).width > 0 and result["vote"].num_steps == 3


def test_the_held_out_vote_of_training_agrees_with_the_one_puzzle_vote():
    """train/vote_eval.py votes over a whole split in big batches; trm_viz.vote one puzzle at a time: same answers."""
    import torch

    from trm_viz.train.vote_eval import symmetry_pass_at_k

    model, sudoku = shipped("sudoku-tiny"), get_task("sudoku")
    puzzles = list(sudoku.examples().values())[3:9]          # from solved to unsolved by this model
    inputs = torch.as_tensor(np.stack([sudoku.encode(p.grid) for p in puzzles]))
    labels = torch.as_tensor(np.stack([sudoku.encode(sudoku.solve(p)) for p in puzzles]))
    split = symmetry_pass_at_k(model, "sudoku", inputs, labels, variants=4, steps=6, batch_size=7)
    one_by_one = [run_vote(model, p, steps=6, variants=4) for p in puzzles]
    assert split["n"] == 6 and split["variants"] == 4
    for k in (1, 2):
        assert split[f"pass_at_{k}"] == pytest.approx(np.mean([v.pass_at(k) for v in one_by_one]), abs=1e-6)
        # after every step too, not only the last: one pass of the split scores the vote's whole curve
        assert split[f"pass_at_{k}_by_step"] == pytest.approx(
            [np.mean([v.pass_at(k, step) for v in one_by_one]) for step in range(1, 7)], abs=1e-6)


def test_vote_places_count_from_one_and_halting_is_a_probability():
    """The summary's "answer #1" is the leader, every variant's place is 1..the number of answers, and the halting
    numbers are probabilities (a place counted from 0, or q_halt logits of -4.9, passed every test)."""
    vv = run_vote(shipped("sudoku-tiny"), get_task("sudoku").examples()["Warm-up 2 (40 blanks)"], steps=2, variants=4)
    for s in (1, 2):
        places = [vv.rank_of(s, k) for k in range(len(vv.variants))]
        assert min(places) == 1 and max(places) <= len(vv.ranked[s - 1])
        assert all(0 <= answer.mean_q <= 1 for answer in vv.ranked[s - 1])
    assert ((vv.q_halt_prob >= 0) & (vv.q_halt_prob <= 1)).all()


def test_an_arc_tasks_identity_variant_comes_first_wherever_the_checkpoint_lists_it():
    """The vote's first copy is the task as given (the step viewer's own); a checkpoint whose identifiers list an
    augmented variant before the identity still gets it first."""
    from types import SimpleNamespace

    cfg = SimpleNamespace(puzzle_names=["<blank>", "0d3d703e|||t1|||0123456789", "0d3d703e", "1e0a9b12"])
    assert [(row, name) for row, name, _ in task_variants(cfg, "0d3d703e")] == [
        (2, "0d3d703e"), (1, "0d3d703e|||t1|||0123456789")]
