"""A checkpoint's training history (model card + metrics log): read from the real shipped checkpoints, drawn for
the app's "Training history" tab, and never an exception on a broken or hostile card."""
from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

from trm_viz.model.history import MAX_CARD_BYTES, read_history
from trm_viz.train.card import render_readme
from trm_viz.ui import session as ss
from trm_viz.ui.input_handlers import InputHandlers
from trm_viz.ui.models import REPO, ModelRegistry
from trm_viz.viz.history import MAX_POINTS, history_figure, history_markdown

CHECKPOINTS = REPO / "checkpoints"


def test_the_shipped_sudoku_models_histories():
    tiny = read_history(CHECKPOINTS / "sudoku-tiny")
    card = json.loads((CHECKPOINTS / "sudoku-tiny" / "card.json").read_text())
    trained = [r for r in card["runs"] if r["steps"]]             # not the evaluation-only runs
    assert tiny.total_steps == card["total_steps"] and tiny.runs == len(trained) and not tiny.still_training
    last = tiny.evaluations[-1]
    assert last.held_out == "minimal puzzles" and last.exact == card["runs"][-1]["eval"]["exact_by_step"][-1]
    assert [e.step for e in tiny.evaluations] == sorted(e.step for e in tiny.evaluations)
    assert len(tiny.steps) > 500 and tiny.steps[-1] == tiny.total_steps and 0 < tiny.cell_acc[-1] <= 1

    paper = read_history(CHECKPOINTS / "sudoku")      # the paper-size run: solved nothing for two sessions, then most
    assert not paper.still_training and paper.gpu_minutes > 0 and paper.total_steps > 6000
    assert paper.evaluations[0].exact == 0.0 and paper.evaluations[-1].exact >= 0.9


def test_the_figure_keeps_held_out_sets_apart_and_thins_the_log(tmp_path):
    h = read_history(CHECKPOINTS / "sudoku-tiny")
    fig = history_figure(h)
    names = [t.name for t in fig.data]
    solved = [n for n in names if n.startswith("held-out solved")]
    assert len(solved) == len({e.held_out for e in h.evaluations}) >= 2     # easy grids, then minimal puzzles
    assert "with the vote: minimal puzzles" in names
    assert h.devices == ["CPU (x86_64, 1 thread)"]           # older runs' cards said "1 threads": one device
    assert all(len(t.x) <= MAX_POINTS for t in fig.data)
    lr = next(t for t in fig.data if t.name == "learning rate")     # the strip under the curves, log scale
    assert lr.yaxis == "y3" and fig.layout.yaxis3.type == "log" and 1e-2 in lr.y and 1e-4 in lr.y
    text = history_markdown(h, "sudoku-tiny")
    assert f"{h.total_steps:,} optimizer steps" in text and "| 500 minimal puzzles | **40.0%**" in text
    assert "| 1 | 1e-2 | 11,497 |" in text and "| 6 | 1e-4 | 108,078 |" in text   # each run's lr beside its result
    assert "has no training record" in history_markdown(None, "x")
    run = {"steps": 1975, "eval": {"exact_by_step": [0.0] * 16}}         # a paper-size run that solves nothing yet
    (tmp_path / "card.json").write_text(json.dumps({"task": "sudoku", "total_steps": 1975, "runs": [run]}))
    assert "still in training" in history_markdown(read_history(tmp_path), "sudoku")


@pytest.mark.parametrize("card", ["", "{", "[]", '{"runs": 3}', '{"runs": [], "total_steps": "many"}',
                                  '{"runs": [{"eval": {"exact_by_step": ["x"]}}], "total_steps": 5}',
                                  '{"runs": [{"eval": {"exact_by_step": [7.0]}}], "total_steps": 5}',
                                  '[' * 100000 + ']' * 100000])
def test_broken_or_hostile_cards_never_raise(tmp_path, card):
    (tmp_path / "card.json").write_text(card)
    (tmp_path / "metrics.jsonl").write_text('{"step": 1, "lm_loss": NaN, "cell_acc": 0.5}\nnot json\n[1]\n'
                                            '{"step": 2, "lm_loss": 1.5, "cell_acc": 0.25}\n')
    h = read_history(tmp_path)
    if h is not None:                      # readable totals, unreadable evaluations: those are left out
        assert h.evaluations == [] and h.steps == [2] and h.lm_loss == [1.5] and math.isnan(h.lr[0])
        history_figure(h)
        history_markdown(h, "x")


