"""One visitor's state, kept server-side in gr.State (never shared between sessions): the grid last seen for each
task, an undo stack per task, where each task's grid came from (an example, a generated puzzle, an upload, an ARC
task: its known solution, name, ARC id and demonstrations), which shipped model they picked for each task, the
user's own checkpoint if they loaded one, and the state of their runs (Stop, each puzzle type's last run).

Plus the one place that turns the editor's grid into the Puzzle the model runs (the "source" decides whether a
known solution still applies: only while the grid is unchanged).
"""
from __future__ import annotations

import copy
from fractions import Fraction
from typing import Any

import numpy as np

from ..tasks import TASK_NAMES, Puzzle, PuzzleError, Task
from ..tasks.arc import recognise

MAX_UNDO = 100          # edits remembered per task


def new_session() -> dict[str, Any]:
    return {
        "page": None,                               # the key of the page it belongs to (page_loaded; see lost)
        "grids": {t: None for t in TASK_NAMES},     # last grid seen in the editor, per task (None: not shown yet)
        "undo": {t: [] for t in TASK_NAMES},        # earlier (grid, source) pairs, most recent last
        "sources": {t: None for t in TASK_NAMES},   # Puzzle the grid came from (None: typed from scratch)
        "shipped": {t: None for t in TASK_NAMES},   # the shipped checkpoint picked per task (None: the default)
        "user_model": None,                         # key of the user's own checkpoint (trm_viz.ui.models)
        "runs": {"stop_at": 0.0, "live": [],        # Stop and the runs shown (trm_viz.ui.handlers): when Stop was
                 "task": None, "kept": {},          # pressed, runs asked for, the type on screen, others' last runs,
                 "last": {}},                       # and each type's last run's curves (compared_run)
    }


def lost(session: dict, page_key: str | None) -> bool:
    """Whether the server let this page's session go and gave it a fresh one: Gradio drops the least recently used
    sessions beyond ``state_session_capacity`` (1,000 here), and the state a session has not written for an hour
    once its page lost the connection once (a laptop asleep, a phone in a pocket). The page still shows its grid,
    menus and last run; the server has forgotten the run, the undo history, the earlier runs and the visitor's own
    checkpoint. ``page_key`` is what the page holds (page_loaded gives it; empty until then)."""
    return bool(page_key) and session.get("page") != page_key


def first_told(session: dict, page_key: str | None) -> bool:
    """True the first time a lost session is seen (say so once), then False; also False for a live one."""
    if not lost(session, page_key) or session.get("told"):
        return False
    session["told"] = True
    return True


def compared_run(desk: dict, task: str, puzzle: Puzzle, trace: Any, model: Any, curves: dict) -> dict | None:
    """The run to draw beside this one in the halting plot: the last run of the same puzzle with another model or
    depth (H_cycles, L_cycles), and its name for the status line, which says what differed, e.g. "earlier run
    (model sudoku-tiny, H_cycles 1)". A rerun with the same settings keeps the comparison it had. None for a new
    puzzle. ``desk`` is the session's "runs"; ``curves`` is ``viz.plots.run_curves(trace)``; ``model`` says which
    model ran (ui.models.model_id)."""
    meta = trace.meta
    me = {"puzzle": (puzzle.grid.tobytes(), puzzle.grid.shape, puzzle.arc_task_id), "model": model,
          "H_cycles": meta["H_cycles"], "L_cycles": meta["L_cycles"], **curves}
    last = desk.setdefault("last", {}).get(task)
    if last is None or last["puzzle"] != me["puzzle"]:
        shown = None
    elif (last["model"], last["H_cycles"], last["L_cycles"]) == (me["model"], me["H_cycles"], me["L_cycles"]):
        shown = last.get("shown")
    else:
        user_key, shipped_folder = last["model"]
        model_name = (f"model {shipped_folder}" if not user_key else "your checkpoint" if not me["model"][0]
                      else "your checkpoint before")
        differs = ([model_name] if last["model"] != me["model"] else []) + [
            f"{k} {last[k]}" for k in ("H_cycles", "L_cycles") if last[k] != me[k]]
        shown = {k: last[k] for k in ("q_halt", "accuracy", "halt_step", "stopped")}
        shown["name"] = f"earlier run ({', '.join(differs)})"
        if differs == [f"H_cycles {last['H_cycles']}"]:
            # Only the depth differs: a step at T=6 is two steps at T=3 exactly (only z_H and z_L pass between
            # steps), so the plot draws that run at equal compute, each of its steps at T_then / T_now of this run's.
            shown["every"] = Fraction(last["H_cycles"], me["H_cycles"])          # 3, 1/3
    desk["last"][task] = {**me, "shown": shown}
    return shown


def shipped(session: dict, task: str) -> str | None:
    """The folder name of the shipped model the session picked for ``task`` (None: the task's default)."""
    return session.get("shipped", {}).get(task)


def choose_shipped(session: dict, task: str, name: str | None) -> None:
    session.setdefault("shipped", {})[task] = name or None


