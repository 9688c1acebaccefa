"""The recursion map (viz/recursion.py) on a real run of the shipped paper-size Sudoku model: each inner update's
read-out is scored as the views score the answer, the last one of a step is that step's answer, and the picture
frames the viewer's step."""
from __future__ import annotations

import numpy as np
import pytest

from trm_viz.tasks import get_task
from trm_viz.trace import run
from trm_viz.viz.recursion import inner_scores, recursion_map

SUDOKU = get_task("sudoku")


@pytest.fixture(scope="module")
def hard2(registry):
    puzzle = next(p for name, p in SUDOKU.examples().items() if name.startswith("Hard 2"))
    return run(registry.get("sudoku", "sudoku").model, puzzle, steps=6)


def test_each_inner_read_out_is_scored_like_the_answer(hard2):
    scores = inner_scores(hard2, SUDOKU)
    assert scores.shape == (6, len(hard2.inner_kinds)) == (6, 3 * (6 + 1))
    # the last inner update is the step's z_H: its read-out is the step's answer, scored as the views score it
    assert scores[:, -1] == pytest.approx(hard2.solve_accuracy)
    # within step 1 the answer gets worse after its last z_H update, and step 5 ends right (the README's example)
    h = [k for k, kind in enumerate(hard2.inner_kinds) if kind.startswith("H")]
    assert scores[0, h[-1]] < scores[0, h[0]] and scores[4, h[-1]] == 1.0
    blind = type(hard2)(**{**hard2.__dict__, "solution": None, "correct": None, "label_tokens": None})
    assert inner_scores(blind, SUDOKU) is None


def test_the_map_frames_the_viewers_step(hard2):
    def framed_rows(step: int) -> list[int]:
        px = np.asarray(recursion_map(hard2, SUDOKU, step)).astype(int)
        dark = (px.sum(-1) < 3 * 40)[40:, 22:26]     # below the title, the frame's left edge (x 24-25)
        return [int(y) for y in np.nonzero(dark.any(1))[0]]

    one, five = framed_rows(1), framed_rows(5)
    # rows are 18 px high under a 44 px title band; the frame starts 2 px above its row
    assert min(one) + 40 == 44 - 2 and min(five) + 40 == 44 + 4 * 18 - 2
    with_answer = recursion_map(hard2, SUDOKU, 1)
    blind = type(hard2)(**{**hard2.__dict__, "solution": None, "correct": None, "label_tokens": None})
    assert recursion_map(blind, SUDOKU, 1).width < with_answer.width     # the movement map alone
    with pytest.raises(ValueError, match="does not exist"):
        recursion_map(hard2, SUDOKU, 7)
