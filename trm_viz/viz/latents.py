"""Pictures of the latent state: where z_H / z_L moved during a step (per-cell change norm as a heat map), what they
look like (a fixed 3-direction projection shown as RGB), and the inner recursion of one step (the answer head's
decode after each of the H_cycles * (L_cycles + 1) inner updates)."""
from __future__ import annotations

import numpy as np
from PIL import Image

from ..tasks.base import PuzzleError, Task
from ..trace import Trace
from .cells import check_step, crop, differs
from .grids import outline_cells, render_grid, with_caption
from .style import default_cell_px, font, heat_rgb

LATENTS = ("z_H", "z_L")


def _which(which: str) -> str:
    if which not in LATENTS:
        raise ValueError(f"Latent must be one of {', '.join(LATENTS)}, not {which!r}.")
    return which


def _region(trace: Trace, i: int, crop_to_answer: bool) -> tuple[int, int]:
    """The cells to show: the step's answer rectangle (ARC outputs are a corner of the 30x30 canvas) or the canvas."""
    answer = np.asarray(trace.answers[i])
    if crop_to_answer and answer.ndim == 2 and answer.size:
        return tuple(answer.shape)  # type: ignore[return-value]
    return tuple(trace.canvas_shape)  # type: ignore[return-value]


def _upscale(rgb_cells: np.ndarray, cell_px: int) -> Image.Image:
    return Image.fromarray(np.repeat(np.repeat(rgb_cells, cell_px, axis=0), cell_px, axis=1), "RGB")


def latent_heatmap(trace: Trace, step: int, which: str = "z_H", cell_px: int | None = None,
                   crop_to_answer: bool = True, vmax: float | None = None) -> Image.Image:
    """Per-cell ||z(step) - z(step-1)|| as a heat map (dark = still, yellow = moved most). The colour scale is shared
    by all steps of the trace (``vmax`` defaults to the largest change anywhere), so steps can be compared."""
    i = check_step(trace, step)
    delta = np.asarray(getattr(trace, f"{_which(which)}_delta"), dtype=np.float64)
    shape = _region(trace, i, crop_to_answer)
    top = float(vmax) if vmax is not None else float(np.nanmax(delta)) if delta.size else 0.0
    cells = crop(delta[i], shape) / top if top > 0 else np.zeros(shape)
    return _upscale(heat_rgb(cells), cell_px or default_cell_px(*shape))


def change_share(trace: Trace, step: int, which: str = "z_H", crop_to_answer: bool = True) -> float:
    """The largest change shown by latent_heatmap at ``step``, as a share of the largest of the whole trace (the
    heat map's yellow): how much this step moved compared with the run's biggest move."""
    i = check_step(trace, step)
    delta = np.asarray(getattr(trace, f"{_which(which)}_delta"), dtype=np.float64)
    top = float(np.nanmax(delta)) if delta.size else 0.0
    shown = crop(delta[i], _region(trace, i, crop_to_answer))
    return float(np.nanmax(shown)) / top if top > 0 and shown.size else 0.0


def latent_rgb(trace: Trace, step: int, which: str = "z_H", cell_px: int | None = None,
               crop_to_answer: bool = True) -> Image.Image:
    """The latent's projection on 3 fixed directions shown as R, G, B. Each component is scaled by its 1st..99th
    percentile over the whole trace, so colours mean the same thing at every step and one outlier cannot wash out
    the picture. Cells with similar colours hold similar latent vectors."""
    i = check_step(trace, step)
    proj = np.asarray(getattr(trace, f"{_which(which)}_proj"), dtype=np.float64)
    flat = proj.reshape(-1, 3)
    lo, hi = np.nanpercentile(flat, 1, axis=0), np.nanpercentile(flat, 99, axis=0)
    shape = _region(trace, i, crop_to_answer)
    cells = (crop(proj[i], shape) - lo) / np.where(hi > lo, hi - lo, 1.0)
    pixels = np.round(255 * np.clip(np.nan_to_num(cells), 0, 1)).astype(np.uint8)
    return _upscale(pixels, cell_px or default_cell_px(*shape))


def inner_rows(inner_kinds: list[str]) -> list[list[int]]:
    """Group inner-update indices by H cycle: a row ends after each z_H update (labels "L1.1" ... "L1.6", "H1")."""
    rows: list[list[int]] = [[]]
    for k, kind in enumerate(inner_kinds):
        rows[-1].append(k)
        if kind.upper().startswith("H"):
            rows.append([])
    return [r for r in rows if r]


