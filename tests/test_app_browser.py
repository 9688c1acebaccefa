"""The whole app in a real browser (Debian chromium via Playwright) against the app served in-process with the real
Sudoku checkpoint: type a Sudoku, run it, scrub the steps; paint a maze and undo; a bad upload shows an error and
keeps the grid. Skipped when chromium is missing, except under TRM_VIZ_REQUIRE_BROWSER=1 (CI).

TRM_VIZ_SCREENSHOT=path.png saves a screenshot of the page after the Sudoku run.
"""
from __future__ import annotations

import json
import os
import re
import time

import numpy as np
import pytest

from app_page import cell, editor_digits, page, run_and_export, set_slider, toasts, wait_for  # noqa: F401
from trm_viz.tasks import get_task

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:gradio.queueing")
SUDOKU = get_task("sudoku")
EASY = "53..7....6..195....98....6.8...6...34..8.3..17...2...6.6....28....419..5....8..79"


def test_type_a_sudoku_run_it_and_scrub(page):
    page.click("#clear")
    wait_for(lambda: editor_digits(page), lambda d: d == [""] * 81, "cleared editor")
    grid = SUDOKU.parse(EASY).grid
    for r, c in np.argwhere(grid > 0):
        cell(page, "#editor", r, c).click()
        page.keyboard.press(str(grid[r, c]))
    # The typed grid reached Python: it was checked there (30 clues, the solver found its solution).
    wait_for(lambda: page.locator("#check").inner_text(), lambda t: "30 clues, solution known" in t, "typed grid")

    page.click("button:has-text('Run settings')")              # 8 steps: enough to scrub, half the wait
    set_slider(page, "Supervision steps", 8)
    t0 = time.time()
    page.click("#run-button")
    page.wait_for_selector("#viewer .sv-cell", timeout=60_000)      # the first step streams in on its own
    first = time.time() - t0
    wait_for(lambda: page.locator("#status").inner_text(), lambda t: t.startswith("Done"), "the run", 120)
    print(f"first step shown after {first:.2f} s, all 8 after {time.time() - t0:.2f} s")
    opened = page.locator("#viewer .sv-step").inner_text()

    # What the page shows at step 3 is the trace's step 3 (read back from the exported JSON).
    page.click("button[role=tab]:has-text('Export')")
    href = page.locator("#trace-json a").first.get_attribute("href")
    trace = json.loads(page.request.get(href).text())
    assert trace["num_steps"] == 8 and trace["input"] == grid.tolist()
    assert opened == f"step {trace['halt_step'] or 8} / 8"          # the viewer opens where the model would halt
    slider = page.locator("#viewer .sv-slider")
    slider.fill("3")
    slider.dispatch_event("change")
    assert page.locator("#viewer .sv-step").inner_text() == "step 3 / 8"
    # A screen reader hears the step it settled on, and reads the grid as a table of named cells.
    wait_for(lambda: page.locator("#viewer .sv-live").inner_text(), lambda t: t.startswith("Step 3 of 8: q_halt"),
             "the viewer's live region")
    assert page.locator("#viewer [role=table]").get_attribute("aria-label") == "Answer at step 3 of 8, 9 by 9"
    assert page.locator('#viewer [role=cell][data-r="0"][data-c="0"]').get_attribute("aria-label").startswith(
        "row 1, column 1: 5, given")
    # ... and the run's end, not its every step, in the page's live region
    said = page.locator("#trm-live p").all_inner_texts()
    assert said[-1].startswith("Done: 8 steps") and not any(t.startswith(("Step", "queue", "processing")) for t in said)
    # The halting plot is one image named by its values (its own SVG reads as loose tick labels), and its toolbar
    # one Tab stop (Download), not nine buttons a keyboard cannot zoom or pan with.
    assert page.locator("[role=region][aria-label=Puzzle], [role=region][aria-label=Results]").count() == 2
    named = wait_for(lambda: page.locator("#halting-plot svg.main-svg[role=img]").get_attribute("aria-label") or "",
                     lambda t: "q_halt probability (steps 1-8): " in t, "the halting plot's name")
    said = named.split("q_halt probability (steps 1-8): ")[1].split(". ")[0].split(", ")
    assert np.allclose([float(v) for v in said], [s["q_halt_prob"] for s in trace["steps"]], atol=0.006)
    assert page.locator("#halting-plot button:not([tabindex='-1']), #halting-plot a:not([tabindex='-1'])"
                        ).evaluate_all("bs => bs.map(b => b.getAttribute('data-title'))") == ["Download plot as a PNG"]
    answer = np.array(trace["steps"][2]["answer"])
    shown = page.locator("#viewer .sv-cell").all_inner_texts()
    assert shown == [str(v) if v else "" for v in answer.reshape(-1)]
    givens = page.locator("#viewer .sv-cell.giv")
    assert givens.count() == 30 and cell(page, "#viewer", 0, 0).get_attribute("class").count("giv") == 1
    changed = {(int(x.get_attribute("data-r")), int(x.get_attribute("data-c")))
               for x in page.locator("#viewer .sv-cell.chg").all()}
    assert changed == {tuple(rc) for rc in np.argwhere(answer != np.array(trace["steps"][1]["answer"])).tolist()}
    # The solution layer shows the known answer, with red corners where step 3's answer differs from it.
    page.select_option("#viewer .sv-layer", "solution")
    solution = np.array(SUDOKU.solve(SUDOKU.parse(EASY)))
    assert page.locator("#viewer .sv-cell").all_inner_texts() == [str(v) for v in solution.reshape(-1)]
    assert page.locator("#viewer .sv-cell.bad").count() == int((answer != solution).sum())
    page.select_option("#viewer .sv-layer", "answer")
    # Settling on a step refreshes the latent views for it (the viewer's step_change event).
    page.click("button[role=tab]:has-text('Latents')")
    wait_for(lambda: page.locator("#latent-step").inner_text(), lambda t: t == "Showing step 3.", "latents refresh")
    assert page.get_by_role("button", name="z_H change at step 3").count() == 1         # the pictures' alt text
    # Steps pressed faster than the server redraws: the views end on the viewer's step, not the burst's first.
    page.click("#viewer .sv-stats")
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    wait_for(lambda: page.locator("#latent-step").inner_text(), lambda t: t == "Showing step 6.", "after a burst",
             timeout=10)
    # A corrections-table row takes the viewer to its step and rings its cell (rows and columns count from 1).
    page.click("button[role=tab]:has-text('Corrections')")
    row = [page.locator(f'#corrections [data-testid="cell-0-{k}"]').inner_text() for k in range(3)]
    page.locator('#corrections [data-testid="cell-0-2"]').click()
    wait_for(lambda: page.locator("#viewer .sv-step").inner_text(), lambda t: t == f"step {row[0]} / 8", "row jump")
    ring = page.locator("#viewer .sv-cell.sel")
    assert ring.count() == 1 and (ring.get_attribute("data-r"), ring.get_attribute("data-c")) == (
        str(int(row[1]) - 1), str(int(row[2]) - 1))
    if os.environ.get("TRM_VIZ_SCREENSHOT"):
        page.screenshot(path=os.environ["TRM_VIZ_SCREENSHOT"], full_page=True)
    # An edit after the run: the status line says the views show that run, not the puzzle now in the editor.
    cell(page, "#editor", 0, 2).click()
    page.keyboard.press("4")
    wait_for(lambda: page.locator("#status").inner_text(), lambda t: t.startswith("The views below show your last"),
             "the status line after an edit")


