"""A session the server lets go, in a real browser: Gradio drops the least recently used sessions beyond
state_session_capacity, and what a session has not written for an hour once its page lost the connection. The page
must say so and keep working (ui/session.lost). Skipped when chromium is missing, except under
TRM_VIZ_REQUIRE_BROWSER=1 (CI).
"""
from __future__ import annotations

import json

import pytest

from app_page import cell, page, run_and_export, toasts, wait_for  # noqa: F401  (page: a fixture)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:gradio.queueing")


def test_a_session_the_server_let_go_says_so_and_keeps_working(page, app_server):
    """The server lets a session go (Gradio keeps 1,000, and drops what a session has not written for an hour once
    its page lost the connection): the page still shows its grid, menus and run. The views that need the run say it
    is gone, the first edit says what was lost, Run uses the model the menu shows, and ARC mode keeps working (its
    menus' choices were the lost session's: every edit was refused with "not in the list of choices")."""
    page.locator("#model-choice input").click()
    page.locator("[role=option]:has-text('sudoku-tiny')").click()
    wait_for(lambda: page.locator("#model-line").inner_text(), lambda t: "sudoku-tiny" in t, "the tiny model picked")
    run_and_export(page, 2, "the run before")
    status = page.locator("#status")
    app_server.state_holder.session_data.clear()          # what the server does when it lets the sessions go
    slider = page.locator("#viewer .sv-slider")
    slider.fill("1")
    slider.dispatch_event("change")
    wait_for(lambda: status.inner_text(), lambda t: t.startswith("The server no longer holds the run shown here"),
             "the step views say the run is gone")
    page.click("#make-gif")
    wait_for(lambda: toasts(page), lambda t: "no longer holds the run" in t, "so does the GIF")
    page.click("#run-button")                             # (the settings kept: 2 steps)
    wait_for(lambda: status.inner_text(), lambda t: t.startswith("Done: 2 steps"), "Run again", 120)
    trace = json.loads(page.request.get(page.locator("#trace-json a").first.get_attribute("href")).text())
    assert "The server let this page's session go" in toasts(page)
    assert "sudoku-tiny" in trace["meta"]["checkpoint"]         # the menu's model, not the default one
    assert "sudoku-tiny" in page.locator("#model-line").inner_text()

    page.click("#task label:has-text('ARC')")
    wait_for(lambda: page.locator("#check").inner_text(), lambda t: "solution known" in t, "an ARC example")
    task_id = page.locator("#arc-task input").input_value().split(":")[0]
    app_server.state_holder.session_data.clear()
    said = toasts(page).count("The server let this page's session go")     # (the toast from Run may still show)
    before = cell(page, "#editor", 0, 0).get_attribute("data-v")
    page.click(f'#editor .ge-tool[data-tool="{(int(before) + 1) % 10}"]')
    cell(page, "#editor", 0, 0).click()
    wait_for(lambda: page.locator("#check").inner_text(), lambda t: "no known solution" in t, "the edit checked")
    wait_for(lambda: toasts(page), lambda t: t.count("The server let this page's session go") > said,
             "what was lost, said")
    page.click(f'#editor .ge-tool[data-tool="{before}"]')
    cell(page, "#editor", 0, 0).click()                   # back to the task's test input: its output is known
    wait_for(lambda: page.locator("#check").inner_text(), lambda t: "solution known" in t and task_id in t,
             "the test input recognised")
    page.click("#undo")                                   # the edits since: undone; from before: gone (said once,
    wait_for(lambda: cell(page, "#editor", 0, 0).get_attribute("data-v"), lambda v: v != before, "undo")   # above)
    page.click("#undo")
    wait_for(lambda: toasts(page), lambda t: "Nothing to undo." in t, "undo")
    assert "not in the list of choices" not in toasts(page)
