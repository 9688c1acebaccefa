"""Handlers for the input side: task switch, examples, new puzzle, clear, undo, upload, the ARC task picker and the
editor's own edits. Each returns values for the outputs listed in ``LOAD_OUTPUTS`` order (see app_layout):
(editor, session, ARC demos gallery, ARC task picker, check line). Errors raise gr.Error, which leaves every output
as it was: the user's grid is never cleared by a failure.
"""
from __future__ import annotations

import copy
import uuid
from functools import lru_cache
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np
from PIL import Image, ImageDraw

from ..model.history import read_history
from ..tasks import MAX_INPUT_BYTES, Puzzle, PuzzleError, Task, get_task
from ..tasks.arc import index_of_test, recognise, task_puzzle, task_tests
from ..tasks.arc_data import CURATED, load_collection
from ..trace import known_arc_tasks
from ..viz.grids import render_grid
from ..viz.history import history_figure, history_markdown
from . import session as ss
from .grid_editor import MAX_SIDE, blank_grid, editor_update
from .limits import MAX_H_CYCLES, MAX_L_CYCLES, MAX_STEPS
from .models import ModelRegistry, active_config, active_task, model_line, own_model_for
from .views import SESSION_LOST, internal_error, refusal

SUDOKU_LEVELS = {   # "New puzzle" difficulty: blanks, or solver guesses beyond singles (all well under 1 s)
    "warm-up (30-45 blanks)": {"blanks": (30, 45)},
    "easy": {"max_guesses": 0},
    "medium": {"min_guesses": 1, "max_guesses": 10},
    "hard": {"min_guesses": 20},
}
# task_changed's outputs (app_layout's task_outputs): the editor and what follows it, the examples menu, the ARC
# group, the difficulty menu, the run settings, the model line and the shipped-model menu.
TASK_OUTPUTS = 13
UPLOAD_TYPES = [".txt", ".csv", ".json", ".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp"]


@lru_cache(maxsize=None)
def examples(task: Task) -> dict[str, Puzzle]:
    """The task's curated examples (a maze model's: those that fit its canvas), computed once per process (Sudoku
    solves and checks each, ~1 s). Callers copy a puzzle before changing it (session.load does)."""
    return task.examples()


def demo_images(puzzle: Puzzle | None) -> list[tuple[Image.Image, str]]:
    """ARC demonstration pairs as gallery items: input, an arrow, output, side by side."""
    if puzzle is None:
        return []
    arc = get_task("arc")
    items = []
    for k, (inp, out) in enumerate(puzzle.demos, start=1):
        a, b = render_grid(arc, inp, None, 16), render_grid(arc, out, None, 16)
        gap = 36
        pic = Image.new("RGB", (a.width + gap + b.width, max(a.height, b.height)), (255, 255, 255))
        pic.paste(a, (0, 0))
        pic.paste(b, (a.width + gap, 0))
        x0, x1, y = a.width + 8, a.width + gap - 8, pic.height // 2     # an arrow drawn, not a glyph: the
        draw = ImageDraw.Draw(pic)                                         # bundled font has no "->" sign
        draw.line((x0, y, x1 - 6, y), fill=(17, 24, 39), width=3)
        draw.polygon([(x1, y), (x1 - 9, y - 7), (x1 - 9, y + 7)], fill=(17, 24, 39))
        items.append((pic, f"pair {k}: {inp.shape[0]}x{inp.shape[1]} \u2192 {out.shape[0]}x{out.shape[1]}"))
    return items


def _read_upload(path: str) -> bytes:
    p = Path(path)
    size = p.stat().st_size
    if size > MAX_INPUT_BYTES:
        raise PuzzleError(f"{p.name} is {size / 1e6:.1f} MB; puzzle files may be at most "
                          f"{MAX_INPUT_BYTES / 1e6:.0f} MB.")
    return p.read_bytes()


