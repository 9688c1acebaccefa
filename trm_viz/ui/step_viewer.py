"""The step viewer: every step of a trace sent once (trm_viz.viz.viewer_data), then scrubbed and played in the browser
with no server round trip per frame (a gr.Timer loop cost a queued request per step; this runs at the set rate).

Shows the answer grid at the current step (givens bold, changed cells outlined, red / green corners for wrong /
right, unsure cells washed out; or the z_H / z_L change heat map; or the known solution), q_halt, cells right,
corrections and regressions, and the inline SVG halting curve with the current step marked. Click the curve to jump
to a step; Left/Right keys step when the viewer has focus.

Hooks for the app:
- ``selected`` prop {step, r, c} (step from 1, r/c from 0): jump there and ring the cell; use ``select_update``.
- the custom event ``step_change`` (evt.step) fires when the user settles on a step (slider released, pause,
  curve click, end of playback), not on every frame: ``viewer.step_change(fn, ...)`` to refresh per-step images.
- in page scripts, ``element.trmGoto(step, r, c)`` on the component's root element.
"""
from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import gradio as gr

from ..viz.style import CHANGED, RIGHT, SHADE_MAX, WRONG, heat_css, ink_on

HEAT = [heat_css(i / 9) for i in range(10)]
HEAT_INK = [ink_on(c) for c in HEAT]      # digits on the z_H / z_L layers: white on the dark end of the ramp
_nonce = itertools.count(1)

# The changed ring has a dark inner edge and the corners a white halo: each mark must show on a cell of its own
# colour too (amber on yellow, a red corner on an ARC red cell), not by colour alone.
CSS = f"""
outline: none;
.sv-bar {{ display: flex; align-items: center; gap: 8px; margin-bottom: 6px; flex-wrap: wrap; }}
.sv-play {{ width: 40px; height: 36px; border-radius: 6px; border: 1px solid #d1d5db; background: #fff;
  color: #111827; cursor: pointer; font-size: 14px; padding: 0; display: inline-flex; align-items: center;
  justify-content: center; }}
.sv-slider {{ flex: 1 1 160px; min-width: 120px; height: 28px; }}
.sv-step {{ font-variant-numeric: tabular-nums; font-size: 13px; min-width: 92px; }}
.sv-main {{ display: flex; gap: 14px; flex-wrap: wrap; align-items: flex-start; }}
.sv-grid {{ display: grid; border: 2px solid #111827; width: max-content; background: #111827; }}
.sv-cell {{ box-sizing: border-box; border: 1px solid #9ca3af; position: relative; display: flex;
  align-items: center; justify-content: center; font-family: ui-sans-serif, system-ui, sans-serif;
  color: #1d4ed8; overflow: hidden; }}
.sv-cell.giv {{ color: #111827; font-weight: 700; }}
.sv-cell.bt {{ border-top: 2px solid #111827; }}
.sv-cell.bl {{ border-left: 2px solid #111827; }}
.sv-cell.chg {{ box-shadow: inset 0 0 0 2px {CHANGED}, inset 0 0 0 3px #111827; }}
.sv-cell.bad::after {{ content: ""; position: absolute; top: 0; right: 0; border-style: solid;
  border-width: 0 var(--tri) var(--tri) 0; border-color: transparent {WRONG} transparent transparent;
  filter: drop-shadow(0 0 1px #fff) drop-shadow(0 0 1px #fff); }}
.sv-cell.good::before {{ content: ""; position: absolute; bottom: 0; left: 0; border-style: solid;
  border-width: var(--tri) 0 0 var(--tri); border-color: transparent transparent transparent {RIGHT};
  filter: drop-shadow(0 0 1px #fff) drop-shadow(0 0 1px #fff); }}
.sv-cell.sel {{ outline: 3px solid #111827; outline-offset: -3px; z-index: 1; }}
.sv-grid.kbd {{ outline: 3px solid #2563eb; outline-offset: 2px; }}
.sv-side {{ display: flex; flex-direction: column; gap: 6px; font-size: 13px; min-width: 240px; }}
.sv-stats b {{ font-variant-numeric: tabular-nums; }}
.sv-cellinfo {{ font-size: 12px; color: #374151; min-height: 1.2em; }}
.sv-hists {{ display: flex; flex-wrap: wrap; gap: 2px; margin: 2px 0; }}
.sv-hist {{ width: 16px; height: 16px; font-size: 11px; line-height: 16px; text-align: center; color: #111827;
  border: 1px solid #d1d5db; box-sizing: border-box; }}
.sv-hist.bad {{ border: 2px solid {WRONG}; }}
.sv-hist.ok {{ border: 2px solid {RIGHT}; }}
.sv-hist.now {{ outline: 2px solid #111827; outline-offset: 1px; }}
.sv-key {{ font-size: 12px; color: #4b5563; }}
.sv-svg svg {{ cursor: pointer; max-width: 100%; height: auto; }}
.sv-empty {{ font-size: 13px; color: #6b7280; padding: 8px; }}
.sv-cell .sv-letter {{ color: #111827; font-weight: 700; text-shadow: 0 0 2px #fff; }}
.sv-cell.heat .sv-letter {{ color: inherit; text-shadow: none; }}   /* the z_H / z_L layers' ink, on the cell */
.sv-cell .sv-letter.lost {{ color: #fff; text-shadow: 0 0 2px #000, 0 0 2px #000; }}   /* S/G the answer painted over */
.sv-cell span {{ color: inherit; }}
.sv-cell.clash span {{ text-decoration: underline wavy {WRONG}; text-underline-offset: 2px; }}  /* a rule broken */   /* Gradio's ".prose *" rule would give a digit the page's text colour */
.sv-layer {{ background-color: var(--input-background-fill); color: var(--body-text-color);
  border: 1px solid var(--input-border-color); border-radius: 6px; padding: 4px 28px 4px 8px; }}
/* Dark mode (the visitor's system setting, or ?__theme=dark): the grid keeps its light cells; text, controls and
   the halting curve around it follow the page. Native nesting: "&" is the component's own wrapper. */
.dark & .sv-play {{ background: var(--button-secondary-background-fill); color: var(--button-secondary-text-color);
  border-color: var(--border-color-primary); }}
.dark & .sv-cellinfo {{ color: #d1d5db; }}
.dark & .sv-hist.now {{ outline-color: #e5e7eb; }}
.dark & .sv-key {{ color: #9ca3af; }}
.dark & .sv-empty {{ color: #9ca3af; }}
.dark & .hc-frame {{ fill: #111827; stroke: #374151; }}
.dark & .hc-axis {{ fill: #9ca3af; }}
.dark & .hc-key-q_halt {{ fill: #a78bfa; }}
.dark & .hc-key-conf {{ fill: #60a5fa; }}
.sv-live {{ position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); white-space: nowrap; }}
"""

