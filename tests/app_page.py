"""A page of the app in a real browser, for the browser tests: the ``page`` fixture (a fresh visitor, once the page's
load event filled in the editor) and what those tests do on it (wait, find a cell, set a slider, read the toasts,
run and export). Test modules import the fixture with the helpers (pytest puts tests/ on sys.path)."""
from __future__ import annotations

import json
import time

import pytest


@pytest.fixture
def page(app_server, browser):
    """A fresh page (a new session) on the app, once its first load event filled in the editor."""
    pg = browser.new_page(viewport={"width": 1400, "height": 1500})
    pg.goto(app_server.local_url)
    pg.wait_for_selector("#editor .ge-cell")
    # the check line names the example only once the load event has registered it as the grid's source
    wait_for(lambda: pg.locator("#check").inner_text(), lambda t: "Ready: Warm-up 1" in t, "the page's load event")
    yield pg
    pg.close()


def wait_for(read, pred, what: str, timeout: float = 20.0):
    end, last = time.time() + timeout, None
    while time.time() < end:
        last = read()
        if pred(last):
            return last
        time.sleep(0.05)
    raise AssertionError(f"{what}: still {last!r} after {timeout} s")


def cell(page, where: str, r: int, c: int):
    return page.locator(f'{where} [data-r="{r}"][data-c="{c}"]')


def set_slider(page, label: str, value: int) -> None:
    """Type into a gr.Slider's number box until both of its inputs show the value (a fill that lands while the
    component is still mounting is dropped)."""
    number = page.locator(f"input[aria-label='number input for {label}']")
    rng = page.locator(f"input[aria-label='range slider for {label}']")

    def attempt() -> tuple[str, str]:
        number.fill(str(value))
        number.press("Enter")
        return number.input_value(), rng.input_value()

    wait_for(attempt, lambda v: v == (str(value), str(value)), f"slider {label!r} set to {value}")


def editor_digits(page) -> list[str]:
    return page.locator("#editor .ge-cell").all_inner_texts()


def toasts(page) -> str:
    return " | ".join(page.locator(".toast-body").all_inner_texts())


def run_and_export(page, steps: int, what: str, painted=lambda: True) -> dict:
    """Run the grid in the editor for ``steps`` supervision steps; once done (and ``painted()``), the trace JSON the
    Export tab offers for download."""
    page.click("button:has-text('Run settings')")
    set_slider(page, "Supervision steps", steps)
    page.click("#run-button")
    wait_for(lambda: page.locator("#status").inner_text(), lambda t: t.startswith("Done"), what, 120)
    assert painted()
    page.click("button[role=tab]:has-text('Export')")
    return json.loads(page.request.get(page.locator("#trace-json a").first.get_attribute("href")).text())
