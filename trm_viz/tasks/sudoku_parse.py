"""Reading Sudoku puzzles from what people paste or upload, and evaluation data files (one puzzle per line).

Accepted: an 81-character line ('.', '0' or '_' for blanks, whitespace ignored, optionally ",<81-digit solution>");
a 9-line grid with or without separators ('|', '-', '+', '=', box-drawing characters, spaces); CSV (9 rows of 9,
blanks empty/0/.); JSON (a list of 9 rows, 0 or null blank, or {"puzzle": ..., "solution": ...}); Python lists and
numpy arrays of shape (9, 9) or (81,). Every refusal is a PuzzleError saying where the problem is.
"""
from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

from .base import Puzzle, PuzzleError
from .common import load_json, read_text, read_source

BLANK_CHARS = ".0_"
_CELL_VALUE = {**{c: 0 for c in BLANK_CHARS}, **{str(d): d for d in range(1, 10)}}
_SEPARATORS = set("|+-=:") | {chr(c) for c in range(0x2500, 0x2580)}  # ASCII rules and box-drawing characters
_WHAT_CELLS = "a digit 1-9 or a blank ('.', '0' or '_')"


def cell_name(i: int) -> str:
    return f"r{i // 9 + 1}c{i % 9 + 1}"


def _cell(ch: str, where: str) -> int:
    if ch not in _CELL_VALUE:
        raise PuzzleError(f"{where}: {ch!r} is not {_WHAT_CELLS}.")
    return _CELL_VALUE[ch]


def _cells_from_string(s: str, what: str = "The line") -> list[int]:
    """An 81-character string (whitespace and '|' ignored) -> 81 cell values."""
    chars = [c for c in s if not c.isspace() and c != "|"]
    if len(chars) != 81:
        raise PuzzleError(f"{what} has {len(chars)} cells; a Sudoku has 81 (9 rows of 9).")
    return [_cell(c, f"Row {k // 9 + 1}, column {k % 9 + 1}") for k, c in enumerate(chars)]


def _solution_cells(s: str) -> list[int]:
    cells = _cells_from_string(s, "The solution after the comma")
    if 0 in cells:
        raise PuzzleError(f"The solution after the comma has a blank at {cell_name(cells.index(0))}; "
                          "a solution fills every cell.")
    return cells


def _value(v: Any, where: str) -> int:
    """One cell of a list/JSON grid: an int 0..9, a whole float, None (blank) or a one-character string."""
    if v is None:
        return 0
    if isinstance(v, str):
        return _cell(v.strip() or "0", where)  # an empty CSV field is a blank; "12" is refused by _cell
    if isinstance(v, (float, np.floating)) and math.isfinite(v) and float(v).is_integer():
        v = int(v)
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)) or not 0 <= v <= 9:
        raise PuzzleError(f"{where}: {v!r} is not {_WHAT_CELLS}.")
    return int(v)


def _from_rows(rows: Any, solution: np.ndarray | None = None) -> Puzzle:
    if isinstance(rows, dict):
        key = next((k for k in ("puzzle", "grid", "quiz", "question") if k in rows), None)
        if key is None:
            raise PuzzleError("The JSON object needs a \"puzzle\" entry (9 rows of 9 numbers).")
        sol = rows.get("solution")
        try:
            solution = None if sol is None else _from_rows(sol).grid
        except PuzzleError as e:
            raise PuzzleError(f"The \"solution\" entry: {e}") from None
        return _from_rows(rows[key], solution)
    if isinstance(rows, (list, tuple)) and len(rows) == 81 and not any(isinstance(r, (list, tuple)) for r in rows):
        rows = [list(rows[k:k + 9]) for k in range(0, 81, 9)]  # one flat list of 81 cells
    if isinstance(rows, str) or isinstance(rows, (list, tuple)) and rows and all(isinstance(r, str) for r in rows):
        puzzle = from_text(rows if isinstance(rows, str) else "\n".join(rows))   # one string, or text rows
        if solution is not None:                     # {"puzzle": "<81 chars>", "solution": ...}: it is checked
            puzzle.solution = solution
        return puzzle
    if not isinstance(rows, (list, tuple)):
        raise PuzzleError(f"A Sudoku must be 9 rows of 9 cells; got {type(rows).__name__}.")
    if len(rows) != 9:
        raise PuzzleError(f"The grid has {len(rows)} rows; a Sudoku has 9 (or 81 cells in one list).")
    grid = np.zeros((9, 9), np.int64)
    for r, row in enumerate(rows):
        if isinstance(row, str):
            row = [c for c in row if not c.isspace() and c != "|"]
        if not isinstance(row, (list, tuple)) or len(row) != 9:
            n = len(row) if isinstance(row, (list, tuple)) else type(row).__name__
            raise PuzzleError(f"Row {r + 1} has {n} cells; a Sudoku row has 9.")
        for c, v in enumerate(row):
            grid[r, c] = _value(v, f"Row {r + 1}, column {c + 1}")
    return Puzzle("sudoku", grid, solution=solution, givens=grid != 0)


