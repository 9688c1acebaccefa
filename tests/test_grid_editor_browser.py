"""The grid editor and the step viewer in a real browser (Debian chromium driven by Playwright): keys and drags must
reach Python as list[list[int]], server updates must redraw, the viewer must scrub, play and jump with no server
round trip per frame. Plus the editor's Python-side checks, which need no browser.

The viewer is fed a hand-built trace of a real Sudoku and its solution (see test_viz.hand_built_trace), not model
output. Skipped when chromium is not installed, except in CI (TRM_VIZ_REQUIRE_BROWSER=1), where that fails.
"""
from __future__ import annotations

import json
import time

import gradio as gr
import numpy as np
import pytest

from conftest import free_port   # pytest puts tests/ on sys.path
from trm_viz.tasks import get_task
from trm_viz.ui.grid_editor import GridEditor, blank_grid, editor_for, editor_update, to_rows
from trm_viz.ui.step_viewer import StepViewer, select_update
from trm_viz.viz.viewer_data import viewer_data

# gradio's queue calls a pandas option that pandas 3 deprecates, on every event.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:gradio.queueing")
SUDOKU, MAZE = get_task("sudoku"), get_task("maze")


# --- Python side, no browser ------------------------------------------------------------------------------------
def test_editor_values_are_checked():
    assert to_rows(np.array([[1, 2], [3, 4]])) == [[1, 2], [3, 4]]
    ed = GridEditor([[0, 1]], mode="arc", legend=[(0, "black", "#000"), (1, "blue", "#00f")])
    assert ed.preprocess([[0, 1], [1, 0]]) == [[0, 1], [1, 0]]
    with pytest.raises(gr.Error, match="Row 2 of the grid has 1 cells"):
        ed.preprocess([[0, 1], [1]])
    with pytest.raises(gr.Error, match="expected a whole number from 0 to 9"):
        ed.postprocess([[0, 12]])
    with pytest.raises(ValueError, match="mode must be one of"):
        GridEditor([[0]], mode="chess")
    maze = blank_grid("maze", 5, 6)
    assert np.array(maze).shape == (5, 6) and sum(r.count(2) for r in maze) == sum(r.count(3) for r in maze) == 1
    assert editor_for(SUDOKU).value == [[0] * 9 for _ in range(9)]
    upd = editor_update(MAZE, maze)
    assert upd["mode"] == "maze" and upd["value"] == maze and upd["legend"][0][0] == 0


# --- browser ----------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def trace_data():
    from test_viz import hand_built_trace   # pytest puts tests/ on sys.path

    puzzle = SUDOKU.examples()["Easy 1 (Wikipedia example)"]
    sol = SUDOKU.solve(puzzle)
    half = puzzle.grid.copy()
    blanks = np.argwhere(puzzle.grid == 0)
    half[tuple(blanks[::2].T)] = sol[tuple(blanks[::2].T)]
    answers = [half, sol.copy(), sol.copy(), sol.copy(), sol.copy()]
    return viewer_data(hand_built_trace(SUDOKU, puzzle, answers, [0.05, 0.3, 0.6, 0.8, 0.9], sol), SUDOKU, puzzle)


@pytest.fixture(scope="module")
def arc_data():
    """An ARC answer one row short of its 4x3 solution (its 9 cells all right), then the solution."""
    from test_viz import hand_built_trace
    from trm_viz.tasks.base import Puzzle

    arc = get_task("arc")
    sol = np.array([[1, 2, 3], [4, 5, 6], [7, 8, 9], [1, 1, 1]])
    puzzle = Puzzle("arc", np.zeros((4, 3), dtype=np.int64), solution=sol, arc_task_id="7b7f7511")
    return viewer_data(hand_built_trace(arc, puzzle, [sol[:3], sol], [0.2, 0.9], sol), arc, puzzle)


@pytest.fixture(scope="module")
def maze_data():
    """A maze answer that paints a wall over the goal, then the path."""
    from test_viz import hand_built_trace

    maze = get_task("maze", 64)
    puzzle = maze.examples()["tiny"]
    sol = maze.solve(puzzle)
    lost = sol.copy()
    lost[sol == 3] = 0
    return viewer_data(hand_built_trace(maze, puzzle, [lost, sol], [0.2, 0.9], sol), maze, puzzle)


