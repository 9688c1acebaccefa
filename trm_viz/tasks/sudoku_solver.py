"""Exact Sudoku search: bitmask backtracking on the most constrained cell, compiled with numba.

Every digit set is a 10-bit mask (bit d = digit d is used in that row/column/box). Each search node first places
every *single* (naked: a cell with one candidate; hidden: a digit with one possible cell in a row, column or box),
then branches on an empty cell with the fewest candidates and tries them in turn. No other human technique: the
number of *guesses* (digits tried in branch cells while finding every solution, which proves uniqueness) is the
puzzle's difficulty rating, 0 meaning "singles alone solve it".

Grids are 81 cells in row-major order, 0 = blank, 1..9 = digit. Public functions accept (81,) or (9, 9) input.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

# Placements after which a search gives up. The famous hardest puzzles need a few thousand; this only guards the
# app against a pathological input (a sparse grid hiding a contradiction), about a second of search here.
MAX_NODES = 5_000_000

_CELL_ROW = np.arange(81, dtype=np.int64) // 9
_CELL_COL = np.arange(81, dtype=np.int64) % 9
_CELL_BOX = (_CELL_ROW // 3) * 3 + _CELL_COL // 3
# The 27 units (9 rows, 9 columns, 9 boxes) as lists of cell indices.
_UNITS = np.array([[i for i in range(81) if key(i) == u] for key in (lambda i: i // 9, lambda i: i % 9,
                   lambda i: (i // 27) * 3 + (i % 9) // 3) for u in range(9)], dtype=np.int64)
_POPCOUNT = np.array([bin(m).count("1") for m in range(1024)], dtype=np.int64)
_DIGIT_OF_BIT = np.array([m.bit_length() - 1 if m and m & (m - 1) == 0 else 0 for m in range(1024)], np.int64)
_ALL_DIGITS = 0x3FE  # bits 1..9


@njit(cache=True, inline="always")
def _candidates(i, rows, cols, boxes, ban_cell, ban_digit):
    m = ~(rows[_CELL_ROW[i]] | cols[_CELL_COL[i]] | boxes[_CELL_BOX[i]]) & _ALL_DIGITS
    if i == ban_cell:
        m &= ~(1 << ban_digit)
    return m


@njit(cache=True, inline="always")
def _place(i, bit, cells, rows, cols, boxes, trail, tpos):
    cells[i] = _DIGIT_OF_BIT[bit]
    rows[_CELL_ROW[i]] |= bit
    cols[_CELL_COL[i]] |= bit
    boxes[_CELL_BOX[i]] |= bit
    trail[tpos] = i
    return tpos + 1


@njit(cache=True)
def _propagate(cells, rows, cols, boxes, trail, tpos, ban_cell, ban_digit):
    """Place naked singles (a cell with one candidate) and hidden singles (a digit with one possible cell in a
    unit) until none is left. Returns (trail position, False on a contradiction)."""
    progress = True
    while progress:
        progress = False
        for i in range(81):
            if cells[i] == 0:
                m = _candidates(i, rows, cols, boxes, ban_cell, ban_digit)
                if m == 0:
                    return tpos, False
                if m & (m - 1) == 0:
                    tpos = _place(i, m, cells, rows, cols, boxes, trail, tpos)
                    progress = True
        for u in range(27):
            once, twice, used = 0, 0, 0  # digits possible in >= 1 / >= 2 empty cells, digits already placed
            for k in range(9):
                i = _UNITS[u, k]
                if cells[i] != 0:
                    used |= 1 << cells[i]
                else:
                    m = _candidates(i, rows, cols, boxes, ban_cell, ban_digit)
                    twice |= once & m
                    once |= m
            if (once | used) != _ALL_DIGITS:
                return tpos, False  # a digit has no place left in this unit
            single = once & ~twice
            if single == 0:
                continue
            for k in range(9):
                i = _UNITS[u, k]
                if cells[i] == 0:
                    m = _candidates(i, rows, cols, boxes, ban_cell, ban_digit) & single
                    if m & (m - 1):
                        return tpos, False  # one cell is the only home of two digits
                    if m:
                        tpos = _place(i, m, cells, rows, cols, boxes, trail, tpos)
                        progress = True
    return tpos, True


@njit(cache=True)
def _search(grid, limit, max_nodes, solutions, randomize, ban_cell, ban_digit):
    """Depth-first search for up to ``limit`` solutions of ``grid`` (81 ints, 0 blank).

    Each node places all singles, then branches on the empty cell with the fewest candidates. Writes the
    solutions found into ``solutions[:count]``. ``randomize`` tries candidates in random order (numba's own
    generator, seeded with np.random.seed inside compiled code) to build random full grids. ``ban_cell`` /
    ``ban_digit`` forbid one digit in one cell (-1: none): the generator's uniqueness test asks "is there a
    solution whose cell i differs from the known one?", which is cheaper than counting to two.
    Returns (count, guesses, nodes, complete): guesses = digits tried in branch cells, nodes = all placements,
    complete = False when max_nodes stopped the search first.
    """
    rows = np.zeros(9, np.int64)
    cols = np.zeros(9, np.int64)
    boxes = np.zeros(9, np.int64)
    cells = np.zeros(81, np.int64)
    trail = np.zeros(81, np.int64)  # cells placed since the start, in order, so a branch can be undone
    for i in range(81):
        d = grid[i]
        if d == 0:
            continue
        bit = 1 << d
        if (rows[_CELL_ROW[i]] | cols[_CELL_COL[i]] | boxes[_CELL_BOX[i]]) & bit or (
                i == ban_cell and d == ban_digit):
            return 0, 0, 0, True  # clashing clues: no solution, nothing to search
        _place(i, bit, cells, rows, cols, boxes, trail, 0)

    frame_tpos = np.zeros(82, np.int64)
    frame_cell = np.zeros(82, np.int64)
    frame_cand = np.zeros(82, np.int64)
    depth, count, guesses = 0, 0, 0
    tpos, ok = _propagate(cells, rows, cols, boxes, trail, 0, ban_cell, ban_digit)
    nodes = tpos
    while True:
        if ok:  # consistent after propagation: a solution, or branch on the most constrained cell
            best, best_n, best_mask = -1, 10, 0
            for i in range(81):
                if cells[i] == 0:
                    m = _candidates(i, rows, cols, boxes, ban_cell, ban_digit)
                    if _POPCOUNT[m] < best_n:
                        best, best_n, best_mask = i, _POPCOUNT[m], m
                        if best_n == 2:
                            break
            if best < 0:
                solutions[count, :] = cells
                count += 1
                if count >= limit:
                    return count, guesses, nodes, True
            else:
                frame_tpos[depth] = tpos
                frame_cell[depth] = best
                frame_cand[depth] = best_mask
                depth += 1
        # Undo the top branch and everything it forced, then try its next candidate (popping exhausted ones).
        while depth > 0:
            top = depth - 1
            while tpos > frame_tpos[top]:
                tpos -= 1
                i = trail[tpos]
                bit = 1 << cells[i]
                rows[_CELL_ROW[i]] ^= bit
                cols[_CELL_COL[i]] ^= bit
                boxes[_CELL_BOX[i]] ^= bit
                cells[i] = 0
            m = frame_cand[top]
            if m == 0:
                depth -= 1
                continue
            bit = m & -m
            if randomize:
                for _ in range(np.random.randint(_POPCOUNT[m])):
                    m ^= bit
                    bit = m & -m
            frame_cand[top] ^= bit
            tpos = _place(frame_cell[top], bit, cells, rows, cols, boxes, trail, tpos)
            guesses += 1
            break
        if depth == 0:
            return count, guesses, nodes, True
        before = tpos
        tpos, ok = _propagate(cells, rows, cols, boxes, trail, tpos, ban_cell, ban_digit)
        nodes += 1 + tpos - before
        if nodes >= max_nodes:
            return count, guesses, nodes, False


@njit(cache=True)
def _solve_batch(grids, limit, max_nodes, solutions, nsolutions, guesses):
    buf = np.zeros((limit, 81), np.int64)
    for k in range(grids.shape[0]):
        count, g, _, complete = _search(grids[k], limit, max_nodes, buf, False, -1, -1)
        nsolutions[k] = count if complete else -1
        guesses[k] = g
        if count > 0:
            solutions[k, :] = buf[0]


# --- generation (compiled here, beside the search it calls: numba's on-disk cache only notices edits to the file a
# function is defined in, so a generator in another file would keep running a stale search) ----------------------
@njit(cache=True)
def _generate_one(min_guesses, max_guesses, max_tries, puzzle, solution):
    """Fill ``puzzle`` / ``solution`` (81 cells each) with a random minimal unique puzzle: a random full grid, then
    clues removed in random order while the solution stays unique. Draws up to ``max_tries`` puzzles until one's
    rating is in [min_guesses, max_guesses] (max_guesses < 0: no upper bound); keeps the last draw otherwise.
    Returns (rating, tries)."""
    buf = np.zeros((2, 81), np.int64)
    empty = np.zeros(81, np.int64)
    guesses = 0
    tries = 0
    while tries < max_tries:
        tries += 1
        _search(empty, 1, MAX_NODES, buf, True, -1, -1)
        solution[:] = buf[0]
        puzzle[:] = buf[0]
        for i in np.random.permutation(81):
            v = puzzle[i]
            puzzle[i] = 0
            # Still unique iff no solution puts anything but v in cell i: any solution with v there is the known
            # one, because every other remaining clue agrees with it.
            count, _, _, complete = _search(puzzle, 1, MAX_NODES, buf, False, i, v)
            if count > 0 or not complete:
                puzzle[i] = v
        _, guesses, _, _ = _search(puzzle, 2, MAX_NODES, buf, False, -1, -1)
        if guesses >= min_guesses and (max_guesses < 0 or guesses <= max_guesses):
            break
    return guesses, tries


@njit(cache=True)
def _generate_many(n, seed, min_guesses, max_guesses, max_tries, puzzles, solutions, ratings):
    np.random.seed(seed)
    tries = 0
    for k in range(n):
        g, t = _generate_one(min_guesses, max_guesses, max_tries, puzzles[k], solutions[k])
        ratings[k] = g
        tries += t
    return tries


@njit(cache=True)
def _random_full_grids(seed, grids):
    """Fill ``grids`` (n, 81) with random complete grids: the search on an empty grid, candidates in random order
    (the first step of _generate_one, without the costly clue removal)."""
    np.random.seed(seed)
    buf = np.zeros((1, 81), np.int64)
    empty = np.zeros(81, np.int64)
    for k in range(grids.shape[0]):
        _search(empty, 1, MAX_NODES, buf, True, -1, -1)
        grids[k, :] = buf[0]


@dataclass
class SearchResult:
    solutions: list[np.ndarray]  # (9, 9) int64 grids, at most ``limit`` of them
    count: int                   # len(solutions); with complete=True and count < limit this is the exact number
    guesses: int                 # digits tried in branch cells (after all singles): the difficulty rating
    nodes: int                   # all placements, forced ones included
    complete: bool               # False when the node budget ran out before the search ended


def as_cells(grid) -> np.ndarray:
    """(81,) or (9, 9) digits -> (81,) int64 cells, refusing anything that is not 81 values in 0..9."""
    g = np.asarray(grid)
    if g.size != 81 or g.ndim not in (1, 2) or (g.ndim == 2 and g.shape != (9, 9)):
        raise ValueError(f"A Sudoku grid has 81 cells (9x9); got shape {g.shape}.")
    g = g.reshape(81).astype(np.int64)
    if g.min() < 0 or g.max() > 9:
        raise ValueError("Sudoku cells must be 0 (blank) or a digit 1-9.")
    return g


def search(grid, limit: int = 2, max_nodes: int = MAX_NODES) -> SearchResult:
    """Find up to ``limit`` solutions (limit 2 proves uniqueness) and rate the puzzle by the guesses needed."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    buf = np.zeros((limit, 81), np.int64)
    count, guesses, nodes, complete = _search(as_cells(grid), limit, max_nodes, buf, False, -1, -1)
    return SearchResult([buf[k].reshape(9, 9).copy() for k in range(count)], int(count), int(guesses),
                        int(nodes), bool(complete))