def test_stop_keeps_the_finished_steps_and_each_puzzle_type_its_run(page):
    """Stop ends the paper-size model's run after the step it is on; every view shows the steps that finished. A
    look at another puzzle type shows no Sudoku there, and coming back shows the stopped run again."""
    page.click("#run-button")                                     # Warm-up 1, 16 steps of ~0.3 s on 2 cores
    # Any early step will do: a busy machine's page may not show every streamed status.
    wait_for(lambda: page.locator("#status").inner_text(),
             lambda t: bool(re.match(r"Step ([1-9]|1[0-2]) of 16 done", t)), "the run going", 60)
    page.click("button:has-text('Stop')")
    status = wait_for(lambda: page.locator("#status").inner_text(), lambda t: t.startswith("Stopped after step"),
                      "the stopped run's views", 60)        # 20 s ran out once on a machine busy with other work
    k = int(status.split()[3])
    assert k < 16 and page.locator("#viewer .sv-step").inner_text().endswith(f"/ {k}")
    page.click("button[role=tab]:has-text('Corrections')")
    later = "" if k == 1 else "step 2 made" if k == 2 else f"steps 2-{k} made"
    wait_for(lambda: page.locator("#corrections-summary").inner_text(),
             lambda t: t.startswith("Step 1 put") and later in t, "the corrections of those steps")
    page.click("button[role=tab]:has-text('Export')")                    # a GIF of the Sudoku run ...
    page.click("#make-gif")
    page.wait_for_selector("#gif-file a", timeout=30_000)
    page.click("#task label:has-text('Maze')")
    page.wait_for_selector("#viewer .sv-empty")
    wait_for(lambda: page.locator("#gif-file a").count(), lambda n: n == 0, "... is not offered on mazes")
    wait_for(lambda: page.locator("#status").inner_text(), lambda t: t.startswith("Press Run"), "no Sudoku on mazes")
    page.click("#task label:has-text('Sudoku')")
    wait_for(lambda: page.locator("#status").inner_text(), lambda t: t == status, "the Sudoku run back")
    assert page.locator("#viewer .sv-step").inner_text().endswith(f"/ {k}")
    # Run, Stop and Run again at once: the last Run is not dropped, it runs whole.
    page.click("#run-button")
    page.click("button:has-text('Stop')")
    page.click("#run-button")
    wait_for(lambda: page.locator("#status").inner_text(), lambda t: t.startswith("Done: 16 steps"), "Run again", 120)


