"""The app's public API through gradio_client against the app served in-process (the real Sudoku checkpoint), and
the app's Python side that needs no browser: puzzles built from the editor's grid, the undo stack, and checkpoints
users upload (wrong or hostile files must give a clear error and run no code)."""
from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from trm_viz.model.checkpoints import CheckpointError, save_checkpoint
from trm_viz.model.config import TRMConfig
from trm_viz.model.trm import TRM
from trm_viz.tasks import PuzzleError, get_task
from trm_viz.ui import session as ss
from trm_viz.trace import known_arc_tasks
from trm_viz.ui.models import ModelRegistry, active_model, load_uploaded, user_model

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:gradio.queueing")
SUDOKU = get_task("sudoku")
EASY = "53..7....6..195....98....6.8...6...34..8.3..17...2...6.6....28....419..5....8..79"


@pytest.fixture(scope="module")
def client(app_server):
    from gradio_client import Client

    return Client(app_server.local_url, verbose=False)


# --- the API ----------------------------------------------------------------------------------------------------
def test_only_the_trace_and_vote_endpoints_are_public(client):
    """UI listeners are private: a script sees exactly the two endpoints, with the documented parameters."""
    api = client.view_api(return_format="dict", print_info=False)
    assert sorted(api["named_endpoints"]) == ["/trace", "/vote"]
    assert not api["unnamed_endpoints"]
    params = [p["parameter_name"] for p in api["named_endpoints"]["/trace"]["parameters"]]
    assert params == ["task", "puzzle", "steps", "H_cycles", "L_cycles", "arc_task_id"]
    params = [p["parameter_name"] for p in api["named_endpoints"]["/vote"]["parameters"]]
    assert params == ["task", "puzzle", "steps", "H_cycles", "L_cycles", "arc_task_id", "variants"]


def test_after_a_slow_run_the_vote_says_how_long_it_will_take():
    """The paper-size Sudoku model runs ~6 s on a 2-core host and its 16-copy vote ~1.5 minutes: the hint under the
    Vote button says so before anyone presses it; after a run of a fraction of a second it just says what Vote does."""
    from trm_viz.ui.views import vote_hint

    assert "the default 16 copies take roughly 99 s here" in vote_hint("sudoku", 6.2)
    assert "the default 8 copies take roughly 24 s" in vote_hint("maze", 3.0)        # a maze has 8 symmetries
    assert "copies take" not in vote_hint("sudoku", 0.4) and vote_hint("sudoku", 0.4).startswith("Press **Vote**")
    # where the CPU computes the paper model's vote in bfloat16 (model/precision.py), about a third of that
    import trm_viz.model.precision as precision
    from trm_viz.bench import CONFIGS

    with pytest.MonkeyPatch.context() as m:
        m.delenv(precision.ENV, raising=False)
        m.setattr(precision, "bf16_is_fast", lambda: True)
        assert "bfloat16" in vote_hint("sudoku", 6.2, CONFIGS["sudoku"]) and "roughly 34 s" in vote_hint(
            "sudoku", 6.2, CONFIGS["sudoku"])
        m.setattr(precision, "bf16_is_fast", lambda: False)
        assert "roughly 99 s" in vote_hint("sudoku", 6.2, CONFIGS["sudoku"])


