"""Visualisation functions (trm_viz.viz): step images, halting curve (Plotly + SVG), latent pictures, corrections
timeline, GIF, step-viewer data.

The traces here are hand-built from real puzzles and their solver solutions - a Sudoku filled in over a few steps
with one wrong digit fixed and one right digit broken, a maze whose path is drawn in two steps - to check that the
drawing logic marks the cells it should. They are not model output and the tests say nothing about a model.
"""
from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from trm_viz.tasks import Puzzle, get_task
from trm_viz.trace import Trace, solve_counts, to_json
from trm_viz.viz import animation, cells, corrections, grids, latents, plots, viewer_data
from trm_viz.viz.style import CHANGED, RIGHT, WRONG, rgb

SUDOKU = get_task("sudoku")
INNER_KINDS = ["L1.1", "H1", "L2.1", "H2"]   # H_cycles=2, L_cycles=1: K = 2 * (1 + 1) inner updates


def hand_built_trace(task, puzzle: Puzzle, answers: list[np.ndarray], q_halt: list[float],
                     solution: np.ndarray | None) -> Trace:
    """A Trace whose per-step answers are the given grids; confidence is 0.3 on cells that changed and 0.95
    elsewhere, latent change norms are 1 on changed cells and 0.1 elsewhere, the first half of each step's inner
    decodes shows the previous answer and the second half the new one."""
    H, W = task.canvas_shape
    canvas = lambda g: np.asarray(task.encode(g)).reshape(H, W)  # noqa: E731
    tok = np.stack([canvas(a) for a in answers])
    inp = canvas(puzzle.grid)
    prev = np.concatenate([inp[None], tok[:-1]])
    changed = tok != prev
    conf = np.where(changed, 0.3, 0.95).astype(np.float32)
    delta = np.where(changed, 1.0, 0.1).astype(np.float32)
    proj = np.stack([tok % 3, tok % 5, tok % 7], axis=-1).astype(np.float32)
    inner = np.stack([np.stack([prev[i], prev[i], tok[i], tok[i]]) for i in range(len(answers))])
    q = np.asarray(q_halt, dtype=np.float32)
    over = np.nonzero(q > 0.5)[0]
    label = None if solution is None else canvas(solution)
    return Trace(task=task.name, input_grid=puzzle.grid, input_tokens=inp.reshape(-1), canvas_shape=(H, W),
                 tokens=tok, answers=[np.asarray(a) for a in answers], confidence=conf, q_halt_prob=q,
                 changed=changed, z_H_delta=delta, z_L_delta=2 * delta, z_H_proj=proj, z_L_proj=proj[..., ::-1].copy(),
                 inner_tokens=inner, inner_kinds=list(INNER_KINDS),
                 inner_change=np.full(inner.shape[:2], 0.5, np.float32),
                 halt_step=int(over[0]) + 1 if over.size else None,
                 label_tokens=label, solution=solution, correct=None if label is None else tok == label[None])