@pytest.fixture(scope="module")
def page(trace_data, arc_data, maze_data, browser):
    with gr.Blocks() as demo:
        sudoku = editor_for(SUDOKU, SUDOKU.examples()["Easy 1 (Wikipedia example)"].grid, elem_id="sudoku")
        maze = editor_for(MAZE, blank_grid("maze", 10, 10), elem_id="maze")
        echo = gr.Textbox(elem_id="echo")
        for ed in (sudoku, maze):
            ed.change(lambda v: json.dumps(v), ed, echo)
        reset = gr.Button("reset", elem_id="reset")
        reset.click(lambda: editor_update(SUDOKU, blank_grid("sudoku")), None, sudoku)
        viewer = StepViewer(trace_data, fps=10, elem_id="viewer")
        StepViewer(arc_data, elem_id="arc-viewer")
        StepViewer(maze_data, elem_id="maze-viewer")
        settled = gr.Textbox(elem_id="settled")

        def on_step(evt: gr.EventData) -> str:
            return str(evt.step)

        viewer.step_change(on_step, None, settled)
        jump = gr.Button("jump", elem_id="jump")
        jump.click(lambda: select_update(2, 4, 4), None, viewer)
    demo.launch(server_port=free_port(), prevent_thread_lock=True, ssr_mode=False, quiet=True)
    try:
        pg = browser.new_page(viewport={"width": 1280, "height": 1400})
        pg.goto(demo.local_url)
        pg.wait_for_selector("#maze .ge-cell")
        yield pg
        pg.close()
    finally:
        demo.close()


def wait_for(read, pred, what: str, timeout: float = 15.0):
    """Poll ``read()`` until ``pred`` holds (values reach Python and come back through a queued event)."""
    end, last = time.time() + timeout, None
    while time.time() < end:
        try:
            last = read()
            if pred(last):
                return last
        except (ValueError, IndexError, TypeError):
            pass
        time.sleep(0.05)
    raise AssertionError(f"{what}: still {last!r} after {timeout} s")


def echo(page) -> list[list[int]]:
    return json.loads(page.locator("#echo textarea").input_value())


def test_sudoku_keyboard(page):
    page.click('#sudoku .ge-cell[data-r="0"][data-c="2"]')
    page.keyboard.press("4")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("9")
    v = wait_for(lambda: echo(page), lambda v: len(v) == 9 and v[1][3] == 9, "typed 9 at (2, 4)")
    assert v[0][2] == 4 and v[0][:2] == [5, 3]
    assert page.locator('#sudoku .ge-cell[data-r="1"][data-c="3"]').inner_text() == "9"
    page.keyboard.press("Backspace")
    wait_for(lambda: echo(page), lambda v: len(v) == 9 and v[1][3] == 0, "Backspace cleared (2, 4)")
    # no keys (a phone, a touch board): the digit pad types into the selected cell
    page.click('#sudoku .ge-cell[data-r="8"][data-c="0"]')
    assert page.locator("#sudoku .ge-grid.kbd").count() == 0            # a press is no keyboard focus: no outline
    page.click('#sudoku .ge-digit[data-digit="6"]')
    wait_for(lambda: echo(page), lambda v: len(v) == 9 and v[8][0] == 6, "pad typed 6 at (9, 1)")
    page.click('#sudoku .ge-digit[data-digit="0"]')
    wait_for(lambda: echo(page), lambda v: len(v) == 9 and v[8][0] == 0, "pad cleared (9, 1)")
    page.keyboard.press("8")               # the pad keeps the keyboard in the grid: a key goes on from the pad
    page.keyboard.press("ArrowUp")
    page.keyboard.press("7")
    wait_for(lambda: echo(page), lambda v: len(v) == 9 and v[7][0] == 7 and v[8][0] == 8, "keys after the pad")
    # A server update (gr.update with the task's mode and legend) redraws the editor.
    page.click("#reset")
    wait_for(lambda: page.locator('#sudoku .ge-cell[data-r="0"][data-c="0"]').inner_text(), lambda t: t == "",
             "editor cleared by the server")