class InputHandlers:
    def __init__(self, registry: ModelRegistry):
        self.registry = registry

    # --- helpers ----------------------------------------------------------------------------------------------
    def task(self, task_name: str, session: dict) -> Task:
        """The task as the model Run will use reads it (a maze model's canvas size)."""
        return active_task(self.registry, task_name, session.get("user_model"), ss.shipped(session, task_name))

    def arc_choices(self, session: dict) -> list[tuple[str, str]]:
        """ARC tasks to pick from: those the active model has an embedding for; without an ARC model, the
        curated tasks and the training collection (the editor and demonstrations still work)."""
        known = self.known_arc(session) or []
        ids = [t for t in CURATED if t in known] + [t for t in known if t not in CURATED]   # described ones first
        if not ids:
            try:
                ids = list(CURATED) + [t for t in sorted(load_collection("training")) if t not in CURATED]
            except PuzzleError:
                ids = list(CURATED)
        return [(f"{t}: {CURATED[t]}" if t in CURATED else t, t) for t in ids]

    def known_arc(self, session: dict) -> list[str] | None:
        """The ARC tasks the active ARC model has an embedding for (None without an ARC model)."""
        cfg = active_config(self.registry, "arc", session.get("user_model"), ss.shipped(session, "arc"))
        return known_arc_tasks(cfg) if cfg is not None else None

    def picker_id(self, session: dict, task_id: str | None, choices: list | None = None) -> str | None:
        """What the ARC task picker shows for ``task_id``: nothing when it is not one of its ``choices`` (default:
        arc_choices), e.g. a task the model does not know, since a dropdown holding a value outside its choices
        refuses every later event."""
        return task_id if task_id in {t for _, t in (choices or self.arc_choices(session))} else None

    def check_line(self, task: Task, grid: Any, session: dict, arc_id: str | None = None) -> str:
        """The editor's check line (session.check_line), which also says when the ARC model does not know the
        grid's task, as Run would."""
        return ss.check_line(task, grid, session, arc_id, self.known_arc(session) if task.name == "arc" else None)

    def _loaded(self, task_name: str, session: dict, puzzle: Puzzle | None, grid: Any = None,
                picker: Any = None) -> tuple:
        """Outputs after a new grid went into the editor (an example, a generated puzzle, an upload...)."""
        task = self.task(task_name, session)
        notes = []
        if puzzle is not None:
            puzzle = copy.deepcopy(puzzle)      # examples are shared by every visitor; validate() notes on it
            notes = task.validate(puzzle)       # first: a refused grid leaves the editor and the undo stack alone
        src = ss.source(session, task_name)
        new = ss.load(session, task_name, puzzle, grid)
        puzzle = ss.source(session, task_name)
        if task_name == "arc" and puzzle is None and src is not None and src.arc_task_id:
            # a cleared or resized test input still belongs to the same task (its id and demonstrations)
            session["sources"]["arc"] = Puzzle("arc", np.asarray(new), name=src.arc_task_id,
                                               arc_task_id=src.arc_task_id, demos=src.demos)
        for note in notes:
            gr.Warning(note)
        demos = demo_images(ss.source(session, task_name)) if task_name == "arc" else gr.skip()
        if task_name == "arc" and puzzle is not None and puzzle.arc_task_id:
            picker = puzzle.arc_task_id
        arc_id = picker if isinstance(picker, str) else None
        return (editor_update(task, new), session, demos,
                gr.skip() if picker is None else gr.update(value=self.picker_id(session, picker)),
                self.check_line(task, new, session, arc_id))

    def _model_updates(self, task_name: str, session: dict) -> tuple:
        """What follows the model Run will use for ``task_name``: the supervision steps, H_cycles and L_cycles
        sliders (that model's defaults) and the model line."""
        user_key, shipped = session.get("user_model"), ss.shipped(session, task_name)
        cfg = active_config(self.registry, task_name, user_key, shipped)
        steps, T, n = (min(cfg.halt_max_steps, MAX_STEPS), cfg.H_cycles, cfg.L_cycles) if cfg else (MAX_STEPS, 3, 6)
        return (gr.update(value=steps), gr.update(value=min(T, MAX_H_CYCLES)), gr.update(value=min(n, MAX_L_CYCLES)),
                model_line(self.registry, task_name, user_key, shipped))

    def _model_menu(self, task_name: str, session: dict) -> dict:
        """The "Shipped model" menu: the task's shipped checkpoints, shown when there is a choice to make (and
        hidden while the user's own checkpoint answers for the task: picking would change nothing)."""
        names = self.registry.choices(task_name)
        pick = ss.shipped(session, task_name)
        visible = len(names) >= 2 and own_model_for(task_name, session.get("user_model")) is None
        return gr.update(choices=self.registry.menu(task_name),
                         value=pick if pick in names else (names[0] if names else None),
                         visible=visible)

    def history_view(self, task_name: str, session: dict) -> tuple[str, Any]:
        """The "Training history" tab: how the model Run will use was trained (its card and training log), shown
        whenever the model line changes. Outputs: (markdown, plot)."""
        user = own_model_for(task_name, session.get("user_model"))
        if user is not None:
            if user.history is None:
                return ("Your own checkpoint answers for this task. It came without a training record: load its "
                        "card.json and metrics.jsonl with it (python -m trm_viz.train writes both) to see how it "
                        "was trained. An official TinyRecursiveModels run keeps its history in its own logs "
                        "(Weights & Biases), which this app does not read.", None)
            return (history_markdown(user.history, "your checkpoint", "The card.json you loaded has"),
                    history_figure(user.history))
        folder = self.registry.path(task_name, ss.shipped(session, task_name))
        if folder is None:
            return f"No {task_name} model is shipped yet.", None
        history = read_history(folder)
        return history_markdown(history, folder.name), history_figure(history) if history is not None else None

    # --- handlers ---------------------------------------------------------------------------------------------
    def task_changed(self, task_name: str, session: dict) -> tuple:
        """Show the task's last grid (or its first example), its examples, the ARC picker when needed, which model
        will run, its default settings and the menu of shipped models."""
        task = self.task(task_name, session)
        names = list(examples(task))
        grid = session["grids"].get(task_name)
        if grid is not None and task_name == "maze" and np.asarray(grid).shape != task.canvas_shape:
            grid = self._refit(task, grid, session)     # the maze model changed to one of another canvas size
        if grid is None:
            grid = ss.load(session, task_name, examples(task)[names[0]])
        src = ss.source(session, task_name)
        is_arc = task_name == "arc"
        arc_id = src.arc_task_id if src is not None else None
        choices = self.arc_choices(session) if is_arc else []
        return (
            editor_update(task, grid), session,
            demo_images(src) if is_arc else [],
            gr.update(choices=choices, value=self.picker_id(session, arc_id, choices)) if is_arc else gr.skip(),
            self.check_line(task, grid, session, arc_id),
            gr.update(choices=names, value=src.name if src is not None and src.name in names else None),
            gr.update(visible=is_arc), gr.update(visible=task_name == "sudoku"),
            *self._model_updates(task_name, session), self._model_menu(task_name, session),
        )

    def _refit(self, task: Task, grid: Any, session: dict) -> list[list[int]] | None:
        """The session's maze moved onto the canvas of the model now chosen (padded when it fits, with a note);
        None when it does not fit (the caller shows the first example instead; undo brings the maze back)."""
        try:
            puzzle = task.parse(ss.rows(grid))
        except PuzzleError as e:
            gr.Warning(f"Your maze does not fit this model's {task.canvas_shape[0]}x{task.canvas_shape[1]} "
                       f"canvas ({e}); showing an example instead. Undo brings your maze back.")
            return None
        return ss.load(session, task.name, None, puzzle.grid)

    def shipped_chosen(self, task_name: str, name: str | None, session: dict, grid: Any = None) -> tuple:
        """The user picked another shipped model for this task: Run, the run settings, the model line and (for a
        maze model of another canvas size) the editor and examples follow it. Outputs: as task_changed. ``grid``:
        the editor's, kept when the session has none (the server let it go) rather than replaced by an example."""
        if name not in (names := self.registry.choices(task_name)):
            raise refusal(f"There is no shipped {task_name} model called {name!r}.")
        if session["grids"].get(task_name) is None and grid:
            ss.remember(session, task_name, grid)
        same = name == (ss.shipped(session, task_name) or names[0])
        ss.choose_shipped(session, task_name, name)
        if same:
            return (gr.skip(),) * TASK_OUTPUTS       # the menu left by Tab with nothing chosen (Gradio fires .input)
        return self.task_changed(task_name, session)

    def page_loaded(self, task_name: str, session: dict) -> tuple:
        """A new visitor: remember where the grid the page opened with came from (the first example) and check it,
        and give the page its key (session.lost). Outputs: session, check line, model line, page key. Nothing the
        visitor can change (grid, sliders): a late answer would undo what they did meanwhile."""
        task = self.task(task_name, session)
        if session["grids"].get(task_name) is None:
            ss.load(session, task_name, next(iter(examples(task).values())))
        grid = session["grids"][task_name]
        session["page"] = uuid.uuid4().hex
        return session, self.check_line(task, grid, session), model_line(
            self.registry, task_name, session.get("user_model"), ss.shipped(session, task_name)), session["page"]

    def example_chosen(self, task_name: str, name: str | None, session: dict) -> tuple:
        src = ss.source(session, task_name)
        if not name or (src is not None and src.name == name and ss.rows(session["grids"].get(task_name)) ==
                        src.grid.tolist()):
            return (gr.skip(),) * 5                  # nothing to load (also: the menu left by Tab, see shipped_chosen)
        puzzle = examples(self.task(task_name, session)).get(name)
        if puzzle is None:
            raise refusal(f"No {task_name} example named {name!r}.")
        return self._loaded(task_name, session, puzzle)

    def new_puzzle(self, task_name: str, level: str, session: dict) -> tuple:
        task = self.task(task_name, session)
        rng = np.random.default_rng()
        try:
            if task_name == "sudoku":
                puzzle = task.generate(rng, **SUDOKU_LEVELS.get(level, {}))
            elif task_name == "arc":
                ids = [t for _, t in self.arc_choices(session)]
                puzzle = task_puzzle(ids[int(rng.integers(len(ids)))])
            else:
                puzzle = task.generate(rng)
        except PuzzleError as e:
            raise refusal(str(e)) from None
        return self._loaded(task_name, session, puzzle)

    def clear(self, task_name: str, grid: Any, session: dict) -> tuple:
        """An empty grid of the same size (Sudoku: blank; maze: an open room with S and G; ARC: all black)."""
        h, w = np.asarray(grid).shape if grid else self.task(task_name, session).canvas_shape
        return self._loaded(task_name, session, None, blank_grid(task_name, h, w))

    def undo(self, task_name: str, session: dict, page_key: str | None = None) -> tuple:
        grid = ss.undo(session, task_name)
        if grid is None:
            gr.Info("Nothing to undo." + (" " + SESSION_LOST if ss.first_told(session, page_key) else ""))
            return (gr.skip(),) * 5
        task = self.task(task_name, session)
        if task_name != "arc":
            return (editor_update(task, grid), session, gr.skip(), gr.skip(), self.check_line(task, grid, session))
        src = ss.source(session, "arc")        # the task that grid belongs to comes back with it (its embedding)
        arc_id = src.arc_task_id if src is not None else None
        return (editor_update(task, grid), session, demo_images(src), gr.update(value=self.picker_id(session, arc_id)),
                self.check_line(task, grid, session, arc_id))

    def edited(self, task_name: str, grid: Any, session: dict, picker: str | None, page_key: str | None = None
               ) -> tuple:
        """The editor's value changed (a user edit, or a server update echoed back): make it undoable and check it
        (and say once when the server had let the session go). Outputs: session, check line, ARC rows, ARC columns,
        examples menu."""
        if ss.first_told(session, page_key):
            gr.Warning(SESSION_LOST)
        shape = np.asarray(grid).shape if grid is not None else ()
        task = self.task(task_name, session)
        if len(shape) != 2 or (task_name != "arc" and shape != task.canvas_shape):
            return (session,) + (gr.skip(),) * 4        # the echo of a grid from before a task switch
        ss.remember(session, task_name, grid)
        size = (shape[0], shape[1]) if task_name == "arc" else (gr.skip(), gr.skip())   # the ARC resize fields
        src = ss.source(session, task_name)
        unchanged = src is not None and src.grid.tolist() == ss.rows(grid)
        example = None                  # what the grid is now: an example, also when the ARC picker loaded it
        if unchanged:
            example = next((name for name, ex in examples(task).items() if name == src.name or (
                src.arc_task_id and ex.arc_task_id == src.arc_task_id and ex.grid.tolist() == src.grid.tolist())), None)
        return session, self.check_line(task, grid, session, picker), *size, example

    def uploaded(self, task_name: str, file: str | None, session: dict, picker: str | None) -> tuple:
        if not file:
            return (gr.skip(),) * 5
        task = self.task(task_name, session)
        name = Path(file).name
        try:
            data = _read_upload(file)
            try:
                puzzle = task.parse(data, name)
            except PuzzleError:
                if task_name != "arc" or not picker:
                    raise
                puzzle = task.parse(data, name, task_id=picker)   # a collection of tasks: take the picked one
            if task_name == "arc" and not puzzle.arc_task_id and not puzzle.demos and picker:
                src = ss.source(session, "arc")   # a bare grid: the new test input of the picked task
                puzzle.arc_task_id, puzzle.demos = picker, (src.demos if src is not None else [])
            if task_name == "arc" and (note := recognise(puzzle)):
                gr.Info(f"{name}: {note}.")
            if task_name == "arc" and puzzle.arc_task_id:
                known = [t for _, t in self.arc_choices(session)]
                if puzzle.arc_task_id not in known:
                    gr.Warning(f"The model was not trained on ARC task {puzzle.arc_task_id}: it knows a task only "
                               "by its learned embedding, so Run will refuse it. Pick a task it knows to run.")
            elif task_name == "arc" and puzzle.demos and self.known_arc(session) is not None:
                gr.Warning(f"{name} is not one of the ARC tasks here (neither its file name nor its demonstrations "
                           "match one): the model knows a task only by its learned embedding, so Run will refuse it.")
            # the task picker shows the grid's task, and nothing for a task of its own (not the one picked before)
            out = self._loaded(task_name, session, puzzle, picker="" if task_name == "arc" else None)
        except (PuzzleError, OSError) as e:
            raise refusal(f"Could not read {name}: {e}") from None
        except Exception as e:  # noqa: BLE001 - a bug: one line for the visitor, the traceback in the server log
            raise refusal(f"Could not read {name}: {internal_error(e)}") from None
        gr.Info(f"Loaded {name}.")
        return out

    def arc_picked(self, task_id: str | None, session: dict, again: bool = False) -> tuple:
        """A task picked in the ARC menu: its test input goes into the editor. Gradio fires .input also when the
        keyboard merely tabs past the menu (the same task), which must not undo the user's painting; picking the
        same task again with the pointer (.select, ``again``) does reload its test input."""
        src = ss.source(session, "arc")
        same = src is not None and src.arc_task_id == task_id
        if not task_id or same != again:
            return (gr.skip(),) * 5     # (.select of another task: its .input loads it)
        try:
            puzzle = task_puzzle(task_id)
        except (PuzzleError, KeyError) as e:
            raise refusal(f"Could not load ARC task {task_id}: {e}") from None
        return self._loaded("arc", session, puzzle, picker=task_id)

    def arc_next_test(self, grid: Any, session: dict, picker: str | None) -> tuple:
        """The next test input of the grid's ARC task (9 of the shipped model's 70 tasks have 2 or 3; Run takes the
        one in the editor), after the one the grid came from."""
        src = ss.source(session, "arc")
        task_id = (src.arc_task_id if src is not None else None) or picker
        if not task_id:
            raise refusal("Pick an ARC task first.")
        try:
            tests = task_tests(task_id)
        except PuzzleError as e:
            raise refusal(str(e)) from None
        if len(tests) == 1:
            gr.Info(f"ARC task {task_id} has one test input.")
            return (gr.skip(),) * 5
        k = index_of_test(tests, src.grid if src is not None else np.asarray(grid))
        return self._loaded("arc", session, tests[(k + 1) % len(tests) if k is not None else 0], picker=task_id)

    def arc_resize(self, height: float | None, width: float | None, grid: Any, session: dict,
                   picker: str | None) -> tuple:
        """A new ARC test-input size; the top-left of the old grid is kept, new cells are black."""
        try:
            h, w = int(height or 0), int(width or 0)
        except (TypeError, ValueError):
            raise refusal("Rows and columns must be whole numbers.") from None
        side = min(MAX_SIDE, self.task("arc", session).canvas_shape[0])   # a small-canvas model's limit
        if not (1 <= h <= side and 1 <= w <= side):
            raise refusal(f"An ARC grid {'is' if side == MAX_SIDE else 'for this model is'} 1 to {side} cells on "
                           f"each side; {h}x{w} was asked for.")
        new = np.zeros((h, w), dtype=np.int64)
        if grid:
            old = np.asarray(grid)
            new[:min(h, old.shape[0]), :min(w, old.shape[1])] = old[:h, :w]
        return self._loaded("arc", session, None, new, picker=picker)
