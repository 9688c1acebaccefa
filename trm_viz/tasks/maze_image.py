"""Read a maze from a picture of a pixel grid (a screenshot, our own render(), a 30x30-pixel PNG...).

How: every pixel is classed by colour (dark = wall, light = open, green-ish = start, red-ish = goal, any other
saturated colour = path), the cell grid is found from where the class changes along rows and columns (such edges
only occur on cell boundaries, so the grid is the coarsest one whose boundaries explain them), then each cell takes
the majority class of its central pixels, which ignores thin grid lines and blurry (JPEG) edges.
"""
from __future__ import annotations

import io
import warnings

import numpy as np

from .base import MAX_INPUT_BYTES, PuzzleError

MAX_SIDE = 4096            # pixels; refuse larger images before decoding them (decompression bombs)
MAX_CELLS = 30
REDUCE_ABOVE = 1200        # pixels; larger pictures are shrunk before classifying pixels
WALL, OPEN, START, GOAL, PATH = 0, 1, 2, 3, 4


def load_image(data):
    """bytes | PIL.Image -> RGB uint8 array (h, w, 3); PuzzleError for anything unreadable, huge or malformed."""
    from PIL import Image

    if isinstance(data, (bytes, bytearray, memoryview)):
        data = bytes(data)
        if len(data) > MAX_INPUT_BYTES:
            raise PuzzleError(f"The image file is {len(data) / 1e6:.1f} MB; the limit is {MAX_INPUT_BYTES / 1e6:.0f} MB.")
        try:
            with warnings.catch_warnings():
                # Pillow only warns below 2x its own pixel limit; treat that as the bomb it may be.
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                img = Image.open(io.BytesIO(data))     # reads the header only: the size is known before decoding
                _check_size(img.size)
                img.load()
        except PuzzleError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise PuzzleError(f"The image is too large to decode safely (limit {MAX_SIDE}x{MAX_SIDE} pixels).") from None
        except Image.UnidentifiedImageError:
            raise PuzzleError("The file is not a picture this app reads (PNG, JPEG, GIF, BMP or WebP), or it is "
                              "damaged.") from None
        except Exception as e:  # Pillow raises many types (OSError, SyntaxError, ValueError, struct.error...)
            raise PuzzleError(f"The image could not be read ({type(e).__name__}: {e}).") from None
        try:   # a phone photo is stored sideways, with its turn in the EXIF data: read it the way it is shown
            from PIL import ImageOps

            img = ImageOps.exif_transpose(img)
        except Exception:  # noqa: BLE001 - broken EXIF data: the picture as stored
            pass
    elif hasattr(data, "size") and hasattr(data, "convert"):
        img = data
        _check_size(img.size)
    else:
        raise PuzzleError(f"Expected image bytes or a PIL image, got {type(data).__name__}.")
    try:
        if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
            # Transparent pixels count as background: lay the picture on white.
            rgba = img.convert("RGBA")
            white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            img = Image.alpha_composite(white, rgba)
        img = img.convert("RGB")
        if max(img.size) > REDUCE_ABOVE:
            # Cells of a <= 30-cell maze are then >= 40 px: a box-filter shrink keeps them and saves seconds.
            img = img.reduce(-(-max(img.size) // REDUCE_ABOVE))
        return np.asarray(img, dtype=np.uint8)
    except Exception as e:
        raise PuzzleError(f"The image could not be converted to colours ({type(e).__name__}: {e}).") from None


def _check_size(size: tuple[int, int]) -> None:
    w, h = size
    if w < 1 or h < 1:
        raise PuzzleError("The image is empty.")
    if w > MAX_SIDE or h > MAX_SIDE:
        raise PuzzleError(f"The image is {w}x{h} pixels; the limit is {MAX_SIDE}x{MAX_SIDE}.")


def classify_pixels(rgb: np.ndarray) -> np.ndarray:
    """(h, w, 3) uint8 -> (h, w) uint8 maze codes by colour."""
    c = rgb.astype(np.int32)
    r, g, b = c[..., 0], c[..., 1], c[..., 2]
    hi, lo = c.max(axis=-1), c.min(axis=-1)
    luma = (299 * r + 587 * g + 114 * b) // 1000
    saturated = (hi - lo >= 80) & (hi >= 90)              # a clear colour, not a grey
    out = np.where(luma < 128, WALL, OPEN).astype(np.uint8)
    # Hue sectors without trigonometry: green dominates -> start; red dominates (not orange/yellow) -> goal.
    green = saturated & (g >= r) & (g > b) & (g - np.maximum(r, b) >= 40)
    red = saturated & (r > g) & (r >= b) & (r - g >= 100) & (r - b >= 60)
    out[saturated] = PATH
    out[green] = START
    out[red] = GOAL
    return out


def _cells_along(changes: np.ndarray, length: int, limit: int = 8) -> list[int]:
    """Cell counts n (ascending, at most ``limit``) whose boundaries k*length/n explain 90% of the class changes
    along one axis; changes[x] = how many pixel pairs change class between x-1 and x. Loose on purpose: the redraw
    test in grid_from_image is the strict one, this only proposes grids (a finer grid always fits too)."""
    # A real boundary changes class along at least one whole cell side (>= length/30 pixels); JPEG noise flips
    # scattered single pixels. Ignore positions with less than a quarter of the smallest cell side.
    changes = np.where(changes >= 0.25 * length / MAX_CELLS, changes, 0)
    xs = np.nonzero(changes)[0]
    total = changes.sum()
    if total == 0:
        return [1]
    found = []
    for n in range(1, min(length, 4 * MAX_CELLS) + 1):
        size = length / n
        tol = _margin(size) + 0.5                           # + rounding of boundaries to whole pixels
        k = np.rint(xs / size)
        near = (np.abs(xs - k * size) <= tol) & (k >= 1) & (k <= n - 1)
        if changes[xs[~near]].sum() <= 0.1 * total:     # loose: the redraw test below decides
            found.append(n)
            if len(found) == limit:
                break
    return found


def _margin(size: float) -> float:
    """Pixels either side of a cell boundary where grid lines and blur may live; none for tiny cells, which come
    from pixel-exact pictures (and a margin there would let a coarser grid pass)."""
    return 0.0 if size < 6 else min(max(1.0, 0.1 * size), 0.34 * size)


def _sample_cells(classes: np.ndarray, n_rows: int, n_cols: int) -> np.ndarray:
    """Majority class of 4x4 sample points in the middle half of every cell."""
    h, w = classes.shape
    at = np.linspace(0.25, 0.75, 4)
    ys = np.clip(((np.arange(n_rows)[:, None] + at) * h / n_rows).astype(np.int64), 0, h - 1)
    xs = np.clip(((np.arange(n_cols)[:, None] + at) * w / n_cols).astype(np.int64), 0, w - 1)
    samples = classes[ys[:, :, None, None], xs[None, None, :, :]].transpose(0, 2, 1, 3).reshape(n_rows, n_cols, 16)
    return (samples[..., None] == np.arange(5)).sum(axis=2).argmax(axis=-1).astype(np.int64)


def _worst_cell_mismatch(classes: np.ndarray, grid: np.ndarray, margins: bool) -> float:
    """Largest fraction, over cells, of (sampled) pixels whose class differs from their cell's class: near 0 for the
    grid the picture was drawn on; a too-coarse grid leaves some cell mixed. With ``margins``, pixels next to a
    cell boundary are ignored (grid lines of another colour, blur) at the price of missing features that thin."""
    h, w = classes.shape
    n_rows, n_cols = grid.shape

    def axis(length: int, n: int) -> tuple[np.ndarray, np.ndarray]:
        px = np.arange(length) if length <= 600 else np.linspace(0, length - 1, 600).astype(np.int64)
        pos = (px + 0.5) * n / length                     # pixel centre in cell units
        cell = np.minimum(pos.astype(np.int64), n - 1)
        edge = np.minimum(pos - cell, cell + 1 - pos) * (length / n)
        keep = edge >= (_margin(length / n) if margins else 0.0)
        return px[keep], cell[keep]

    ys, rows = axis(h, n_rows)
    xs, cols = axis(w, n_cols)
    if len(ys) == 0 or len(xs) == 0:
        return 1.0
    wrong = classes[np.ix_(ys, xs)] != grid[np.ix_(rows, cols)]
    cell_id = (rows[:, None] * n_cols + cols[None, :]).ravel()
    bad = np.bincount(cell_id, weights=wrong.ravel(), minlength=n_rows * n_cols)
    seen = np.bincount(cell_id, minlength=n_rows * n_cols)
    return float((bad / np.maximum(seen, 1)).max())


def grid_from_image(data) -> np.ndarray:
    """Image -> (rows, cols) grid of maze codes (0 wall, 1 open, 2 S, 3 G, 4 path); PuzzleError if no grid is found."""
    rgb = load_image(data)
    classes = classify_pixels(rgb)
    h, w = classes.shape
    col_changes = np.zeros(w, dtype=np.int64)
    row_changes = np.zeros(h, dtype=np.int64)
    col_changes[1:] = (classes[:, 1:] != classes[:, :-1]).sum(axis=0)
    row_changes[1:] = (classes[1:, :] != classes[:-1, :]).sum(axis=1)
    candidates = sorted(((r, c) for r in _cells_along(row_changes, h) for c in _cells_along(col_changes, w)),
                        key=lambda rc: rc[0] * rc[1])
    # The coarsest grid that redraws the picture: first exactly (pixel-exact pictures, our own render), then
    # allowing for grid lines and blur next to cell boundaries (screenshots, JPEG).
    for margins, tolerance in ((False, 0.03), (True, 0.1)):
        for n_rows, n_cols in candidates:
            grid = _sample_cells(classes, n_rows, n_cols)
            if _worst_cell_mismatch(classes, grid, margins) <= tolerance:
                if n_rows > MAX_CELLS + 2 or n_cols > MAX_CELLS + 2:   # 31-32 may be a wall ring: parse trims it
                    raise PuzzleError(f"The image looks like a maze of {n_rows}x{n_cols} cells; at most "
                                      f"{MAX_CELLS}x{MAX_CELLS} is supported.")
                return grid
    raise PuzzleError(f"No regular grid of cells was found in the {w}x{h} image: draw the maze as square blocks "
                      f"(dark walls, light paths, green start, red goal) without borders or text.")