def test_maze_drag_paints_walls_and_moves_start(page):
    page.click('#maze .ge-tool[data-tool="0"]')
    a = page.locator('#maze .ge-cell[data-r="3"][data-c="2"]').bounding_box()
    b = page.locator('#maze .ge-cell[data-r="3"][data-c="8"]').bounding_box()
    page.mouse.move(a["x"] + 4, a["y"] + 4)
    page.mouse.down()
    page.mouse.move(b["x"] + 4, b["y"] + 4, steps=2)     # 2 samples for 6 cells: the skipped ones are filled
    page.mouse.up()
    v = wait_for(lambda: echo(page), lambda v: len(v) == 10 and v[3][8] == 0, "wall drag reached Python")
    assert v[3][2:9] == [0] * 7 and v[4][2:9] == [1] * 7
    page.click('#maze .ge-tool[data-tool="2"]')
    page.click('#maze .ge-cell[data-r="6"][data-c="6"]')
    v = wait_for(lambda: echo(page), lambda v: len(v) == 10 and v[6][6] == 2, "start moved")
    assert sum(row.count(2) for row in v) == 1 and v[1][1] == 1


def test_step_viewer_scrubs_plays_and_jumps(page):
    step = page.locator("#viewer .sv-step")
    page.locator("#viewer").scroll_into_view_if_needed()
    assert step.inner_text() == "step 3 / 5"                   # opens at the halting step
    assert page.locator("#viewer .sv-cell").count() == 81
    page.click('#viewer .sv-cell[data-r="0"][data-c="2"]')          # a touch screen shows no tooltip: the side does
    assert page.locator("#viewer .sv-cellinfo").inner_text().startswith("(1, 3) ")
    # Play from where the viewer opened shows the whole run, from step 1 (not only the steps after the halt).
    page.evaluate("""() => { window.seen = []; const s = document.querySelector('#viewer .sv-step');
      new MutationObserver(() => window.seen.push(s.textContent)).observe(s, {childList: true, characterData: true,
        subtree: true}); }""")
    page.click("#viewer .sv-play")
    wait_for(lambda: step.inner_text(), lambda t: t == "step 5 / 5", "playback from the opening step", 5)
    assert page.evaluate("window.seen")[:5] == [f"step {k} / 5" for k in range(1, 6)]
    page.locator("#viewer .sv-slider").fill("1")
    assert step.inner_text() == "step 1 / 5"
    assert page.locator("#viewer .sv-cell.chg").count() == len(range(0, 51, 2))   # every other blank filled
    page.click("#viewer .sv-play")                              # 10 fps, all in the browser
    wait_for(lambda: step.inner_text(), lambda t: t == "step 5 / 5", "playback reached the last step", 5)
    wait_for(lambda: page.locator("#settled textarea").input_value(), lambda t: t == "5", "step_change event")
    page.click("#jump")                                         # corrections-table hook: step 2, cell (4, 4)
    wait_for(lambda: step.inner_text(), lambda t: t == "step 2 / 5", "jump to step 2")
    ring = page.locator("#viewer .sv-cell.sel")
    assert ring.count() == 1 and ring.get_attribute("data-r") == "4" and ring.get_attribute("data-c") == "4"
    x = page.locator("#viewer .hc-cursor").get_attribute("x1")
    svg = page.locator("#viewer .sv-svg svg")
    assert float(x) == pytest.approx(float(svg.get_attribute("data-x0")) + float(svg.get_attribute("data-dx")), abs=0.1)


def test_an_arc_answer_of_the_wrong_size_says_so(page):
    """Its cells are all right and none is marked wrong: the missing row shows only in words (and to screen readers)."""
    stats, step = page.locator("#arc-viewer .sv-stats"), page.locator("#arc-viewer .sv-step")
    page.locator("#arc-viewer .sv-slider").fill("1")
    assert step.inner_text() == "step 1 / 2" and page.locator("#arc-viewer .sv-cell").count() == 9
    assert page.locator("#arc-viewer .sv-cell.bad").count() == 0
    assert "wrong size: 3x3, the solution is 4x3" in stats.inner_text() and "75.0%" in stats.inner_text()
    assert "wrong size: 3x3, the solution is 4x3" in page.locator("#arc-viewer .sv-live").inner_text()
    page.locator("#arc-viewer .sv-slider").fill("2")
    assert "wrong size" not in stats.inner_text() and "whole answer right" in stats.inner_text()


def test_the_maze_goal_keeps_its_letter_when_an_answer_paints_over_it(page):
    page.locator("#maze-viewer .sv-slider").fill("1")
    letters = page.locator("#maze-viewer .sv-letter")
    assert letters.all_inner_texts() == ["S", "G"]
    goal = page.locator("#maze-viewer .sv-cell:has(.sv-letter.lost)")
    assert goal.count() == 1 and "the puzzle's goal, not in this answer" in goal.get_attribute("aria-label")
    assert "wrong" in goal.get_attribute("aria-label")          # the wall there is marked wrong, as before
    page.locator("#maze-viewer .sv-slider").fill("2")
    assert letters.all_inner_texts() == ["S", "G"] and page.locator("#maze-viewer .sv-letter.lost").count() == 0


