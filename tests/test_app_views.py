"""What the app's views show across runs, without a browser (the handlers behind the page, on the shipped
checkpoints): Stop keeps and shows the steps that finished, a new run clears the views of the one before, each puzzle
type keeps its last run while the user looks at another (a run still going goes on unseen), and uploads that
cannot be used change nothing (ARC: test_app_arc_views.py)."""
from __future__ import annotations

import json
from pathlib import Path

import gradio as gr
import pytest

from trm_viz.tasks import get_task
from trm_viz.ui import session as ss
from trm_viz.ui.handlers import RunHandlers
from trm_viz.ui.runner import SLOT
from trm_viz.ui.views import IDLE_STATUS
from trm_viz.ui.input_handlers import TASK_OUTPUTS, InputHandlers

EASY = "53..7....6..195....98....6.8...6...34..8.3..17...2...6.6....28....419..5....8..79"
ASSETS = Path(__file__).resolve().parents[1] / "assets"
# RUN_OUTPUTS positions (app_layout.run_outputs)
VIEWER, STATUS, PLOT, RESULT, TABLE, JSON_FILE = 0, 1, 2, 3, 11, 12


@pytest.fixture
def handlers(registry):
    """Input and run handlers and a fresh visitor on the fast shipped Sudoku model (sudoku-tiny, 0.1M)."""
    if "sudoku-tiny" not in registry.choices("sudoku"):
        pytest.skip("needs the shipped sudoku-tiny checkpoint")
    inputs, runs, session = InputHandlers(registry), RunHandlers(registry), ss.new_session()
    inputs.shipped_chosen("sudoku", "sudoku-tiny", session)
    return inputs, runs, session


def _request(runs: RunHandlers, session: dict, steps: int = 16) -> dict:
    request, _, _ = runs.prepare("sudoku", get_task("sudoku").parse(EASY).grid.tolist(), session, None, steps, 2, 2)
    return request


def test_stop_ends_the_run_after_its_step_and_every_view_shows_those_steps(handlers):
    inputs, runs, session = handlers
    run = runs.run(_request(runs, session))
    first = next(run)
    # the first step clears what the run before left: no halting plot, table or export of another puzzle beside it
    assert first[VIEWER]["n"] == 1 and first[RESULT] is None and first[TABLE] == [] and first[JSON_FILE] is None
    assert runs.stop(session).startswith("**Stopping**")
    *_, last = run
    trace = last[RESULT]["trace"]
    assert trace.num_steps == 1 and last[STATUS].startswith("**Stopped** after step 1 of 16")
    assert "Answer at step 1" in last[STATUS] and "Final answer" not in last[STATUS]
    assert last[PLOT] is not None and {row[0] for row in last[TABLE]} <= {1}
    assert json.loads(Path(last[JSON_FILE]).read_text())["num_steps"] == 1
    assert runs.stop(session) == gr.skip()                                        # nothing left to stop

    request = _request(runs, session, steps=3)        # a run queued before Stop ends before it starts
    assert runs.stop(session) == "**Stopping:** your run has not started yet, and will not."
    assert [out[STATUS] for out in runs.run(request)] == ["**Stopped** before the run started."]
    *_, done = runs.run(_request(runs, session, steps=3))                          # a later one runs whole
    assert done[STATUS].startswith("**Done:** 3 steps") and done[RESULT]["trace"].num_steps == 3


def test_a_run_behind_another_visitors_says_it_waits(handlers):
    inputs, runs, session = handlers
    with SLOT.held():                                 # another visitor's run or an API call holds the model slot
        _, status, _ = runs.prepare("sudoku", get_task("sudoku").parse(EASY).grid.tolist(), session, None, 2, 1, 1)
    assert status.startswith("**Waiting** for the model: another visitor's run or vote (or an API call) is going")
    _, again, _ = runs.prepare("sudoku", get_task("sudoku").parse(EASY).grid.tolist(), session, None, 2, 1, 1)
    assert again.startswith("**Waiting** for your run or vote that is going to end")   # not "another visitor's"
    *_, done = runs.run(_request(runs, session, steps=2))
    assert not SLOT.busy and done[STATUS].startswith("**Done:** 2 steps")


