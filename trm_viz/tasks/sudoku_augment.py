"""The Sudoku symmetries that keep a valid grid valid: relabel digits, permute bands (groups of 3 rows) and stacks
(groups of 3 columns), permute rows inside a band and columns inside a stack, transpose.

Same order as the official dataset builder: transpose first, then move cells, then relabel digits. Grids are cell
codes (0 blank, 1..9 digits) with the 9x9 board on the last two axes, so a whole batch transforms at once.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SudokuAug:
    digit_map: np.ndarray  # (10,): new digit for each old one; digit_map[0] == 0 keeps blanks blank
    row_perm: np.ndarray   # (9,): output row r is input row row_perm[r] (after the optional transpose)
    col_perm: np.ndarray   # (9,): likewise for columns
    transpose: bool

    def apply(self, grid: np.ndarray) -> np.ndarray:
        g = np.asarray(grid)
        if self.transpose:
            g = np.swapaxes(g, -1, -2)
        g = g[..., self.row_perm, :][..., :, self.col_perm]
        return self.digit_map[g].astype(np.asarray(grid).dtype)

    def invert(self, grid: np.ndarray) -> np.ndarray:
        """The inverse transform: invert(apply(g)) == g, so an answer for the augmented puzzle maps back."""
        g = np.asarray(grid)
        g = np.argsort(self.digit_map)[g]  # digit_map is a permutation of 0..9, argsort is its inverse
        g = g[..., np.argsort(self.row_perm), :][..., :, np.argsort(self.col_perm)]
        if self.transpose:
            g = np.swapaxes(g, -1, -2)
        return np.ascontiguousarray(g).astype(np.asarray(grid).dtype)

    @staticmethod
    def identity() -> "SudokuAug":
        return SudokuAug(np.arange(10), np.arange(9), np.arange(9), False)


def _line_perms(rng: np.random.Generator, batch: int) -> np.ndarray:
    """(batch, 9) permutations that shuffle the 3 groups of 3 and the 3 lines inside each group."""
    groups = np.argsort(rng.random((batch, 3)), axis=1)
    inside = np.argsort(rng.random((batch, 3, 3)), axis=2)
    return (groups[:, :, None] * 3 + inside).reshape(batch, 9)


def _digit_maps(rng: np.random.Generator, batch: int) -> np.ndarray:
    maps = np.zeros((batch, 10), np.int64)
    maps[:, 1:] = 1 + np.argsort(rng.random((batch, 9)), axis=1)
    return maps


def random_augmentation(rng: np.random.Generator) -> SudokuAug:
    return SudokuAug(_digit_maps(rng, 1)[0], _line_perms(rng, 1)[0], _line_perms(rng, 1)[0], bool(rng.random() < 0.5))


def augment_batch(inputs: np.ndarray, labels: np.ndarray, rng: np.random.Generator, tokens: bool = False
                  ) -> tuple[np.ndarray, np.ndarray]:
    """An independent random symmetry per example, the same one for its input and its label.

    ``inputs`` / ``labels``: (B, 9, 9) or (B, 81) cell codes (0 blank, 1..9), or with ``tokens=True`` the official
    tokens (1 blank, d + 1 for digit d). Returns arrays of the same shapes and dtypes.
    """
    x, y = np.asarray(inputs), np.asarray(labels)
    if x.shape != y.shape or x.ndim not in (2, 3) or x.shape[1:] not in ((81,), (9, 9)):
        raise ValueError(f"augment_batch wants matching (B, 9, 9) or (B, 81) arrays; got {x.shape} and {y.shape}.")
    batch = x.shape[0]
    shift = 1 if tokens else 0
    rows, cols = _line_perms(rng, batch), _line_perms(rng, batch)
    maps = _digit_maps(rng, batch)
    flip = rng.random(batch) < 0.5
    b = np.arange(batch)[:, None, None]

    def transform(g: np.ndarray) -> np.ndarray:
        cells = g.reshape(batch, 9, 9).astype(np.int64) - shift
        cells = np.where(flip[:, None, None], cells.transpose(0, 2, 1), cells)
        cells = cells[b, rows[:, :, None], cols[:, None, :]]
        cells = np.take_along_axis(maps, np.clip(cells, 0, 9).reshape(batch, 81), axis=1)
        return (cells + shift).reshape(g.shape).astype(g.dtype)

    return transform(x), transform(y)