@pytest.fixture(scope="module")
def sudoku():
    """Wikipedia's Sudoku: step 1 fills half the blanks plus one wrong digit, step 2 fixes that digit and fills the
    rest but breaks one cell right since step 1, step 3 is the solution, step 4 repeats it."""
    puzzle = SUDOKU.examples()["Easy 1 (Wikipedia example)"]
    sol = SUDOKU.solve(puzzle)
    blanks = list(zip(*np.nonzero(puzzle.grid == 0)))
    a1 = puzzle.grid.copy()
    for rc in blanks[: len(blanks) // 2]:
        a1[rc] = sol[rc]
    fixed, broken = blanks[len(blanks) // 2], blanks[0]
    a1[fixed] = sol[fixed] % 9 + 1
    a2 = sol.copy()
    a2[broken] = sol[broken] % 9 + 1
    tr = hand_built_trace(SUDOKU, puzzle, [a1, a2, sol.copy(), sol.copy()], [0.01, 0.2, 0.7, 0.9], sol)
    return dict(puzzle=puzzle, sol=sol, trace=tr, fixed=tuple(map(int, fixed)), broken=tuple(map(int, broken)),
                n_blanks=len(blanks))


def cell_px_box(img: Image.Image, r: int, c: int, cell_px: int) -> tuple[int, int]:
    """Top-left pixel of cell (r, c) in a render with an even margin (as grids.cell_boxes computes it)."""
    ys, xs = grids.cell_boxes(img, (9, 9), cell_px)
    return int(xs[c]), int(ys[r])


def near(px, colour: str, tol: int = 40) -> bool:
    return all(abs(int(a) - b) <= tol for a, b in zip(px[:3], rgb(colour)))


def test_step_cells_changed_and_correct(sudoku):
    tr, fixed, broken = sudoku["trace"], sudoku["fixed"], sudoku["broken"]
    s1, s2, s4 = cells.step_cells(tr, 1), cells.step_cells(tr, 2), cells.step_cells(tr, 4)
    assert s1.changed.sum() == sudoku["n_blanks"] // 2 + 1        # half the blanks + the wrong digit
    assert not s1.correct[fixed] and s2.correct[fixed]
    assert s1.correct[broken] and not s2.correct[broken]
    assert not s4.changed.any() and s4.correct.all()
    with pytest.raises(ValueError, match="steps 1 to 4"):
        cells.step_cells(tr, 5)
    summary = cells.step_summary(tr)
    assert summary["exact"].tolist() == [False, False, True, True]
    assert summary["accuracy"][2] == 1.0 and summary["accuracy"][0] < summary["accuracy"][1] < 1.0


def test_step_image_marks_the_right_cells(sudoku):
    tr, puzzle, fixed, broken = sudoku["trace"], sudoku["puzzle"], sudoku["fixed"], sudoku["broken"]
    px = 32
    img = grids.step_image(tr, SUDOKU, 2, puzzle, cell_px=px)
    assert img.size == SUDOKU.render(puzzle.grid, puzzle, px).size
    a = np.asarray(img)

    def corner(rc, where):
        x, y = cell_px_box(img, *rc, px)
        return a[y + 3, x + px - 4] if where == "top-right" else a[y + px - 4, x + 3]

    assert near(corner(broken, "top-right"), WRONG)             # regression: wrong now
    assert near(corner(fixed, "bottom-left"), RIGHT)            # correction: right and changed
    assert not near(corner(fixed, "top-right"), WRONG)
    given = tuple(map(int, np.argwhere(puzzle.givens)[0]))
    assert not near(corner(given, "top-right"), WRONG) and not near(corner(given, "bottom-left"), RIGHT)
    x, y = cell_px_box(img, *fixed, px)
    assert near(a[y + px // 2, x], CHANGED)                     # amber outline on the changed cell's left edge
    x, y = cell_px_box(img, *given, px)
    assert not near(a[y + px // 2, x + 1], CHANGED)
    # Unsure cells are washed out: the changed (confidence 0.3) cell is lighter with shading than without.
    plain = np.asarray(grids.step_image(tr, SUDOKU, 2, puzzle, cell_px=px, shade=False, marks="none"))
    shaded = np.asarray(grids.step_image(tr, SUDOKU, 2, puzzle, cell_px=px, marks="none"))
    x, y = cell_px_box(img, *fixed, px)
    inner = (slice(y + 6, y + px - 6), slice(x + 6, x + px - 6))
    assert shaded[inner].mean() > plain[inner].mean() + 5
    with pytest.raises(ValueError, match="marks must be"):
        grids.step_image(tr, SUDOKU, 2, marks="everything")


def test_halting_svg_threshold_halt_and_cursor():
    q = [0.05, 0.3, 0.62, 0.9]
    svg = plots.halting_svg(q, halt_step=3, accuracy=[0.5, 0.8, 1, 1], confidence=[0.6, 0.7, 0.9, 0.95],
                            current=2, width=320, height=130)
    top, ph = 16, 130 - 16 - 22
    y_half = top + 0.5 * ph
    assert f'class="hc-threshold" x1="28" y1="{y_half:.1f}"' in svg
    assert "halt threshold 0.5" in svg and "halts at step 3" in svg
    assert svg.count('class="hc-pt"') == 4 and 'class="hc-acc"' in svg and 'class="hc-conf"' in svg
    x0, dx = 28, (320 - 28 - 8) / 3
    assert f'class="hc-cursor" x1="{x0 + dx:.1f}"' in svg and 'visibility="hidden"' not in svg
    bare = plots.halting_svg([0.1], halt_step=None)
    assert 'visibility="hidden"' in bare and "hc-halt" not in bare and "hc-acc" not in bare
    with pytest.raises(ValueError):
        plots.halting_svg([])


def test_halting_figure(sudoku):
    fig = plots.halting_figure(sudoku["trace"], current=2)
    names = [t.name for t in fig.data]
    assert "q_halt probability" in names and "cells to solve right" in names and "halts at step 3" in names
    assert list(fig.data[names.index("q_halt probability")].y) == pytest.approx([0.01, 0.2, 0.7, 0.9])
    assert any(s.y0 == 0.5 and s.y1 == 0.5 for s in fig.layout.shapes)
    blind = sudoku["trace"]
    unknown = Trace(**{**blind.__dict__, "solution": None, "correct": None, "label_tokens": None})
    assert "cells to solve right" not in [t.name for t in plots.halting_figure(unknown).data]


def test_halting_figure_draws_a_previous_run_beside(sudoku):
    """A longer earlier run of the puzzle, named by the visitor's own file: drawn whole, its name plain text in the
    hover; a run of one step still shows (a point)."""
    previous = {"q_halt": [0.1, 0.2, 0.3, 0.4, 0.6, 0.9], "accuracy": [0.5] * 6, "halt_step": 5,
                "name": "earlier run (<b>my</b> model)"}
    fig = plots.halting_figure(sudoku["trace"], current=2, previous=previous)
    shown = {t.name: t for t in fig.data}
    q = shown["earlier run: q_halt"]
    assert list(q.y) == previous["q_halt"] and q.line.dash == "dash" and "markers" in q.mode
    assert [t.name for t in fig.data if t.legendgroup == "previous" and t.showlegend is not False] == [
        "earlier run (faded dashes)"]             # one legend entry for both faded lines (it named the q_halt one)
    assert shown["earlier run: cells to solve right"].legendgroup == "previous"      # hidden with it by a click
    assert "(earlier run (&lt;b&gt;my&lt;/b&gt; model))" in q.hovertemplate and "<b>" not in q.hovertemplate
    assert list(shown["earlier run: halts at step 5"].x) == [5]
    assert "q_halt probability" in shown and tuple(fig.layout.xaxis.range) == (0.5, 6.5)   # both runs fit
    one = plots.halting_figure(sudoku["trace"], previous={**previous, "q_halt": [0.2], "accuracy": [0.5],
                                                          "halt_step": None})
    assert [t.mode for t in one.data if t.name == "earlier run: q_halt"] == ["lines+markers"]


def test_corrections_classified(sudoku):
    tr, fixed, broken = sudoku["trace"], sudoku["fixed"], sudoku["broken"]
    later = corrections.cell_changes(tr, first_step=2)
    by_cell = {(ch.r, ch.c): ch for ch in later if ch.step == 2}
    assert by_cell[fixed].kind == "correction" and by_cell[fixed].step == 2
    assert by_cell[fixed].old == sudoku["sol"][fixed] % 9 + 1 and by_cell[fixed].new == sudoku["sol"][fixed]
    assert by_cell[broken].kind == "regression" and by_cell[broken].step == 2
    step3 = [ch for ch in later if ch.step == 3]
    assert [(ch.r, ch.c, ch.kind) for ch in step3] == [(*broken, "correction")]
    counts = corrections.change_counts(tr)
    n = sudoku["n_blanks"]
    assert counts["corrections"].tolist() == [n // 2, n - n // 2, 1, 0]   # step 1: the first fills of blanks
    assert counts["regressions"].tolist() == [0, 1, 0, 0]
    rows = corrections.corrections_table(later, SUDOKU)
    row = rows[[(ch.step, ch.r, ch.c) for ch in later].index((2, *broken))]
    assert row[:3] == [2, broken[0] + 1, broken[1] + 1] and row[5] == "regression"
    first = corrections.corrections_table(corrections.cell_changes(tr)[:1], SUDOKU)[0]
    assert first[3] == "blank"
    assert corrections.summary_line(tr) == (f"Step 1 put {n // 2} cells right; steps 2-4 made {n - n // 2 + 1} "
                                           "corrections and 1 regression (last change at step 3).")
    assert [ch.step for ch in corrections.revisions_first(corrections.cell_changes(tr))][:3] == [2, 2, 2]
    unknown = Trace(**{**tr.__dict__, "solution": None, "correct": None, "label_tokens": None})
    assert {ch.kind for ch in corrections.cell_changes(unknown)} == {"change"}
    # "right before" is the step's own right cells (Trace.correct_cells), not its value alone: a cell whose token
    # was wrong at step 1 (e.g. padding that decodes to the solution's value) was not right, so losing it is no
    # regression
    padded = np.array(tr.correct, copy=True)
    padded[0].reshape(-1)[broken[0] * 9 + broken[1]] = False
    kinds = {(ch.step, ch.r, ch.c): ch.kind for ch in corrections.cell_changes(Trace(**{**tr.__dict__,
                                                                                      "correct": padded}))}
    assert kinds[(2, *broken)] == "change"
    # step 1 changing a given: the input is no answer, so it "should keep the input's value", not "was made wrong"
    given = tuple(int(v) for v in np.argwhere(np.asarray(tr.input_grid) > 0)[0])
    answers = [np.array(a, copy=True) for a in tr.answers]
    answers[0][given] = sudoku["sol"][given] % 9 + 1
    wrong = np.array(tr.correct, copy=True)
    wrong[0].reshape(-1)[given[0] * 9 + given[1]] = False
    line = corrections.summary_line(Trace(**{**tr.__dict__, "answers": answers, "correct": wrong}))
    assert line.startswith(f"Step 1 put {n // 2} cells right but changed 1 cell that should keep the input's value;")


def test_answers_that_change_shape():
    """ARC answers are cropped per step: cells outside the previous grid count as changed, cells outside the
    solution as wrong, and their old value is unknown."""
    sol = np.array([[1, 2], [3, 4]])
    answers = [np.array([[1]]), np.array([[1, 2], [3, 5]]), np.array([[1, 2, 0], [3, 4, 0]]), np.array([[1, 2]]),
               np.array([[1, 2, 3, 4, 5]])]
    n = len(answers)
    z = np.zeros((n, 30, 30), np.float32)
    tr = Trace(task="arc", input_grid=np.array([[1, 1], [1, 1]]), input_tokens=np.zeros(900, int),
               canvas_shape=(30, 30), tokens=np.zeros((n, 30, 30), int), answers=answers, confidence=z + 1,
               q_halt_prob=np.zeros(n, np.float32), changed=z > 0, z_H_delta=z, z_L_delta=z,
               z_H_proj=np.zeros((n, 30, 30, 3), np.float32), z_L_proj=np.zeros((n, 30, 30, 3), np.float32),
               inner_tokens=np.zeros((n, 1, 30, 30), int), inner_kinds=["H1"],
               inner_change=np.zeros((n, 1), np.float32),
               halt_step=None, solution=sol)
    s2, s3 = cells.step_cells(tr, 2), cells.step_cells(tr, 3)
    assert s2.changed.tolist() == [[False, True], [True, True]]
    # step 1's 1x1 answer to a 2x2 input: nothing to compare it with (the input's top-left corner said "unchanged")
    assert [(c.step, c.r, c.c, c.old, c.kind) for c in corrections.cell_changes(tr) if c.step == 1] == [
        (1, 0, 0, None, "correction")]
    assert corrections.summary_line(tr).startswith("Step 1 put 1 cell right;")
    assert s3.correct.tolist() == [[True, True, False], [True, True, False]]
    changes = corrections.cell_changes(tr, first_step=2)
    assert [(c.step, c.r, c.c, c.old, c.kind) for c in changes if c.step == 2] == [
        (2, 0, 1, None, "correction"), (2, 1, 0, None, "correction"), (2, 1, 1, None, "change")]
    assert cells.step_summary(tr)["exact"].tolist() == [False, False, False, False, False]
    # cells lost when the answer shrinks count too: the right ones as regressions (the answer lost its second row)
    assert [(c.r, c.c, c.old, c.new, c.kind) for c in changes if c.step == 4] == [
        (0, 2, 0, None, "change"), (1, 0, 3, None, "regression"), (1, 1, 4, None, "regression"),
        (1, 2, 0, None, "change")]
    # cells right over the cells of either grid: 1/4, 3/4, 4/6, 2/4; a 1x5 answer to the 2x2 solution: 2/7
    assert tr.cell_accuracy.tolist() == pytest.approx([1 / 4, 3 / 4, 4 / 6, 2 / 4, 2 / 7])


def test_gif_has_one_frame_per_step(sudoku, tmp_path):
    path = tmp_path / "refinement.gif"
    data = animation.animation_gif(sudoku["trace"], SUDOKU, sudoku["puzzle"], path=path, frame_ms=100)
    assert data[:6] == b"GIF89a" and path.read_bytes() == data
    gif = Image.open(io.BytesIO(data))
    assert gif.n_frames == 4
    gif.seek(3)
    assert gif.info["duration"] > 100          # the final answer is held longer


def test_a_caption_widens_its_picture_to_fit_the_text():
    small = Image.new("RGB", (30, 20), (0, 0, 0))
    out = grids.with_caption(small, "L1.2 100% and a long caption", size=11, min_width=0)
    assert out.width > 30 + 100 and out.height == 20 + 19       # ("L1.2(" was cut: a panel kept the grid's width)
    assert grids.with_caption(small, "x", min_width=0).width == 30


def test_latent_pictures(sudoku):
    tr, fixed = sudoku["trace"], sudoku["fixed"]
    heat = np.asarray(latents.latent_heatmap(tr, 2, "z_H", cell_px=10))
    assert heat.shape == (90, 90, 3)
    r, c = fixed
    moved, still = heat[r * 10 + 5, c * 10 + 5], heat[5, 5]            # cell (0, 0) is a given: it did not move
    assert moved[0] > 200 and moved[1] > 200 and still[0] < 100 and still[1] < 50   # yellow vs dark blue
    rgb_img = latents.latent_rgb(tr, 2, "z_L", cell_px=4)
    assert rgb_img.size == (36, 36)
    with pytest.raises(ValueError, match="z_H, z_L"):
        latents.latent_heatmap(tr, 1, "z_X")
    # the heat map's yellow is the run's largest change: some step reaches it, the others say their share of it
    shares = [latents.change_share(tr, k, "z_H") for k in range(1, tr.num_steps + 1)]
    assert max(shares) == pytest.approx(1.0) and all(0.0 <= v <= 1.0 for v in shares)
    strip = latents.inner_strip(tr, SUDOKU, 2, cell_px=8)
    assert latents.inner_rows(INNER_KINDS) == [[0, 1], [2, 3]]
    assert strip.width < 2 * strip.height + 40 and strip.height > 2 * 9 * 8     # 2 rows x 2 panels
    # many short cycles sit side by side: sudoku-tiny at T=16 (3 panels each) in 8 rows of 2, the paper's T=3, n=6
    # one per row, and no row wider than 9 panels
    assert [latents.cycles_per_row(*a) for a in ((16, 3), (6, 3), (2, 2), (3, 7), (16, 2), (16, 1))] == [2, 1, 1, 1, 3, 4]


def test_viewer_data_is_compact_and_consistent(sudoku):
    tr, puzzle, fixed = sudoku["trace"], sudoku["puzzle"], sudoku["fixed"]
    d = viewer_data.viewer_data(tr, SUDOKU, puzzle)
    text = json.dumps(d)
    assert len(text) < 20_000
    assert d["n"] == 4 and d["halt_step"] == 3 and d["start"] == 3 and d["style"] == "text" and d["known"]
    assert d["legend"][1][:2] == [1, "1"] and "hc-threshold" in d["svg"]
    s2 = d["steps"][1]
    i = fixed[0] * 9 + fixed[1]
    assert len(s2["cells"]) == len(s2["changed"]) == len(s2["conf"]) == 81
    assert s2["cells"][i] == str(sudoku["sol"][fixed]) and s2["changed"][i] == "1" and s2["right"][i] == "1"
    assert s2["conf"][i] == "3" and s2["givens"][0] == "1"                  # confidence 0.3 -> level 3
    sol = d["solution"]                                                       # the viewer's "solution" layer
    assert (sol["h"], sol["w"]) == (9, 9) and sol["cells"] == "".join(str(v) for v in sudoku["sol"].reshape(-1))
    assert (s2["corrections"], s2["regressions"]) == (sudoku["n_blanks"] - sudoku["n_blanks"] // 2, 1)
    assert d["steps"][3]["exact"] is True and d["steps"][0]["exact"] is False


def test_maze_path_drawn_in_two_steps():
    maze = get_task("maze")
    puzzle = maze.examples()["tiny"]
    sol = maze.solve(puzzle)
    path = np.argwhere(sol != puzzle.grid)
    half = puzzle.grid.copy()
    half[tuple(path[: len(path) // 2].T)] = sol[tuple(path[: len(path) // 2].T)]
    tr = hand_built_trace(maze, puzzle, [half, sol], [0.1, 0.8], sol)
    assert corrections.change_counts(tr)["corrections"].tolist() == [len(path) // 2, len(path) - len(path) // 2]
    img = grids.step_image(tr, maze, 1, puzzle, cell_px=8)
    assert img.size == (sol.shape[1] * 8, sol.shape[0] * 8)
    r, c = path[-1]                                   # not drawn yet at step 1: a wrong cell
    assert near(np.asarray(img)[r * 8 + 1, c * 8 + 6], WRONG)
    # An unsure fill cell is striped, not washed: its true colour still shows between white stripes.
    r, c = path[0]                                    # drawn at step 1 with confidence 0.3
    plain = np.asarray(maze.render(half, puzzle, 8))[r * 8 + 2:r * 8 + 6, c * 8 + 2:c * 8 + 6].reshape(-1, 3)
    shaded = np.asarray(img)[r * 8 + 2:r * 8 + 6, c * 8 + 2:c * 8 + 6].reshape(-1, 3)
    same = (shaded == plain).all(axis=1)
    assert same.any() and not same.all()
    d = viewer_data.viewer_data(tr, maze, puzzle)
    assert d["style"] == "fill" and d["steps"][1]["exact"] is True


def test_a_padding_token_is_no_answer_in_the_viewer_either():
    """A model that writes the padding token where a wall is decodes to a wall, yet the status line (token
    accuracy) calls that cell wrong: the viewer's cells and score must say the same."""
    maze = get_task("maze")
    puzzle = maze.examples()["tiny"]
    sol = maze.solve(puzzle)
    tr = hand_built_trace(maze, puzzle, [sol], [0.9], sol)
    r, c = map(int, np.argwhere(sol == 0)[0])                     # a wall
    tr.tokens[0, r, c] = 0                                        # the padding token
    tr.correct = tr.tokens == tr.label_tokens[None]
    assert not cells.step_cells(tr, 1).correct[r, c]
    step = viewer_data.viewer_data(tr, maze, puzzle)["steps"][0]
    assert step["acc"] == pytest.approx(float(tr.solve_accuracy[0]), abs=1e-4) and step["exact"] is False
    assert step["todo"] == list(tr.cells_to_solve(0)) and step["todo"][0] < step["todo"][1]


def test_cells_to_solve_are_what_the_input_leaves_open():
    """A maze's walls and a Sudoku's givens are copied from the input: over all cells, a maze answer missing half its
    path read 98% right (the plot's line stayed flat while the answer flipped). Over the cells to solve it reads as
    the path found; a wall the model broke counts against it too."""
    maze = get_task("maze")
    puzzle = maze.examples()["tiny"]
    sol = maze.solve(puzzle)
    path = np.argwhere(sol != puzzle.grid)
    half, broken = np.array(puzzle.grid, copy=True), np.array(sol, copy=True)
    half[tuple(path[: len(path) // 2].T)] = sol[tuple(path[: len(path) // 2].T)]
    broken[tuple(np.argwhere(sol == 0)[0])] = sol[tuple(path[0])]          # a wall painted as path
    tr = hand_built_trace(maze, puzzle, [half, sol, broken], [0.1, 0.9, 0.9], sol)
    assert tr.cell_accuracy[0] > 0.9                        # every cell: the walls hold it up
    n = len(path)
    assert [tr.cells_to_solve(i) for i in range(3)] == [(n // 2, n), (n, n), (n, n + 1)]
    assert tr.solve_accuracy.tolist() == pytest.approx([(n // 2) / n, 1.0, n / (n + 1)])
    assert [s["solve_accuracy"] for s in to_json(tr)["steps"]] == pytest.approx(tr.solve_accuracy.tolist(), abs=1e-6)
    # an ARC answer that loses a row counts its cells as missing (over all cells it scored above the full answer)
    given, sol = np.zeros((3, 3), int), np.eye(3, dtype=int)
    full, short = np.array([[1, 0, 0], [0, 2, 0], [0, 0, 2]]), np.array([[1, 0, 0], [0, 2, 0]])
    assert solve_counts(full, sol, given) == (1, 3) and solve_counts(short, sol, given) == (1, 5)


def test_inner_panels_of_other_shapes_share_one_frame():
    """An ARC decode that changes shape between inner updates sits centred on the same frame as its neighbours, so
    the panels of a row keep one height and their grids one centre line."""
    arc = get_task("arc")
    small, big = np.array([[2]]), np.full((3, 3), 4)
    z = np.zeros((1, 30, 30), np.float32)
    tr = Trace(task="arc", input_grid=big, input_tokens=np.asarray(arc.encode(big)), canvas_shape=(30, 30),
               tokens=np.asarray(arc.encode(big)).reshape(1, 30, 30), answers=[big], confidence=z + 1,
               q_halt_prob=np.zeros(1, np.float32), changed=z > 0, z_H_delta=z, z_L_delta=z,
               z_H_proj=np.zeros((1, 30, 30, 3), np.float32), z_L_proj=np.zeros((1, 30, 30, 3), np.float32),
               inner_tokens=np.stack([np.asarray(arc.encode(g)).reshape(30, 30) for g in (small, big)])[None],
               inner_kinds=["L1.1", "H1"], inner_change=np.zeros((1, 2), np.float32), halt_step=None, solution=None)
    strip = np.asarray(latents.inner_strip(tr, arc, 1, cell_px=10)).astype(int)
    r, g, b = strip[..., 0], strip[..., 1], strip[..., 2]
    red, yellow = (r > 200) & (g < 100), (r > 200) & (g > 180) & (b < 100)      # ARC colours 2 and 4
    centre = [np.nonzero(m.any(1))[0] for m in (red, yellow)]
    assert abs(centre[0].mean() - centre[1].mean()) <= 1, "the 1x1 grid sits at the top of a taller frame"


def test_the_viewer_marks_digits_that_break_the_rules():
    """Each Sudoku digit that repeats in its row, column or box is marked; a maze has no such rule to check."""
    puzzle = SUDOKU.examples()["Easy 1 (Wikipedia example)"]
    sol = SUDOKU.solve(puzzle)
    swapped = np.where(np.arange(81).reshape(9, 9) == 2, sol[0, 3], sol)   # r1c3 := r1c4: twice in row 1, column 3
    step = viewer_data.viewer_data(hand_built_trace(SUDOKU, puzzle, [swapped], [0.1], sol), SUDOKU, puzzle)["steps"][0]
    marked = {divmod(i, 9) for i, ch in enumerate(step["breaks"]) if ch == "1"}
    assert (0, 2) in marked and (0, 3) in marked and marked == {tuple(rc) for rc in np.argwhere(
        [[(swapped[r] == swapped[r, c]).sum() > 1 or (swapped[:, c] == swapped[r, c]).sum() > 1
          or (swapped[r // 3 * 3:r // 3 * 3 + 3, c // 3 * 3:c // 3 * 3 + 3] == swapped[r, c]).sum() > 1
          for c in range(9)] for r in range(9)])}
    maze, tiny = get_task("maze"), get_task("maze").examples()["tiny"]
    assert viewer_data.viewer_data(hand_built_trace(maze, tiny, [maze.solve(tiny)], [0.9], None), maze,
                                   tiny)["steps"][0]["breaks"] is None