def rows(grid: Any) -> list[list[int]] | None:
    if grid is None:
        return None
    return np.asarray(grid, dtype=np.int64).tolist()


def remember(session: dict, task: str, grid: Any) -> bool:
    """Record the editor's current grid; the previous one goes on the undo stack. False when nothing changed
    (a server-side update echoed back by the editor's change event)."""
    grid = rows(grid)
    last = session["grids"].get(task)
    if grid is None or grid == last:
        return False
    if last is not None:        # with its source: undo brings back an ARC grid's task (its embedding) with it
        stack = session["undo"][task]
        stack.append((last, session["sources"].get(task)))
        del stack[:-MAX_UNDO]
    session["grids"][task] = grid
    return True


def load(session: dict, task: str, puzzle: Puzzle | None, grid: Any = None) -> list[list[int]]:
    """Put a new grid in the editor (from ``puzzle`` or ``grid``), undoable, and remember where it came from."""
    new = rows(puzzle.grid if puzzle is not None else grid)
    remember(session, task, new)
    session["sources"][task] = copy.deepcopy(puzzle) if puzzle is not None else None
    return new


def undo(session: dict, task: str) -> list[list[int]] | None:
    """The grid before the last edit, and where it came from (None when there is nothing to undo). It becomes the
    current grid without going back on the stack."""
    stack = session["undo"][task]
    if not stack:
        return None
    grid, session["sources"][task] = stack.pop()
    session["grids"][task] = grid
    return grid


def source(session: dict, task: str) -> Puzzle | None:
    return session["sources"].get(task)


def build_puzzle(task: Task, grid: Any, session: dict | None, arc_task_id: str | None = None) -> Puzzle:
    """The editor's grid -> a validated Puzzle for ``task`` as the session's model reads it (a maze model's canvas:
    models.active_task). PuzzleError on input the model cannot run; notes in ``puzzle.notes``. A known solution
    carries over only while the grid equals the one it belongs to; an ARC puzzle keeps its task id and
    demonstrations even when its test input is edited (the id picks the embedding)."""
    task_name = task.name
    if grid is None:
        raise PuzzleError("There is no grid yet: type, paint, upload or pick an example first.")
    puzzle = task.parse(rows(grid))
    src = source(session, task_name) if session else None
    if src is not None:
        unchanged = src.grid.shape == puzzle.grid.shape and bool((src.grid == puzzle.grid).all())
        if unchanged:
            puzzle.solution = None if src.solution is None else src.solution.copy()
            puzzle.name = src.name
            if src.givens is not None:
                puzzle.givens = src.givens.copy()
        if task_name == "arc":
            puzzle.arc_task_id, puzzle.demos = src.arc_task_id, src.demos
    if task_name == "arc":
        puzzle.arc_task_id = puzzle.arc_task_id or arc_task_id or None
        if src is None and puzzle.arc_task_id:      # the picked task's test input with no record of where it came
            recognise(puzzle)                        # from (typed in, or the session was lost): its output
        puzzle.name = puzzle.name if puzzle.name and puzzle.name != "ARC grid" else (puzzle.arc_task_id or "ARC grid")
    task.validate(puzzle)
    return puzzle


def check_line(task: Task, grid: Any, session: dict | None, arc_task_id: str | None = None,
               known_arc: list[str] | None = None) -> str:
    """A one-line verdict on the editor's grid, shown under it while the user edits. ``known_arc``: the ARC tasks
    the model knows (None: no model to ask)."""
    task_name = task.name
    try:
        puzzle = build_puzzle(task, grid, session, arc_task_id)
    except PuzzleError as e:
        return f"**Not runnable:** {e}"
    if known_arc is not None and not puzzle.arc_task_id:
        return ("**Not runnable with this model:** it knows an ARC task only by its learned embedding, and this grid "
                "belongs to no task it knows. Pick one in the ARC task menu.")
    if known_arc is not None and puzzle.arc_task_id and puzzle.arc_task_id not in known_arc:
        return (f"**Not runnable with this model:** it was not trained on ARC task {puzzle.arc_task_id}, and it "
                "knows a task only by its learned embedding. Pick a task it knows.")
    solution = puzzle.solution if puzzle.solution is not None else task.solve(puzzle)
    if task_name == "sudoku":
        clues = int((puzzle.grid != 0).sum())
        what = f"{clues} clue{'s' * (clues != 1)}"
    elif task_name == "maze":
        what = f"shortest path {int((solution == 4).sum()) + 1} steps" if solution is not None else "a maze"
    else:
        what = f"{puzzle.grid.shape[0]}x{puzzle.grid.shape[1]} test input"
    answer = "solution known" if solution is not None else "no known solution to check against"
    parts = [puzzle.name] if puzzle.name else []
    parts += [what] if what not in (puzzle.name or "") else []     # "Generated (rating 10, 24 clues)" says it
    line = f"**Ready:** {', '.join(parts + [answer])}."
    if puzzle.notes:
        line += " " + " ".join(f"*Note:* {n}" for n in puzzle.notes)
    return line
