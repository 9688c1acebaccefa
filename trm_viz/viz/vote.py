"""The variant vote as a picture and a paragraph: the ranked answers after one step (votes, mean halting probability,
right or wrong when the solution is known) above every variant's own answer, labelled with the place its answer
took."""
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


def _framed(img: Image.Image, colour: str | None, width: int = 4) -> Image.Image:
    if colour is None:
        return img
    out = Image.new("RGB", (img.width + 2 * width, img.height + 2 * width), rgb(colour))
    out.paste(img, (width, width))
    return out


def variant_label(vv: VariantVote, k: int) -> str:
    """A short label of variant k: ARC "identity" or its dihedral transform ("t3+colours"); else its name."""
    name = vv.variants[k]
    if vv.task != "arc":
        return name
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
    big, small = max(6, min(28, 150 // side)), max(3, min(14, 80 // side))
    tiles = []
    for place, v in enumerate(ranked[:SHOWN_ANSWERS], 1):
        ok = vv.is_solution(v.grid)
        img = _framed(render_grid(task, v.grid, None, big), None if ok is None else RIGHT if ok else WRONG)
        tiles.append(with_caption(img, f"#{place}: {v.votes} vote{'s' * (v.votes != 1)}, q {v.mean_q:.2f}",
                                  size=13, min_width=150))
    top = _row(tiles, gap)
    thumbs = [with_caption(render_grid(task, a, None, small),
                           f"{variant_label(vv, k)} #{vv.rank_of(step, k)}", size=10, min_width=90)
              for k, a in enumerate(vv.answers[i])]
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


def _which(vv: VariantVote) -> str:
    V = len(vv.variants)
    if vv.task == "arc":
        return (f"all {V} variants this checkpoint knows of task `{vv.arc_task_id}`" if vv.available == V
                else f"the first {V} of the {vv.available} variants this checkpoint knows of task `{vv.arc_task_id}`")
    if vv.task == "maze":
        return (f"the {V} rotations and mirror images of the maze" if vv.available in (None, V)
                else f"{V} of the {vv.available} rotations and mirror images of the maze")
    return (f"{V} symmetric copies of the puzzle (digits relabelled; bands, stacks, rows and columns shuffled; "
            f"some transposed)")


def vote_summary(vv: VariantVote, step: int | None = None) -> str:
    """A Markdown paragraph: who leads after ``step`` (default: the last), whether the vote is right (ARC: pass@2),
    the identity variant's place, and how the leading answer's votes grew over the steps."""
    step = step or vv.num_steps
    i = _check(vv, step)
    ranked, V = vv.ranked[i], len(vv.variants)
    first = ranked[0]

    def verdict(grid: np.ndarray) -> str:
        ok = vv.is_solution(grid)
        return "" if ok is None else " (right)" if ok else " (wrong)"

    runner = (f"; the runner-up{verdict(ranked[1].grid)} {ranked[1].votes}" if len(ranked) > 1
              else "; every variant agrees")
    lines = [f"**Vote after step {step}**, over {_which(vv)} ({vv.seconds:.1f} s). The leading answer"
             f"{verdict(first.grid)} has **{first.votes} of {V}** votes (mean q_halt {first.mean_q:.2f}){runner}; "
             f"{len(ranked)} distinct answer{'s' * (len(ranked) != 1)}"
             + (f" (the picture shows the top {SHOWN_ANSWERS}; each variant's own answer below them names its place)."
                if len(ranked) > SHOWN_ANSWERS else ".")]
    if vv.solution is not None:
        k = 2 if vv.task == "arc" else 1
        what = "pass@2 (the top two answers, the official ARC score)" if k == 2 else "The vote's answer"
        right_steps = [s for s in range(1, vv.num_steps + 1) if vv.pass_at(k, s)]
        since = f" It is right after {len(right_steps)} of the {vv.num_steps} steps." if right_steps else ""
        lines.append(f"{what} is **{'right' if vv.pass_at(k, step) else 'wrong'}**.{since}")
    if vv.dtype == "float32":
        lines.append(f"The identity variant, the one the step viewer shows, gave answer #{vv.rank_of(step, 0)}.")
    else:   # the vote's matmuls ran in bfloat16 (fast on this CPU), the step viewer's in float32
        lines.append(f"The unchanged copy (the step viewer's puzzle) gave answer #{vv.rank_of(step, 0)}. It can "
                     f"differ a little from the viewer's answer: the vote computes at lower precision ({vv.dtype}, "
                     "several times faster on this CPU), the viewer in float32.")
    lines.append("Votes of the leading answer by step: " + " · ".join(str(v) for v in vv.top_votes()) + ".")
    return " ".join(lines)