def test_an_annealed_run_shows_its_lr_range(tmp_path):
    """A run with lr_min_ratio < 1 (a cosine over its budget) reads as "peak to end"; bad lr values are left out."""
    run = {"steps_end": 40, "train_config": {"lr": 1e-4, "lr_min_ratio": 0.1},
           "eval": {"exact_by_step": [0.5], "n": 10}, "data": {"min_guesses": 0}}
    bad = dict(run, steps_end=50, train_config={"lr": "fast", "lr_min_ratio": 7})
    to_zero = dict(run, steps_end=60, train_config={"lr": 2.5e-4, "lr_min_ratio": 0})
    deeper = dict(to_zero, steps=0, H_cycles=4, L_cycles=2)      # --eval-only: the same weights at another depth
    (tmp_path / "card.json").write_text(json.dumps({"runs": [run, bad, to_zero, deeper], "total_steps": 60}))
    (tmp_path / "metrics.jsonl").write_text('{"step": 20, "lm_loss": 1.0, "cell_acc": 0.5, "lr": 1e-4}\n'
                                            '{"step": 40, "lm_loss": 0.9, "cell_acc": 0.6, "lr": -1}\n')
    h = read_history(tmp_path)
    assert h.lr[0] == 1e-4 and math.isnan(h.lr[1])
    text = history_markdown(h, "x")
    assert "| 1 | 1e-4→1e-5 | 40 |" in text and "| 2 | - | 50 |" in text
    assert "| 3 | 2.5e-4→0 | 60 |" in text and "| 4 | evaluated at T=4, n=2 | 60 |" in text and h.runs == 3
    assert [t.name for t in history_figure(h).data][0] == "learning rate"


def test_runs_without_an_evaluation_say_why(tmp_path):
    """A run whose budget ran out before its evaluation, and one trained with --no-eval, are told apart."""
    scored = {"steps_end": 40, "steps": 40, "train_config": {"lr": 1e-4}, "eval": {"exact_by_step": [0.5], "n": 10}}
    short = {"steps_end": 50, "steps": 10, "train_config": {"lr": 1e-4}, "eval": None}
    asked = dict(short, steps_end=60, no_eval=True)
    stopped = dict(scored, steps_end=70, ended="interrupted")
    (tmp_path / "card.json").write_text(json.dumps({"runs": [scored, short, asked, stopped], "total_steps": 70}))
    text = history_markdown(read_history(tmp_path), "x")
    assert "Run 4 ended early (Ctrl-C or SIGTERM)." in text
    assert "Run 2 ended early (Ctrl-C or SIGTERM), evaluated and saved as it stood." in render_readme(
        {"task": "sudoku", "runs": [scored, stopped]})
    assert "Run 2 ended without a held-out evaluation (a short session's budget ran out first)." in text
    assert "Run 3 skipped the held-out evaluation (trained with --no-eval)." in text
    readme = render_readme({"task": "arc", "model": {"halt_exploration_prob": 0.5}, "runs": [scored]})
    assert "exploration: 50% of puzzles get a random minimum of 2-16 steps" in readme


def test_an_oversized_card_is_not_read(tmp_path):
    (tmp_path / "card.json").write_text('{"runs": [], "total_steps": 1, "pad": "' + "x" * MAX_CARD_BYTES + '"}')
    assert read_history(tmp_path) is None


def test_the_tab_follows_the_model_run_uses(tmp_path):
    shutil.copytree(CHECKPOINTS / "sudoku-tiny", tmp_path / "sudoku-tiny")
    inputs = InputHandlers(ModelRegistry(tmp_path))
    text, fig = inputs.history_view("sudoku", ss.new_session())
    assert "**`sudoku-tiny`** trained" in text and fig is not None
    text, fig = inputs.history_view("maze", ss.new_session())
    assert text == "No maze model is shipped yet." and fig is None


def test_a_users_checkpoint_shows_its_history_when_its_card_comes_with_it(tmp_path):
    """A researcher uploads a run of their own with its card and log: the tab shows how it trained; without them
    it says what to add."""
    from trm_viz.ui.models import load_uploaded

    tiny = CHECKPOINTS / "sudoku-tiny"
    inputs = InputHandlers(ModelRegistry(tmp_path))
    session = ss.new_session()
    session["user_model"], _ = load_uploaded([str(tiny / f) for f in ("config.json", "model.safetensors")])
    text, fig = inputs.history_view("sudoku", session)
    assert "without a training record" in text and "card.json and metrics.jsonl" in text and fig is None
    files = ("config.json", "model.safetensors", "card.json", "metrics.jsonl")
    session["user_model"], loaded = load_uploaded([str(tiny / f) for f in files])
    text, fig = inputs.history_view("sudoku", session)
    steps = read_history(tiny).total_steps
    assert f"**`your checkpoint`** trained for **{steps:,} optimizer steps**" in text and len(fig.data) >= 3
    assert "The card.json you loaded has" in text and "README.md" not in text     # no folder, perhaps no README
    assert loaded.history.steps[-1] == steps