# The browser side, in its own file to be read (and linted) as JavaScript; js_on_load runs it with element,
# props, trigger and watch in scope.
JS = (Path(__file__).with_name("step_viewer.js").read_text(encoding="utf-8")
      .replace("HEAT_COLOURS", str(HEAT)).replace("HEAT_INKS", str(HEAT_INK)).replace("SHADE_MAX", str(SHADE_MAX)))


class StepViewer(gr.HTML):
    """value: the dict from ``trm_viz.viz.viewer_data.viewer_data`` (None shows a placeholder)."""

    def __init__(self, value: dict | None = None, *, fps: float = 2.5, selected: dict | None = None,
                 label: str | None = None, **kwargs: Any):
        # Props are also set as attributes: gr.HTML.__getattr__ would otherwise answer an event listener for any
        # name quoted in the script ('selected'), and Gradio reads attributes when it serialises an update.
        self.fps, self.selected = float(fps), selected
        super().__init__(value=value, label=label, html_template='<div class="sv-root"></div>', css_template=CSS,
                         js_on_load=JS, fps=self.fps, selected=selected, **kwargs)

    def api_info(self) -> dict[str, Any]:
        return {"type": "object", "description": "step viewer data (trm_viz.viz.viewer_data)"}

    def example_payload(self) -> Any:
        return None

    def example_value(self) -> Any:
        return None


def select_update(step: int, r: int | None = None, c: int | None = None) -> dict[str, Any]:
    """gr.update that makes a StepViewer jump to ``step`` (from 1) and ring cell (r, c) (from 0). A fresh nonce makes
    the same row clicked twice jump again after the user has scrubbed away."""
    sel = {"step": int(step), "r": None if r is None else int(r), "c": None if c is None else int(c),
           "nonce": next(_nonce)}
    return gr.update(selected=sel)