def test_a_run_asked_for_and_replaced_before_it_started_leaves_nothing_to_stop(handlers):
    """Run pressed twice while the model is busy: the page runs the latest request only (trigger_mode always_last);
    the one it replaced must not leave Stop thinking a run is still going."""
    inputs, runs, session = handlers
    _request(runs, session, steps=2)                              # replaced before its run started
    *_, done = runs.run(_request(runs, session, steps=2))
    assert done[STATUS].startswith("**Done:** 2 steps") and runs.stop(session) == gr.skip()


def test_a_vote_that_ends_after_a_type_switch_waits_with_its_run(handlers):
    inputs, runs, session = handlers
    *_, done = runs.run(_request(runs, session, steps=2))
    result = done[RESULT]
    runs.task_switched("maze", result, session)           # while the vote computes, the user looks at mazes
    assert all(out == (gr.skip(),) * 4 for out in runs.vote_clicked(result, 2, session))     # nothing lands there
    assert result["vote"].num_steps == 2
    back = runs.task_switched("sudoku", None, session)
    assert back[RESULT] is result and back[-3].startswith("**Vote after step")      # shown on return


def test_a_tab_opened_after_the_sweep_gets_its_pictures_again(handlers):
    """Pictures the hourly sweep deleted come back, under new names, when their tab opens; pictures still there are
    only touched (no new files, nothing sent)."""
    from trm_viz.ui.files import sweep

    inputs, runs, session = handlers
    *_, done = runs.run(_request(runs, session, steps=2))
    result = done[RESULT]
    *_, voted = runs.vote_clicked(result, 4, session)
    assert runs.pictures_tab_opened(result) == (gr.skip(),) * 5 and runs.vote_tab_opened(result) == gr.skip()
    old = [*result["pictures"], result["vote_picture"]]
    assert sweep(max_age_s=-1) >= 6 and not any(Path(p).exists() for p in old)
    again = [u["value"] for u in runs.pictures_tab_opened(result)] + [runs.vote_tab_opened(result)]
    assert all(Path(p).is_file() for p in again) and not set(again) & set(old)
    assert result["pictures"] + [result["vote_picture"]] == again        # and remembered for the next time
    assert runs.pictures_tab_opened(None) == (gr.skip(),) * 5 and runs.vote_tab_opened(None) == gr.skip()


def test_stop_ends_a_vote_after_its_step(handlers, monkeypatch):
    """A paper-size vote takes a minute or two on a small host: Stop ends it after the step it is on."""
    import trm_viz.vote as vote_mod

    inputs, runs, session = handlers
    *_, done = runs.run(_request(runs, session, steps=4))
    result = done[RESULT]
    real = vote_mod.batched_steps

    def stop_after_two(*args, **kwargs):      # the user presses Stop while the vote computes its second step
        for k, out in enumerate(real(*args, **kwargs), 1):
            if k == 2:
                assert runs.stop(session).startswith("**Stopping**")
            yield out

    monkeypatch.setattr(vote_mod, "batched_steps", stop_after_two)
    *_, (text, img, result, status) = runs.vote_clicked(result, 4, session)
    assert result["vote"].num_steps == 2 and status == "**Stopped** the vote after step 2 of 4."
    assert text.startswith("**Vote after step 2**") and runs.stop(session) == gr.skip()


def test_a_bug_during_a_run_gives_one_line_and_no_running_status(handlers, monkeypatch):
    import trm_viz.ui.handlers as h

    def broken(*args, **kwargs):
        raise RuntimeError("linalg.svd: the algorithm failed\nmore torch text")
        yield

    monkeypatch.setattr(h, "stream_trace", broken)
    inputs, runs, session = handlers
    run = runs.run(_request(runs, session))
    assert next(run)[STATUS].startswith("**Could not run:** Internal error (RuntimeError: linalg.svd")
    with pytest.raises(gr.Error, match="server's log"):
        next(run)
    assert runs.stop(session) == gr.skip()                      # and nothing is left "running"


