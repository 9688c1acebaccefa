"""A grid people can click, type into and paint: a gr.HTML subclass whose value is list[list[int]] (task cell codes).

Modes: "sudoku" (click a cell, type 1-9, Backspace/Delete/0 clears, arrow keys move), "maze" (drag-paint walls or
open cells; the start and goal tools move the single start / goal), "arc" (drag-paint with a 10-colour palette; the
caller chooses the grid size). Colours and labels come from ``task.legend()``, passed in as the ``legend`` prop.

How it is built (each point fixed a bug met in a prototype, see gradio6-notes.md):
- The template is a constant empty root and the script draws the grid itself, on load and when the server sends
  new props (``watch``). A Gradio re-render therefore never happens mid-gesture and never wipes the selection.
- A drag edits a private copy and the DOM cells; ``props.value`` gets a NEW array once, on pointerup (Gradio only
  notices a new array, and each assignment is a server round trip). Cells skipped between two pointer moves are
  filled along a Bresenham line.
- Focus uses preventScroll (focusing a tall grid used to scroll it under the pointer); cells are sized by grid size.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np

from ..tasks.base import PuzzleError, Task
from ..tasks.common import grid_from_rows

MODES = ("sudoku", "maze", "arc")
# Maze cell codes (trm_viz.tasks.base): 0 wall, 1 open, 2 start, 3 goal, 4 path. The editor paints the first four.
MAZE_TOOLS = [(0, "wall"), (1, "open"), (2, "start"), (3, "goal")]
MAX_SIDE = 30

CSS = """
outline: none;
.ge-tools { display: flex; flex-wrap: wrap; gap: 4px; margin: 0 0 6px 0; align-items: center; }
.ge-tool { display: inline-flex; align-items: center; gap: 4px; padding: 4px 10px 4px 5px; min-height: 34px;
  border-radius: 6px; margin: 0 !important;     /* Gradio's page gives every button but a last one 4 px below */
  border: 2px solid #d1d5db; background: #fff; cursor: pointer; font-size: 13px; color: #111827; }
.ge-tool.on { border-color: #2563eb; box-shadow: 0 0 0 2px #bfdbfe; }
.ge-swatch { width: 16px; height: 16px; border-radius: 3px; border: 1px solid #9ca3af; display: inline-block; }
.ge-grid { display: grid; gap: 0; border: 2px solid #111827; width: max-content; user-select: none;
  touch-action: none; background: #111827; }
.ge-cell { box-sizing: border-box; border: 1px solid #9ca3af; display: flex; align-items: center;
  justify-content: center; font-family: ui-sans-serif, system-ui, sans-serif; color: #111827; cursor: pointer; }
.ge-grid.sudoku .ge-cell { font-weight: 600; }
.ge-cell.bt { border-top: 2px solid #111827; }
.ge-cell.bl { border-left: 2px solid #111827; }
.ge-cell.sel { box-shadow: inset 0 0 0 3px #2563eb; }
.ge-cell.clash { color: #dc2626; outline: 2px dashed #dc2626; outline-offset: -5px; }
.ge-grid.kbd { outline: 3px solid #2563eb; outline-offset: 2px; }
.ge-help { font-size: 12px; color: #6b7280; margin-top: 4px; }
.ge-pad { display: flex; flex-wrap: wrap; gap: 4px; margin-top: 6px; }
.ge-digit { margin: 0 !important; min-width: 34px; height: 34px; border-radius: 6px; border: 1px solid #d1d5db; background: #fff;
  font-size: 16px; font-weight: 600; color: #111827; cursor: pointer; padding: 0 6px; }
.ge-digit:active { background: #dbeafe; }
/* Dark mode: the cells stay light; the help line, the digit pad and the tools follow the page. */
.dark & .ge-help { color: #9ca3af; }
.dark & .ge-empty { color: #9ca3af; }
.dark & .ge-digit { background: #1f2937; color: #f3f4f6; border-color: #4b5563; }
.dark & .ge-digit:active { background: #1e3a8a; }
.dark & .ge-tool { background: #1f2937; color: #f3f4f6; border-color: #4b5563; }
.dark & .ge-tool.on { border-color: #60a5fa; box-shadow: 0 0 0 2px #1e40af; }
.ge-live { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); white-space: nowrap; }
.ge-empty { font-size: 13px; color: #6b7280; padding: 8px; }
"""

# The browser side, in its own file to be read (and linted) as JavaScript; js_on_load runs it with element,
# props, trigger and watch in scope.
JS = (Path(__file__).with_name("grid_editor.js").read_text(encoding="utf-8")
      .replace("MAZE_TOOLS", str([[c, n] for c, n in MAZE_TOOLS])))


def to_rows(grid: Any, hi: int = 9) -> list[list[int]] | None:
    """list of lists / np.ndarray -> list[list[int]] checked to be a rectangle of at most 30x30 codes in 0..hi."""
    if grid is None:
        return None
    if isinstance(grid, np.ndarray):
        grid = grid.tolist()
    return grid_from_rows(grid, "grid", MAX_SIDE, 0, hi).tolist()


class GridEditor(gr.HTML):
    """Editable grid. ``mode`` in MODES; ``legend`` = task.legend() rows (code, label, CSS colour)."""

    def __init__(self, value: Any = None, *, mode: str = "sudoku", legend: list | tuple = (), cell_px: int = 0,
                 label: str | None = None, **kwargs: Any):
        if mode not in MODES:
            raise ValueError(f"GridEditor mode must be one of {', '.join(MODES)}, not {mode!r}.")
        # Props are also set as attributes: gr.HTML.__getattr__ would otherwise answer an event listener for any
        # name quoted in the script ('mode'), and Gradio reads attributes when it serialises config and updates.
        self.mode, self.legend, self.cell_px = mode, [list(x) for x in legend], int(cell_px)
        super().__init__(value=to_rows(value), label=label, html_template='<div class="ge-root"></div>',
                         css_template=CSS, js_on_load=JS, mode=self.mode, legend=self.legend, cell_px=self.cell_px,
                         **kwargs)

    def preprocess(self, payload: Any) -> list[list[int]] | None:
        try:
            return to_rows(payload)
        except PuzzleError as e:
            raise gr.Error(str(e), print_exception=False) from None

    def postprocess(self, value: Any) -> list[list[int]] | None:
        try:
            return to_rows(value)
        except PuzzleError as e:
            raise gr.Error(str(e), print_exception=False) from None

    def api_info(self) -> dict[str, Any]:
        return {"type": "array", "items": {"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": 9}},
                "description": "grid rows of task cell codes (at most 30x30)"}

    def example_payload(self) -> Any:
        return [[0, 1], [2, 3]]

    def example_value(self) -> Any:
        return [[0, 1], [2, 3]]


def blank_grid(mode: str, height: int = 9, width: int = 9) -> list[list[int]]:
    """A fresh grid to start editing: an empty Sudoku, an open maze room (walls around, start top-left, goal
    bottom-right), or an all-black ARC grid of the chosen size."""
    if mode == "sudoku":
        return [[0] * 9 for _ in range(9)]
    if not (1 <= height <= MAX_SIDE and 1 <= width <= MAX_SIDE):
        raise PuzzleError(f"A grid is 1 to {MAX_SIDE} cells on each side; {height}x{width} was asked for.")
    if mode == "arc":
        return [[0] * width for _ in range(height)]
    if mode == "maze":
        if height < 3 or width < 3:
            raise PuzzleError(f"A maze needs at least 3x3 cells (walls around a room); {height}x{width} was asked for.")
        g = [[0 if r in (0, height - 1) or c in (0, width - 1) else 1 for c in range(width)] for r in range(height)]
        g[1][1], g[height - 2][width - 2] = 2, 3
        return g
    raise ValueError(f"Unknown editor mode {mode!r}: choose one of {', '.join(MODES)}.")


def editor_for(task: Task, grid: Any = None, **kwargs: Any) -> GridEditor:
    """A GridEditor set up for ``task`` (mode = task name, colours from its legend), blank when no grid is given."""
    value = blank_grid(task.name, *task.canvas_shape) if grid is None else grid
    return GridEditor(value, mode=task.name, legend=task.legend(), **kwargs)


def editor_update(task: Task, grid: Any) -> dict[str, Any]:
    """gr.update for an existing editor: new grid, and the task's mode and legend (returning a new GridEditor from
    a handler would send only its explicit constructor arguments)."""
    return gr.update(value=to_rows(grid), mode=task.name, legend=[list(x) for x in task.legend()])