def decode_canvas(task: Task, tokens: np.ndarray) -> np.ndarray:
    """Decode one canvas of tokens to a task grid; tokens that form no grid (an ARC decode without a closed
    rectangle) give an empty grid rather than an error, since intermediate decodes need not be well formed."""
    try:
        return np.asarray(task.decode(np.asarray(tokens).reshape(-1)))
    except (PuzzleError, ValueError, IndexError):
        return np.zeros((0, 0), dtype=np.int64)


def inner_strip(trace: Trace, task: Task, step: int, cell_px: int | None = None, gap: int = 6) -> Image.Image:
    """One panel per inner update of ``step`` (each H cycle's z_L updates then its z_H update, a cycle per row or,
    for many short cycles, several: cycles_per_row), each the answer head's decode of that latent, with cells that
    differ from the previous panel outlined, captioned with how far the update moved its latent (Trace.inner_change,
    in %). The first panel compares with the answer of the previous step (step 1: the input)."""
    i = check_step(trace, step)
    inner = np.asarray(trace.inner_tokens[i])
    if inner.shape[0] != len(trace.inner_kinds):
        raise ValueError(f"Trace has {inner.shape[0]} inner decodes but {len(trace.inner_kinds)} labels.")
    grids = [decode_canvas(task, inner[k]) for k in range(inner.shape[0])]
    side = max([max(g.shape) for g in grids if g.size] + [1])
    cell_px = cell_px or int(max(2, min(28, 130 // side)))     # a 9x9 Sudoku at 14 px, a 3x3 ARC answer at 28
    previous = np.asarray(trace.answers[i - 1]) if i > 0 else np.asarray(trace.input_grid)
    pictures: list[Image.Image] = []
    for grid in grids:
        img = render_grid(task, grid, None, cell_px)
        if grid.size:
            outline_cells(img, differs(grid, previous), cell_px)
        pictures.append(img)
        previous = grid
    # Every panel on one frame, the grid centred in it: an ARC decode that changes shape between updates keeps its
    # caption and its neighbours in line instead of making its panel (and its row) taller than the others.
    frame = (max(p.width for p in pictures), max(p.height for p in pictures))
    panels: list[Image.Image] = []
    for k, img in enumerate(pictures):
        framed = Image.new("RGB", frame, (255, 255, 255))
        framed.paste(img, ((frame[0] - img.width) // 2, (frame[1] - img.height) // 2))
        panels.append(with_caption(framed, f"{trace.inner_kinds[k]} \u00b7 {100 * trace.inner_change[i, k]:.0f}%",
                                   size=11, min_width=0))
    cycles = inner_rows(trace.inner_kinds)
    pw, ph = max(p.width for p in panels), panels[0].height
    ncol = max(len(r) for r in cycles)
    per_row = cycles_per_row(len(cycles), ncol)
    block = ncol * (pw + gap) + 2 * gap          # one H cycle's panels, then a wider gap before the next cycle
    nrows = -(-len(cycles) // per_row)
    out = Image.new("RGB", (per_row * block - gap, gap + nrows * (ph + gap)), (255, 255, 255))
    for c, cycle in enumerate(cycles):
        x0, y = (c % per_row) * block, gap + (c // per_row) * (ph + gap)
        for ci, k in enumerate(cycle):
            out.paste(panels[k], (x0 + gap + ci * (pw + gap), y))
    T, n = trace.meta.get("H_cycles"), trace.meta.get("L_cycles")
    what = f"{T} H cycles of {n} z_L updates and a z_H update" if T and n else "its inner updates"
    # The page shows the strip scaled to its column (a Sudoku strip is ~960 px wide, shown at 400 on a phone), so
    # the title grows with the strip, as far as it fits on one line: ~13 page px at 400, never under 14 image px.
    title = f"Step {step}: {what}"
    size = max(14, min(out.width // 30, int(14 * (out.width - 8) / font(14).getlength(title))))
    return with_caption(out, title, size=size, min_width=0, band=max(40, size + 16))  # room for the page's
                                                                                        # image buttons, top right


def cycles_per_row(cycles: int, panels_per_cycle: int, max_panels: int = 9) -> int:
    """H cycles placed side by side in the inner strip: one per row until the strip would be much taller than wide
    (sudoku-tiny at T=16 is 16 cycles of 3 panels: 8 rows of 2 cycles), never more than ``max_panels`` panels in a
    row, so that each panel stays readable in the page's column."""
    return max(1, min(max_panels // panels_per_cycle, round((cycles / panels_per_cycle) ** 0.5)))

