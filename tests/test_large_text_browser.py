""""Large text (for a projector)" in a real browser: the plots' text grows with the page's, and stays grown when the
viewer's step redraws the halting plot. Skipped when chromium is missing, except under TRM_VIZ_REQUIRE_BROWSER=1."""
from __future__ import annotations

import pytest

from app_page import page, set_slider, wait_for  # noqa: F401

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:gradio.queueing")

SIZES = """gd => [...gd.querySelectorAll('.legendtext, .gtitle')].map(t => t.style.fontSize)"""
LEGEND = "gd => [...gd.querySelectorAll('.legendtext')].map(t => t.textContent)"
OVERLAPS = """gd => {
  const boxes = [...gd.querySelectorAll('.legend .traces')].map(t => t.getBoundingClientRect());
  return boxes.some((a, i) => boxes.some((b, j) => i < j && a.left < b.right - 1 && b.left < a.right - 1
                                                   && a.top < b.bottom - 1 && b.top < a.bottom - 1));
}"""


def test_large_text_grows_the_plots_text_without_overlap(page):
    page.click("button:has-text('Run settings')")
    set_slider(page, "Supervision steps", 4)
    page.click("#run-button")
    wait_for(lambda: page.locator("#status").inner_text(), lambda t: t.startswith("Done"), "the run", 120)
    plot = page.locator("#halting-plot .js-plotly-plot")
    legend = "the viewer's step"
    wait_for(lambda: plot.evaluate(LEGEND), lambda t: any(legend in x for x in t),
             "the run's legend")
    small = plot.evaluate(SIZES)
    assert set(small[:-1]) == {"11px"} and small[-1] == "14px", small     # legend entries, then the title

    page.get_by_text("Large text (for a projector)").click()
    wait_for(lambda: plot.evaluate(SIZES), lambda s: set(s[:-1]) == {"14px"} and s[-1] == "18px", "larger text")
    assert not plot.evaluate(OVERLAPS)        # Plotly laid its legend out again for the larger text (CSS did not)

    # Another step: the server sends a new figure at its own sizes; it is scaled again.
    before = [t for t in plot.evaluate(LEGEND) if legend in t]
    page.click("#viewer .sv-stats")
    page.keyboard.press("ArrowRight")
    wait_for(lambda: [t for t in plot.evaluate(LEGEND) if legend in t],
             lambda t: t and t != before, "the redrawn plot")
    wait_for(lambda: plot.evaluate(SIZES), lambda s: set(s[:-1]) == {"14px"}, "the new figure's larger text")
    assert not plot.evaluate(OVERLAPS)

    page.get_by_text("Large text (for a projector)").click()
    wait_for(lambda: plot.evaluate(SIZES), lambda s: s == small, "the figure's own sizes again")


def test_large_text_on_a_phone_keeps_the_plot_title_whole(app_server, browser):
    """At 390 px the plot has no room for a 1.3x title ("...per supervision s" was cut at its edge): it grows as far
    as it fits beside the toolbar."""
    phone = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True)
    pg = phone.new_page()
    try:
        pg.goto(app_server.local_url)
        pg.wait_for_selector("#halting-plot .gtitle", state="attached")
        plot = pg.locator("#halting-plot .js-plotly-plot")
        pg.get_by_text("Large text (for a projector)").click()
        wait_for(lambda: plot.evaluate("gd => gd.layout.meta && gd.layout.meta.trmSizes ? 1 : 0"), lambda v: v == 1,
                 "the plot scaled")
        right = plot.evaluate("gd => gd.querySelector('.gtitle').getBoundingClientRect().right"
                              " - gd.getBoundingClientRect().left")
        assert 0 < right <= plot.evaluate("gd => gd.getBoundingClientRect().width")
    finally:
        phone.close()