def test_each_puzzle_type_keeps_its_last_run(handlers):
    inputs, runs, session = handlers
    ss.remember(session, "sudoku", get_task("sudoku").parse(EASY).grid)     # the editor holds the puzzle run
    *_, done = runs.run(_request(runs, session, steps=4))
    result = done[RESULT]
    maze = runs.task_switched("maze", result, session)
    assert maze[VIEWER] is None and maze[STATUS] == IDLE_STATUS and maze[RESULT] is None
    assert maze[-1]["maximum"] == 8 and maze[-1]["value"] == 8      # the vote: a maze has 8 symmetries
    back = runs.task_switched("sudoku", None, session)
    assert back[RESULT] is result and back[VIEWER]["n"] == 4 and back[STATUS].startswith("**Done:** 4 steps")
    assert back[-1]["maximum"] == 32 and back[-1]["value"] == 16
    edited = get_task("sudoku").parse(EASY).grid
    edited[0, 2] = 4                                    # edited before leaving: coming back says so, not "Done"
    ss.remember(session, "sudoku", edited)
    runs.task_switched("maze", result, session)
    assert runs.task_switched("sudoku", None, session)[STATUS].startswith("The views below show your last run")
    ss.remember(session, "sudoku", get_task("sudoku").parse(EASY).grid)

    # a run still going when the user switches type goes on unseen, and is shown whole when they come back
    run = runs.run(_request(runs, session))
    next(run)
    runs.task_switched("maze", result, session)
    assert list(run) == [(gr.skip(),) * 15]            # nothing reaches the maze page (the generator's last
                                                       # outputs, which Gradio applies again when it ends, are skips)
    back = runs.task_switched("sudoku", None, session)
    assert back[RESULT]["trace"].num_steps == 16 and back[STATUS].startswith("**Done:** 16 steps")
    run = runs.run(_request(runs, session))            # Stop pressed on the maze page: said there for good (the
    next(run)                                          # run writes nothing on that page to replace "Stopping...")
    runs.task_switched("maze", back[RESULT], session)
    assert runs.stop(session).startswith("**Stopping** your Sudoku run or vote, which went on while you looked")
    assert list(run) == [(gr.skip(),) * 15]
    assert runs.task_switched("sudoku", None, session)[STATUS].startswith("**Stopped** after step")
    run = runs.run(_request(runs, session))            # ... unless a run is asked for there: that one goes first
    next(run)
    runs.task_switched("maze", back[RESULT], session)
    runs.prepare("maze", get_task("maze").parse("#####\n#S.G#\n#####").grid.tolist(), session, None, 1, 1, 1)
    assert list(run) == [(gr.skip(),) * 15]
    stopped = runs.task_switched("sudoku", None, session)
    assert stopped[RESULT]["trace"].num_steps < 16
    assert stopped[STATUS].startswith("**Stopped** by a run or vote on another puzzle type after step")