def test_paint_a_maze_wall_undo_and_run(page, registry):
    cfg = registry.config("maze")
    maze = get_task("maze", cfg.seq_len if cfg is not None else None)      # the canvas of the shipped maze model
    page.click("#task label:has-text('Maze')")
    page.wait_for_selector('#editor .ge-tool[data-tool="0"]')
    wait_for(lambda: page.locator("#editor .ge-cell").count(), lambda n: n == maze.seq_len, "the maze editor")
    tiny = maze.examples()["tiny"]
    path = maze.solve(tiny)
    length = int((path == 4).sum()) + 1
    wait_for(lambda: page.locator("#check").inner_text(), lambda t: f"shortest path {length} steps" in t, "maze")
    r, c = (int(v) for v in np.argwhere(path == 4)[0])
    page.click('#editor .ge-tool[data-tool="0"]')                  # the wall tool
    cell(page, "#editor", r, c).click()
    assert cell(page, "#editor", r, c).get_attribute("data-v") == "0"
    # The painted wall reached Python: the shortest path is now longer or gone.
    wait_for(lambda: page.locator("#check").inner_text(), lambda t: f"shortest path {length} steps" not in t,
             "painted wall checked")
    page.click("#undo")
    wait_for(lambda: cell(page, "#editor", r, c).get_attribute("data-v"), lambda v: v == "1", "undo")
    wait_for(lambda: page.locator("#check").inner_text(), lambda t: f"shortest path {length} steps" in t, "undone")
    if cfg is None:
        return
    # The shipped maze model runs on it: every streamed step paints the whole canvas in the viewer.
    trace = run_and_export(page, 4, "the maze run",
                           lambda: page.locator("#viewer .sv-cell").count() == maze.seq_len)
    assert trace["task"] == "maze" and trace["num_steps"] == 4 and trace["input"] == tiny.grid.tolist()
    # S and G read on every layer (on the z_H layer's dark purple they were near-black: 1.16:1)
    from contrast import contrast

    for layer in ("answer", "zH", "zL"):
        page.select_option("#viewer .sv-layer", layer)
        letters = page.locator("#viewer .sv-letter")
        assert letters.count() == 2
        assert min(contrast(page, f"#viewer .sv-cell:has(.sv-letter) >> nth={k} >> .sv-letter")
                   for k in range(2)) >= 4.5, layer
    # "changes over the run": each cell's changes after step 1, as the exported answers have them; a tap shows one
    # cell's value at every step, the viewer's step ringed
    page.select_option("#viewer .sv-layer", "flips")
    answers = np.array([s["answer"] for s in trace["steps"]])
    flips = (answers[1:] != answers[:-1]).sum(0)
    said = page.locator("#viewer .sv-cell").evaluate_all("cs => cs.map(c => c.getAttribute('aria-label'))")
    assert [int(re.search(r"changed (\d+) times? over the run", t).group(1)) for t in said] == flips.ravel().tolist()
    assert flips.max() >= 1                                     # wrong at step 1, right at steps 2-4
    r, c = (int(v) for v in np.argwhere(flips == flips.max())[0])
    cell(page, "#viewer", r, c).click()
    info = page.locator("#viewer .sv-cellinfo")
    assert f"Row {r + 1}, column {c + 1} at steps 1-4 ({flips.max()} change" in info.inner_text()
    now = int(page.locator("#viewer .sv-step").inner_text().split()[1])
    assert info.locator(".sv-hist").evaluate_all("hs => hs.map(h => h.classList.contains('now'))") == [
        k + 1 == now for k in range(4)]
    page.select_option("#viewer .sv-layer", "pr")         # the chance the model gives each cell's right value
    assert ", chance of the right value ~" in cell(page, "#viewer", r, c).get_attribute("aria-label")


