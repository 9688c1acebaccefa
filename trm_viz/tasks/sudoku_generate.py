"""Random minimal Sudoku puzzles with a unique solution and a difficulty rating, fast enough to build training sets.

Recipe: a random full grid (the solver with candidates tried in random order), then clues removed one at a time in
random order, each removal kept only while the solution stays unique. One pass gives a *minimal* puzzle: a clue
kept once is needed, and removing more clues later can only add solutions. The rating is the solver's guess count
(``sudoku_solver.rating``); ``min_guesses`` keeps only puzzles at least that hard, which is how a harder mix like
Sudoku-Extreme's is reached (most random minimal puzzles need a few guesses; few need many).

The compiled generator lives in sudoku_solver.py, beside the search it calls, because numba's on-disk cache only
notices edits to the file a function is defined in. All randomness lives inside compiled code, seeded per chunk of
puzzles, so a seed gives the same puzzles whatever the number of worker processes.
"""
from __future__ import annotations

import multiprocessing as mp
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import numpy as np
from .sudoku_solver import _generate_many, _random_full_grids

# Puzzles per independently seeded chunk: small enough to spread over 16 workers, large enough that a process
# start (~1 s) is negligible beside it.
CHUNK = 256


def _chunk_seed(seed: int, chunk: int) -> int:
    # SeedSequence mixes (seed, chunk) so neighbouring seeds do not give overlapping streams.
    return int(np.random.SeedSequence([seed, chunk]).generate_state(1)[0] & 0x7FFFFFFF)


def _generate_chunk(job: tuple[int, int, int, int, int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    n, seed, chunk, min_guesses, max_guesses, max_tries = job
    puzzles = np.zeros((n, 81), np.int64)
    solutions = np.zeros((n, 81), np.int64)
    ratings = np.zeros(n, np.int64)
    tries = _generate_many(n, _chunk_seed(seed, chunk), min_guesses, max_guesses, max_tries,
                           puzzles, solutions, ratings)
    return puzzles.astype(np.uint8), solutions.astype(np.uint8), ratings, int(tries)


def _bounds(min_guesses: int, max_guesses: int | None) -> tuple[int, int]:
    if min_guesses < 0 or (max_guesses is not None and max_guesses < min_guesses):
        raise ValueError(f"Need 0 <= min_guesses <= max_guesses; got {min_guesses}, {max_guesses}.")
    return int(min_guesses), -1 if max_guesses is None else int(max_guesses)


def generate_one(seed: int, min_guesses: int = 0, max_guesses: int | None = None, max_tries: int = 2000
                 ) -> tuple[np.ndarray, np.ndarray, int]:
    """One puzzle: (puzzle (81,) uint8, solution (81,) uint8, rating). Bounded time: if none of ``max_tries``
    draws is rated in [min_guesses, max_guesses], the last draw is returned (check its rating)."""
    lo, hi = _bounds(min_guesses, max_guesses)
    p, s, r, _ = _generate_chunk((1, seed, 0, lo, hi, max_tries))
    return p[0], s[0], int(r[0])


def generate_batch(n: int, seed: int = 0, min_guesses: int = 0, max_guesses: int | None = None,
                   workers: int | None = None, max_tries: int = 1_000_000, return_tries: bool = False):
    """``n`` minimal unique puzzles -> (puzzles (n, 81) uint8, solutions (n, 81) uint8, rating (n,) int64).

    ``workers`` processes (default: all CPUs; 1 = this process) each build chunks of CHUNK puzzles. The output
    depends only on (n, seed, min_guesses, max_guesses, max_tries), not on ``workers``. Workers are started with
    "spawn", so this is safe from a process that already holds CUDA or many threads (call it under
    ``if __name__ == "__main__":`` in a script). ``return_tries=True`` adds the number of puzzles drawn in all
    (what a min_guesses filter costs).
    """
    if n < 0:
        raise ValueError("n must be >= 0")
    lo, hi = _bounds(min_guesses, max_guesses)
    jobs = [(min(CHUNK, n - start), seed, c, lo, hi, max_tries) for c, start in enumerate(range(0, n, CHUNK))]
    workers = min(workers or os.cpu_count() or 1, max(len(jobs), 1))
    if workers > 1:
        _generate_chunk((0, seed, 0, lo, hi, 1))  # compile (or load) once here, so workers load the cache, not race
    if workers <= 1:
        parts = [_generate_chunk(j) for j in jobs]
    else:
        try:
            with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn")) as pool:
                parts = list(pool.map(_generate_chunk, jobs))
        except BrokenProcessPool as e:
            raise RuntimeError("generate_batch's worker processes died. Spawned workers re-import the main script: "
                               "call generate_batch under `if __name__ == \"__main__\":`, or pass workers=1.") from e
    puzzles = np.concatenate([p[0] for p in parts]) if parts else np.zeros((0, 81), np.uint8)
    solutions = np.concatenate([p[1] for p in parts]) if parts else np.zeros((0, 81), np.uint8)
    ratings = np.concatenate([p[2] for p in parts]) if parts else np.zeros(0, np.int64)
    if return_tries:
        return puzzles, solutions, ratings, sum(p[3] for p in parts)
    return puzzles, solutions, ratings


def random_full_grids(n: int, seed: int = 0) -> np.ndarray:
    """``n`` random complete Sudoku grids (n, 81) uint8, the same for a seed. Milliseconds per thousand: the
    material for blank_out, with none of a minimal puzzle's clue-removal cost."""
    if n < 0:
        raise ValueError("n must be >= 0")
    grids = np.zeros((n, 81), np.int64)
    _random_full_grids(_chunk_seed(seed, 0), grids)
    return grids.astype(np.uint8)


def blank_out(solutions: np.ndarray, seed: int, min_blanks: int, max_blanks: int
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Puzzles made from full grids by blanking k random cells, k uniform in [min_blanks, max_blanks], keeping only
    those whose solution stays unique (tried again with fewer blanks otherwise).

    Unlike minimal puzzles these keep redundant clues, so they span "easy" (few blanks, singles suffice) to "hard":
    a curriculum for small models that cannot yet learn minimal puzzles. Returns (puzzles, solutions, rating)."""
    from .sudoku_solver import solve_batch

    if not 1 <= min_blanks <= max_blanks <= 64:
        raise ValueError(f"Need 1 <= min_blanks <= max_blanks <= 64; got {min_blanks}, {max_blanks}.")
    rng = np.random.default_rng(seed)
    sol = np.asarray(solutions, np.uint8).reshape(-1, 81)
    blanks = rng.integers(min_blanks, max_blanks + 1, len(sol))
    puzzles = sol.copy()
    todo = np.arange(len(sol))
    rating = np.zeros(len(sol), np.int64)
    while todo.size:
        order = rng.random((todo.size, 81)).argsort(1)
        cand = sol[todo].copy()
        cand[order < blanks[todo, None]] = 0   # order is a random permutation per row: k random cells
        _, nsol, guesses = solve_batch(cand)
        ok = nsol == 1
        puzzles[todo[ok]], rating[todo[ok]] = cand[ok], guesses[ok]
        blanks[todo[~ok]] = np.maximum(1, blanks[todo[~ok]] - 1)  # ambiguous: retry with one blank fewer
        todo = todo[~ok]
    return puzzles, sol.copy(), rating
