"""What every puzzle type shares: the Puzzle record, the user-facing error, and the Task interface.

A task module owns everything about one puzzle type (its characters, colours, token encoding, solver, generator,
renderer). Nothing outside ``trm_viz.tasks`` knows those details: the model sees tokens, the trace sees a canvas of
cells, the UI sees grids of small integers and asks the task to draw them.

Grids are ``np.ndarray`` of small ints (dtype int16/int64 are both accepted), indexed [row, col]:
- sudoku: 9x9, 0 = blank, 1..9 digits
- maze:   up to 30x30, cell codes 0 '#' wall, 1 ' ' open, 2 'S' start, 3 'G' goal, 4 'o' path
- arc:    1..30 x 1..30, colours 0..9
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

# Largest upload any parser accepts. A 30x30 ARC task JSON with many demonstrations is ~100 KB; a maze photo a few MB.
MAX_INPUT_BYTES = 8 * 1024 * 1024


class PuzzleError(ValueError):
    """Input that cannot become a puzzle. The message is shown to the user as is: say what is wrong and where."""


@dataclass
class Puzzle:
    task: str
    grid: np.ndarray                       # the input grid, in the task's cell codes
    solution: np.ndarray | None = None     # the known answer grid, when there is one
    givens: np.ndarray | None = None       # bool mask of cells fixed by the input (Sudoku clues, maze walls...)
    name: str = ""                         # e.g. an example's name or an ARC task id
    arc_task_id: str | None = None         # ARC: which task (its puzzle embedding) the model should use
    demos: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)  # ARC demonstration pairs
    notes: list[str] = field(default_factory=list)  # non-fatal validation findings, shown to the user

    def __post_init__(self):
        self.grid = np.asarray(self.grid, dtype=np.int64)
        if self.solution is not None:
            self.solution = np.asarray(self.solution, dtype=np.int64)
        if self.givens is not None:
            self.givens = np.asarray(self.givens, dtype=bool)


@dataclass(frozen=True)
class Symmetry:
    """A transform that keeps a puzzle's meaning, and its inverse to map an answer back (test-time variants)."""
    name: str
    apply: Callable[[np.ndarray], np.ndarray]
    invert: Callable[[np.ndarray], np.ndarray]


IDENTITY = Symmetry("identity", lambda g: np.asarray(g), lambda g: np.asarray(g))


class Task(ABC):
    """One puzzle type. Subclasses are stateless singletons registered in ``trm_viz.tasks``."""

    name: str                    # "sudoku" | "maze" | "arc"
    vocab_size: int              # official token vocabulary size
    seq_len: int                 # tokens per puzzle (81 or 900)
    canvas_shape: tuple[int, int]  # the token canvas as a grid: (9, 9) or (30, 30)

    def _square_canvas(self, size: int, min_size: int, max_size: int, model: str) -> None:
        """A task whose model may read a smaller square canvas (maze, ARC): size, seq_len and canvas_shape."""
        if not min_size <= size <= max_size:
            raise PuzzleError(f"{model} works on a {min_size}x{min_size} to {max_size}x{max_size} canvas, not "
                              f"{size}x{size}.")
        self.size, self.seq_len, self.canvas_shape = size, size * size, (size, size)

    # --- user input -------------------------------------------------------------------------------------------
    @abstractmethod
    def parse(self, data: Any, filename: str | None = None) -> Puzzle:
        """str | bytes | list of lists | np.ndarray (| PIL image for maze) -> Puzzle, or raise PuzzleError."""

    @abstractmethod
    def validate(self, puzzle: Puzzle) -> list[str]:
        """Raise PuzzleError for input the model cannot run; return notes (warnings) for input it can run anyway."""

    # --- tokens -----------------------------------------------------------------------------------------------
    @abstractmethod
    def encode(self, grid: np.ndarray) -> np.ndarray:
        """Grid -> (seq_len,) int64 tokens in the official encoding (an input or a label)."""

    @abstractmethod
    def decode(self, tokens: np.ndarray) -> np.ndarray:
        """(seq_len,) tokens -> grid in the task's cell codes (ARC: cropped to the predicted output rectangle)."""

    # --- answers ----------------------------------------------------------------------------------------------
    @abstractmethod
    def solve(self, puzzle: Puzzle) -> np.ndarray | None:
        """The correct answer grid, or None when it is unknown or does not exist."""

    def rule_breaks(self, grid: np.ndarray) -> np.ndarray | None:
        """(grid.shape) bool: the cells of an answer that break the puzzle's own rules, whatever the solution (a
        Sudoku digit twice in a row, column or box): an answer can be wrong yet consistent, or incoherent. Default
        None: the task has no such rule to check (an ARC rule is the puzzle)."""
        return None

    def symmetries(self, n: int, seed: int = 0) -> list[Symmetry]:
        """Up to ``n`` meaning-preserving transforms of a puzzle the model was trained on, the identity first (the
        same ones every call with this seed). Default: the identity only. ARC's variants are learned per task, so
        they come from the checkpoint (trm_viz.vote), not from here."""
        return [IDENTITY]

    # --- pictures and examples --------------------------------------------------------------------------------
    @abstractmethod
    def render(self, grid: np.ndarray, puzzle: Puzzle | None = None, cell_px: int = 32):
        """Grid -> PIL.Image (givens drawn distinct when ``puzzle`` is given)."""

    @abstractmethod
    def examples(self) -> dict[str, Puzzle]:
        """The curated examples shipped in assets/, by name."""

    @abstractmethod
    def generate(self, rng: np.random.Generator, **kwargs) -> Puzzle:
        """A fresh puzzle with its solution."""

    @abstractmethod
    def load_data_file(self, source, limit: int | None = None) -> list[Puzzle]:
        """An evaluation data file (a path, or its content) -> puzzles with their solutions when the file has them
        (the first ``limit`` only, when given). Errors name the line / block / task that is wrong."""

    @abstractmethod
    def legend(self) -> list[tuple[int, str, str]]:
        """(cell code, label, CSS colour) for every cell code: the one place the UI learns how cells look.
        Sudoku: digits are drawn as text, so colours are for background; maze/arc: the fill colour."""

    @abstractmethod
    def to_text(self, grid: np.ndarray) -> str:
        """Grid -> the task's plain-text format (parse(to_text(g)) == g)."""
