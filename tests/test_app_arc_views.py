"""The ARC task views without a browser (the handlers behind the page, on the shipped ARC checkpoint): every view
counts the same cells right, the task picker stays usable for a task the model does not know, an uploaded task is
known by its demonstrations, and "Next test input" walks through a task's test inputs."""
from __future__ import annotations

import json
from pathlib import Path

import gradio as gr
import pytest

from trm_viz.tasks import get_task
from trm_viz.tasks.arc_data import CURATED
from trm_viz.trace import known_arc_tasks
from trm_viz.ui import session as ss
from trm_viz.ui.handlers import RunHandlers
from trm_viz.ui.input_handlers import InputHandlers
from trm_viz.viz.viewer_data import viewer_data

ASSETS = Path(__file__).resolve().parents[1] / "assets"
# RUN_OUTPUTS positions (app_layout.run_outputs)
STATUS, PLOT, RESULT, JSON_FILE = 1, 2, 3, 12


@pytest.mark.parametrize("task_id", ["0d3d703e", "7b7f7511", "94f9d214"])
def test_an_arc_answer_counts_the_same_cells_right_in_every_view(registry, task_id):
    """The status line, the viewer, the plot and the JSON export give one "cells to solve right" per step, and a
    wrong answer is never 100% right. (0d3d703e: the status line said 80% where the viewer said 66.7%, counting the answer's
    end-of-row markers as cells; 7b7f7511: a 3x3 answer to a 4x3 solution read "wrong (100% of cells right)";
    94f9d214: the solution's grid with an end-of-row marker off read so too.)"""
    if "arc" not in registry.available() or task_id not in known_arc_tasks(registry.config("arc")):
        pytest.skip(f"needs the shipped ARC checkpoint, trained on {task_id}")
    inputs, runs, session = InputHandlers(registry), RunHandlers(registry), ss.new_session()
    inputs.task_changed("arc", session)
    inputs.arc_picked(task_id, session)                # (a skip when switching to ARC already showed it)
    grid = session["grids"]["arc"]
    assert ss.source(session, "arc").arc_task_id == task_id
    request, _, _ = runs.prepare("arc", grid, session, task_id, 4, 0, 0)
    *_, done = runs.run(request)
    trace = done[RESULT]["trace"]
    viewer = [s["acc"] for s in viewer_data(trace, get_task("arc"), request["puzzle"])["steps"]]
    plotted = list(next(t for t in done[PLOT].data if t.name == "cells to solve right").y)
    exported = [s["solve_accuracy"] for s in json.loads(Path(done[JSON_FILE]).read_text())["steps"]]
    assert viewer == pytest.approx(plotted, abs=1e-4) and exported == pytest.approx(plotted, abs=1e-4)
    assert [acc == 1 for acc in plotted] == trace.exact.tolist()       # 94f9d214: "wrong (100% of cells right)"
    k = (trace.halt_step or trace.num_steps) - 1
    if not trace.exact[k]:                             # 0d3d703e: wrong at step 1, 6 of 9 cells right
        right, of = trace.cells_to_solve(k)
        assert f"({right} of {of} cells to solve right)" in done[STATUS] and right / of == pytest.approx(plotted[k])


def test_an_arc_task_the_model_does_not_know_leaves_the_picker_usable(registry):
    """A dropdown holding a value outside its choices refuses every later event of the page: an uploaded task the
    model was not trained on loads (with its demonstrations) but the picker shows no task, and the check line says
    why Run will refuse it."""
    if "arc" not in registry.available():
        pytest.skip("needs a shipped ARC checkpoint")
    inputs, session = InputHandlers(registry), ss.new_session()
    known = known_arc_tasks(registry.config("arc"))
    unknown = next(p for p in sorted((ASSETS / "arc").glob("*.json")) if p.stem not in known)
    inputs.task_changed("arc", session)
    out = inputs.uploaded("arc", str(unknown), session, known[0])
    assert out[3]["value"] is None and "Not runnable with this model" in out[4] and unknown.stem in out[4]
    refusal = f"not trained on ARC task '{unknown.stem}'.*Pick one of its tasks \\({known[0]}, "     # and names some
    with pytest.raises(gr.Error, match=refusal):                                            # Run refuses it at once
        RunHandlers(registry).prepare("arc", out[0]["value"], session, None, 2, 1, 1)
    assert inputs.task_changed("arc", session)[3]["value"] is None
    task_id = "0d3d703e" if "0d3d703e" in known else known[0]
    out = inputs.arc_picked(task_id, session)                      # picking a task it knows works as before
    assert out[3]["value"] == task_id and out[4].startswith("**Ready:**")
    if task_id in CURATED:       # and the examples menu names the example that grid is (it went blank)
        assert inputs.edited("arc", out[0]["value"], session, task_id)[-1] == f"{task_id}: {CURATED[task_id]}"


