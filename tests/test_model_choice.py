"""Several shipped checkpoints of one task: the registry lists them (checkpoints/<task>/ first, then <task>-*/),
loads each on its own, and a session picks one in the "Shipped model" menu; Run, the run settings and the model line
follow the pick, a user's own checkpoint still comes first, and the /trace API keeps the default.

The temporary checkpoints folder holds two copies of the real trained checkpoints/sudoku-tiny (same weights). The
copy named "sudoku" gets other default counts in its config.json (H_cycles 3, L_cycles 3, 8 steps: the weights do
not depend on them), so a user can tell the two apart by the run settings as well as by the model line.
"""
from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path

import gradio as gr
import pytest
import torch

from conftest import served   # pytest puts tests/ on sys.path
from trm_viz.model.checkpoints import save_checkpoint
from trm_viz.model.config import TRMConfig
from trm_viz.model.trm import TRM
from trm_viz.tasks import get_task
from trm_viz.ui import session as ss
from trm_viz.ui.handlers import RunHandlers
from trm_viz.ui.input_handlers import TASK_OUTPUTS, InputHandlers
from trm_viz.ui.models import CHECKPOINTS_ENV, REPO, ModelRegistry, NoModel, load_uploaded

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:gradio.queueing")
TINY = REPO / "checkpoints" / "sudoku-tiny"
TINY_T = json.loads((TINY / "config.json").read_text())["H_cycles"]    # the depth sudoku-tiny runs at (16)
EASY = "53..7....6..195....98....6.8...6...34..8.3..17...2...6.6....28....419..5....8..79"


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("checkpoints")
    for name in ("sudoku", "sudoku-tiny", "sudoku-wrong-task"):
        (root / name).mkdir()
        for f in ("config.json", "model.safetensors"):
            shutil.copyfile(TINY / f, root / name / f)
    for f in ("card.json", "metrics.jsonl"):                     # only the real sudoku-tiny copy has a history
        shutil.copyfile(TINY / f, root / "sudoku-tiny" / f)
    _edit_config(root / "sudoku", H_cycles=3, L_cycles=3, halt_max_steps=8)
    _edit_config(root / "sudoku-wrong-task", task="maze")     # named like a Sudoku variant, configured for mazes
    (root / "sudoku-notes").mkdir()                              # no config.json: not a checkpoint
    return root


def _edit_config(folder: Path, **changes) -> None:
    cfg = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**cfg, **changes}))


# --- the registry -----------------------------------------------------------------------------------------------
def test_registry_lists_loads_and_caches_each_checkpoint(root):
    reg = ModelRegistry(root)
    assert reg.choices("sudoku") == ["sudoku", "sudoku-tiny"] and reg.choices("maze") == []
    assert reg.available() == ["sudoku"]
    assert reg.path("sudoku") == root / "sudoku" and reg.path("sudoku", "sudoku-tiny") == root / "sudoku-tiny"
    assert (reg.config("sudoku").H_cycles, reg.config("sudoku", "sudoku-tiny").H_cycles) == (3, TINY_T) and TINY_T != 3
    assert reg.loaded("sudoku") is None
    default, tiny = reg.get("sudoku"), reg.get("sudoku", "sudoku-tiny")
    assert default is reg.get("sudoku", "sudoku") is reg.loaded("sudoku") and tiny is reg.loaded("sudoku", "sudoku-tiny")
    assert default is not tiny and str(root / "sudoku-tiny") in tiny.label and f"({root / 'sudoku'})" in default.label
    assert (default.config.H_cycles, default.config.halt_max_steps, tiny.config.H_cycles) == (3, 8, TINY_T)
    for k, v in tiny.model.state_dict().items():                # both hold the real sudoku-tiny weights
        assert torch.equal(v, default.model.state_dict()[k])
    for bad in ("sudoku-wrong-task", "sudoku-notes", "../sudoku-tiny", str(root / "sudoku-tiny")):
        with pytest.raises(NoModel, match="no shipped sudoku model called .*the shipped ones are sudoku, sudoku-tiny"):
            reg.get("sudoku", bad)
    with pytest.raises(NoModel, match="No trained maze model is shipped yet"):
        reg.get("maze")


