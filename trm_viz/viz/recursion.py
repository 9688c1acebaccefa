"""The recursion of a whole run on one page: a grid with a row per supervision step and a column per inner update
(each H cycle's n z_L updates, then its z_H update), coloured by how much of the answer head's read-out of that
latent is right, beside how far each update moved its latent. It shows what the inner-recursion strip shows one step
at a time: where within a step the answer improves or gets worse (Hard 2's step 1 reads 59%, 55%, then 46% of its
blanks right after its three z_H updates, step 5 73%, 89%, 100%), and whether z_L settles. Tuning T and n starts
here."""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from ..tasks.base import Task
from ..trace import Trace, solve_counts
from .cells import check_step
from .latents import decode_canvas
from .style import RIGHT, font, heat_rgb, ink_on, rgb


def inner_scores(trace: Trace, task: Task) -> np.ndarray | None:
    """(steps, inner updates): the share of the cells to solve that each inner read-out has right (Trace's
    definition, the plot's green line), or None when the answer is unknown."""
    if trace.solution is None:
        return None
    inner = np.asarray(trace.inner_tokens)
    out = np.zeros(inner.shape[:2])
    for i, k in np.ndindex(*out.shape):
        right, of = solve_counts(decode_canvas(task, inner[i, k]), trace.solution, trace.input_grid)
        out[i, k] = right / of if of else 1.0
    return out


def _green(share: float) -> tuple[int, int, int]:
    """White at 0, the plot's green at 1."""
    g = np.array(rgb(RIGHT), dtype=np.float64)
    return tuple(int(round(v)) for v in 255 + (g - 255) * float(np.clip(share, 0, 1)))  # type: ignore[return-value]


def _panel(colours: list[list[tuple[int, int, int]]], texts: list[list[str]], kinds: list[str], step: int,
           title: str, cw: int, ch: int) -> Image.Image:
    """One map: a row per step (labelled on the left), a column per inner update, a thin gap after each z_H
    update (the end of an H cycle), the viewer's step framed."""
    rows, cols = len(colours), len(kinds)
    gaps = [sum(1 for kind in kinds[:k] if kind.upper().startswith("H")) * 2 for k in range(cols)]
    left, top = 26, 44
    width = left + cols * cw + gaps[-1] + 6
    # the page shows the picture at about half size in its column: a title that stays readable there
    size = 18 if font(18).getlength(title) <= width - 8 else 14
    out = Image.new("RGB", (max(width, int(font(size).getlength(title)) + 8), top + rows * ch + 4), (255, 255, 255))
    draw = ImageDraw.Draw(out)
    draw.text((4, 2), title, fill=(17, 24, 39), font=font(size))
    small = font(9)
    for k, kind in enumerate(kinds):       # "H1", "H2"... over the z_H columns; the z_L ones are the runs between
        if kind.upper().startswith("H") and cw >= 12:
            draw.text((left + k * cw + gaps[k] + 1, top - 13), kind, fill=(75, 85, 99), font=small)
    for i in range(rows):
        y = top + i * ch
        draw.text((2, y + (ch - 10) // 2), f"{i + 1:>2}", fill=(75, 85, 99), font=small)
        for k in range(cols):
            x = left + k * cw + gaps[k]
            draw.rectangle([x, y, x + cw - 2, y + ch - 2], fill=colours[i][k])
            if cw >= 18:
                draw.text((x + 1, y + (ch - 11) // 2), texts[i][k], fill=ink_on("#%02x%02x%02x" % colours[i][k]),
                          font=small)
    y = top + (step - 1) * ch
    draw.rectangle([left - 2, y - 2, left + cols * cw + gaps[-1], y + ch], outline=(17, 24, 39), width=2)
    return out


def recursion_map(trace: Trace, task: Task, step: int) -> Image.Image:
    """Both maps side by side (the accuracy one only when the answer is known), the viewer's ``step`` framed."""
    check_step(trace, step)
    kinds = list(trace.inner_kinds)
    moved = np.asarray(trace.inner_change, dtype=np.float64)
    cols = max(1, len(kinds))
    cw = int(max(4, min(22, 480 // cols)))
    ch = 18
    top = float(np.nanmax(moved)) if moved.size and np.nanmax(moved) > 0 else 1.0
    heat = heat_rgb(moved / top)
    panels = []
    scores = inner_scores(trace, task)
    if scores is not None:
        panels.append(_panel([[_green(v) for v in row] for row in scores],
                             [[f"{100 * v:.0f}" for v in row] for row in scores], kinds, step,
                             "% of the cells to solve right, per inner update", cw, ch))
    panels.append(_panel([[tuple(int(c) for c in px) for px in row] for row in heat],
                         [[f"{100 * v:.0f}" for v in row] for row in moved], kinds, step,
                         f"% its latent moved (max {100 * top:.0f})", cw, ch))
    gap = 16
    out = Image.new("RGB", (sum(p.width for p in panels) + gap * (len(panels) - 1), max(p.height for p in panels)),
                    (255, 255, 255))
    x = 0
    for p in panels:
        out.paste(p, (x, 0))
        x += p.width + gap
    return out