def test_keyboard_only_paints_a_maze_and_shows_focus(page):
    """No pointer: Tab into the editor selects a cell and outlines the grid, arrows move, Enter on a tool button
    picks it, Space paints; the viewer outlines its grid while it has the keyboard focus."""
    page.keyboard.press("Shift")                              # keyboard modality: focus is then :focus-visible
    root = page.locator("#maze .ge-grid")
    root.focus()
    wait_for(lambda: page.locator("#maze .ge-grid.kbd").count(), lambda n: n == 1, "editor outlined")
    ring = page.locator("#maze .ge-cell.sel")                 # (0, 0), or the cell the pointer last pressed
    r0, c0 = int(ring.get_attribute("data-r")), int(ring.get_attribute("data-c"))
    assert page.locator("#maze .ge-grid").get_attribute("aria-activedescendant").endswith(f"-{r0}-{c0}")
    for key in ("ArrowRight", "ArrowRight", "ArrowDown"):
        page.keyboard.press(key)
    r, c = min(9, r0 + 1), min(9, c0 + 2)
    page.locator('#maze .ge-tool[data-tool="3"]').focus()     # the goal tool, picked with Enter
    page.keyboard.press("Enter")
    assert page.locator('#maze .ge-tool[data-tool="3"]').get_attribute("aria-checked") == "true"
    page.keyboard.press("ArrowLeft")                          # the tools are one radio group: arrows choose
    page.keyboard.press("ArrowRight")
    assert page.locator('#maze .ge-tool[tabindex="0"]').get_attribute("data-tool") == "3"
    root.focus()
    page.keyboard.press("Space")
    v = wait_for(lambda: echo(page), lambda v: len(v) == 10 and v[r][c] == 3, f"goal painted by keyboard at {r, c}")
    assert page.locator("#maze .ge-live").inner_text() == f"row {r + 1}, column {c + 1}: goal"
    assert sum(row.count(3) for row in v) == 1                # the old goal moved, as with a pointer
    page.keyboard.press("Shift")
    page.locator("#viewer [tabindex='0']").first.focus()
    wait_for(lambda: page.locator("#viewer .sv-grid.kbd").count(), lambda n: n == 1, "viewer outlined")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_text_and_controls_readable_in_light_and_dark_mode(page, browser, scheme):
    """A visitor whose system is in dark mode gets Gradio's dark page: the viewer's digits (a span in a light cell),
    its play button and layer menu, its key and the editor's help line keep >= 4.5:1, and the digits the model
    wrote are blue, the givens black (light mode measured 1.01-1.17:1 on dark, white on white before)."""
    from contrast import colour, contrast

    pg = browser.new_page(viewport={"width": 1280, "height": 1400}, color_scheme=scheme)
    try:
        pg.goto(page.url)
        pg.wait_for_selector("#viewer .sv-cell")
        written = '#viewer .sv-cell:not(.giv)[data-r="0"][data-c="2"] span'
        for selector in (written, "#viewer .sv-cell.giv span", "#viewer .sv-play", "#viewer .sv-layer",
                         "#viewer .sv-key", "#sudoku .ge-help"):
            assert contrast(pg, selector) >= 4.5, (scheme, selector)
        assert colour(pg, written) == [29, 78, 216] and colour(pg, "#viewer .sv-cell.giv span") == [17, 24, 39]
        # the z_H / z_L layers colour cells dark purple to yellow: every digit still reads (blue on purple: 1.1:1)
        for layer in ("zH", "zL"):
            pg.select_option("#viewer .sv-layer", layer)
            spans = pg.locator("#viewer .sv-cell span")
            worst = min(contrast(pg, f'#viewer .sv-cell[data-r="{r}"][data-c="{c}"] span')
                        for r, c in (map(int, (x.get_attribute("data-r"), x.get_attribute("data-c")))
                                     for x in pg.locator("#viewer .sv-cell:has(span)").all()))
            assert spans.count() >= 30 and worst >= 4.5, (scheme, layer, worst)
    finally:
        pg.close()