def test_an_uploaded_arc_task_is_known_by_its_demonstrations_not_by_the_task_picked_before(registry, tmp_path):
    """A task file saved under another name was run as the task picked before (its embedding, its demonstrations,
    19% right); a file of tasks without their test outputs (Kaggle's challenges) lost the output the app knows."""
    if "arc" not in registry.available():
        pytest.skip("needs a shipped ARC checkpoint")
    from trm_viz.tasks.arc_data import curated_tasks

    inputs, session = InputHandlers(registry), ss.new_session()
    known = known_arc_tasks(registry.config("arc"))
    picked, other = [t for t in CURATED if t in known][:2]
    inputs.task_changed("arc", session)
    inputs.arc_picked(picked, session)
    mystery = tmp_path / "mystery.json"
    mystery.write_text(json.dumps(curated_tasks()[other]))
    out = inputs.uploaded("arc", str(mystery), session, picked)
    assert out[3]["value"] == other and "solution known" in out[4] and ss.source(session, "arc").arc_task_id == other
    request, _, _ = RunHandlers(registry).prepare("arc", out[0]["value"], session, out[3]["value"], 1, 1, 1)
    assert request["puzzle"].arc_task_id == other
    # demonstrations of no task here: the picker shows none, and the check line says Run will refuse it
    task = curated_tasks()[other]
    task["train"][0]["output"] = [[(v + 1) % 10 for v in row] for row in task["train"][0]["output"]]
    mystery.write_text(json.dumps(task))
    out = inputs.uploaded("arc", str(mystery), session, other)
    assert out[3]["value"] is None and out[4].startswith("**Not runnable with this model:**")
    # a file of tasks without outputs: the picked task's output is known here all the same
    challenges = tmp_path / "challenges.json"
    bare = {tid: {"train": t["train"], "test": [{"input": p["input"]} for p in t["test"]]}
            for tid, t in curated_tasks().items()}
    challenges.write_text(json.dumps(bare))
    out = inputs.uploaded("arc", str(challenges), session, picked)
    assert out[3]["value"] == picked and "solution known" in out[4]


def test_next_test_input_walks_through_a_tasks_test_inputs(registry):
    """9 of the shipped ARC model's 70 tasks have 2 or 3 test inputs (11 of the 81 held-out inputs its accuracy
    counts); the page loaded only the first."""
    if "arc" not in registry.available():
        pytest.skip("needs a shipped ARC checkpoint")
    from trm_viz.tasks.arc import task_tests

    inputs, session = InputHandlers(registry), ss.new_session()
    known = known_arc_tasks(registry.config("arc"))
    multi = next(t for t in known if len(task_tests(t)) > 1)
    single = next(t for t in known if len(task_tests(t)) == 1)
    inputs.task_changed("arc", session)
    out = inputs.arc_picked(multi, session)
    n = len(task_tests(multi))
    assert f"(test 1 of {n})" in out[4]
    painted = [[(v + 1) % 10 for v in row] for row in out[0]["value"]]
    inputs.edited("arc", painted, session, multi)              # an edit of test 1 still goes on to test 2
    out = inputs.arc_next_test(painted, session, multi)
    second = task_tests(multi)[1]
    assert out[0]["value"] == second.grid.tolist() and f"(test 2 of {n})" in out[4] and "solution known" in out[4]
    request, _, _ = RunHandlers(registry).prepare("arc", out[0]["value"], session, multi, 1, 1, 1)
    assert (request["puzzle"].solution == second.solution).all() and request["puzzle"].arc_task_id == multi
    for _ in range(n - 1):
        out = inputs.arc_next_test(out[0]["value"], session, multi)
    assert f"(test 1 of {n})" in out[4]                          # round again
    inputs.arc_picked(single, session)
    assert inputs.arc_next_test(None, session, single) == (gr.skip(),) * 5
