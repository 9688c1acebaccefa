"""Puzzle domains. ``get_task(name)`` returns the singleton Task for "sudoku", "maze" or "arc"."""
from __future__ import annotations

import importlib

from .base import MAX_INPUT_BYTES, Puzzle, PuzzleError, Task

TASK_NAMES = ("sudoku", "maze", "arc")


def get_task(name: str) -> Task:
    if name not in TASK_NAMES:
        raise PuzzleError(f"Unknown task {name!r}: choose one of {', '.join(TASK_NAMES)}.")
    return importlib.import_module(f"{__name__}.{name}").TASK


__all__ = ["MAX_INPUT_BYTES", "Puzzle", "PuzzleError", "Task", "TASK_NAMES", "get_task"]