def test_vote_api_ranks_the_variants_answers_per_step(client, registry):
    """ARC: the task's learned variants (when an ARC model is shipped); Sudoku: symmetric copies."""
    import json

    from gradio_client.exceptions import AppError

    from trm_viz.tasks.arc_data import curated_tasks

    if "arc" not in registry.available():
        pytest.skip("no ARC model is shipped")
    curated = curated_tasks()                    # the model's first task shipped in assets/ (with its demonstrations)
    task_id = next(t for t in known_arc_tasks(registry.config("arc")) if t in curated)
    task_json = json.dumps(curated[task_id])
    vote = client.predict("arc", task_json, 3, 0, 0, task_id, 16, api_name="/vote")
    assert vote["format"] == "trm_viz.vote" and vote["arc_task_id"] == task_id and vote["num_steps"] == 3
    assert vote["variants"][0] == task_id and len(vote["variants"]) == vote["available_variants"] == 16
    for step in vote["steps"]:
        votes = [a["votes"] for a in step["answers"]]
        assert sum(votes) == 16 and votes == sorted(votes, reverse=True) and len(step["variant_places"]) == 16
        assert step["pass_at_2"] == any(a["right"] for a in step["answers"][:2])
    with pytest.raises(AppError, match="Which ARC task"):
        client.predict("arc", "[[1, 2], [3, 4]]", 2, 0, 0, "", 16, api_name="/vote")
    sudoku = client.predict("sudoku", EASY, 2, 0, 0, "", 4, api_name="/vote")       # symmetries of one puzzle
    assert sudoku["variants"][0] == "identity" and len(sudoku["variants"]) == 4
    for many in (40, 10**9):          # (10**9 was told "vote over at most 312 variants", more than the 32 allowed)
        with pytest.raises(AppError, match="variants must be a whole number from 1 to 32"):
            client.predict("sudoku", EASY, 2, 0, 0, "", many, api_name="/vote")


def test_trace_api_returns_every_step(client):
    trace = client.predict("sudoku", EASY, 16, 0, 0, "", api_name="/trace")
    assert trace["format"] == "trm_viz.trace" and trace["task"] == "sudoku" and trace["num_steps"] == 16
    assert len(trace["steps"]) == 16 and [s["step"] for s in trace["steps"]] == list(range(1, 17))
    puzzle = SUDOKU.parse(EASY)
    assert trace["input"] == puzzle.grid.tolist()
    assert trace["solution"] == SUDOKU.solve(puzzle).tolist()
    previous = np.array(trace["input"])
    for s in trace["steps"]:
        answer = np.array(s["answer"])
        assert answer.shape == (9, 9) and answer.min() >= 0 and answer.max() <= 9
        assert 0.0 <= s["q_halt_prob"] <= 1.0
        # changed_cells lists every cell whose value differs from the step before (step 1: the input); it is
        # token-level, so a blank that became the pad token (both shown as blank) counts too
        changed = {tuple(rc) for rc in s["changed_cells"]}
        assert {tuple(rc) for rc in np.argwhere(answer != previous).tolist()} <= changed
        assert s["cell_accuracy"] == pytest.approx(float((answer == np.array(trace["solution"])).mean()), abs=1e-6)
        previous = answer
    halts = [s["step"] for s in trace["steps"] if s["q_halt_prob"] > 0.5]
    assert trace["halt_step"] == (halts[0] if halts else None)
    assert trace["meta"]["H_cycles"] >= 1 and "checkpoint" in trace["meta"]


def test_trace_api_settings_change_the_run(client):
    trace = client.predict("sudoku", EASY, 2, 1, 1, "", api_name="/trace")
    assert trace["num_steps"] == 2 and trace["meta"]["H_cycles"] == 1 and trace["meta"]["L_cycles"] == 1
    assert trace["inner_kinds"] == ["L1.1", "H1"]


@pytest.mark.parametrize("args, message", [
    (("sudoku", "55..7....6..195....98....6.8...6...34..8.3..17...2...6.6....28....419..5....8..79", 2),
     "Row 1 has two 5s"),
    (("sudoku", "12345", 2), "81"),
    (("sudoku", "   ", 2), "puzzle is empty"),
    (("sudoku", 12345, 2), "The puzzle must be text"),
    (("chess", EASY, 2), "Unknown task 'chess'"),
    (("sudoku", EASY, 99), "steps must be a whole number from 1 to 16"),
    (("sudoku", EASY, -1), "steps must be a whole number from 1 to 16"),
])
def test_trace_api_bad_input_gives_a_clear_error(client, args, message):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match=message):
        client.predict(*args, 0, 0, "", api_name="/trace")