def test_a_rerun_at_another_depth_or_model_is_drawn_beside_the_run_before(handlers):
    """Run a puzzle, change H_cycles or the model, run it again: the halting plot shows both, the earlier run
    dashed, and the status line says what differed and how that run ended; a rerun with the same settings keeps
    that comparison, a new puzzle drops it. When only H_cycles differs the earlier run is drawn at equal compute
    (a step at T=2 is two steps at T=1 exactly)."""
    inputs, runs, session = handlers
    figures = []

    def run(H_cycles: int, puzzle: str = EASY, steps: int = 8) -> tuple[list[str], str]:
        request, _, _ = runs.prepare("sudoku", get_task("sudoku").parse(puzzle).grid.tolist(), session, None, steps,
                                  H_cycles, 2)
        *_, done = runs.run(request)
        status = done[STATUS]
        figures.append(done[PLOT])
        return [t.name for t in done[PLOT].data], status[status.find(" The halting plot's"):]

    names, compared = run(2, steps=1)                                          # a run of one step, not halted
    assert not [n for n in names if "previous" in n] and "faded dashes" not in compared
    deeper, compared = run(1)
    assert {"earlier run: q_halt", "earlier run: cells to solve right"} <= set(deeper) and "q_halt probability" in deeper
    assert compared == (" The halting plot's faded dashes: your earlier run (H_cycles 2) of this puzzle, which did "
                        "not halt in its 1 step, drawn at equal compute: its step k at this run's step 2·k (only z_H "
                        "and z_L pass between steps, so equal thinking gives equal answers).")
    assert [list(t.x) for t in figures[-1].data if t.name == "earlier run: q_halt"] == [[2.0]]
    assert run(1) == (deeper, compared)                                        # the same settings again
    inputs.shipped_chosen("sudoku", "sudoku", session)                         # the paper model, same puzzle
    mixed = run(2)[1]                                                          # model and depth: step by step
    assert "your earlier run (model sudoku-tiny, H_cycles 1) of this puzzle, which " in mixed
    assert "equal compute" not in mixed and [list(t.x) for t in figures[-1].data if t.name == "earlier run: q_halt"
                                             ] == [[float(k) for k in range(1, 9)]]
    other = EASY.replace("53..7", "5..67", 1)                                  # another puzzle: no comparison
    assert not [n for n in run(3, other)[0] if "previous" in n]


def test_the_status_line_says_when_the_views_show_another_puzzle_or_model(handlers):
    inputs, runs, session = handlers
    *_, done = runs.run(_request(runs, session, steps=2))
    result, own_line = done[RESULT], done[STATUS]
    grid = get_task("sudoku").parse(EASY).grid.tolist()
    assert runs.views_outdated("sudoku", result, grid, session) == own_line    # the run's own puzzle and model
    assert runs.views_outdated("sudoku", result, grid, session) == gr.skip()   # nothing new since: the line on
    session["runs"]["judged"].clear()                                          # screen stays (a stopped vote's)
    assert runs.views_outdated_after("sudoku", result, grid, session) == gr.skip()
    grid[0][2] = 4
    for said in (runs.views_outdated, runs.views_outdated_after):             # an edit, also one during the run
        session["runs"]["judged"].clear()
        assert said("sudoku", result, grid, session).startswith("The views below show your last run")
    _request(runs, session)                                                    # ... but not while a run is asked for
    assert runs.views_outdated("sudoku", result, grid, session) == gr.skip()
    session["runs"]["live"].clear()
    assert runs.views_outdated("maze", result, grid, session) == gr.skip()     # the run of another puzzle type
    assert runs.views_outdated("sudoku", None, grid, session) == gr.skip()     # no run yet
    grid[0][2] = 0                                                             # undone: the run's line is back
    assert runs.views_outdated("sudoku", result, grid, session) == own_line
    inputs.shipped_chosen("sudoku", "sudoku", session)                        # another model, the same puzzle
    assert "made by another model" in runs.views_outdated("sudoku", result, grid, session)


def test_leaving_a_menu_by_tab_reloads_nothing(handlers):
    """Gradio fires a dropdown's .input when the keyboard merely tabs past it: the same model, example or ARC task
    must change nothing (it used to reset the run settings, and reload an ARC test input over the user's painting)."""
    inputs, runs, session = handlers
    assert inputs.shipped_chosen("sudoku", "sudoku-tiny", session) == (gr.skip(),) * TASK_OUTPUTS
    assert len(inputs.shipped_chosen("sudoku", "sudoku", session)) == TASK_OUTPUTS == len(
        inputs.task_changed("sudoku", session))
    first = inputs.task_changed("sudoku", session)[5]["choices"][0]               # the grid shown: first example
    assert inputs.example_chosen("sudoku", first, session) == (gr.skip(),) * 5
    inputs.task_changed("arc", session)
    shown = ss.source(session, "arc").arc_task_id
    assert shown and inputs.arc_picked(shown, session) == (gr.skip(),) * 5
    # the same task picked again with the pointer (.select) does reload its test input over the user's painting
    test_input = session["grids"]["arc"]
    painted = [[(v + 1) % 10 for v in row] for row in test_input]
    inputs.edited("arc", painted, session, shown)
    assert inputs.arc_picked(shown, session, again=True)[0]["value"] == test_input
    # Undo brings a grid back with its task (the picker and the embedding Run uses), not only its cells
    other = next(t for _, t in inputs.arc_choices(session) if t != shown)
    inputs.arc_picked(other, session)
    editor, _, demos, picker, check = inputs.undo("arc", session)
    assert ss.source(session, "arc").arc_task_id == shown and picker["value"] == shown and shown in check