def _from_line(line: str) -> Puzzle:
    parts = line.split(",")
    if len(parts) == 81 or len(parts) == 82 and not parts[-1].strip():  # one CSV row of 81 values
        return _from_rows([p.strip() for p in parts[:81]])  # flat list of 81 strings -> 9 rows
    if len(parts) > 2:
        raise PuzzleError(f"The line has {len(parts)} comma-separated parts; expected '<81-cell puzzle>' or "
                          "'<81-cell puzzle>,<81-digit solution>'.")
    grid = np.array(_cells_from_string(parts[0]), np.int64).reshape(9, 9)
    solution = np.array(_solution_cells(parts[1]), np.int64).reshape(9, 9) if len(parts) == 2 else None
    return Puzzle("sudoku", grid, solution=solution, givens=grid != 0)


def _is_separator(line: str) -> bool:
    s = "".join(line.split())
    return bool(s) and all(c in _SEPARATORS for c in s)


def _from_csv(lines: list[str]) -> Puzzle:
    rows = []
    for r, line in enumerate(lines):
        fields = [f.strip() for f in line.replace(";", ",").replace("\t", ",").split(",")]
        if len(fields) == 10 and not fields[-1]:
            fields = fields[:9]  # a trailing comma
        if len(fields) != 9:
            raise PuzzleError(f"CSV row {r + 1} has {len(fields)} fields; a Sudoku row has 9.")
        rows.append(fields)
    return _from_rows(rows)


def _from_grid_lines(lines: list[str]) -> Puzzle:
    rows = ["".join(c for c in ln if not c.isspace() and c not in _SEPARATORS) for ln in lines]
    if len(rows) != 9 and all(len(r) % 9 == 0 for r in rows) and sum(map(len, rows)) == 81:
        return _from_line("".join(rows))  # 81 cells wrapped into lines of 27, 18, ...
    if all(len(r) == 81 for r in rows):
        raise PuzzleError(f"This looks like {len(rows)} puzzles, one per line; give one puzzle at a time.")
    if len(rows) != 9:
        raise PuzzleError(f"The grid has {len(rows)} rows; a Sudoku has 9.")
    for r, row in enumerate(rows):
        if len(row) != 9:
            raise PuzzleError(f"Row {r + 1} has {len(row)} cells ({row[:20]!r}); a Sudoku row has 9.")
    return _from_rows([list(r) for r in rows])