def test_a_long_arc_task_id_is_refused_not_echoed(client):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="arc_task_id must be an ARC task's id") as refused:
        client.predict("arc", "[[1]]", 2, 0, 0, "x" * 10_000, api_name="/trace")
    assert len(str(refused.value)) < 300


def test_the_host_bounds_a_runs_cost_not_its_depth(client, registry):
    """The default Sudoku model (0.1M parameters) may think at T=16, n=16 (the old fixed bound stopped at T=6); the
    shipped paper-size one (5M) at those settings would hold a worker for over a minute: the Run button refuses it
    before running anything and names the settings that fit, and the vote, whose copies run together, likewise."""
    from trm_viz.ui.handlers import RunHandlers
    from trm_viz.ui.input_handlers import InputHandlers
    from trm_viz.ui.runner import vote_run

    trace = client.predict("sudoku", EASY, 1, 16, 16, "", api_name="/trace")
    assert (trace["num_steps"], trace["meta"]["H_cycles"], trace["meta"]["L_cycles"]) == (1, 16, 16)
    session = ss.new_session()
    InputHandlers(registry).shipped_chosen("sudoku", "sudoku", session)
    runs, grid = RunHandlers(registry), SUDOKU.parse(EASY).grid.tolist()
    assert registry.get("sudoku", "sudoku").model.num_parameters() > 4_000_000
    with pytest.raises(Exception, match="more than the 4,000 GFLOP this host runs per trace .* lower H_cycles to "
                                        "12, or L_cycles to 11, or steps to 12"):
        runs.prepare("sudoku", grid, session, None, 16.0, 16.0, 16.0)
    request, _, _ = runs.prepare("sudoku", grid, session, None, 16.0, 12.0, 16.0)
    assert (request["shipped"], request["steps"], request["H_cycles"], request["L_cycles"]) == ("sudoku", 16, 12, 16)
    with pytest.raises(ValueError, match="vote over at most 2 variants"):     # refused before anything runs
        vote_run(registry.get("sudoku", "sudoku").model, SUDOKU.parse(EASY), 16, 12, 16, 16)


@pytest.mark.parametrize("task, puzzle", [("maze", "#######\n#S    #\n# ### #\n#    G#\n#######"),
                                          ("arc", "[[1, 2], [3, 4]]")])
def test_trace_api_runs_the_shipped_model_or_says_there_is_none(client, registry, task, puzzle):
    from gradio_client.exceptions import AppError

    if task in registry.available():
        task_id = ""
        if task == "arc":   # an ARC model needs the task (its puzzle embedding); without one it says so
            with pytest.raises(AppError, match="Which ARC task is this grid a test input of"):
                client.predict(task, puzzle, 2, 1, 1, "", api_name="/trace")
            task_id = known_arc_tasks(registry.config("arc"))[0]
        trace = client.predict(task, puzzle, 2, 1, 1, task_id, api_name="/trace")
        assert trace["task"] == task and trace["num_steps"] == 2
        assert trace["meta"]["puzzle_identifier_name"] == (task_id or None)
    else:
        with pytest.raises(AppError, match=f"No trained {task} model is shipped yet"):
            client.predict(task, puzzle, 1, 0, 0, "", api_name="/trace")


# --- puzzles from the editor, undo ------------------------------------------------------------------------------
def test_known_solution_applies_only_to_the_unchanged_grid():
    session = ss.new_session()
    example = SUDOKU.parse(EASY)
    example.name, example.solution = "easy", SUDOKU.solve(example)
    grid = ss.load(session, "sudoku", example)
    assert ss.build_puzzle(get_task("sudoku"), grid, session).name == "easy"
    edited = [row[:] for row in grid]
    edited[0][2] = 4
    p = ss.build_puzzle(get_task("sudoku"), edited, session)
    assert p.name == "" and p.solution is None and p.givens[0, 2]
    with pytest.raises(PuzzleError, match="two 5s"):
        edited[0][2] = 5
        ss.build_puzzle(get_task("sudoku"), edited, session)
    assert "Not runnable" in ss.check_line(get_task("sudoku"), edited, session)


