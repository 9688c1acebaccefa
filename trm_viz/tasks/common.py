"""Parsing and symmetry helpers shared by the task modules (no task-specific knowledge here)."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from .base import MAX_INPUT_BYTES, PuzzleError


# File signatures of the picture formats: PNG, JPEG, GIF, BMP, TIFF (little/big endian); WebP is a RIFF container
# with "WEBP" at byte 8 (checked apart, so other RIFF files such as WAV are not taken for images).
IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"BM", b"II*\x00", b"MM\x00*")
SNIFF_BYTES = 12           # enough leading bytes for looks_like_image


def looks_like_image(data: bytes) -> bool:
    """Whether the first SNIFF_BYTES bytes of a file are an image signature."""
    return any(data.startswith(m) for m in IMAGE_MAGIC) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")


def read_text(data: Any, what: str = "input") -> str:
    """bytes | str -> str, refusing oversized or non-UTF-8 input with a message a person understands."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        data = bytes(data)
        if len(data) > MAX_INPUT_BYTES:
            raise PuzzleError(f"The {what} is {len(data) / 1e6:.1f} MB; the limit is {MAX_INPUT_BYTES / 1e6:.0f} MB.")
        if data[:2] in (b"\xff\xfe", b"\xfe\xff"):      # UTF-16 with its byte-order mark (Windows Notepad's)
            try:
                text = data.decode("utf-16")
            except UnicodeDecodeError as e:
                raise PuzzleError(f"The {what} starts as UTF-16 text but is not ({e.reason} at byte {e.start}).") \
                    from None
            if any(ord(ch) >= 0x3000 for ch in text):    # (garbage after the mark decodes to CJK characters)
                raise PuzzleError(f"The {what} starts as UTF-16 text but is not: it reads as CJK characters, not "
                                  "as a puzzle's digits, letters and signs.")
            data = text
        else:
            try:
                data = data.decode("utf-8-sig")          # UTF-8, with or without a byte-order mark
            except UnicodeDecodeError as e:
                if looks_like_image(data[:SNIFF_BYTES]):
                    raise PuzzleError(f"The {what} is a picture, not text (only mazes are read from pictures).") \
                        from None
                raise PuzzleError(f"The {what} is neither text (byte {e.start} is 0x{data[e.start]:02x}, not UTF-8) "
                                  "nor a picture.") from None
    if not isinstance(data, str):
        raise PuzzleError(f"The {what} must be text, got {type(data).__name__}.")
    data = data.removeprefix("\ufeff")             # a byte-order mark left in a string (an API call)
    if len(data) > MAX_INPUT_BYTES:
        raise PuzzleError(f"The {what} has {len(data):,} characters; the limit is {MAX_INPUT_BYTES:,}.")
    return data


def read_source(source: Any, what: str = "data file", limit: int | None = MAX_INPUT_BYTES) -> tuple[str, Path | None]:
    """A data file given as a path (PathLike, or a str naming an existing file) or as its content (str/bytes)
    -> (text, path or None). ``limit=None`` lifts the size cap for files on disk (a whole test set may be large)."""
    if isinstance(source, os.PathLike) or (isinstance(source, str) and _names_file(source)):
        path = Path(source)
        try:
            size = path.stat().st_size
            if limit is not None and size > limit:
                raise PuzzleError(f"{path.name} is {size / 1e6:.1f} MB; the limit is {limit / 1e6:.0f} MB.")
            raw = path.read_bytes()
        except OSError as e:
            raise PuzzleError(f"Cannot read {source}: {e.strerror}.") from None
        try:
            return raw.decode("utf-8-sig"), path
        except UnicodeDecodeError as e:
            raise PuzzleError(f"{path.name} is not UTF-8 text (byte {e.start} is 0x{raw[e.start]:02x}).") from None
    return read_text(source, what), None


def _names_file(name: str) -> bool:
    """Whether a string names an existing file (text with newlines or NULs never does)."""
    try:
        return len(name) < 4096 and "\n" not in name and os.path.isfile(name)
    except (ValueError, OSError):
        return False


def load_json(text: str, what: str = "JSON") -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as e:
        # (a ValueError that is no JSONDecodeError: a number of over 4,300 digits, which Python will not convert)
        msg = getattr(e, "msg", "nested too deeply" if isinstance(e, RecursionError) else "a number is too long")
        where = f" at line {e.lineno}, column {e.colno}" if isinstance(e, json.JSONDecodeError) else ""
        raise PuzzleError(f"The {what} is not valid JSON: {msg}{where}.") from None


def grid_from_rows(rows: Any, what: str = "grid", max_size: int = 30, lo: int = 0, hi: int = 9) -> np.ndarray:
    """A list of equal-length lists of ints in [lo, hi] -> 2-D int64 array, with precise messages otherwise."""
    if not isinstance(rows, (list, tuple)) or not rows:
        raise PuzzleError(f"The {what} must be a non-empty list of rows.")
    if len(rows) > max_size:
        raise PuzzleError(f"The {what} has {len(rows)} rows; at most {max_size} are allowed.")
    width = None
    for r, row in enumerate(rows):
        if not isinstance(row, (list, tuple)) or not row:
            raise PuzzleError(f"Row {r + 1} of the {what} must be a non-empty list of numbers.")
        if width is None:
            width = len(row)
            if width > max_size:
                raise PuzzleError(f"The {what} has {width} columns; at most {max_size} are allowed.")
        elif len(row) != width:
            raise PuzzleError(f"Row {r + 1} of the {what} has {len(row)} cells, but row 1 has {width}.")
        for c, v in enumerate(row):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not lo <= int(v) <= hi:
                raise PuzzleError(f"Cell (row {r + 1}, column {c + 1}) of the {what} is {v!r}; "
                                  f"expected a whole number from {lo} to {hi}.")
    return np.array(rows, dtype=np.int64)


# The 8 symmetries of the square, numbered as in the official TinyRecursiveModels datasets.
DIHEDRAL_INVERSE = (0, 3, 2, 1, 4, 5, 6, 7)
DIHEDRAL_NAMES = ("identity", "rotated 90", "rotated 180", "rotated 270", "mirrored left-right", "mirrored up-down",
                  "transposed", "anti-transposed")


def dihedral(grid: np.ndarray, k: int) -> np.ndarray:
    """Apply dihedral transform k (0 identity, 1-3 rotations by 90/180/270, 4 mirror left-right, 5 up-down,
    6 transpose, 7 anti-transpose) to the last two axes."""
    g = np.asarray(grid)
    ops = {
        0: lambda a: a,
        1: lambda a: np.rot90(a, 1, axes=(-2, -1)),
        2: lambda a: np.rot90(a, 2, axes=(-2, -1)),
        3: lambda a: np.rot90(a, 3, axes=(-2, -1)),
        4: lambda a: np.flip(a, -1),
        5: lambda a: np.flip(a, -2),
        6: lambda a: np.swapaxes(a, -1, -2),
        7: lambda a: np.flip(np.rot90(a, 1, axes=(-2, -1)), -1),
    }
    return np.ascontiguousarray(ops[k](g))


def inverse_dihedral(grid: np.ndarray, k: int) -> np.ndarray:
    return dihedral(grid, DIHEDRAL_INVERSE[k])
