"""The ARC variant vote (trm_viz.vote) on the shipped ARC model: every variant of the task runs, answers come back in
the task's own frame, the ranking gives the official pass@2, and the app's Vote handler shows it."""
from __future__ import annotations

from pathlib import Path

import gradio as gr
import numpy as np
import pytest

from trm_viz.model.checkpoints import load_checkpoint
from trm_viz.tasks import PuzzleError, get_task
from trm_viz.tasks.arc import task_puzzles
from trm_viz.tasks.arc_data import find_task
from trm_viz.trace import run
from trm_viz.viz.style import RIGHT, rgb
from trm_viz.viz.vote import vote_image, vote_summary
from trm_viz.vote import run_vote, task_variants

ARC_TINY = Path(__file__).resolve().parents[1] / "checkpoints" / "arc-tiny"


@pytest.fixture(scope="module")
def model():
    if not (ARC_TINY / "model.safetensors").exists():
        pytest.fail(f"the shipped ARC checkpoint is missing: {ARC_TINY}")
    return load_checkpoint(ARC_TINY)[0]


def first_test_input(task_id: str):
    found = find_task(task_id)
    return task_puzzles(found[1] if isinstance(found, tuple) else found, task_id)[0]


def test_every_variant_votes_and_the_solution_leads_on_a_task_the_model_solves(model):
    puzzle = first_test_input("0d3d703e")               # colour swap: the card says arc-tiny solves it
    vv = run_vote(model, puzzle, steps=6)
    assert vv.variants[0] == "0d3d703e" and len(vv.variants) == vv.known_variants == 16
    assert all("0d3d703e|||t" in name for name in vv.variants[1:])
    assert vv.num_steps == 6 and vv.q_halt_prob.shape == (6, 16)
    assert [sum(v.votes for v in ranked) for ranked in vv.ranked] == [16] * 6
    assert vv.pass_at(2) and np.array_equal(vv.ranked[-1][0].grid, puzzle.solution)
    assert vv.top_votes()[-1] >= 8                 # most variants agree on it
    # The identity variant is what a trace runs: the batched vote and the step-by-step trace give the same answers.
    trace = run(model, puzzle, steps=6)
    assert all(np.array_equal(vv.answers[s][0], trace.answers[s]) for s in range(6))
    summary = vote_summary(vv)
    assert "**16 of 16**" not in summary and "pass@2" in summary and "**right**" in summary
    img = np.asarray(vote_image(vv, get_task("arc", model.config.seq_len), 6))
    assert (img.reshape(-1, 3) == rgb(RIGHT)).all(1).any()      # the leading answer is framed green


def test_a_task_the_model_fails_is_reported_wrong_and_fewer_variants_are_named(model):
    puzzle = first_test_input("1e0a9b12")               # gravity: arc-tiny gets it wrong (its card)
    vv = run_vote(model, puzzle, steps=4, max_variants=5)
    assert len(vv.variants) == 5 and vv.known_variants == 16
    assert vv.pass_at(2) is False and "**wrong**" in vote_summary(vv)
    assert "the first 5 of the 16 variants" in vote_summary(vv, 2)


def test_the_vote_refuses_what_it_cannot_run(model):
    with pytest.raises(PuzzleError, match="for ARC puzzles"):
        run_vote(model, get_task("sudoku").examples()[next(iter(get_task("sudoku").examples()))])
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
    with pytest.raises(gr.Error, match="Run an ARC puzzle first"):
        runs.vote_clicked(None)
    loaded = registry.get("arc")
    puzzle = first_test_input("25ff71a9")
    result = {"trace": run(loaded.model, puzzle, steps=3), "puzzle": puzzle, "task": "arc", "user_model": None,
              "shipped": None, "step": 2}
    text, img, result = runs.vote_clicked(result)
    assert text.startswith("**Vote after step 2**") and img.width > 0 and result["vote"].num_steps == 3
