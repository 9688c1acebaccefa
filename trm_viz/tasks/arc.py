"""ARC-AGI: infer the output grid of a test input; the model knows the task by its puzzle embedding (task id).

Official encoding (dataset/build_arc_dataset.py): a 30x30 canvas, pad 0, end-of-grid marker 1, colour c -> c + 2
(vocab 12). A grid placed at (r0, c0) gets a row of end markers under it and a column of them to its right, each
only as long as the grid's side (no corner marker) and only where the canvas has room. Predictions are read back
as the official evaluator's _crop: the largest top-left rectangle of colour tokens.
Grids are 1..30 x 1..30 arrays of colours 0..9.
A model may also work on a smaller square canvas (seq_len = size^2, e.g. an 8x8 model trained on CPU on the tasks
whose grids fit it): ``arc_task(size)`` is the task for that canvas, ``TASK`` the 30x30 one.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from .arc_aug import ArcAug, parse_name, pass_at_k, vote  # noqa: F401  (the ARC API in one place)
from .arc_data import CURATED, curated_tasks, find_task, load_collection, merge_solutions
from .base import Puzzle, PuzzleError, Task
from .common import grid_from_rows, load_json, read_text, read_source

SIZE = 30
MIN_SIZE = 3
PAD, EOS, COLOUR0 = 0, 1, 2
PALETTE = ("#000000", "#0074D9", "#FF4136", "#2ECC40", "#FFDC00",
           "#AAAAAA", "#F012BE", "#FF851B", "#7FDBFF", "#870C25")
COLOUR_NAMES = ("black", "blue", "red", "green", "yellow", "grey", "magenta", "orange", "light blue", "maroon")
GRID_LINE = (85, 85, 85)
TASK_ID = re.compile(r"^[0-9a-f]{8}$")


# --- tokens ------------------------------------------------------------------------------------------------------
def check_grid(grid: Any, what: str = "grid") -> np.ndarray:
    """The grid as an int64 array, or PuzzleError naming ``what`` when it is not 1..30 x 1..30 colours 0..9."""
    try:
        grid = np.asarray(grid)
    except ValueError:      # ragged rows
        raise PuzzleError(f"The {what} has rows of different lengths.") from None
    if grid.ndim != 2 or not (1 <= grid.shape[0] <= SIZE and 1 <= grid.shape[1] <= SIZE):
        raise PuzzleError(f"The {what} must be 1..{SIZE} x 1..{SIZE} cells, got shape {grid.shape}.")
    if grid.dtype.kind not in "iu" or grid.min() < 0 or grid.max() > 9:
        raise PuzzleError(f"The {what} must hold whole numbers 0..9 (ARC colours).")
    return grid.astype(np.int64)


def encode_grid(grid: np.ndarray, offset: tuple[int, int] = (0, 0), size: int = SIZE) -> np.ndarray:
    """Grid -> (size*size,) tokens with the grid's top-left cell at ``offset`` (official layout; 900 tokens on the
    30x30 canvas)."""
    grid = check_grid(grid)
    (r0, c0), (h, w) = offset, grid.shape
    if r0 < 0 or c0 < 0 or r0 + h > size or c0 + w > size:
        raise ValueError(f"A {h}x{w} grid does not fit the {size}x{size} canvas at offset {offset}.")
    canvas = np.full((size, size), PAD, dtype=np.int64)
    canvas[r0:r0 + h, c0:c0 + w] = grid + COLOUR0
    if r0 + h < size:
        canvas[r0 + h, c0:c0 + w] = EOS
    if c0 + w < size:
        canvas[r0:r0 + h, c0 + w] = EOS
    return canvas.reshape(-1)


def crop(tokens: np.ndarray, offset: tuple[int, int] = (0, 0)) -> np.ndarray:
    """Tokens of a square canvas -> grid, as the official _crop: rows from the top while they start with colour
    tokens, each row's width the run of colours (never wider than the row above), keeping the largest area. (0, 0)
    when the first token is not a colour: such a prediction can never be right."""
    tokens = np.asarray(tokens, dtype=np.int64)
    side = math.isqrt(tokens.size)
    if side * side != tokens.size:
        raise ValueError(f"ARC tokens must fill a square canvas, got {tokens.size}.")
    g = tokens.reshape(side, side)[offset[0]:, offset[1]:]
    is_colour = (g >= COLOUR0) & (g <= COLOUR0 + 9)
    best, size, width = 0, (0, 0), g.shape[1]
    for r in range(g.shape[0]):
        run = is_colour[r, :width]
        if not run.all():
            width = int(np.argmin(run))            # first non-colour token
        if (r + 1) * width > best:
            best, size = (r + 1) * width, (r + 1, width)
    return g[:size[0], :size[1]] - COLOUR0


# --- task JSON ---------------------------------------------------------------------------------------------------
def _pair(item: Any, what: str, need_output: bool) -> tuple[np.ndarray, np.ndarray | None]:
    if not isinstance(item, dict):
        raise PuzzleError(f"The {what} must be an object with 'input' and 'output' grids.")
    if "input" not in item:
        raise PuzzleError(f"The {what} has no 'input' grid.")
    if need_output and "output" not in item:
        raise PuzzleError(f"The {what} has no 'output' grid.")
    inp = grid_from_rows(item["input"], f"input of the {what}", max_size=SIZE)
    out = grid_from_rows(item["output"], f"output of the {what}", max_size=SIZE) if "output" in item else None
    return inp, out


def task_puzzles(task: Any, task_id: str | None = None, name: str = "") -> list[Puzzle]:
    """One Puzzle per test input of an ARC task {"train": [...], "test": [...]}; PuzzleError says what is wrong."""
    if not isinstance(task, dict):
        raise PuzzleError("An ARC task must be a JSON object with 'train' and 'test' lists.")
    for key in ("train", "test"):
        if key not in task:
            raise PuzzleError(f"The task has no '{key}' list" + (" of demonstration pairs." if key == "train"
                                                                   else " of test inputs."))
        if not isinstance(task[key], list):
            raise PuzzleError(f"The task's '{key}' must be a list of {{'input', 'output'}} pairs.")
    if not task["test"]:
        raise PuzzleError("The task has no test inputs ('test' is empty).")
    demos = [_pair(p, f"training pair {i + 1}", True) for i, p in enumerate(task["train"])]
    tests = [_pair(p, f"test pair {i + 1}", False) for i, p in enumerate(task["test"])]
    label = name or task_id or "ARC task"
    return [Puzzle(task="arc", grid=inp, solution=out,
                   name=label + (f" (test {i + 1} of {len(tests)})" if len(tests) > 1 else ""),
                   arc_task_id=task_id, demos=demos) for i, (inp, out) in enumerate(tests)]


def task_tests(task_id: str) -> list[Puzzle]:
    """The test inputs of ARC task ``task_id`` (a curated one, or one of the collections here), each with the
    demonstrations and, where known, its output. PuzzleError when there is no such task."""
    try:
        task = curated_tasks()[task_id] if task_id in CURATED else find_task(task_id)[1]
    except (KeyError, OSError) as e:
        raise PuzzleError(f"No ARC task {task_id!r} here ({e}).") from None
    return task_puzzles(task, task_id, name=f"{task_id}: {CURATED[task_id]}" if task_id in CURATED else "")


def task_puzzle(task_id: str) -> Puzzle:
    """The first test input of ARC task ``task_id`` (task_tests)."""
    return task_tests(task_id)[0]


def index_of_test(tests: list[Puzzle], grid: np.ndarray) -> int | None:
    """Which of ``tests`` (task_tests) has ``grid`` as its input, from 0; None when none has."""
    return next((k for k, p in enumerate(tests) if p.grid.shape == grid.shape and bool((p.grid == grid).all())), None)


def known_test(task_id: str, grid: np.ndarray) -> Puzzle | None:
    """The test pair of ARC task ``task_id`` whose input is ``grid``, with its output where known here; None when the
    task or such a test input is not here."""
    try:
        tests = task_tests(task_id)
    except PuzzleError:
        return None
    k = index_of_test(tests, grid)
    return None if k is None else tests[k]


def recognise(puzzle: Puzzle) -> str | None:
    """Fill in what the collections here know of an ARC puzzle read from a file or the API, in place: the task id
    of a whole task saved under another name (by its demonstrations), and the output of a known test input (a file
    without outputs, as Kaggle's challenges). Returns a note when the task was recognised by its demonstrations.
    The page's upload and editor (session.build_puzzle), the API and the CLI all read ARC puzzles through here."""
    note = None
    if not puzzle.arc_task_id and puzzle.demos:
        puzzle.arc_task_id = identify_task(puzzle.demos)
        if puzzle.arc_task_id:
            puzzle.name = puzzle.arc_task_id
            note = f"the file holds ARC task {puzzle.arc_task_id} (the same demonstrations)"
    if puzzle.arc_task_id and puzzle.solution is None:
        test = known_test(puzzle.arc_task_id, puzzle.grid)
        if test is not None:               # its output, and its demonstrations and name where the puzzle had none
            puzzle.solution, puzzle.demos = test.solution, puzzle.demos or test.demos
            puzzle.name = puzzle.name if puzzle.name and puzzle.name != "ARC grid" else test.name
    return note


def identify_task(demos: list[tuple[np.ndarray, np.ndarray]]) -> str | None:
    """The id of the task with exactly these demonstration pairs among the collections here (a task file saved
    under another name than its id), or None."""
    return _tasks_by_demos().get(_demos_key(demos)) if demos else None


def _demos_key(demos: list[tuple[np.ndarray, np.ndarray]]) -> str:
    h = hashlib.sha1()
    for grid in (g for pair in demos for g in pair):
        g = np.asarray(grid, dtype=np.int64)
        h.update(repr(g.shape).encode() + g.tobytes())
    return h.hexdigest()


@lru_cache(maxsize=1)
def _tasks_by_demos() -> dict[str, str]:
    index: dict[str, str] = {}
    for name in ("training", "evaluation", "training2", "evaluation2"):
        try:
            tasks = load_collection(name)
        except PuzzleError:
            continue
        for task_id, task in tasks.items():
            try:
                index.setdefault(_demos_key([_pair(p, "pair", True) for p in task["train"]]), task_id)
            except (PuzzleError, KeyError, TypeError):
                continue
    return index


def _pick_task(collection: dict, task_id: str | None) -> tuple[str, Any]:
    if task_id is None:
        if len(collection) == 1:
            return next(iter(collection.items()))
        some = ", ".join(list(collection)[:5])
        raise PuzzleError(f"The file holds {len(collection)} ARC tasks; choose one by its id (e.g. {some}).")
    if task_id not in collection:
        close = [t for t in collection if t.startswith(task_id[:3])][:5]
        raise PuzzleError(f"No task {task_id!r} in the file" + (f" (similar: {', '.join(close)})." if close else "."))
    return task_id, collection[task_id]


def _id_from_filename(filename: str | None) -> str | None:
    stem = Path(filename).stem if filename else ""
    return stem if TASK_ID.match(stem) else None


# --- the task ----------------------------------------------------------------------------------------------------
class ArcTask(Task):
    name = "arc"
    vocab_size = 12

    def __init__(self, size: int = SIZE):
        self._square_canvas(size, MIN_SIZE, SIZE, "An ARC model")

    def fits(self, grid: np.ndarray) -> bool:
        return grid.shape[0] <= self.size and grid.shape[1] <= self.size

    def fits_task(self, task: dict) -> bool:
        """Every grid of a task JSON (demonstration and test pairs) fits this canvas: a model of this canvas can
        have been trained on it (train/data.py keeps exactly these tasks)."""
        grids = [p.get(k) for p in task.get("train", []) + task.get("test", []) for k in ("input", "output")]
        return all(len(g) <= self.size and all(len(row) <= self.size for row in g) for g in grids if g is not None)

    def parse(self, data: Any, filename: str | None = None, task_id: str | None = None,
              test_index: int = 0) -> Puzzle:
        """A task JSON, a Kaggle collection {task_id: task} (pick with ``task_id``), or a single grid (list of
        lists, array, JSON or rows of digits). ``test_index`` picks among several test inputs."""
        if isinstance(data, (bytes, bytearray, memoryview, str)):
            text = read_text(data, "ARC input")
            rows = [line.strip() for line in text.strip().splitlines()]
            if rows and all(row.isdigit() and row.isascii() for row in rows):      # "0120\n3345"
                data = [[int(ch) for ch in row] for row in rows]
            else:
                data = load_json(text, "ARC JSON")
        if isinstance(data, np.ndarray):
            data = data.tolist()
        if isinstance(data, (list, tuple)):
            grid = grid_from_rows(data, "grid", max_size=SIZE)
            return Puzzle(task=self.name, grid=grid, arc_task_id=task_id, name=task_id or "ARC grid")
        if not isinstance(data, dict) or not data:
            raise PuzzleError("Expected an ARC task {'train': [...], 'test': [...]}, a collection {task_id: task} "
                              "or a grid (list of rows of colours 0-9).")
        if "train" in data or "test" in data:
            task_id = task_id or _id_from_filename(filename)
            puzzles = task_puzzles(data, task_id)
        else:
            task_id, task = _pick_task(data, task_id)
            puzzles = task_puzzles(task, task_id)
        if not 0 <= test_index < len(puzzles):
            raise PuzzleError(f"The task has {len(puzzles)} test input(s); test_index {test_index} does not exist.")
        return puzzles[test_index]

    def validate(self, puzzle: Puzzle) -> list[str]:
        check_grid(puzzle.grid, "test input")
        if puzzle.solution is not None:
            check_grid(puzzle.solution, "test output")
        for i, (inp, out) in enumerate(puzzle.demos):
            check_grid(inp, f"input of training pair {i + 1}")
            check_grid(out, f"output of training pair {i + 1}")
        if not self.fits(puzzle.grid):
            h, w = puzzle.grid.shape
            raise PuzzleError(f"This ARC model works on a {self.size}x{self.size} canvas: the {h}x{w} test input "
                              f"does not fit. Make it at most {self.size}x{self.size}, or load a 30x30 model.")
        notes = []
        if not puzzle.arc_task_id:
            notes.append("No ARC task id: the model knows a task only by its id (puzzle embedding), so it has no "
                         "way to tell what this grid asks for.")
        if puzzle.solution is None:
            notes.append("The test output is not known, so the answer cannot be checked.")
        puzzle.notes = list(dict.fromkeys(puzzle.notes + notes))     # also stored, once, like the other tasks
        return puzzle.notes

    def encode(self, grid: np.ndarray, offset: tuple[int, int] = (0, 0)) -> np.ndarray:
        return encode_grid(grid, offset, self.size)

    def decode(self, tokens: np.ndarray, offset: tuple[int, int] = (0, 0)) -> np.ndarray:
        tokens = np.asarray(tokens)
        if tokens.size != self.seq_len:
            raise ValueError(f"ARC tokens must be {self.seq_len} long, got {tokens.size}.")
        return crop(tokens, offset)

    def solve(self, puzzle: Puzzle) -> np.ndarray | None:
        """ARC has no solver: the known test output, or None."""
        return puzzle.solution

    def render(self, grid: np.ndarray, puzzle: Puzzle | None = None, cell_px: int | None = None):
        from PIL import Image

        grid = np.asarray(grid)
        if grid.ndim != 2 or grid.size == 0:     # an empty prediction: a dark placeholder, not an error
            return Image.new("RGB", (cell_px or 16, cell_px or 16), GRID_LINE)
        h, w = grid.shape
        cell_px = cell_px or max(8, min(32, 360 // max(h, w)))
        palette = np.array([[int(c[i:i + 2], 16) for i in (1, 3, 5)] for c in PALETTE], dtype=np.uint8)
        pixels = np.repeat(np.repeat(palette[np.clip(grid, 0, 9)], cell_px, axis=0), cell_px, axis=1)
        canvas = np.empty((h * cell_px + 1, w * cell_px + 1, 3), dtype=np.uint8)
        canvas[:] = GRID_LINE
        # Each cell keeps a 1-pixel line on its top and left; the extra last row/column close the frame.
        mask = np.ones((h * cell_px, w * cell_px), dtype=bool)
        mask[::cell_px, :] = mask[:, ::cell_px] = False
        canvas[:-1, :-1][mask] = pixels[mask]
        return Image.fromarray(canvas, "RGB")

    def examples(self) -> dict[str, Puzzle]:
        """The curated tasks of assets/arc whose first test input and output fit this canvas."""
        out = {}
        for task_id, task in curated_tasks().items():
            puzzle = task_puzzles(task, task_id)[0]
            if not (self.fits(puzzle.grid) and (puzzle.solution is None or self.fits(puzzle.solution))):
                continue
            puzzle.name = f"{task_id}: {CURATED[task_id]}"
            out[puzzle.name] = puzzle
        return out

    def generate(self, rng: np.random.Generator, collection: str = "training", **kwargs) -> Puzzle:
        """ARC tasks cannot be made up: a random test input of a random task of a collection (one whose grids all
        fit this canvas)."""
        tasks = load_collection(collection)
        ids = sorted(t for t in tasks if self.fits_task(tasks[t]))
        if not ids:
            raise PuzzleError(f"No task of the {collection!r} collection fits a {self.size}x{self.size} canvas.")
        task_id = ids[int(rng.integers(len(ids)))]
        puzzles = task_puzzles(tasks[task_id], task_id)
        return puzzles[int(rng.integers(len(puzzles)))]

    def load_data_file(self, source, limit: int | None = None) -> list[Puzzle]:
        return load_data_file(source)[:limit]

    def legend(self) -> list[tuple[int, str, str]]:
        return [(c, f"{c} {COLOUR_NAMES[c]}", PALETTE[c]) for c in range(10)]

    def to_text(self, grid: np.ndarray) -> str:
        return "[" + ",\n ".join(json.dumps([int(v) for v in row]) for row in np.asarray(grid)) + "]"


def load_data_file(path_or_text: str | os.PathLike) -> list[Puzzle]:
    """A task JSON or a Kaggle collection -> one Puzzle per test input. For a "<x>_challenges.json" file, test
    outputs are taken from "<x>_solutions.json" beside it when present."""
    text, path = read_source(path_or_text, "ARC file", limit=None)
    data = load_json(text, f"file {path.name}" if path else "ARC file")
    stem = path.stem if path else None
    if path and path.name.endswith("_challenges.json") and isinstance(data, dict):
        solutions = path.with_name(path.name.replace("_challenges.json", "_solutions.json"))
        if solutions.is_file():
            merge_solutions(data, load_json(read_source(solutions, limit=None)[0], f"file {solutions.name}"))
    if isinstance(data, dict) and ("train" in data or "test" in data):
        return task_puzzles(data, _id_from_filename(stem))
    if not isinstance(data, dict) or not data:
        raise PuzzleError("An ARC data file must hold a task {'train', 'test'} or a collection {task_id: task}.")
    puzzles = []
    for task_id, task in data.items():
        try:
            puzzles += task_puzzles(task, task_id)
        except PuzzleError as e:
            raise PuzzleError(f"Task {task_id}: {e}") from None
    return puzzles


@lru_cache(maxsize=None)
def arc_task(size: int = SIZE) -> ArcTask:
    """The task of an ARC model whose canvas is size x size (one instance per size)."""
    return ArcTask(size)


TASK = arc_task(SIZE)