def test_registry_loads_a_checkpoint_once_when_sessions_ask_together(root):
    reg, got = ModelRegistry(root), []
    threads = [threading.Thread(target=lambda: got.append(reg.get("sudoku", "sudoku-tiny"))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 4 and all(m is got[0] for m in got)


def test_the_repositorys_default_is_unchanged():
    reg = ModelRegistry(REPO / "checkpoints")
    assert reg.choices("sudoku")[0] == reg.path("sudoku").name and reg.path("sudoku").parent == REPO / "checkpoints"


def _card(folder: Path, exact_at_16: float | None, steps: int = 1975) -> None:
    run = {"steps": steps, "eval": None if exact_at_16 is None else {"exact_by_step": [0.0] * 15 + [exact_at_16]}}
    (folder / "card.json").write_text(json.dumps({"task": "sudoku", "total_steps": steps, "runs": [run]}))


def test_a_model_still_in_training_is_offered_last_and_says_so(root, tmp_path):
    """A paper-size run a few GPU sessions in (its card: no held-out puzzle solved yet) must not become what a
    visitor's Run uses; it stays in the menu, labelled, and the model line warns whoever picks it."""
    for name in ("sudoku", "sudoku-tiny"):
        shutil.copytree(root / name, tmp_path / name)
    _card(tmp_path / "sudoku", 0.0)
    _card(tmp_path / "sudoku-tiny", 0.40, steps=72700)
    reg = ModelRegistry(tmp_path)
    assert reg.choices("sudoku") == ["sudoku-tiny", "sudoku"] and reg.path("sudoku") == tmp_path / "sudoku-tiny"
    label = dict((v, k) for k, v in reg.menu("sudoku"))["sudoku"]
    assert label.startswith("sudoku: still training (1,975 steps so far;") and reg.training_note("sudoku") is None
    session = ss.new_session()
    line = InputHandlers(reg).shipped_chosen("sudoku", "sudoku", session)[-2]
    assert "still training" in line and "not one that solves" in line

    _card(tmp_path / "sudoku", None, steps=100)               # trained, never evaluated: not offered first either
    assert ModelRegistry(tmp_path).choices("sudoku") == ["sudoku-tiny", "sudoku"]
    _card(tmp_path / "sudoku", 0.012)                          # the day it solves some: back to being the default
    assert ModelRegistry(tmp_path).choices("sudoku") == ["sudoku", "sudoku-tiny"]
    for hostile in ("{not json", "[1, 2]", '{"runs": "x", "total_steps": []}', '{"runs": [{"eval": {}}]}'):
        (tmp_path / "sudoku" / "card.json").write_text(hostile)   # a card we cannot read says nothing about the model
        reg = ModelRegistry(tmp_path)
        assert reg.choices("sudoku") == ["sudoku", "sudoku-tiny"] and reg.training_note("sudoku") is None


def test_the_repositorys_default_model_solves_puzzles():
    reg = ModelRegistry(REPO / "checkpoints")
    for task in reg.available():
        assert reg.training_note(task) is None, f"the default {task} model is still in training"


# --- the handlers behind the menu -------------------------------------------------------------------------------
def test_the_sessions_pick_drives_settings_model_line_and_run(root):
    reg = ModelRegistry(root)
    inputs, runs = InputHandlers(reg), RunHandlers(reg)
    session = ss.new_session()
    out = inputs.task_changed("sudoku", session)
    steps, h, l, line, menu = out[-5:]
    assert menu["visible"] and menu["choices"] == [("sudoku", "sudoku"), ("sudoku-tiny", "sudoku-tiny")]
    assert menu["value"] == "sudoku"
    assert (steps["value"], h["value"], l["value"]) == (8, 3, 3) and "(sudoku/)" in line
    assert inputs.task_changed("maze", session)[-1]["visible"] is False

    steps, h, l, line, menu = inputs.shipped_chosen("sudoku", "sudoku-tiny", session)[-5:]
    assert (steps["value"], h["value"], l["value"]) == (16, TINY_T, 2) and "(sudoku-tiny/)" in line
    assert menu["value"] == "sudoku-tiny"
    assert inputs.task_changed("sudoku", session)[-1]["value"] == "sudoku-tiny"    # kept across task switches
    other = ss.new_session()                                                           # another visitor: default
    assert inputs.task_changed("sudoku", other)[-1]["value"] == "sudoku"
    with pytest.raises(Exception, match="no shipped sudoku model called '../x'"):
        inputs.shipped_chosen("sudoku", "../x", session)

    grid = get_task("sudoku").parse(EASY).grid.tolist()
    request, status, _ = runs.prepare("sudoku", grid, session, None, 1, 2, 2)
    assert request["shipped"] == "sudoku-tiny" and str(root / "sudoku-tiny") in status
    deep, _, _ = runs.prepare("sudoku", grid, session, None, 16, 16, 16)  # a 0.1M model may think as deep as it likes
    assert (deep["steps"], deep["H_cycles"], deep["L_cycles"]) == (16, 16, 16)
    *_, last = runs.run(request)
    assert last[3]["trace"].meta["checkpoint"] == reg.get("sudoku", "sudoku-tiny").label
    # the model line now describes the loaded model: the line a user reads before pressing Run
    assert "sudoku-tiny" in inputs.task_changed("sudoku", session)[-2]
    # the menu left by Tab (Gradio fires .input with the same value) changes nothing
    assert inputs.shipped_chosen("sudoku", "sudoku-tiny", session) == (gr.skip(),) * TASK_OUTPUTS


def test_own_checkpoint_still_comes_first(root, tmp_path):
    reg = ModelRegistry(root)
    inputs, runs = InputHandlers(reg), RunHandlers(reg)
    mine = TRM(TRMConfig(hidden_size=64, num_heads=4, L_layers=1, H_cycles=1, L_cycles=1, puzzle_emb_ndim=64,
                         vocab_size=11, seq_len=81, mlp_t=True, pos_encodings="none", task="sudoku"))
    folder = save_checkpoint(tmp_path / "mine", mine)
    key, loaded = load_uploaded([str(folder / "config.json"), str(folder / "model.safetensors")])
    session = ss.new_session()
    inputs.shipped_chosen("sudoku", "sudoku-tiny", session)
    session["user_model"] = key
    out = inputs.task_changed("sudoku", session)
    assert out[-1]["visible"] is False and "your checkpoint" in out[-2] and out[-4]["value"] == 1
    request, status, _ = runs.prepare("sudoku", get_task("sudoku").parse(EASY).grid.tolist(), session, None, 1, 1, 1)
    assert loaded.label in status
    session["user_model"] = None                                   # "Back to the shipped models": the pick is back
    assert inputs.task_changed("sudoku", session)[-1]["value"] == "sudoku-tiny"


# --- the API and the page ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def app(root):
    from trm_viz.ui.app_layout import build_app

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(CHECKPOINTS_ENV, str(root))
        demo = build_app(ModelRegistry(), warm=False)
    with served(demo):
        yield demo


def test_trace_api_uses_the_default_shipped_model(app, root):
    from gradio_client import Client

    trace = Client(app.local_url, verbose=False).predict("sudoku", EASY, 1, 0, 0, "", api_name="/trace")
    assert trace["meta"]["checkpoint"].endswith(f"({root / 'sudoku'})") and trace["meta"]["H_cycles"] == 3


def test_menu_in_the_browser(app, browser):
    t0 = time.time()
    page = browser.new_page(viewport={"width": 1400, "height": 1500})
    page.goto(app.local_url)
    page.wait_for_selector("#editor .ge-cell")
    menu, line = page.locator("#model-choice"), page.locator("#model-line")
    # the default: "(sudoku/)" until it is loaded, then its path (the /trace test above may have loaded it)
    default = lambda: "sudoku-tiny" not in line.inner_text() and (  # noqa: E731
        "(sudoku/)" in line.inner_text() or "/sudoku)" in line.inner_text())
    assert menu.is_visible()
    _wait(default, "the model line names the default model")
    page.get_by_role("tab", name="Training history").click()
    summary = page.locator("#history-summary")
    _wait(lambda: "has no training record" in summary.inner_text(), "the default copy has no card")
    page.click("#task label:has-text('Maze')")
    _wait(lambda: not menu.is_visible(), "menu hidden for mazes")
    page.click("#task label:has-text('Sudoku')")
    _wait(menu.is_visible, "menu back for Sudoku")
    page.locator("#model-choice input").click()
    page.locator("[role=option]:has-text('sudoku-tiny')").click()
    _wait(lambda: "sudoku-tiny" in line.inner_text(), "model line follows the pick")
    steps = json.loads((TINY / "card.json").read_text())["total_steps"]
    _wait(lambda: f"{steps:,} optimizer steps" in summary.inner_text(), "the history follows the pick")
    _wait(lambda: page.locator("#history-plot .main-svg").count() > 0, "the training curve is drawn")
    assert "minimal puzzles" in summary.inner_text()
    page.click("button:has-text('Run settings')")
    h_cycles = page.locator("input[aria-label='number input for H_cycles (T): z_H updates per step']")
    _wait(lambda: h_cycles.input_value() == str(TINY_T), "H_cycles slider follows the pick")
    page.close()
    print(f"browser test: {time.time() - t0:.1f} s")


def _wait(pred, what: str, timeout: float = 15.0) -> None:
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError(f"{what}: not after {timeout} s")


# --- a maze model's canvas ----------------------------------------------------------------------------------------
def test_the_maze_editor_follows_the_models_canvas(tmp_path):
    """A maze model that reads 12x12 (its config.json is all the editor needs: weights load only on Run): the
    editor, the examples and "new puzzle" use that canvas; a maze moved to another canvas comes back onto it when it
    fits, and otherwise the first example shows (undo restores the user's maze)."""
    import numpy as np

    folder = tmp_path / "maze-small"
    folder.mkdir()
    cfg = TRMConfig(task="maze", vocab_size=6, seq_len=144, hidden_size=64, num_heads=4, L_layers=1, mlp_t=True,
                    pos_encodings="none", puzzle_emb_ndim=64, H_cycles=2, L_cycles=3)
    (folder / "config.json").write_text(json.dumps({"format": "trm_viz", "format_version": 1, **cfg.to_dict()}))
    reg = ModelRegistry(tmp_path)
    inputs = InputHandlers(reg)
    session = ss.new_session()
    out = inputs.task_changed("maze", session)
    small = get_task("maze", reg.config("maze").seq_len)
    first = np.asarray(session["grids"]["maze"])
    assert first.shape == small.canvas_shape == (12, 12)
    assert out[5]["choices"] == list(small.examples()) and "medium 21x21" not in out[5]["choices"]
    assert (out[-5]["value"], out[-4]["value"], out[-3]["value"]) == (16, 2, 3)     # the model's own counts
    inputs.new_puzzle("maze", "", session)
    generated = np.asarray(session["grids"]["maze"])
    assert generated.shape == (12, 12) and small.validate(ss.source(session, "maze")) == []

    big = get_task("maze")
    padded = inputs._refit(big, generated.tolist(), session)              # as if a 30x30 model had been chosen
    assert np.asarray(padded).shape == (30, 30)
    inputs.task_changed("maze", session)                                  # back on this model's canvas
    assert session["grids"]["maze"] == generated.tolist()
    ss.load(session, "maze", big.examples()["medium 21x21"])               # too big for 12x12
    with pytest.warns(UserWarning, match="does not fit this model's 12x12 canvas"):
        inputs.task_changed("maze", session)
    assert session["grids"]["maze"] == first.tolist()
    assert np.asarray(ss.undo(session, "maze")).shape == (30, 30)          # the user's maze is not lost
