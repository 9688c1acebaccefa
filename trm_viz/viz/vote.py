"""The ARC variant vote as a picture and a paragraph: the ranked answers after one step (votes, mean halting
probability, right or wrong when the solution is known) above every variant's own answer, labelled with the place
its answer took."""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from ..tasks.arc_aug import parse_name
from ..tasks.base import Task
from ..vote import VariantVote
from .grids import render_grid, with_caption
from .style import RIGHT, WRONG, font, rgb

SHOWN_ANSWERS = 4     # ranked answers drawn large; the rest only appear in the variants' row


def _check(vv: VariantVote, step: int) -> int:
    if not 1 <= step <= vv.num_steps:
        raise ValueError(f"step must be 1..{vv.num_steps}, got {step}")
    return step - 1


def _is_solution(vv: VariantVote, grid: np.ndarray) -> bool | None:
    if vv.solution is None:
        return None
    return grid.shape == vv.solution.shape and bool((grid == vv.solution).all())


def _framed(img: Image.Image, colour: str | None, width: int = 4) -> Image.Image:
    if colour is None:
        return img
    out = Image.new("RGB", (img.width + 2 * width, img.height + 2 * width), rgb(colour))
    out.paste(img, (width, width))
    return out


def variant_label(name: str) -> str:
    """A short label: "identity", or the dihedral transform ("t3") of a recoloured variant."""
    _, aug = parse_name(name)
    return "identity" if aug.is_identity else f"t{aug.trans_id}+colours"


def _row(tiles: list[Image.Image], gap: int) -> Image.Image:
    out = Image.new("RGB", (sum(t.width for t in tiles) + gap * (len(tiles) + 1), max(t.height for t in tiles) + gap),
                    (255, 255, 255))
    x = gap
    for t in tiles:
        out.paste(t, (x, gap // 2))
        x += t.width + gap
    return out


def vote_image(vv: VariantVote, task: Task, step: int, per_row: int = 8, gap: int = 8) -> Image.Image:
    """Top: the leading answers after ``step`` (green frame = the solution, red = not). Below: each variant's answer
    (already mapped back to the task's frame), captioned with its variant and the place its answer took."""
    i = _check(vv, step)
    ranked = vv.ranked[i]
    side = max([max(v.grid.shape) for v in ranked if v.grid.size] + [1])
    big, small = max(6, min(28, 150 // side)), max(3, min(14, 70 // side))
    tiles = []
    for place, v in enumerate(ranked[:SHOWN_ANSWERS], 1):
        ok = _is_solution(vv, v.grid)
        img = _framed(render_grid(task, v.grid, None, big), None if ok is None else RIGHT if ok else WRONG)
        tiles.append(with_caption(img, f"#{place}: {v.votes} vote{'s' * (v.votes != 1)}, q {v.mean_q:.2f}",
                                  size=13, min_width=150))
    top = _row(tiles, gap)
    thumbs = [with_caption(render_grid(task, a, None, small),
                           f"{variant_label(name)} #{vv.rank_of(step, k)}", size=10, min_width=90)
              for k, (name, a) in enumerate(zip(vv.variants, vv.answers[i]))]
    rows = [_row(thumbs[r:r + per_row], gap) for r in range(0, len(thumbs), per_row)]
    title_h = 22
    width = max([top.width] + [r.width for r in rows])
    out = Image.new("RGB", (width, 2 * title_h + top.height + sum(r.height for r in rows)), (255, 255, 255))
    draw = ImageDraw.Draw(out)
    draw.text((gap, 3), f"Answers after step {step}, ranked by votes of {len(vv.variants)} variants", font=font(14),
              fill=(17, 24, 39))
    out.paste(top, (0, title_h))
    y = title_h + top.height
    draw.text((gap, y + 3), "Each variant's answer, mapped back (#: the place of its answer)", font=font(13),
              fill=(75, 85, 99))
    y += title_h
    for r in rows:
        out.paste(r, (0, y))
        y += r.height
    return out


def vote_summary(vv: VariantVote, step: int | None = None) -> str:
    """A Markdown paragraph: who leads after ``step`` (default: the last), pass@2, the identity variant's place,
    and how the leading answer's votes grew over the steps."""
    step = step or vv.num_steps
    i = _check(vv, step)
    ranked, V = vv.ranked[i], len(vv.variants)
    first = ranked[0]
    ran = (f"all {V} variants this checkpoint knows" if vv.known_variants == V
           else f"the first {V} of the {vv.known_variants} variants this checkpoint knows")
    def verdict(grid: np.ndarray) -> str:
        ok = _is_solution(vv, grid)
        return "" if ok is None else " (right)" if ok else " (wrong)"

    runner = (f"; the runner-up{verdict(ranked[1].grid)} {ranked[1].votes}" if len(ranked) > 1
              else "; every variant agrees")
    lines = [f"**Vote after step {step}**: {ran} of task `{vv.task_id}` ({vv.seconds:.1f} s). The leading answer"
             f"{verdict(first.grid)} has **{first.votes} of {V}** votes (mean q_halt {first.mean_q:.2f}){runner}; "
             f"{len(ranked)} distinct answer{'s' * (len(ranked) != 1)}."]
    if vv.solution is not None:
        ok = vv.pass_at(2, step)
        right_steps = [s for s in range(1, vv.num_steps + 1) if vv.pass_at(2, s)]
        since = f" It is right after {len(right_steps)} of the {vv.num_steps} steps." if right_steps else ""
        lines.append(f"pass@2 (the top two answers, the official ARC score): **{'right' if ok else 'wrong'}**.{since}")
    if vv.variants and parse_name(vv.variants[0])[1].is_identity:
        lines.append(f"The identity variant, the one the step viewer shows, gave answer #{vv.rank_of(step, 0)}.")
    lines.append("Votes of the leading answer by step: " + " · ".join(str(v) for v in vv.top_votes()) + ".")
    return " ".join(lines)
