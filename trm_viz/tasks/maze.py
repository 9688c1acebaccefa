"""Maze: find the shortest path from S to G on a 30x30 grid (the Maze-Hard task of HRM/TRM).

Official encoding: characters "# SGo" -> tokens 1..5, pad 0, the 30x30 grid flattened row by row (vocab 6).
A model may also work on a smaller square canvas (seq_len = size^2, e.g. a 12x12 model trained on CPU):
``maze_task(size)`` is the task for that canvas, ``TASK`` the 30x30 one.
Cell codes here are the token minus one: 0 wall '#', 1 open ' ', 2 start 'S', 3 goal 'G', 4 path 'o'.
The label is the input with the cells of the shortest path (S and G excluded) turned into 'o'.
"""
from __future__ import annotations

import os
from collections import deque
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from .base import Puzzle, PuzzleError, Symmetry, Task
from .common import (DIHEDRAL_NAMES, SNIFF_BYTES, dihedral, grid_from_rows, inverse_dihedral, load_json,
                     looks_like_image, read_source, read_text)
from . import maze_image
from .maze_generate import MIN_SIZE, hard_min_path

SIZE = 30
CHARS = "# SGo"
WALL, OPEN, START, GOAL, PATH = range(5)
ASSETS = Path(__file__).resolve().parents[2] / "assets" / "maze"
COLOURS = {WALL: "#1f2937", OPEN: "#f3f4f6", START: "#2ECC40", GOAL: "#FF4136", PATH: "#0074D9"}
_CHAR_CODE = {"#": WALL, " ": OPEN, ".": OPEN, "S": START, "G": GOAL, "o": PATH}