def test_bad_upload_shows_the_error_and_keeps_the_grid(page):
    before = editor_digits(page)
    assert sum(1 for d in before if d) == 47                      # Warm-up 1: 34 blanks
    with page.expect_file_chooser() as chooser:
        page.click("#upload")
    chooser.value.set_files([{"name": "bad.txt", "mimeType": "text/plain", "buffer": b"1234\nnot a sudoku\n"}])
    wait_for(lambda: toasts(page), lambda t: "Could not read bad.txt" in t, "upload error")
    assert editor_digits(page) == before
    wait_for(lambda: page.locator("#run-button").is_enabled(), bool, "Run enabled again after the upload")
    # A grid that breaks the rules cannot run: the error says where, and the grid stays.
    cell(page, "#editor", 0, 4).click()                           # row 1 is 3 1 2 8 . 4 9 6 5
    page.keyboard.press("5")
    wait_for(lambda: page.locator("#check").inner_text(), lambda t: "Not runnable" in t, "clash noticed")
    # The editor marks every clashing digit at once (the 5s of row 1, column 5 and the top middle box).
    g = np.array([int(d or 0) for d in editor_digits(page)]).reshape(9, 9)

    def peers(r, c, i, j):
        return (i, j) != (r, c) and (i == r or j == c or (i // 3, j // 3) == (r // 3, c // 3))

    want = {(r, c) for r, c in np.argwhere(g > 0).tolist()
            if any(g[i, j] == g[r, c] and peers(r, c, i, j) for i in range(9) for j in range(9))}
    marked = page.locator("#editor .ge-cell.clash").all()
    assert {(int(x.get_attribute("data-r")), int(x.get_attribute("data-c"))) for x in marked} == want
    assert (0, 4) in want and len(want) == 4
    page.click("#run-button")
    wait_for(lambda: toasts(page), lambda t: "Row 1 has two 5s" in t, "run refused")
    assert editor_digits(page)[:9] == ["3", "1", "2", "8", "5", "4", "9", "6", "5"]


def test_arc_task_picker_shows_demonstrations_and_runs(page, registry):
    from trm_viz.tasks.arc_data import curated_tasks

    cfg = registry.config("arc")
    arc = get_task("arc", cfg.seq_len if cfg is not None else None)      # the canvas of the shipped ARC model
    page.click("#task label:has-text('ARC')")
    first, second = [p.arc_task_id for p in arc.examples().values()][:2]  # the curated tasks that fit it
    wait_for(lambda: page.locator("#check").inner_text(), lambda t: first in t, "first ARC example")
    demos = curated_tasks()
    wait_for(lambda: page.locator("#arc-demos img").count(), lambda n: n == len(demos[first]["train"]), "demos")
    picker = page.locator("#arc-task input")
    picker.click()
    picker.press("Control+a")
    picker.type(second)
    page.locator("[role=option]").first.click()
    wait_for(lambda: page.locator("#check").inner_text(), lambda t: second in t, "picked task loaded")
    wait_for(lambda: page.locator("#arc-demos img").count(), lambda n: n == len(demos[second]["train"]), "its demos")
    shape = np.array(demos[second]["test"][0]["input"]).shape
    assert page.locator("#editor .ge-cell").count() == shape[0] * shape[1]
    if cfg is None:
        return
    # The shipped ARC model runs on the picked task's test input and the trace names the task it used.
    trace = run_and_export(page, 3, "the ARC run")
    assert trace["task"] == "arc" and trace["num_steps"] == 3 and trace["input"] == demos[second]["test"][0]["input"]
    assert trace["meta"]["puzzle_identifier_name"] == second
    # The vote runs that test input through the variants of the task the model learned and ranks their answers.
    page.click("button[role=tab]:has-text('Variant vote')")
    page.click("#vote-button")
    wait_for(lambda: page.locator("#vote-summary").inner_text(), lambda t: "Vote after step" in t, "the vote", 60)
    text = page.locator("#vote-summary").inner_text()
    assert f"of task {second}" in text and "pass@2" in text, text
    assert page.locator("#vote-image img").count() == 1


def test_pictures_the_sweep_deleted_come_back_when_their_tab_opens(page):
    """A run left open past the hourly sweep (files.py), then shown to a class: the pictures of a tab opened then
    are written again and load, not broken; the Latents tab's pictures load with the run (not lazily, later)."""
    from trm_viz.ui.files import sweep

    page.click("#run-button")
    wait_for(lambda: page.locator("#status").inner_text(), lambda t: t.startswith("Done"), "the run", 120)
    loaded = "es => es.map(i => i.loading + ' ' + (i.complete && i.naturalWidth > 0))"
    latents = page.locator("#results-column img")
    wait_for(lambda: latents.evaluate_all(loaded), lambda v: v == ["eager true"] * 4, "the Latents pictures")
    assert sweep(max_age_s=-1) >= 5                                 # the hour is over: every file is gone
    page.click("button[role=tab]:has-text('Inner recursion')")
    strip = page.get_by_role("button", name=re.compile("^Top: the whole run.* Below: step [0-9]+.s answer decoded"))
    wait_for(lambda: strip.locator("img").evaluate_all(loaded), lambda v: v == ["eager true"], "the inner strip")
    page.click("button[role=tab]:has-text('Latents')")
    wait_for(lambda: latents.evaluate_all(loaded), lambda v: len(v) >= 4 and set(v) == {"eager true"},
             "the Latents pictures again")        # (and the inner strip's, kept in the page after its tab closed)


def test_a_phone_gets_buttons_a_finger_can_hit(app_server, browser):
    """On a touch screen Gradio's small buttons (26 px), accordion heads (20 px) and tabs grow to 40 px, and Plotly's
    toolbar keeps one button; a mouse keeps the compact page."""
    heights = "es => es.filter(e => e.offsetParent).map(e => e.getBoundingClientRect().height)"
    targets = "#new, #clear, #undo, #upload, button.label-wrap, button[role=tab]"
    phone = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True)
    pg = phone.new_page()
    try:
        pg.goto(app_server.local_url)
        pg.wait_for_selector("#editor .ge-cell")
        tall = wait_for(lambda: pg.locator(targets).evaluate_all(heights), lambda t: len(t) >= 8,
                        "the page's buttons")        # the tabs come a moment after the editor on a busy machine
        assert min(tall) >= 40, tall
        # Plotly's toolbar, always shown on touch, keeps only Download: the rest covered the plot's title
        pg.wait_for_selector("#halting-plot .modebar-btn", state="attached")
        shown = pg.locator("#halting-plot .modebar-btn").evaluate_all(
            "bs => bs.filter(b => getComputedStyle(b).display !== 'none').map(b => b.getAttribute('data-title'))")
        assert shown == ["Download plot as a PNG"], shown
        # "Large text" zooms the puzzle grids by 1.3: they still fit the phone's column (the ninth column was cut)
        right = "e => e.getBoundingClientRect().right"
        assert pg.locator("#editor .ge-grid").evaluate(right) < 380
        pg.get_by_text("Large text (for a projector)").click()
        wait_for(lambda: pg.locator("#editor .ge-grid").evaluate("e => getComputedStyle(e).zoom"),
                 lambda z: z == "1.3", "the zoom")
        wait_for(lambda: pg.locator("#editor .ge-grid").evaluate(right), lambda x: x < 380, "the zoomed grid fits")
    finally:
        phone.close()


def test_dark_mode_captions_and_plots(app_server, browser):
    """In Gradio's dark page the captions are light (the dark rule once matched nothing: 2.5:1) and the Plotly
    plot is drawn on the page's dark, not a white box."""
    from contrast import contrast

    pg = browser.new_page(viewport={"width": 1400, "height": 1500}, color_scheme="dark")
    try:
        pg.goto(app_server.local_url)
        pg.wait_for_selector("#halting-plot svg.main-svg", state="attached")
        assert contrast(pg, ".trm-caption p") >= 7
        painted = pg.locator("#halting-plot svg.main-svg").first.evaluate("e => getComputedStyle(e).backgroundColor")
        assert painted == "rgba(0, 0, 0, 0)"      # plotly_white's paper lets the page show through
    finally:
        pg.close()
