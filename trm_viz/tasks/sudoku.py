"""Sudoku: 9x9 grids of cell codes 0 (blank) and 1..9, the official 81-token encoding, and everything the app,
trace and trainer need about the puzzle (parse, validate, solve, generate, augment, draw, examples).

Pieces live in sibling modules: sudoku_parse (input formats, data files), sudoku_solver (compiled exact search and
generator), sudoku_generate (parallel batches), sudoku_augment (validity-preserving symmetries).
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from . import sudoku_solver
from .base import IDENTITY, Puzzle, PuzzleError, Symmetry, Task
from .sudoku_augment import random_augmentation
from .sudoku_generate import blank_out, generate_one
from .sudoku_parse import _check_solution, clashes, load_data_file, parse as parse_sudoku

ASSETS = Path(__file__).resolve().parents[2] / "assets" / "sudoku"

GIVEN_COLOUR = "#111111"     # clues: dark, bold
FILLED_COLOUR = "#1f5fbf"    # digits the model (or solver) wrote: blue
CHANGED_GIVEN_COLOUR = "#c62828"  # a clue overwritten by the model: red, it broke the puzzle
# Background tints for a "colour by digit" view (digits themselves are drawn as text).
DIGIT_COLOURS = ("#ffffff", "#fde2e2", "#fdebd3", "#fdf6c8", "#e2f5d9", "#d6f1ee",
                 "#dbe9fb", "#e5e0fa", "#f6dcf1", "#ececec")

__all__ = ["SudokuTask", "TASK", "SudokuAug", "random_augmentation", "generate_batch",
           "load_data_file", "conflicts", "is_solved", "clashes", "count_solutions", "solve_all", "solve_batch"]


def conflicts(grid: np.ndarray) -> np.ndarray:
    """(9, 9) bool: cells whose digit repeats in their row, column or box (the "broken" cells of an answer)."""
    g = np.asarray(grid).reshape(9, 9)
    bad = np.zeros((9, 9), bool)
    boxes = g.reshape(3, 3, 3, 3).transpose(0, 2, 1, 3).reshape(9, 9)  # box-major view
    for d in range(1, 10):
        hit = g == d
        bad |= hit & (hit.sum(1, keepdims=True) > 1)
        bad |= hit & (hit.sum(0, keepdims=True) > 1)
        box_hit = (boxes == d).sum(1) > 1  # (9,) boxes with d twice
        bad |= hit & np.repeat(np.repeat(box_hit.reshape(3, 3), 3, 0), 3, 1)
    return bad


def is_solved(grid: np.ndarray, puzzle: Puzzle | None = None) -> bool:
    """A full grid that breaks no rule and keeps every clue of ``puzzle`` (right even when the puzzle has several
    solutions and the answer is not the stored one)."""
    g = np.asarray(grid).reshape(9, 9)
    if g.min() < 1 or g.max() > 9 or conflicts(g).any():
        return False
    return puzzle is None or bool(np.all((puzzle.grid == 0) | (puzzle.grid == g)))


@lru_cache(maxsize=8)
def _font(size: int, bold: bool) -> ImageFont.ImageFont:
    for name in (("DejaVuSans-Bold.ttf", "LiberationSans-Bold.ttf") if bold
                 else ("DejaVuSans.ttf", "LiberationSans-Regular.ttf")):
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return ImageFont.load_default(size=size)  # Pillow's bundled scalable font: no system fonts on the machine


class SudokuTask(Task):
    name = "sudoku"
    vocab_size = 11          # pad 0, blank 1, digits 1..9 -> 2..10
    seq_len = 81
    canvas_shape = (9, 9)

    # --- user input -------------------------------------------------------------------------------------------
    def parse(self, data: Any, filename: str | None = None) -> Puzzle:
        return parse_sudoku(data, filename)

    def validate(self, puzzle: Puzzle) -> list[str]:
        """Refuse clashing clues or a wrong stated solution; note (and keep runnable) puzzles with no solution or
        several. The notes are also stored in ``puzzle.notes``."""
        g = np.asarray(puzzle.grid)
        if g.shape != (9, 9):
            raise PuzzleError(f"A Sudoku grid is 9x9; this one is {'x'.join(map(str, g.shape))}.")
        if g.min() < 0 or g.max() > 9:
            raise PuzzleError("Sudoku cells must be blank (0) or a digit 1-9.")
        problems = clashes(g)
        if problems:
            raise PuzzleError("These clues break the rules: " + "; ".join(problems[:6])
                              + (f"; and {len(problems) - 6} more" if len(problems) > 6 else "") + ".")
        if puzzle.solution is not None:
            _check_solution(puzzle)
        notes = []
        result = sudoku_solver.search(g, limit=2)
        n_clues = int((g != 0).sum())
        if result.count == 0 and result.complete:
            notes.append("This puzzle has no solution: the clues do not clash directly, but no way of filling the "
                         "grid obeys the rules. The model can still try it; every answer will break a rule.")
        elif result.count == 0:
            notes.append("The solver gave up before finding a solution, so this puzzle may have none.")
        elif result.count > 1:
            notes.append(f"This puzzle has several solutions ({n_clues} clues; a proper Sudoku has exactly one). "
                         "An answer counts as right when it breaks no rule and keeps the clues.")
        puzzle.notes = notes
        return notes

    # --- tokens -----------------------------------------------------------------------------------------------
    def encode(self, grid: np.ndarray) -> np.ndarray:
        """(9, 9) or (81,) cells -> (81,) tokens: blank -> 1, digit d -> d + 1 (pad 0 is never used)."""
        g = np.asarray(grid)
        if g.size != 81:
            raise PuzzleError(f"A Sudoku grid has 81 cells; got {g.size}.")
        g = g.reshape(81).astype(np.int64)
        if g.min() < 0 or g.max() > 9:
            raise PuzzleError("Sudoku cells must be blank (0) or a digit 1-9.")
        return g + 1

    def decode(self, tokens: np.ndarray) -> np.ndarray:
        """(..., 81) tokens -> (..., 9, 9) cells: token t -> digit t - 1; pad 0 and blank 1 -> 0 (blank)."""
        t = np.asarray(tokens).astype(np.int64)
        if t.shape[-1:] != (81,):
            raise PuzzleError(f"Sudoku tokens come in rows of 81; got shape {t.shape}.")
        return np.where(t >= 2, np.minimum(t, 10) - 1, 0).reshape(*t.shape[:-1], 9, 9)

    # --- answers ----------------------------------------------------------------------------------------------
    def solve(self, puzzle: Puzzle) -> np.ndarray | None:
        """The unique solution, or None when the puzzle has none or several."""
        g = np.asarray(puzzle.grid)
        if g.shape != (9, 9) or clashes(g):
            return None
        return sudoku_solver.solve_grid(g)

    def rule_breaks(self, grid: np.ndarray) -> np.ndarray | None:
        """The digits that repeat in their row, column or box (``conflicts``)."""
        g = np.asarray(grid)
        return conflicts(g) if g.shape == (9, 9) else None

    def generate(self, rng: np.random.Generator, min_guesses: int = 0, max_guesses: int | None = None,
                 blanks: tuple[int, int] | None = None, **kwargs) -> Puzzle:
        """A random minimal puzzle with a unique solution. ``min_guesses`` / ``max_guesses`` bound its rating
        (the solver's guesses beyond singles): max_guesses=0 gives easy puzzles, min_guesses=20 hard ones.
        ``blanks=(lo, hi)`` instead blanks lo..hi random cells of a random full grid (not minimal: warm-ups)."""
        seed = int(rng.integers(2**31 - 1))
        grid, solution, rating = generate_one(seed, min_guesses, max_guesses, **kwargs)
        if blanks is not None:
            grid, _, ratings = blank_out(solution[None], seed, *blanks)
            grid, rating = grid[0], int(ratings[0])
        p = Puzzle("sudoku", grid.reshape(9, 9), solution=solution.reshape(9, 9), givens=grid.reshape(9, 9) != 0,
                   name=f"Generated (rating {rating}, {int((grid != 0).sum())} clues)")
        return p

    def symmetries(self, n: int, seed: int = 0) -> list[Symmetry]:
        """The identity and n - 1 random symmetries of the kind training draws (digits relabelled, bands, stacks,
        rows and columns inside them shuffled, maybe transposed): 3.5 million x 9! of them, so no two repeat."""
        rng = np.random.default_rng(seed)
        augs = [random_augmentation(rng) for _ in range(max(0, n - 1))]
        return [IDENTITY] + [Symmetry(f"symmetry {i + 2}", a.apply, a.invert) for i, a in enumerate(augs)]

    # --- pictures and examples --------------------------------------------------------------------------------
    def render(self, grid: np.ndarray, puzzle: Puzzle | None = None, cell_px: int = 32, *,
               highlight: np.ndarray | None = None, wrong: np.ndarray | None = None) -> Image.Image:
        """The board: thick box lines, clues dark bold, other digits blue, an overwritten clue red.
        ``highlight`` (9x9 bool) tints cells yellow (e.g. changed this step), ``wrong`` tints them red."""
        g = np.asarray(grid).reshape(9, 9)
        cell_px = max(8, int(cell_px))
        pad = max(2, cell_px // 12)
        size = 9 * cell_px + 2 * pad
        img = Image.new("RGB", (size, size), "white")
        draw = ImageDraw.Draw(img)
        for mask, tint in ((highlight, "#fff3b0"), (wrong, "#f8c9c9")):
            if mask is None:
                continue
            for r, c in zip(*np.nonzero(np.asarray(mask).reshape(9, 9))):
                x, y = pad + c * cell_px, pad + r * cell_px
                draw.rectangle((x, y, x + cell_px, y + cell_px), fill=tint)
        givens = puzzle.givens if puzzle is not None and puzzle.givens is not None else np.zeros((9, 9), bool)
        clue = puzzle.grid if puzzle is not None else np.zeros((9, 9), np.int64)
        font_size = int(cell_px * 0.62)
        for r in range(9):
            for c in range(9):
                d = int(g[r, c])
                if not 1 <= d <= 9:
                    continue
                if givens[r, c]:
                    colour, bold = (GIVEN_COLOUR if d == clue[r, c] else CHANGED_GIVEN_COLOUR), True
                else:
                    colour, bold = (FILLED_COLOUR if puzzle is not None else GIVEN_COLOUR), False
                draw.text((pad + (c + 0.5) * cell_px, pad + (r + 0.5) * cell_px), str(d),
                          fill=colour, font=_font(font_size, bold), anchor="mm")
        thin, thick = max(1, cell_px // 32), max(2, cell_px // 11)
        for k in range(10):
            w = thick if k % 3 == 0 else thin
            colour = "#222222" if k % 3 == 0 else "#9e9e9e"
            p = pad + k * cell_px
            draw.line((p, pad - thick // 2, p, size - pad + thick // 2), fill=colour, width=w)
            draw.line((pad - thick // 2, p, size - pad + thick // 2, p), fill=colour, width=w)
        return img

    def load_data_file(self, source, limit: int | None = None) -> list[Puzzle]:
        return load_data_file(source, limit)        # (reading stops there: a test set may have 400k lines)

    def legend(self) -> list[tuple[int, str, str]]:
        return [(0, "blank", DIGIT_COLOURS[0])] + [(d, str(d), DIGIT_COLOURS[d]) for d in range(1, 10)]

    def to_text(self, grid: np.ndarray) -> str:
        g = np.asarray(grid).reshape(9, 9)
        return "\n".join("".join(str(int(v)) if 1 <= v <= 9 else "." for v in row) for row in g)

    def examples(self) -> dict[str, Puzzle]:
        """assets/sudoku/*.txt in file-name order; each file's first '#' line is the example's name. Solutions
        come from the solver (a few ms each)."""
        out: dict[str, Puzzle] = {}
        for path in sorted(ASSETS.glob("*.txt")):
            text = path.read_text(encoding="utf-8")
            first = text.lstrip().splitlines()[0]
            name = first.lstrip("#").strip() if first.startswith("#") else path.stem
            p = self.parse(text, path.name)
            p.name = name
            if p.solution is None:
                p.solution = sudoku_solver.solve_grid(p.grid)
            self.validate(p)
            out[name] = p
        return out


TASK = SudokuTask()