# --- text --------------------------------------------------------------------------------------------------------
def grid_from_text(text: str, what: str = "maze") -> tuple[np.ndarray, list[str]]:
    """Rows of '#', ' ' or '.', 'S', 'G', 'o' -> codes. Short rows (editors strip trailing spaces) are padded open."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    while lines and lines[0] == "":
        lines.pop(0)
    while lines and lines[-1] == "":
        lines.pop()
    if not lines:
        raise PuzzleError(f"The {what} is empty: write rows of '#' (wall), ' ' or '.' (open), 'S' and 'G'.")
    if len(lines) > SIZE + 2 or max(len(l) for l in lines) > SIZE + 2:   # a model's own canvas: fit_canvas
        raise PuzzleError(f"The {what} is {len(lines)} rows x {max(len(l) for l in lines)} columns; "
                          f"at most {SIZE}x{SIZE} is supported.")
    width = max(len(l) for l in lines)
    grid = np.full((len(lines), width), OPEN, dtype=np.int64)
    notes = []
    for r, line in enumerate(lines):
        for c, ch in enumerate(line):
            if ch not in _CHAR_CODE:
                raise PuzzleError(f"Row {r + 1}, column {c + 1} of the {what} is {ch!r}; use '#' for walls, ' ' or "
                                  f"'.' for open cells, 'S' for the start, 'G' for the goal, 'o' for a path.")
            grid[r, c] = _CHAR_CODE[ch]
    short = [r + 1 for r, l in enumerate(lines) if len(l) < width]
    if short:
        notes.append(f"Rows {_ranges(short)} were shorter than {width} characters; the missing cells were taken as "
                     f"open (trailing spaces are often stripped).")
    return grid, notes


def _ranges(rows: list[int]) -> str:
    return ", ".join(map(str, rows[:8])) + (f" and {len(rows) - 8} more" if len(rows) > 8 else "")


def _by_model(size: int) -> str:
    return "" if size == SIZE else " by this model"


def fit_canvas(grid: np.ndarray, what: str = "maze", size: int = SIZE) -> tuple[np.ndarray, list[str]]:
    """Any maze up to size x size -> the size x size canvas the model works on (centred, walls around it)."""
    notes = []
    h, w = grid.shape
    if h > size or w > size:
        # A 31/32-wide maze often only adds an outer wall ring; the canvas edge blocks moves just as well. Wall rows
        # (columns) go from the two sides in turn (a maze padded evenly comes back centred), or from the one side
        # that has them, until the maze fits.
        for axis in (0, 1):
            turn = 0
            while grid.shape[axis] > size:
                walls = [k for k in (turn, 1 - turn) if (np.take(grid, -k, axis=axis) == WALL).all()]
                if not walls:
                    break
                grid = np.delete(grid, 0 if walls[0] == 0 else grid.shape[axis] - 1, axis=axis)
                turn = 1 - walls[0]
        if grid.shape[0] > size or grid.shape[1] > size:
            raise PuzzleError(f"The {what} is {h}x{w} cells; at most {size}x{size} is supported{_by_model(size)}.")
        notes.append(f"The {what} was {h}x{w}; its outer wall rows/columns were dropped to fit {size}x{size}.")
    h, w = grid.shape
    if (h, w) != (size, size):
        top, left = (size - h) // 2, (size - w) // 2
        grid = np.pad(grid, ((top, size - h - top), (left, size - w - left)), constant_values=WALL).astype(np.int64)
        article = "an" if size in (8, 11, 18) else "a"                       # "an 8x8", "an 18x18"
        centred = (top, left) == (size - h - top, size - w - left)        # not a 7x7 maze on 8x8
        where = "in the middle of" if centred else f"at row {top + 1}, column {left + 1} of"
        notes.append(f"The {h}x{w} {what} was placed {where} {article} {size}x{size} canvas surrounded by walls "
                     f"(the model works on {size}x{size} mazes).")
    return grid, notes


# --- shortest paths ----------------------------------------------------------------------------------------------
def bfs_distances(grid: np.ndarray, start: tuple[int, int]) -> np.ndarray:
    """Steps from ``start`` to every cell through non-wall cells; -1 where unreachable."""
    h, w = grid.shape
    dist = np.full((h, w), -1, dtype=np.int64)
    dist[start] = 0
    queue = deque([start])
    while queue:
        r, c = queue.popleft()
        for nr, nc in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)):
            if 0 <= nr < h and 0 <= nc < w and grid[nr, nc] != WALL and dist[nr, nc] < 0:
                dist[nr, nc] = dist[r, c] + 1
                queue.append((nr, nc))
    return dist


def _find(grid: np.ndarray, code: int) -> list[tuple[int, int]]:
    return [(int(r), int(c)) for r, c in zip(*np.nonzero(grid == code))]


def shortest_paths(grid: np.ndarray) -> tuple[np.ndarray | None, int, int]:
    """(solution grid with one shortest path marked 'o' or None, path length in steps, number of shortest paths).

    The number of shortest paths matters for scoring: the model is trained on one label, so with several equally
    short paths a different but valid answer is counted wrong by exact-match accuracy."""
    grid = np.where(grid == PATH, OPEN, grid)
    starts, goals = _find(grid, START), _find(grid, GOAL)
    if len(starts) != 1 or len(goals) != 1:
        return None, -1, 0
    d_s = bfs_distances(grid, starts[0])
    length = int(d_s[goals[0]])
    if length < 0:
        return None, -1, 0
    d_g = bfs_distances(grid, goals[0])
    # Paths from S counted in BFS layers, restricted to cells on some shortest path (d_s + d_g == length).
    on_path = (d_s >= 0) & (d_g >= 0) & (d_s + d_g == length)
    counts: dict[tuple[int, int], int] = {starts[0]: 1}
    for step in range(1, length + 1):
        for r, c in zip(*np.nonzero(on_path & (d_s == step))):
            counts[(r, c)] = sum(counts.get(p, 0) for p in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1))
                                 if 0 <= p[0] < grid.shape[0] and 0 <= p[1] < grid.shape[1] and d_s[p] == step - 1)
    solution = grid.copy()
    r, c = goals[0]
    while d_s[r, c] > 1:   # walk back towards S; the first neighbour found keeps the choice deterministic
        r, c = next((nr, nc) for nr, nc in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1))
                    if 0 <= nr < grid.shape[0] and 0 <= nc < grid.shape[1] and on_path[nr, nc]
                    and d_s[nr, nc] == d_s[r, c] - 1)
        solution[r, c] = PATH
    return solution, length, int(counts[goals[0]])


# --- the task ----------------------------------------------------------------------------------------------------
class MazeTask(Task):
    name = "maze"
    vocab_size = 6

    def __init__(self, size: int = SIZE):
        self._square_canvas(size, MIN_SIZE, SIZE, "A maze model")
        self.trained_min_path = hard_min_path(size)   # Maze-Hard's >= 110 steps on 30x30, scaled to the canvas

    def parse(self, data: Any, filename: str | None = None) -> Puzzle:
        notes: list[str] = []
        solution = None
        raw = isinstance(data, (bytes, bytearray, memoryview))
        if (hasattr(data, "convert") and hasattr(data, "size")) or (
                raw and looks_like_image(bytes(data[:SNIFF_BYTES]))):
            grid = maze_image.grid_from_image(data)
        elif isinstance(data, (list, tuple, np.ndarray)):
            grid, notes = self._grid_from_values(data)
        else:
            text = read_text(data, "maze")
            if text.lstrip().startswith("["):
                grid, notes = self._grid_from_values(load_json(text, "maze JSON"))
            else:
                lines = text.replace("\r\n", "\n").split("\n")
                cut = [i for i, l in enumerate(lines) if l.strip() == "---"]
                if len(cut) > 1:
                    raise PuzzleError("The maze has more than one '---' line; write the maze, '---', then its "
                                      "solution.")
                grid, notes = grid_from_text("\n".join(lines[:cut[0]] if cut else lines))
                if cut and (grid == PATH).any():
                    raise PuzzleError("The maze above '---' contains path cells 'o'; only the solution may.")
                if cut:
                    solution, more = grid_from_text("\n".join(lines[cut[0] + 1:]), "solution")
                    notes += more
                    if solution.shape != grid.shape:
                        raise PuzzleError(f"The solution is {solution.shape[0]}x{solution.shape[1]} but the maze is "
                                          f"{grid.shape[0]}x{grid.shape[1]}.")
                    _same_maze(grid, solution)
        if (grid == PATH).any():   # a drawn path means the grid is an answer: the puzzle is the same without it
            solution = grid
            grid = np.where(grid == PATH, OPEN, grid)
        grid, more = fit_canvas(grid, size=self.size)
        notes += more
        if solution is not None:
            solution, _ = fit_canvas(solution, "solution", self.size)
        name = Path(filename).stem if filename else ""
        return Puzzle(task=self.name, grid=grid, solution=solution, givens=grid != OPEN, name=name, notes=notes)

    @staticmethod
    def _grid_from_values(values: Any) -> tuple[np.ndarray, list[str]]:
        if isinstance(values, np.ndarray):
            if values.ndim != 2:
                raise PuzzleError(f"A maze array must be 2-D, got shape {values.shape}.")
            values = values.tolist()
        if isinstance(values, list) and values and all(isinstance(v, str) for v in values):
            return grid_from_text("\n".join(values))       # JSON list of row strings
        return grid_from_rows(values, "maze", max_size=SIZE + 2, lo=WALL, hi=PATH), []

    def validate(self, puzzle: Puzzle) -> list[str]:
        """Refuse mazes without exactly one S and one G or without a route; return all notes (parse's too), which
        are also stored in ``puzzle.notes``."""
        grid, size = puzzle.grid, self.size
        if grid.shape != (size, size):
            raise PuzzleError(f"The maze is {grid.shape[0]}x{grid.shape[1]}; the model needs {size}x{size} "
                              f"(parse() pads smaller mazes).")
        if grid.min() < WALL or grid.max() > GOAL:
            raise PuzzleError("The maze may only hold walls, open cells, one S and one G (no path cells).")
        for code, label in ((START, "start 'S'"), (GOAL, "goal 'G'")):
            where = _find(grid, code)
            if len(where) != 1:
                at = ("; found at " + ", ".join(f"row {r + 1} col {c + 1}" for r, c in where[:5])
                      + f" of the {size}x{size} canvas") if where else ""
                raise PuzzleError(f"The maze needs exactly one {label}; it has {len(where)}{at}.")
        solution, length, n_paths = shortest_paths(grid)
        if solution is None:
            raise PuzzleError("The goal G cannot be reached from the start S: every route is blocked by walls.")
        notes = []
        if n_paths > 1:
            notes.append(f"There are {n_paths} different shortest paths ({length} steps); the model is scored against "
                         f"one of them, so another equally short answer would count as wrong.")
        if length < self.trained_min_path:
            notes.append(f"The shortest path has {length} steps; a {size}x{size} maze model is trained on mazes "
                         f"with paths of {self.trained_min_path}+ steps.")
        if puzzle.solution is not None:
            problem = solution_problem(grid, puzzle.solution, length)
            notes += [problem] if problem else []
        # Keep parse's notes (padding, short rows) first; calling validate again adds nothing twice.
        puzzle.notes = list(dict.fromkeys(puzzle.notes + notes))
        return puzzle.notes

    def encode(self, grid: np.ndarray) -> np.ndarray:
        grid = np.asarray(grid, dtype=np.int64)
        if grid.shape != self.canvas_shape:
            grid, _ = fit_canvas(grid, size=self.size)
        if grid.min() < WALL or grid.max() > PATH:
            raise PuzzleError("A maze grid holds cell codes 0-4 only.")
        return (grid + 1).reshape(-1)

    def decode(self, tokens: np.ndarray) -> np.ndarray:
        tokens = np.asarray(tokens, dtype=np.int64).reshape(self.canvas_shape)
        if tokens.min() < 0 or tokens.max() >= self.vocab_size:
            raise ValueError(f"Maze tokens must be 0..{self.vocab_size - 1}.")
        return np.maximum(tokens - 1, WALL)   # pad (0) never appears in a label; shown as wall if predicted

    def solve(self, puzzle: Puzzle) -> np.ndarray | None:
        """The known label when the puzzle came with one, else the BFS shortest path (None if unreachable)."""
        if puzzle.solution is not None:
            return puzzle.solution
        return shortest_paths(puzzle.grid)[0]

    def symmetries(self, n: int, seed: int = 0) -> list[Symmetry]:
        """The first n of the 8 rotations and mirror images of the square canvas (the training augmentation)."""
        return [Symmetry(DIHEDRAL_NAMES[k], lambda g, k=k: dihedral(g, k), lambda g, k=k: inverse_dihedral(g, k))
                for k in range(min(n, 8))]

    def render(self, grid: np.ndarray, puzzle: Puzzle | None = None, cell_px: int | None = None):
        from PIL import Image, ImageDraw

        grid = np.asarray(grid)
        h, w = grid.shape
        cell_px = cell_px or (16 if max(h, w) > 15 else 32)
        palette = np.array([_rgb(COLOURS[k]) for k in range(5)], dtype=np.uint8)
        cells = palette[np.clip(grid, 0, 4)]
        img_arr = np.repeat(np.repeat(cells, cell_px, axis=0), cell_px, axis=1)
        if cell_px >= 8:   # thin grid lines help count cells; the image parser ignores them
            img_arr[::cell_px, :] = img_arr[::cell_px, :] // 4 * 3 + 16
            img_arr[:, ::cell_px] = img_arr[:, ::cell_px] // 4 * 3 + 16
        img = Image.fromarray(img_arr, "RGB")
        if puzzle is not None and puzzle.grid.shape == grid.shape:
            # A model answer that changes a wall, S or G is broken: cross those cells out.
            draw = ImageDraw.Draw(img)
            for r, c in np.argwhere((puzzle.grid != OPEN) & (grid != puzzle.grid)):
                x, y = c * cell_px, r * cell_px
                draw.line([x + 2, y + 2, x + cell_px - 3, y + cell_px - 3], fill="#F012BE", width=2)
                draw.line([x + 2, y + cell_px - 3, x + cell_px - 3, y + 2], fill="#F012BE", width=2)
        return img

    def examples(self) -> dict[str, Puzzle]:
        """The curated mazes of assets/maze that fit this canvas (a 12x12 model gets the small ones)."""
        out = {}
        for path in sorted(ASSETS.glob("*.txt")):
            try:
                puzzle = load_data_file(path, self)[0]
            except PuzzleError:
                if self.size == SIZE:       # every example fits the full canvas: a failure here is a broken file
                    raise
                continue                    # too big for this model's canvas
            puzzle.name = path.stem.split("-", 1)[-1].replace("-", " ")
            out[puzzle.name] = puzzle
        return out

    def generate(self, rng: np.random.Generator, min_path: int | None = None, n_extra: int | None = None,
                 **kwargs) -> Puzzle:
        """A maze like the training data of a model on this canvas (path >= trained_min_path steps)."""
        from .maze_generate import generate_maze

        seed = int(rng.integers(0, 2**63))
        puzzle, label, length = generate_maze(seed, 0, min_path=min_path, n_extra=n_extra, size=self.size)
        grid = puzzle.astype(np.int64)
        return Puzzle(task=self.name, grid=grid, solution=label, givens=grid != OPEN,
                      name=f"generated maze ({length} steps, seed {seed})")

    def load_data_file(self, source, limit: int | None = None) -> list[Puzzle]:
        return load_data_file(source, self)[:limit]

    def legend(self) -> list[tuple[int, str, str]]:
        return [(WALL, "wall #", COLOURS[WALL]), (OPEN, "open", COLOURS[OPEN]), (START, "start S", COLOURS[START]),
                (GOAL, "goal G", COLOURS[GOAL]), (PATH, "path o", COLOURS[PATH])]

    def to_text(self, grid: np.ndarray) -> str:
        return "\n".join("".join(CHARS[int(v)] for v in row) for row in np.asarray(grid))


def solution_problem(grid: np.ndarray, solution: np.ndarray, length: int) -> str | None:
    """Why ``solution`` is not one shortest S-to-G path of ``grid`` (``length`` steps), or None when it is one.
    Raises PuzzleError when it is not even the same maze (walls, S or G changed)."""
    if solution.shape != grid.shape:
        raise PuzzleError(f"The solution is {solution.shape} but the maze is {grid.shape}.")
    _same_maze(grid, solution, f" of the {grid.shape[0]}x{grid.shape[1]} canvas")
    steps = int((solution == PATH).sum()) + 1
    walk = np.where(solution == OPEN, WALL, solution)          # only S, G and the path are walkable
    reached = bfs_distances(walk, _find(grid, START)[0])[_find(grid, GOAL)[0]]
    if reached < 0:
        return (f"The given solution is not a shortest path: its 'o' cells do not connect S to G "
                f"(the shortest path has {length} steps).")
    if steps != length:
        return (f"The given solution is not a shortest path: it marks {steps - 1} 'o' cells, a shortest path "
                f"of {length} steps has {length - 1} (a stray or extra 'o'?).")
    return None


def _same_maze(grid: np.ndarray, solution: np.ndarray, where: str = "") -> None:
    differs = np.argwhere(np.where(solution == PATH, OPEN, solution) != grid)
    if len(differs):
        r, c = differs[0]
        more = f" and at {len(differs) - 1} other cell{'s' if len(differs) > 2 else ''}" if len(differs) > 1 else ""
        raise PuzzleError(f"The solution differs from the maze at row {r + 1}, column {c + 1}{where}{more} "
                          f"('{CHARS[int(solution[r, c])]}' where the maze has '{CHARS[int(grid[r, c])]}'): "
                          f"it may only add 'o' path cells.")


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    return tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))


def load_data_file(path_or_text: str | os.PathLike, task: "MazeTask | None" = None) -> list[Puzzle]:
    """Mazes for evaluation: blocks separated by blank lines, each the maze rows, optionally '---' and the
    solution rows (path marked 'o'). A row that is entirely open must use '.' (a blank line ends a block).

    A given solution must be a shortest path: evaluation scores answers against it, so a wrong label is an error
    here (where the app, for a single puzzle, only notes it)."""
    task = task or TASK
    text, path = read_source(path_or_text, "maze file", limit=None)
    stem = path.stem if path else "maze"
    blocks: list[tuple[int, list[str]]] = []        # (first line number, rows)
    current: list[str] | None = None
    for number, line in enumerate(text.replace("\r\n", "\n").split("\n"), start=1):
        if line.strip() == "":
            current = None
            continue
        if current is None:
            current = []
            blocks.append((number, current))
        current.append(line)
    if not blocks:
        raise PuzzleError("The maze file holds no mazes.")
    puzzles = []
    for i, (first_line, lines) in enumerate(blocks, start=1):
        try:
            puzzle = task.parse("\n".join(lines))
            task.validate(puzzle)
            if puzzle.solution is not None:
                problem = solution_problem(puzzle.grid, puzzle.solution, shortest_paths(puzzle.grid)[1])
                if problem:
                    raise PuzzleError(f"{problem} A data file's solution is the label answers are scored against.")
        except PuzzleError as e:
            raise PuzzleError(f"Maze {i} (line {first_line}): {e}") from None
        puzzle.name = f"{stem} #{i}"
        puzzles.append(puzzle)
    return puzzles


@lru_cache(maxsize=None)
def maze_task(size: int = SIZE) -> MazeTask:
    """The task of a maze model whose canvas is size x size (one instance per size)."""
    return MazeTask(size)


TASK = maze_task(SIZE)
