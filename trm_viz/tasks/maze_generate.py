"""Maze-Hard-like mazes (30x30 by default, any square size from 5 to 30) with a unique shortest path, compiled with
numba.

Recipe (why each step):
1. A depth-first "recursive backtracker" tree maze on a lattice of (size + 1) // 2 cells per side (15x15 for 30x30;
   cells two grid squares apart, walls between them): a tree has exactly one path between any two cells, so the
   label is never ambiguous.
2. Start S and goal G are placed on cells whose tree distance is >= min_path (HRM/TRM's Maze-Hard filter is a shortest
   path of >= 110 steps): we pick S, run one BFS and draw G among the far cells instead of rejecting whole mazes.
3. A few extra walls between cells are opened to make loops, so that simple wall following or dead-end filling no
   longer solves it; a wall is opened only if every new route through it is longer than the current shortest path,
   which keeps that path the unique shortest one (checked in O(1) from BFS distances from S and from G).

Every maze draws from its own splitmix64 stream seeded by (seed, index), so a batch is identical for any number of
worker threads. Grids use the maze cell codes: 0 wall, 1 open, 2 S, 3 G, 4 path.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange
import numba

SIZE = 30             # the default (Maze-Hard) canvas
MIN_SIZE = 5
WALL, OPEN, START, GOAL, PATH = 0, 1, 2, 3, 4
_DR = np.array([-1, 1, 0, 0], dtype=np.int64)
_DC = np.array([0, 0, -1, 1], dtype=np.int64)


@njit(cache=True)
def lattice_cells(size: int) -> int:
    """Cells per side of the lattice on a size x size canvas: 15 cells + 14 walls between them = 29 squares (+1 spare
    border row/column) on 30x30; an odd size has no spare."""
    return (size + 1) // 2


@njit(cache=True)
def _rand(state: np.ndarray) -> np.uint64:
    """splitmix64: tiny, fast, and good enough for shuffling; state is a uint64[1]."""
    state[0] += np.uint64(0x9E3779B97F4A7C15)
    z = state[0]
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@njit(cache=True)
def _randint(state: np.ndarray, n: int) -> int:
    return np.int64(_rand(state) % np.uint64(n))   # modulo bias < n / 2**64: irrelevant here


@njit(cache=True)
def _bfs(grid: np.ndarray, sr: int, sc: int, dist: np.ndarray, queue: np.ndarray) -> None:
    """Shortest step counts from (sr, sc) through non-wall squares; -1 where unreachable."""
    n = grid.shape[0]
    dist[:] = -1
    dist[sr, sc] = 0
    queue[0] = sr * n + sc
    head, tail = 0, 1
    while head < tail:
        v = queue[head]
        head += 1
        r, c = v // n, v % n
        for k in range(4):
            nr, nc = r + _DR[k], c + _DC[k]
            if 0 <= nr < n and 0 <= nc < n and grid[nr, nc] != WALL and dist[nr, nc] < 0:
                dist[nr, nc] = dist[r, c] + 1
                queue[tail] = nr * n + nc
                tail += 1


@njit(cache=True)
def _relax_from(grid: np.ndarray, r: int, c: int, dist: np.ndarray, queue: np.ndarray) -> None:
    """Update BFS distances after square (r, c) was opened: only squares that get closer change, so a BFS from
    (r, c) that stops where nothing improves replaces a full recomputation (~5x faster in the generator)."""
    n = grid.shape[0]
    best = -1
    for k in range(4):
        nr, nc = r + _DR[k], c + _DC[k]
        if 0 <= nr < n and 0 <= nc < n and dist[nr, nc] >= 0 and (best < 0 or dist[nr, nc] + 1 < best):
            best = dist[nr, nc] + 1
    dist[r, c] = best
    if best < 0:
        return
    queue[0] = r * n + c
    head, tail = 0, 1
    while head < tail:
        v = queue[head]
        head += 1
        vr, vc = v // n, v % n
        for k in range(4):
            nr, nc = vr + _DR[k], vc + _DC[k]
            if 0 <= nr < n and 0 <= nc < n and grid[nr, nc] != WALL and (
                    dist[nr, nc] < 0 or dist[nr, nc] > dist[vr, vc] + 1):
                dist[nr, nc] = dist[vr, vc] + 1
                queue[tail] = nr * n + nc
                tail += 1


@njit(cache=True)
def _carve_tree(grid: np.ndarray, off_r: int, off_c: int, state: np.ndarray) -> None:
    """Recursive backtracker over the cell lattice whose cell (i, j) sits at (off_r + 2i, off_c + 2j)."""
    cells = lattice_cells(grid.shape[0])
    grid[:] = WALL
    seen = np.zeros((cells, cells), dtype=np.bool_)
    stack = np.empty(cells * cells, dtype=np.int64)
    options = np.empty(4, dtype=np.int64)
    i, j = _randint(state, cells), _randint(state, cells)
    seen[i, j] = True
    grid[off_r + 2 * i, off_c + 2 * j] = OPEN
    stack[0] = i * cells + j
    top = 1
    while top > 0:
        i, j = stack[top - 1] // cells, stack[top - 1] % cells
        n = 0
        for k in range(4):
            ni, nj = i + _DR[k], j + _DC[k]
            if 0 <= ni < cells and 0 <= nj < cells and not seen[ni, nj]:
                options[n] = k
                n += 1
        if n == 0:
            top -= 1
            continue
        k = options[_randint(state, n)]
        ni, nj = i + _DR[k], j + _DC[k]
        seen[ni, nj] = True
        grid[off_r + i + ni, off_c + j + nj] = OPEN          # the wall square between the two cells
        grid[off_r + 2 * ni, off_c + 2 * nj] = OPEN
        stack[top] = ni * cells + nj
        top += 1


@njit(cache=True)
def _generate_one(seed: np.uint64, index: np.uint64, min_path: int, n_extra: int,
                  puzzle: np.ndarray, label: np.ndarray) -> int:
    """Fill puzzle/label (size x size uint8) with one maze; return its shortest path length in steps, or -1 on
    failure."""
    size = puzzle.shape[0]
    cells = lattice_cells(size)
    spare = size - (2 * cells - 1)      # 1 on an even canvas, 0 on an odd one
    state = np.empty(1, dtype=np.uint64)
    state[0] = seed * np.uint64(0xD1B54A32D192ED03) ^ (index + np.uint64(1)) * np.uint64(0x8CB92BA72F3D8DD7)
    _rand(state)
    grid = np.empty((size, size), dtype=np.uint8)
    d_s = np.empty((size, size), dtype=np.int64)
    d_g = np.empty((size, size), dtype=np.int64)
    queue = np.empty(size * size, dtype=np.int64)
    far = np.empty(cells * cells, dtype=np.int64)
    walls = np.empty(size * size, dtype=np.int64)
    for _attempt in range(50):
        # the spare border row/column on either side
        off_r, off_c = _randint(state, spare + 1), _randint(state, spare + 1)
        _carve_tree(grid, off_r, off_c, state)
        for _try_start in range(8):
            sr = off_r + 2 * _randint(state, cells)
            sc = off_c + 2 * _randint(state, cells)
            _bfs(grid, sr, sc, d_s, queue)
            n_far = 0
            for i in range(cells):
                for j in range(cells):
                    if d_s[off_r + 2 * i, off_c + 2 * j] >= min_path:
                        far[n_far] = i * cells + j
                        n_far += 1
            if n_far > 0:
                break
        if n_far == 0:
            continue
        g = far[_randint(state, n_far)]
        gr, gc = off_r + 2 * (g // cells), off_c + 2 * (g % cells)
        length = d_s[gr, gc]
        _bfs(grid, gr, gc, d_g, queue)
        # Loops: try the closed walls between two cells in random order; open one only if every route through it is
        # longer than `length`, so the shortest path stays the same single path.
        n_walls = 0
        for rr in range(2 * cells - 1):
            for cc in range(2 * cells - 1):
                if rr % 2 != cc % 2 and grid[off_r + rr, off_c + cc] == WALL:   # between two cells, closed
                    walls[n_walls] = (off_r + rr) * size + off_c + cc
                    n_walls += 1
        opened = 0
        for w in range(n_walls):
            if opened >= n_extra:
                break
            pick = w + _randint(state, n_walls - w)           # Fisher-Yates, drawn lazily
            walls[w], walls[pick] = walls[pick], walls[w]
            r, c = walls[w] // size, walls[w] % size
            if (r - off_r) % 2 == 1:
                ar, ac, br, bc = r - 1, c, r + 1, c          # wall between two vertically adjacent cells
            else:
                ar, ac, br, bc = r, c - 1, r, c + 1
            via = min(d_s[ar, ac] + 2 + d_g[br, bc], d_s[br, bc] + 2 + d_g[ar, ac])
            if via <= length:
                continue
            grid[r, c] = OPEN
            opened += 1
            _relax_from(grid, r, c, d_s, queue)               # distances only shrink: refresh before the next test
            _relax_from(grid, r, c, d_g, queue)
        puzzle[:, :] = grid
        puzzle[sr, sc] = START
        puzzle[gr, gc] = GOAL
        label[:, :] = puzzle
        # Walk back from G along strictly decreasing distance from S: unique, since the shortest path is.
        r, c = gr, gc
        while d_s[r, c] > 1:
            for k in range(4):
                nr, nc = r + _DR[k], c + _DC[k]
                if 0 <= nr < size and 0 <= nc < size and d_s[nr, nc] == d_s[r, c] - 1 and grid[nr, nc] != WALL:
                    r, c = nr, nc
                    break
            label[r, c] = PATH
        return length
    return -1


@njit(cache=True, parallel=True)
def _generate_many(seed: np.uint64, n: int, min_path: int, n_extra: int,
                   puzzles: np.ndarray, labels: np.ndarray, lengths: np.ndarray) -> None:
    for i in prange(n):
        lengths[i] = _generate_one(seed, np.uint64(i), min_path, n_extra, puzzles[i], labels[i])


def hard_min_path(size: int) -> int:
    """Maze-Hard's filter (a shortest path of >= 110 steps on 30x30), scaled by the number of lattice cells."""
    return max(1, round(110 * lattice_cells(size) ** 2 / lattice_cells(SIZE) ** 2))