def test_undo_steps_back_through_edits_and_loads():
    session = ss.new_session()
    a = ss.load(session, "sudoku", None, np.zeros((9, 9), int))
    b = [row[:] for row in a]
    b[4][4] = 7
    assert ss.remember(session, "sudoku", b) and not ss.remember(session, "sudoku", b)   # echoes add nothing
    c = ss.load(session, "sudoku", SUDOKU.parse(EASY))
    assert ss.undo(session, "sudoku") == b and ss.undo(session, "sudoku") == a
    assert ss.undo(session, "sudoku") is None and ss.undo(session, "maze") is None
    assert c != a and session["grids"]["sudoku"] == a


def test_arc_puzzle_keeps_its_task_when_the_test_input_is_edited():
    arc = get_task("arc")
    session = ss.new_session()
    task_puzzle = next(iter(arc.examples().values()))
    grid = ss.load(session, "arc", task_puzzle)
    p = ss.build_puzzle(get_task("arc"), grid, session)
    assert p.arc_task_id == task_puzzle.arc_task_id and p.solution is not None and len(p.demos) > 0
    edited = [[(v + 1) % 10 for v in row] for row in grid]
    p = ss.build_puzzle(get_task("arc"), edited, session)
    assert p.arc_task_id == task_puzzle.arc_task_id and p.solution is None and len(p.demos) > 0


# --- checkpoints users bring ------------------------------------------------------------------------------------
def _small(task: str = "sudoku") -> TRM:
    return TRM(TRMConfig(hidden_size=64, num_heads=4, L_layers=1, H_cycles=1, L_cycles=1, puzzle_emb_ndim=64,
                         vocab_size=11, seq_len=81, mlp_t=True, pos_encodings="none", task=task))


def test_uploaded_checkpoint_becomes_the_sessions_model(tmp_path):
    folder = save_checkpoint(tmp_path / "mine", _small())
    uploads = []
    for name in ("config.json", "model.safetensors"):     # Gradio puts each upload in its own folder
        (tmp_path / name).mkdir()
        target = tmp_path / name / name
        target.write_bytes((folder / name).read_bytes())
        uploads.append(str(target))
    key, loaded = load_uploaded(uploads)
    assert loaded.config.hidden_size == 64 and user_model(key) is loaded
    assert active_model(ModelRegistry(tmp_path / "none"), "sudoku", key) is loaded
    # the whole folder the trainer wrote: its log, training state and README are left out, not refused
    for name in ("README.md", "train.log", "train_state.safetensors"):
        (folder / name).write_text("x")
    _, whole = load_uploaded([str(p) for p in folder.iterdir()])
    assert whole.info["path"] == "your checkpoint (config.json, model.safetensors)"
    # a file that fails its checks is named, not the server's temporary folder it was copied to
    state = load_file(str(folder / "model.safetensors"))
    save_file({k: torch.full_like(v, float("nan")) for k, v in state.items()}, str(folder / "model.safetensors"))
    with pytest.raises(CheckpointError) as bad:
        load_uploaded([str(folder / "config.json"), str(folder / "model.safetensors")])
    assert "NaN" in str(bad.value) and "trm_viz_ckpt_" not in str(bad.value) and "/" not in str(bad.value), bad.value