def test_an_upload_that_cannot_be_used_changes_nothing(handlers, tmp_path):
    inputs, runs, session = handlers
    inputs.task_changed("sudoku", session)
    grid, undo = session["grids"]["sudoku"], list(session["undo"]["sudoku"])
    clash = tmp_path / "clash.txt"
    clash.write_text("55" + "." * 79)
    with pytest.raises(gr.Error, match="Could not read clash.txt: These clues break the rules") as refused:
        inputs.uploaded("sudoku", str(clash), session, None)
    assert refused.value.print_exception is False      # a visitor's mistake is no traceback in the server's log
    assert session["grids"]["sudoku"] == grid and session["undo"]["sudoku"] == undo    # Undo brings back nothing new
    picture = tmp_path / "puzzle.png"
    picture.write_bytes((ASSETS / "screenshot.png").read_bytes())
    with pytest.raises(gr.Error, match="is a picture, not text"):
        inputs.uploaded("sudoku", str(picture), session, None)


def test_a_lost_session_keeps_the_puzzle_on_screen_and_says_so_once(registry, monkeypatch):
    """The server let the session go (session.lost: the page's key is not the session's): a model picked, or a Run
    and a puzzle-type switch, kept the page's puzzle; it went for the first example, and Undo said so each time."""
    inputs, runs = InputHandlers(registry), RunHandlers(registry)
    hard = get_task("sudoku").parse(EASY).grid.tolist()
    for first in ("model", "run"):
        session, key = ss.new_session(), "the page's key"             # a fresh session: the old one is gone
        if first == "model":
            inputs.shipped_chosen("sudoku", "sudoku-tiny", session, hard)
        else:
            with pytest.warns(UserWarning, match="The server let this page's session go"):
                runs.prepare("sudoku", hard, session, None, 1, 1, 1, "sudoku-tiny", key)
            assert ss.shipped(session, "sudoku") == "sudoku-tiny" and not ss.lost(session, key)
        inputs.task_changed("maze", session)
        assert inputs.task_changed("sudoku", session)[0]["value"] == hard, first
    session, told = ss.new_session(), []
    monkeypatch.setattr(gr, "Info", told.append)
    inputs.undo("sudoku", session, "key")
    inputs.undo("sudoku", session, "key")
    assert "session go" in told[0] and told[1] == "Nothing to undo.", told



def test_the_views_open_where_the_model_halts_and_judge_the_last_step(handlers):
    """sudoku-tiny on EASY at T=2, n=2: wrong at steps 1-2, right from step 3, where it halts. The views open at
    step 3, the verdict is the last step's, and the vote's paragraph follows the step the viewer settles on (the
    last step shown instead, step 1 judged, or the vote stuck at its last step passed every test)."""
    from types import SimpleNamespace

    inputs, runs, session = handlers
    *_, done = runs.run(_request(runs, session, steps=4))
    result = done[RESULT]
    trace = result["trace"]
    assert trace.halt_step == 3 and trace.exact.tolist() == [False, False, True, True]
    assert result["step"] == 3 and done[9] == "Showing step 3."
    assert "where its answer is right" in done[STATUS] and "Final answer: **right**" in done[STATUS]
    *_, voted = runs.vote_clicked(result, 4, session)
    out = runs.step_changed(result, session, None, SimpleNamespace(step=2))
    assert out[6] == "Showing step 2." and out[7].startswith("**Vote after step 2**"), out[7]
