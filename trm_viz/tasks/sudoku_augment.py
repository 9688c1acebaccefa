"""The Sudoku symmetries that keep a valid grid valid: relabel digits, permute bands (groups of 3 rows) and stacks
(groups of 3 columns), permute rows inside a band and columns inside a stack, transpose.

Same order as the official dataset builder: transpose first, then move cells, then relabel digits. Grids are cell
codes (0 blank, 1..9 digits) with the 9x9 board on the last two axes, so a stack of grids takes one transform at once.
This per-grid form maps a puzzle and an answer back and forth (app, tests); training augments whole batches on the
device with its own draws (trm_viz.train.augment.sudoku_augment).
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


def _line_perm(rng: np.random.Generator) -> np.ndarray:
    """A (9,) permutation that shuffles the 3 groups of 3 lines and the 3 lines inside each group."""
    groups = rng.permutation(3)
    inside = np.stack([rng.permutation(3) for _ in range(3)])
    return (groups[:, None] * 3 + inside).reshape(9)


def random_augmentation(rng: np.random.Generator) -> SudokuAug:
    """One random validity-preserving symmetry (training draws its own on the device: trm_viz.train.augment)."""
    digit_map = np.concatenate([[0], 1 + rng.permutation(9)])
    return SudokuAug(digit_map, _line_perm(rng), _line_perm(rng), bool(rng.random() < 0.5))