def test_a_checkpoint_let_go_for_other_visitors_is_never_silently_replaced(tmp_path, monkeypatch):
    """Other visitors' uploads push this session's checkpoint out of memory: Run and the model line then say so
    (never the shipped model in its place); a new load or 'Back' frees the session's old one; a step file renamed
    step_N.pt is taken as the official step_N."""
    from trm_viz.ui import models
    from trm_viz.ui.handlers import RunHandlers

    monkeypatch.setattr(models, "_user_models", type(models._user_models)())
    monkeypatch.setattr(models, "MAX_USER_MODELS", 2)
    folder = save_checkpoint(tmp_path / "mine", _small())
    files = [str(folder / "config.json"), str(folder / "model.safetensors")]
    registry = ModelRegistry(tmp_path / "none")
    mine, _ = load_uploaded(files)
    load_uploaded(files), load_uploaded(files)                    # two other visitors
    assert user_model(mine) is None and models.model_line(registry, "sudoku", mine).startswith(
        "**Model:** Your checkpoint was unloaded")
    with pytest.raises(CheckpointError, match="unloaded to free memory"):
        active_model(registry, "sudoku", mine)
    assert not models.was_unloaded("maze", mine)         # a Sudoku checkpoint: the maze keeps its shipped model

    session = {"user_model": None}
    RunHandlers.load_checkpoint(files, "", session)
    first = session["user_model"]
    RunHandlers.load_checkpoint(files, "", session)              # a second load replaces the first
    assert user_model(first) is None and not models.was_unloaded("sudoku", first) and user_model(session["user_model"])
    others = [load_uploaded(files)[0]]                         # a full host: a replaced checkpoint makes the room
    RunHandlers.load_checkpoint(files, "", session)            # (held: the other's, then this session's)
    RunHandlers.load_checkpoint(files, "", session)
    assert user_model(others[0]) is not None
    kept = session["user_model"]
    RunHandlers.forget_checkpoint(session)
    assert user_model(kept) is None and session["user_model"] is None

    torch.save(_small().state_dict(), tmp_path / "step_9.pt")
    _, loaded = load_uploaded([str(tmp_path / "step_9.pt")])
    assert loaded.info["path"] == "your checkpoint (step_9)" and loaded.info["notes"][0].startswith("No all_config")


def test_bad_checkpoint_uploads_are_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return (exec, ("open('/tmp/trm_viz_pwned', 'w').write('x')",))

    step = tmp_path / "up" / "step_100"
    step.parent.mkdir()
    with open(step, "wb") as f:
        pickle.dump({"lm_head.weight": Evil()}, f)
    with pytest.raises(CheckpointError, match="refused"):
        load_uploaded([str(step)])
    import os

    assert not os.path.exists("/tmp/trm_viz_pwned")
    garbage = tmp_path / "g" / "step_7"                # not a pickle at all: torch raises odd errors on these
    garbage.parent.mkdir()
    garbage.write_bytes(b"root:x:0:0:root:/root:/bin/bash\n" * 20)
    with pytest.raises(CheckpointError, match="step_7"):
        load_uploaded([str(garbage)])
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(CheckpointError, match="Unexpected file 'notes.txt'"):
        load_uploaded([str(tmp_path / "notes.txt")])
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(CheckpointError, match="both config.json and model.safetensors"):
        load_uploaded([str(tmp_path / "config.json")])
    with pytest.raises(CheckpointError, match="Upload one checkpoint: step_7 .* not both"):   # (step_7 won, silently)
        load_uploaded([str(garbage), str(tmp_path / "config.json")])
    with pytest.raises(CheckpointError, match="No trained arc model"):
        ModelRegistry(tmp_path).get("arc")


def test_the_api_knows_an_arc_task_by_its_demonstrations_and_a_test_input_by_its_task(client, registry):
    """As the page's upload does (tasks.arc.recognise): a whole task sent without its id runs as the task with those
    demonstrations; a bare test grid with its task's id is scored against that task's output."""
    if "arc" not in registry.available():
        pytest.skip("needs a shipped ARC checkpoint")
    from trm_viz.tasks.arc import task_puzzle
    from trm_viz.tasks.arc_data import find_task

    task_id = known_arc_tasks(registry.config("arc"))[0]
    trace = client.predict("arc", json.dumps(find_task(task_id)[1]), 1, 0, 0, "", api_name="/trace")
    assert trace["meta"]["puzzle_identifier_name"] == task_id
    grid = task_puzzle(task_id)
    trace = client.predict("arc", json.dumps(grid.grid.tolist()), 1, 0, 0, task_id, api_name="/trace")
    assert trace["solution"] == grid.solution.tolist()
