"""Every cell the model changed, step by step, and whether the change fixed or broke it.

Kinds (only when the solution is known; otherwise every change is a "change"):
- correction: wrong at the previous step, right now;
- regression: right at the previous step, wrong now;
- change: wrong before and still wrong after (a different wrong value).
Step 1 is compared with the input grid, so a Sudoku's first fills count as corrections of blanks (an ARC answer of
another shape than its input is all new: cells.step_cells).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..tasks.base import Task
from ..trace import Trace
from .cells import StepCells, all_step_cells, legend_labels

KINDS = ("correction", "regression", "change")
TABLE_HEADERS = ["step", "row", "col", "old", "new", "kind"]


@dataclass(frozen=True)
class CellChange:
    step: int          # 1-based supervision step at which the cell took its new value
    r: int             # 0-based row and column in the answer grid
    c: int
    old: int | None    # previous value (None: the cell lay outside the previous grid, e.g. an ARC output grew)
    new: int | None    # new value (None: the cell lies outside the new grid, an ARC output that shrank)
    kind: str          # one of KINDS


def _right(grid: np.ndarray, right: np.ndarray | None, solution: np.ndarray | None, r: int, c: int) -> bool:
    """Whether cell (r, c) of ``grid`` was right: from its step's ``right`` mask (Trace.correct_cells, the one
    definition) for an answer, by value for the input (step 1's "before")."""
    if solution is None or not (r < grid.shape[0] and c < grid.shape[1]):
        return False
    if right is not None:
        return bool(right[r, c])
    return bool(r < solution.shape[0] and c < solution.shape[1] and grid[r, c] == solution[r, c])


def step_changes(cells: StepCells, solution: np.ndarray | None, before: StepCells | None = None) -> list[CellChange]:
    """The changed cells of one step, in reading order: those of the new answer, and from step 2 on those of the
    previous answer that the new one no longer has (an ARC output that lost rows: a right cell lost is a regression).
    Step 1 is compared with the input when the answer has its shape (cells.step_cells); a later step with
    ``before``, the previous step's cells."""
    out = []
    prev = cells.previous
    prev_right = before.correct if before is not None else None
    for r, c in zip(*np.nonzero(cells.changed)):
        r, c = int(r), int(c)
        old = int(prev[r, c]) if prev.ndim == 2 and r < prev.shape[0] and c < prev.shape[1] else None
        kind = "change"
        if cells.correct is not None:
            was, now = _right(prev, prev_right, solution, r, c), bool(cells.correct[r, c])
            kind = "correction" if now and not was else "regression" if was and not now else "change"
        out.append(CellChange(cells.step, r, c, old, int(cells.answer[r, c]), kind))
    if cells.step > 1 and prev.ndim == 2:
        h, w = cells.answer.shape if cells.answer.ndim == 2 else (0, 0)
        for r, c in np.ndindex(*prev.shape):
            if r >= h or c >= w:
                lost = "regression" if _right(prev, prev_right, solution, r, c) else "change"
                out.append(CellChange(cells.step, r, c, int(prev[r, c]), None, lost))
    return sorted(out, key=lambda ch: (ch.r, ch.c))


def cell_changes(trace: Trace, first_step: int = 1) -> list[CellChange]:
    """Timeline of every changed cell from ``first_step`` on (use 2 to leave out the first answer's fills)."""
    solution = None if trace.solution is None else np.asarray(trace.solution)
    out: list[CellChange] = []
    steps = all_step_cells(trace)
    for i in range(max(0, first_step - 1), len(steps)):
        out.extend(step_changes(steps[i], solution, steps[i - 1] if i > 0 else None))
    return out


def change_counts(trace: Trace) -> dict[str, np.ndarray]:
    """Per step (index 0 = step 1): number of corrections, regressions and changed cells in all."""
    n = trace.num_steps
    counts = {"correction": np.zeros(n, int), "regression": np.zeros(n, int), "changed": np.zeros(n, int)}
    for ch in cell_changes(trace):
        counts["changed"][ch.step - 1] += 1
        if ch.kind != "change":
            counts[ch.kind][ch.step - 1] += 1
    return {"corrections": counts["correction"], "regressions": counts["regression"], "changed": counts["changed"]}


def corrections_table(changes: list[CellChange], task: Task) -> list[list]:
    """Rows for a table with TABLE_HEADERS, cells shown as people count them (row/col from 1) and values by the
    task's legend labels (digits, '#', colour names)."""
    labels = legend_labels(task.legend())

    def show(v: int | None) -> str:
        return "-" if v is None else labels.get(int(v), str(v))

    return [[ch.step, ch.r + 1, ch.c + 1, show(ch.old), show(ch.new), ch.kind] for ch in changes]


def revisions_first(changes: list[CellChange]) -> list[CellChange]:
    """The table's order: the model revising its answer (steps 2 on) first, then step 1's changes, which are
    mostly cells filled for the first time and would otherwise fill the first screens of the table."""
    return [ch for ch in changes if ch.step > 1] + [ch for ch in changes if ch.step == 1]


def summary_line(trace: Trace) -> str:
    """One sentence for the UI that keeps the first answer apart from the revisions after it, e.g. "Step 1 put 26
    cells right; steps 2-16 made 45 corrections and 15 regressions (last change at step 5)."."""
    counts = change_counts(trace)
    n = trace.num_steps
    changed_steps = np.nonzero(counts["changed"])[0]
    last = f" (last change at step {changed_steps[-1] + 1})" if changed_steps.size else ""
    later = f"steps 2-{n}" if n > 2 else "step 2"

    def plural(k: int, word: str) -> str:
        return f"{k} {word}{'s' * (k != 1)}"

    if trace.solution is None:
        first, rest = int(counts["changed"][0]), int(counts["changed"][1:].sum())
        return (f"Step 1 changed {plural(first, 'cell')}" + (f"; {later} made {plural(rest, 'more change')}" if n > 1
                                                             else "") + f"{last}; no known solution.")
    first = int(counts["corrections"][0])
    corr, regr = int(counts["corrections"][1:].sum()), int(counts["regressions"][1:].sum())
    line = f"Step 1 put {plural(first, 'cell')} right"
    if int(counts["regressions"][0]):
        # a cell the answer keeps from the input (a Sudoku's given, an ARC cell the rule leaves) made wrong: the
        # input is no answer, so not "made right cells wrong" (an ARC summary said so)
        line += f" but changed {plural(int(counts['regressions'][0]), 'cell')} that should keep the input's value"
    if n > 1:
        line += f"; {later} made {plural(corr, 'correction')} and {plural(regr, 'regression')}"
    return line + f"{last}."
