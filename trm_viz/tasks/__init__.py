"""Puzzle domains. ``get_task(name)`` returns the Task for "sudoku", "maze" or "arc"; ``get_task(name, seq_len)`` the
one a model of that many tokens works on (a maze or ARC model may use a smaller square canvas than 30x30)."""
from __future__ import annotations

import importlib
import math

from .base import MAX_INPUT_BYTES, Puzzle, PuzzleError, Task

TASK_NAMES = ("sudoku", "maze", "arc")


def get_task(name: str, seq_len: int | None = None) -> Task:
    """The task ``name``; with ``seq_len`` (a model's config.seq_len) the variant that model reads. Mazes and
    ARC come in several canvas sizes; for Sudoku a different seq_len is left to the model-task check to report."""
    if name not in TASK_NAMES:
        raise PuzzleError(f"Unknown task {name!r}: choose one of {', '.join(TASK_NAMES)}.")
    module = importlib.import_module(f"{__name__}.{name}")
    if name in ("maze", "arc") and seq_len is not None and seq_len != module.TASK.seq_len:
        side = math.isqrt(seq_len)
        if side * side == seq_len and module.MIN_SIZE <= side <= module.SIZE:
            return module.maze_task(side) if name == "maze" else module.arc_task(side)
    return module.TASK


__all__ = ["MAX_INPUT_BYTES", "Puzzle", "PuzzleError", "Task", "TASK_NAMES", "get_task"]
