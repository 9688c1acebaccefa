"""All steps of a trace as one compact JSON-able dict for the in-browser step viewer (trm_viz.ui.step_viewer), so that
scrubbing and playing never go back to the server.

Per-cell layers are strings with one character per cell in reading order: cell codes as chr(48 + code) ("0".."9"
for every task), booleans as "0"/"1", and [0, 1] quantities quantised to ten levels "0".."9". A 16-step 30x30 trace
is ~100 KB of JSON.
"""
from __future__ import annotations

import re
from typing import Any

import numpy as np

from ..tasks.base import Puzzle, Task
from ..trace import Trace
from .cells import all_step_cells, cell_style, crop, givens_for
from .corrections import change_counts
from .plots import halting_svg_for

VIEWER_FORMAT_VERSION = 1


def code_string(grid: np.ndarray) -> str:
    return "".join(chr(48 + int(v)) for v in np.asarray(grid).reshape(-1))


def flag_string(mask: np.ndarray) -> str:
    return "".join("1" if v else "0" for v in np.asarray(mask).reshape(-1))


def level_string(values: np.ndarray) -> str:
    """[0, 1] floats -> "0".."9" (NaN and out-of-range values are clipped)."""
    q = np.clip(np.round(np.nan_to_num(np.asarray(values, dtype=np.float64)) * 9), 0, 9).astype(int)
    return "".join(chr(48 + v) for v in q.reshape(-1))


def anchor_string(task: Task, grid: np.ndarray) -> str | None:
    """A maze's start and goal letters at their cells in the puzzle, "." elsewhere (the viewer keeps them when an
    answer paints over them); None for a task without such cells (their legend labels end in a capital letter)."""
    letters = {int(code): str(label)[-1] for code, label, _ in task.legend()
               if re.fullmatch(r"\w+ [A-Z]", str(label))}
    if not letters:
        return None
    return "".join(letters.get(int(v), ".") for v in np.asarray(grid).reshape(-1))


def viewer_data(trace: Trace, task: Task, puzzle: Puzzle | None = None) -> dict[str, Any]:
    cells = all_step_cells(trace)
    counts = change_counts(trace)
    exact = trace.exact
    todo = None if exact is None else [trace.cells_to_solve(i) for i in range(trace.num_steps)]   # (right, of)
    # One colour scale per latent for the whole trace, over the cells shown, so steps compare at a glance.
    z_max = {k: max([float(getattr(c, f"{k}_delta").max()) for c in cells if c.answer.size] + [0.0])
             for k in ("z_H", "z_L")}
    steps = []
    for i, c in enumerate(cells):
        h, w = (c.answer.shape if c.answer.ndim == 2 else (0, 0))
        givens = givens_for(puzzle, (h, w))
        steps.append({
            "h": int(h), "w": int(w),
            "cells": code_string(c.answer),
            "changed": flag_string(c.changed),
            "right": None if c.correct is None else flag_string(c.correct),
            "givens": None if givens is None else flag_string(givens),
            "conf": level_string(c.confidence),
            "zH": level_string(c.z_H_delta / z_max["z_H"] if z_max["z_H"] > 0 else c.z_H_delta * 0),
            "zL": level_string(c.z_L_delta / z_max["z_L"] if z_max["z_L"] > 0 else c.z_L_delta * 0),
            "q": round(c.q_halt_prob, 4),
            # of the cells to solve: as Trace.solve_accuracy, from the one count
            "acc": None if todo is None else round(todo[i][0] / todo[i][1] if todo[i][1] else 1.0, 4),
            "todo": None if todo is None else list(todo[i]),
            "breaks": None if (broken := task.rule_breaks(c.answer)) is None else flag_string(broken),
            # the chance the model gives the right value, per cell of this step's answer (none: the answer unknown)
            "pr": None if trace.p_right is None else level_string(crop(np.asarray(trace.p_right[i]), (h, w))),
            "exact": None if exact is None else bool(exact[i]),
            "corrections": int(counts["corrections"][i]),
            "regressions": int(counts["regressions"][i]),
            "nchanged": int(counts["changed"][i]),
        })
    return {
        "version": VIEWER_FORMAT_VERSION,
        "task": task.name,
        "style": cell_style(task),
        "legend": [[int(code), str(label), str(color)] for code, label, color in task.legend()],
        "n": trace.num_steps,
        "halt_step": None if trace.halt_step is None else int(trace.halt_step),
        "start": int(trace.halt_step or trace.num_steps),
        "known": trace.solution is not None,
        "anchors": anchor_string(task, trace.input_grid),
        "solution": None if trace.solution is None else {
            "h": int(np.asarray(trace.solution).shape[0]), "w": int(np.asarray(trace.solution).shape[1]),
            "cells": code_string(trace.solution)},
        "z_max": {k: round(v, 4) for k, v in z_max.items()},
        "svg": halting_svg_for(trace),
        "steps": steps,
    }