def from_text(text: str, filename: str | None = None) -> Puzzle:
    stripped = text.strip()
    if not stripped:
        raise PuzzleError("The Sudoku is empty: type 81 cells, or 9 rows of 9 ('.' for a blank).")
    if stripped[0] in "[{" or (filename or "").lower().endswith(".json"):
        return _from_rows(load_json(stripped, "Sudoku JSON"))
    lines = [ln for ln in stripped.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        raise PuzzleError("The Sudoku has only comments ('#' lines) and no cells.")
    if len(lines) == 1:
        return _from_line(lines[0])
    lines = [ln for ln in lines if not _is_separator(ln)]
    if any("," in ln or ";" in ln or "\t" in ln.strip() for ln in lines):
        return _from_csv(lines)
    return _from_grid_lines(lines)


def parse(data: Any, filename: str | None = None) -> Puzzle:
    """str | bytes | list of rows | np.ndarray -> Puzzle (grid, givens, and solution when one was given)."""
    if isinstance(data, np.ndarray):
        if data.size > 81 or data.shape not in ((9, 9), (81,)):
            raise PuzzleError(f"A Sudoku array must have shape (9, 9) or (81,); got {data.shape}.")
        return _from_rows(data.reshape(9, 9).tolist())
    if isinstance(data, (list, tuple, dict)):
        return _from_rows(data)
    return from_text(read_text(data, "Sudoku"), filename)


def clashes(grid: np.ndarray) -> list[str]:
    """Every repeated digit in a row, column or box, e.g. "Row 3 has two 5s (r3c2, r3c7)"."""
    g = np.asarray(grid).reshape(81)
    units = [("Row", r, [r * 9 + c for c in range(9)]) for r in range(9)]
    units += [("Column", c, [r * 9 + c for r in range(9)]) for c in range(9)]
    units += [("Box", b, [(b // 3 * 3 + k // 3) * 9 + b % 3 * 3 + k % 3 for k in range(9)]) for b in range(9)]
    words = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight", 9: "nine"}
    found = []
    for kind, u, cells in units:
        for d in range(1, 10):
            where = [i for i in cells if g[i] == d]
            if len(where) > 1:
                found.append(f"{kind} {u + 1} has {words[len(where)]} {d}s ({', '.join(map(cell_name, where))})")
    return found


def load_data_file(source: str | os.PathLike, limit: int | None = None) -> list[Puzzle]:
    """An evaluation file (a path, or its text): one puzzle per line, 81 cells ('.' or '0' blank), optionally
    ',<81-digit solution>'. Blank lines and '#' comments are skipped; a header line and the Sudoku-Extreme CSV
    layout (source,question,answer,rating) are understood. Errors name the line number."""
    text, path = read_source(source, "data file", limit=None)  # a whole test set on disk may be large
    name = path.name if path else "data"
    puzzles: list[Puzzle] = []
    for n, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        fields = [f.strip() for f in line.split(",")]
        if len(fields) == 4 and len(fields[1]) == 81:  # source,question,answer,rating
            fields = fields[1:3]
        if not puzzles and not any(ch.isdigit() for ch in line):
            continue  # a header line
        try:
            if len(fields) > 2:
                raise PuzzleError(f"expected '<81 cells>' or '<81 cells>,<81-digit solution>', "
                                  f"got {len(fields)} comma-separated fields.")
            p = _from_line(",".join(fields))
            problems = clashes(p.grid)
            if problems:
                raise PuzzleError(f"clashing clues: {'; '.join(problems)}.")
            if p.solution is not None:
                _check_solution(p)
        except PuzzleError as e:
            raise PuzzleError(f"Line {n} of {name}: {e}") from None
        p.name = f"{name}:{n}"
        puzzles.append(p)
        if limit is not None and len(puzzles) >= limit:
            break
    if not puzzles:
        raise PuzzleError(f"{name} holds no puzzles (one 81-cell line per puzzle).")
    return puzzles


def _check_solution(p: Puzzle) -> None:
    """The stated solution must be a valid complete grid that keeps every clue."""
    sol = p.solution
    if sol.shape != (9, 9) or sol.min() < 1 or sol.max() > 9:
        raise PuzzleError("The solution must be 9x9 digits 1-9.")
    problems = clashes(sol)
    if problems:
        raise PuzzleError(f"The solution breaks the rules: {problems[0]}.")
    differ = np.flatnonzero((p.grid.reshape(81) != 0) & (p.grid.reshape(81) != sol.reshape(81)))
    if len(differ):
        i = differ[0]
        raise PuzzleError(f"The solution has {sol.reshape(81)[i]} at {cell_name(i)}, "
                          f"but the clue there is {p.grid.reshape(81)[i]}.")
