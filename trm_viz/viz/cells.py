"""What a person sees at one step, in answer-grid coordinates: the answer, which cells changed, which are right, how
sure the model was. Every picture (PIL image, GIF, step viewer, corrections table) reads the trace through here, so
they all agree on what "changed" and "right" mean.

A Trace stores per-cell arrays on the token canvas (9x9 Sudoku, 30x30 maze/ARC). Answers are task grids, which for
ARC are cropped out of the canvas and may change shape from step to step. At inference the grid sits at the
canvas's top-left corner (the official ARC builder translates only training examples), so an answer cell (r, c) is
canvas cell (r, c).

Definitions (a cell outside the previous grid or the solution counts as changed / wrong):
- changed at step k: the answer differs from the answer of step k-1; step 1 compares with the input grid when the
  answer has its shape (an ARC task that changes the grid's size has nothing to compare step 1 with: all new).
- correct: the answer equals the known solution in that cell.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..tasks.base import Puzzle, Task
from ..trace import Trace


@dataclass
class StepCells:
    step: int                       # 1-based supervision step
    answer: np.ndarray              # (h, w) task cell codes
    previous: np.ndarray            # the answer of the previous step (step 1: the input grid, or 0x0); any shape
    changed: np.ndarray             # (h, w) bool
    correct: np.ndarray | None      # (h, w) bool, None when the solution is unknown
    confidence: np.ndarray          # (h, w) float, probability of the chosen token
    z_H_delta: np.ndarray           # (h, w) float, ||z_H(step) - z_H(step - 1)||
    z_L_delta: np.ndarray           # (h, w) float
    q_halt_prob: float

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.answer.shape)  # type: ignore[return-value]


def check_step(trace: Trace, step: int) -> int:
    """Validate a 1-based step number and return its array index."""
    if isinstance(step, bool) or not isinstance(step, (int, np.integer)) or not 1 <= int(step) <= trace.num_steps:
        raise ValueError(f"Step {step!r} does not exist: this trace has steps 1 to {trace.num_steps}.")
    return int(step) - 1


def crop(canvas: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Top-left (h, w) window of a (H, W, ...) canvas array, zero-padded if the grid is larger than the canvas."""
    h, w = shape
    out = np.zeros((h, w) + canvas.shape[2:], dtype=canvas.dtype)
    hh, ww = min(h, canvas.shape[0]), min(w, canvas.shape[1])
    out[:hh, :ww] = canvas[:hh, :ww]
    return out


def differs(a: np.ndarray, b: np.ndarray | None) -> np.ndarray:
    """(a.shape) bool: a cell of ``a`` differs from ``b`` or lies outside it."""
    out = np.ones(a.shape, dtype=bool)
    if b is None or b.ndim != 2:
        return out
    hh, ww = min(a.shape[0], b.shape[0]), min(a.shape[1], b.shape[1])
    out[:hh, :ww] = a[:hh, :ww] != b[:hh, :ww]
    return out


def step_cells(trace: Trace, step: int) -> StepCells:
    i = check_step(trace, step)
    answer = np.asarray(trace.answers[i])
    previous = np.asarray(trace.answers[i - 1]) if i > 0 else np.asarray(trace.input_grid)
    if i == 0 and previous.shape != answer.shape:   # a 3x7 input's 3x3 output: its top-left corner means nothing
        previous = np.zeros((0, 0), dtype=answer.dtype)
    return StepCells(
        step=i + 1,
        answer=answer,
        previous=previous,
        changed=differs(answer, previous),
        correct=trace.correct_cells(i),
        confidence=crop(np.asarray(trace.confidence[i], dtype=np.float32), answer.shape),
        z_H_delta=crop(np.asarray(trace.z_H_delta[i], dtype=np.float32), answer.shape),
        z_L_delta=crop(np.asarray(trace.z_L_delta[i], dtype=np.float32), answer.shape),
        q_halt_prob=float(trace.q_halt_prob[i]),
    )


def all_step_cells(trace: Trace) -> list[StepCells]:
    return [step_cells(trace, k) for k in range(1, trace.num_steps + 1)]


def step_summary(trace: Trace) -> dict[str, np.ndarray | None]:
    """Per-step curves (index 0 = step 1): q_halt, mean confidence over the answer's cells, fraction of the cells to
    solve that are right (Trace.cells_to_solve) and whole-answer exactness (both None when the solution is
    unknown), mean z_H / z_L change."""
    cells = all_step_cells(trace)
    known = trace.solution is not None

    def mean(a: np.ndarray) -> float:
        return float(a.mean()) if a.size else 0.0

    return {
        "q_halt_prob": np.array([c.q_halt_prob for c in cells], dtype=np.float64),
        "confidence": np.array([mean(c.confidence) for c in cells], dtype=np.float64),
        "accuracy": trace.solve_accuracy if known else None,        # of the cells to solve
        "exact": trace.exact if known else None,
        "z_H_delta": np.array([mean(c.z_H_delta) for c in cells], dtype=np.float64),
        "z_L_delta": np.array([mean(c.z_L_delta) for c in cells], dtype=np.float64),
    }


def givens_for(puzzle: Puzzle | None, shape: tuple[int, int]) -> np.ndarray | None:
    """The puzzle's givens mask when it lines up with an answer of ``shape`` (ARC outputs often do not)."""
    if puzzle is None or puzzle.givens is None or tuple(puzzle.givens.shape) != tuple(shape):
        return None
    return np.asarray(puzzle.givens, dtype=bool)


def cell_style(task: Task) -> str:
    """"text" when cells are drawn as characters on a background (Sudoku digits), "fill" when a cell is its colour.
    A task may say so with a ``cell_style`` attribute; otherwise Sudoku is the one text task."""
    return str(getattr(task, "cell_style", None) or ("text" if task.name == "sudoku" else "fill"))


def legend_labels(legend: list[tuple[int, str, str]]) -> dict[int, str]:
    return {int(code): str(label) for code, label, _ in legend}