def extra_walls(size: int) -> int:
    """Walls opened for loops: 27 on 30x30 (~14% of the closed ones), scaled by the number of lattice cells."""
    return round(27 * lattice_cells(size) ** 2 / lattice_cells(SIZE) ** 2)


def max_min_path(size: int) -> int:
    """The longest min_path accepted on a size x size canvas. A tree of c x c cells has paths of at most
    2 (c^2 - 1) steps (448 on 30x30); DFS mazes rarely come within a third of that, so refuse early rather than
    loop (300 on 30x30)."""
    return max(1, 2 * (lattice_cells(size) ** 2 - 1) * 2 // 3)


def _check_args(min_path: int, n_extra: int, size: int) -> None:
    if not MIN_SIZE <= size <= SIZE:
        raise ValueError(f"size must be between {MIN_SIZE} and {SIZE}, got {size}.")
    if not 1 <= min_path <= max_min_path(size):
        raise ValueError(f"min_path must be between 1 and {max_min_path(size)} steps on a {size}x{size} canvas, "
                         f"got {min_path}.")
    if not 0 <= n_extra <= 200:
        raise ValueError(f"n_extra must be between 0 and 200 walls, got {n_extra}.")


def generate_maze(seed: int, index: int = 0, min_path: int | None = None, n_extra: int | None = None,
                  size: int = SIZE) -> tuple[np.ndarray, np.ndarray, int]:
    """One maze: (puzzle (size,size) uint8, label with the path marked 4, shortest path length in steps).
    min_path and n_extra default to hard_min_path(size) and extra_walls(size) (110 and 27 on 30x30)."""
    min_path = hard_min_path(size) if min_path is None else min_path
    n_extra = extra_walls(size) if n_extra is None else n_extra
    _check_args(min_path, n_extra, size)
    puzzle = np.empty((size, size), dtype=np.uint8)
    label = np.empty((size, size), dtype=np.uint8)
    length = _generate_one(np.uint64(seed % 2**64), np.uint64(index % 2**64), min_path, n_extra, puzzle, label)
    if length < 0:
        raise ValueError(f"Could not make a maze with a path of >= {min_path} steps; try a smaller min_path.")
    return puzzle, label, int(length)


def generate_batch(n: int, seed: int, min_path: int | None = None, workers: int | None = None,
                   n_extra: int | None = None, size: int = SIZE) -> tuple[np.ndarray, np.ndarray]:
    """n mazes as (inputs (n,size,size) uint8, labels (n,size,size) uint8) in maze cell codes; maze i equals
    generate_maze(seed, i, ..., size=size), whatever ``workers`` (threads, default all numba threads) is."""
    min_path = hard_min_path(size) if min_path is None else min_path
    n_extra = extra_walls(size) if n_extra is None else n_extra
    _check_args(min_path, n_extra, size)
    puzzles = np.empty((n, size, size), dtype=np.uint8)
    labels = np.empty((n, size, size), dtype=np.uint8)
    lengths = np.empty(n, dtype=np.int64)
    previous = numba.get_num_threads()
    numba.set_num_threads(max(1, min(workers or numba.config.NUMBA_NUM_THREADS, numba.config.NUMBA_NUM_THREADS)))
    try:
        _generate_many(np.uint64(seed % 2**64), n, min_path, n_extra, puzzles, labels, lengths)
    finally:
        numba.set_num_threads(previous)
    if n and lengths.min() < 0:
        raise ValueError(f"Could not make a maze with a path of >= {min_path} steps; try a smaller min_path.")
    return puzzles, labels
