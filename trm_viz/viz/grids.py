"""The answer at one step as a picture: the task's own rendering (digits, walls, ARC colours, givens drawn distinct)
with the refinement drawn on top - unsure cells washed out, changed cells outlined, right/wrong corners."""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from ..tasks.base import Puzzle, Task
from ..trace import Trace
from .cells import StepCells, cell_style, step_cells
from .style import CHANGED, RIGHT, SHADE_MAX, WRONG, default_cell_px, font, rgb

MARKS = ("changed", "all", "none")


def render_grid(task: Task, grid: np.ndarray, puzzle: Puzzle | None = None, cell_px: int | None = None) -> Image.Image:
    """``task.render`` of a grid as RGB; the puzzle (for givens) is passed only when it lines up with the grid.
    An empty grid (an ARC answer the model never closed) becomes a small labelled placeholder."""
    grid = np.asarray(grid)
    if grid.ndim != 2 or grid.size == 0:
        side = 4 * (cell_px or 16)
        img = Image.new("RGB", (side, side), (245, 245, 245))
        ImageDraw.Draw(img).text((4, side // 2 - 7), "no grid", fill=(120, 120, 120), font=font(12))
        return img
    cell_px = cell_px or default_cell_px(*grid.shape)
    if puzzle is not None and tuple(puzzle.grid.shape) != tuple(grid.shape):
        puzzle = None
    return task.render(grid, puzzle, cell_px).convert("RGB")


def cell_boxes(img: Image.Image, shape: tuple[int, int], cell_px: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Pixel edges of rows and columns: (h + 1,) y positions and (w + 1,) x positions. A renderer may frame the
    cells with an even margin (the Sudoku board has one): when the image is the cells at ``cell_px`` plus a margin
    smaller than a cell, the cells are centred; otherwise the image is split evenly."""
    h, w = shape
    if cell_px:
        my, mx = (img.height - h * cell_px) / 2, (img.width - w * cell_px) / 2
        if 0 <= my < cell_px and 0 <= mx < cell_px:
            return (np.round(my + np.arange(h + 1) * cell_px).astype(int),
                    np.round(mx + np.arange(w + 1) * cell_px).astype(int))
    return (np.round(np.linspace(0, img.height, h + 1)).astype(int),
            np.round(np.linspace(0, img.width, w + 1)).astype(int))


def shade_unsure(img: Image.Image, confidence: np.ndarray, cell_px: int | None = None,
                 style: str = "text") -> Image.Image:
    """Make doubtful cells look faint: wash the cell towards white by SHADE_MAX * (1 - confidence) ("text" cells,
    whose digit fades), or only along white diagonal stripes ("fill" cells, whose colour is the answer: a washed
    black would read as ARC grey)."""
    h, w = confidence.shape
    ys, xs = cell_boxes(img, (h, w), cell_px)
    row_of = np.searchsorted(ys, np.arange(img.height), side="right") - 1
    col_of = np.searchsorted(xs, np.arange(img.width), side="right") - 1
    alpha = SHADE_MAX * (1.0 - np.clip(confidence, 0.0, 1.0))
    inside = ((row_of >= 0) & (row_of < h))[:, None] & ((col_of >= 0) & (col_of < w))[None, :]
    a = alpha[np.clip(row_of, 0, h - 1)][:, np.clip(col_of, 0, w - 1)] * inside
    if style == "fill":
        stripes = (np.arange(img.height)[:, None] + np.arange(img.width)[None, :]) % 6 < 2
        a = np.minimum(1.0, 1.5 * a) * stripes
    a = a[..., None]
    px = np.asarray(img, dtype=np.float32)
    return Image.fromarray(np.round(px * (1 - a) + 255.0 * a).astype(np.uint8), "RGB")


def outline_cells(img: Image.Image, mask: np.ndarray, cell_px: int | None = None) -> Image.Image:
    """Draw the CHANGED outline around every cell of ``mask`` (in place; returns the image)."""
    ys, xs = cell_boxes(img, mask.shape, cell_px)
    line = max(1, int(min(np.diff(ys).min(), np.diff(xs).min())) // 12 + 1)
    draw = ImageDraw.Draw(img)
    for r, c in zip(*np.nonzero(mask)):
        draw.rectangle((xs[c], ys[r], xs[c + 1] - 1, ys[r + 1] - 1), outline=rgb(CHANGED), width=line)
    return img


def draw_marks(img: Image.Image, cells: StepCells, marks: str = "changed", cell_px: int | None = None) -> Image.Image:
    """Outline changed cells and put a corner triangle on checked cells: red (top-right) on every wrong cell, green
    (bottom-left) on right cells that changed at this step (``marks="all"``: on every right cell)."""
    if marks not in MARKS:
        raise ValueError(f"marks must be one of {', '.join(MARKS)}, not {marks!r}.")
    if marks == "none":
        return img
    img = outline_cells(img.copy(), cells.changed, cell_px)
    draw = ImageDraw.Draw(img)
    ys, xs = cell_boxes(img, cells.shape, cell_px)
    tri = max(3, int(min(np.diff(ys).min(), np.diff(xs).min())) // 3)
    if cells.correct is not None:
        for r, c in zip(*np.nonzero(~cells.correct)):
            x1, y0 = xs[c + 1] - 1, ys[r]
            draw.polygon([(x1 - tri, y0), (x1, y0), (x1, y0 + tri)], fill=rgb(WRONG))
        right = cells.correct if marks == "all" else cells.correct & cells.changed
        for r, c in zip(*np.nonzero(right)):
            x0, y1 = xs[c], ys[r + 1] - 1
            draw.polygon([(x0, y1 - tri), (x0, y1), (x0 + tri, y1)], fill=rgb(RIGHT))
    return img


def step_image(trace: Trace, task: Task, step: int, puzzle: Puzzle | None = None, cell_px: int | None = None,
               marks: str = "changed", shade: bool = True) -> Image.Image:
    """The answer at ``step`` (1-based) with confidence shading and change / right / wrong marks."""
    cells = step_cells(trace, step)
    if cells.answer.size == 0:
        return render_grid(task, cells.answer, None, cell_px)
    cell_px = cell_px or default_cell_px(*cells.shape)
    img = render_grid(task, cells.answer, puzzle, cell_px)
    if shade:
        img = shade_unsure(img, cells.confidence, cell_px, cell_style(task))
    return draw_marks(img, cells, marks, cell_px)


def with_caption(img: Image.Image, text: str, size: int = 14, min_width: int = 160,
                 band: int | None = None) -> Image.Image:
    """The image under a white band (``band`` pixels high, default the text's height + 8) holding one line of text
    (GIF frames, inner-recursion panels), widened to the text where that is wider."""
    band = max(band or 0, size + 8)
    width = max(img.width, min_width, int(np.ceil(font(size).getlength(text))) + 8)
    out = Image.new("RGB", (width, img.height + band), (255, 255, 255))
    out.paste(img.convert("RGB"), ((width - img.width) // 2, band))
    ImageDraw.Draw(out).text((4, (band - size) // 2 - 1), text, fill=(17, 24, 39), font=font(size))
    return out


def stacked(top: Image.Image, bottom: Image.Image, gap: int = 12) -> Image.Image:
    """One picture above the other on white, left-aligned (the recursion map over its step's inner strip)."""
    out = Image.new("RGB", (max(top.width, bottom.width), top.height + gap + bottom.height), (255, 255, 255))
    out.paste(top.convert("RGB"), (0, 0))
    out.paste(bottom.convert("RGB"), (0, top.height + gap))
    return out