def count_solutions(grid, limit: int = 2, max_nodes: int = MAX_NODES) -> int:
    """Number of solutions, capped at ``limit``; -1 when the node budget ran out before an answer."""
    r = search(grid, limit, max_nodes)
    return r.count if r.complete or r.count >= limit else -1


def solve_all(grid, limit: int = 2, max_nodes: int = MAX_NODES) -> list[np.ndarray]:
    """Up to ``limit`` solution grids (9, 9)."""
    return search(grid, limit, max_nodes).solutions


def solve_grid(grid, max_nodes: int = MAX_NODES) -> np.ndarray | None:
    """The unique solution as a (9, 9) grid, or None when there is none, several, or the search gave up."""
    r = search(grid, 2, max_nodes)
    return r.solutions[0] if r.complete and r.count == 1 else None


def rating(grid, max_nodes: int = MAX_NODES) -> int:
    """Guesses the search needs to find every solution (and so prove uniqueness): 0 = naked singles suffice."""
    return search(grid, 2, max_nodes).guesses


def solve_batch(grids: np.ndarray, limit: int = 2, max_nodes: int = MAX_NODES
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(B, 81) or (B, 9, 9) grids -> (solutions (B, 81) uint8 (first solution, zeros if none),
    nsolutions (B,) int64 capped at ``limit`` (-1: gave up after max_nodes), guesses (B,) int64)."""
    g = np.asarray(grids)
    if g.ndim < 2 or g.shape[-1] * (g.shape[-2] if g.ndim == 3 else 1) != 81:
        raise ValueError(f"solve_batch wants (B, 81) or (B, 9, 9) grids; got shape {g.shape}.")
    g = g.reshape(g.shape[0], 81).astype(np.int64)
    if g.size and (g.min() < 0 or g.max() > 9):
        raise ValueError("Sudoku cells must be 0 (blank) or a digit 1-9.")
    solutions = np.zeros((len(g), 81), np.int64)
    nsolutions = np.zeros(len(g), np.int64)
    guesses = np.zeros(len(g), np.int64)
    _solve_batch(g, limit, max_nodes, solutions, nsolutions, guesses)
    return solutions.astype(np.uint8), nsolutions, guesses
