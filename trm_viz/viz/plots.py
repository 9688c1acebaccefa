"""The halting curve: q_halt probability per supervision step against the 0.5 threshold, with the step where the model
would halt, and (when the answer is known) the share of the cells to solve that are right, plus the mean confidence.

Two forms: a Plotly figure (zoom, hover) and a small inline SVG string. The SVG exists because the first Plotly
render in a browser loads a 1.25 MB script and froze the page for ~2 s; the step viewer embeds the SVG and moves
its cursor (class ``hc-cursor``) itself.
"""
from __future__ import annotations

from html import escape

import numpy as np

from ..trace import Trace
from .cells import step_summary
from .style import ACCURACY, CONFIDENCE, CURSOR, Q_HALT, THRESHOLD

HALT_THRESHOLD = 0.5


def run_curves(trace: Trace) -> dict:
    """What another run's figure needs of this one to draw it beside (``halting_figure(previous=...)``): its
    q_halt and cells-right curves and halting step, as plain lists (kept in the visitor's session)."""
    s = step_summary(trace)
    return {"q_halt": s["q_halt_prob"].tolist(), "halt_step": trace.halt_step,
            "accuracy": None if s["accuracy"] is None else s["accuracy"].tolist(),
            "stopped": trace.num_steps < trace.meta.get("steps_requested", trace.num_steps)}


def _previous_traces(fig, previous: dict) -> None:
    """The earlier run of the same puzzle in the same colours, dashed and faded: how another depth or model changes
    when the answer comes right and when q_halt says stop. One legend entry for all of it, "earlier run (faded
    dashes)" in grey (a click hides it all; a phone's legend has one entry a row: it once read "earlier run: q_halt"
    beside a faded cells-right line it did not name); the hover says what differed (``previous["name"]``), as the
    status line."""
    import plotly.graph_objects as go

    name = escape(previous["name"])      # it may name the visitor's own checkpoint file: plain text, never markup
    # drawn under this run's curves, listed (and read) after them
    faded = dict(opacity=0.55, legendrank=1100, legendgroup="previous", showlegend=False)
    q = np.asarray(previous["q_halt"], dtype=np.float64)
    every = float(previous.get("every") or 1.0)      # only the depth differed: drawn at equal compute
    xs = np.arange(1, q.size + 1) * every
    steps = np.arange(1, q.size + 1)                 # its own step numbers, for the hover
    dots = dict(size=5)                             # a run of one step is a point, not a line
    fig.add_trace(go.Scatter(x=[None], y=[None], name="earlier run (faded dashes)", mode="lines", hoverinfo="skip",
                             **{**faded, "showlegend": True}, line=dict(color=THRESHOLD, width=2, dash="dash")))
    fig.add_trace(go.Scatter(x=xs, y=q, name="earlier run: q_halt", mode="lines+markers", marker=dots,
                             **faded, line=dict(color=Q_HALT, width=2, dash="dash"), customdata=steps,
                             hovertemplate=f"its step %{{customdata}}: q_halt %{{y:.3f}} ({name})<extra></extra>"))
    if previous.get("accuracy") is not None:
        fig.add_trace(go.Scatter(x=xs, y=previous["accuracy"], name="earlier run: cells to solve right",
                                 mode="lines+markers", **faded, marker=dots, customdata=steps,
                                 line=dict(color=ACCURACY, width=2, dash="dash"),
                                 hovertemplate=f"its step %{{customdata}}: %{{y:.1%}} of cells to solve right ({name})"
                                               "<extra></extra>"))
    k = previous.get("halt_step")
    if k:
        fig.add_trace(go.Scatter(x=[k * every], y=[float(q[k - 1])], name=f"earlier run: halts at step {k}",
                                 mode="markers",
                                 **faded, marker=dict(color=Q_HALT, size=12, symbol="circle-open", line=dict(width=2)),
                                 hovertemplate=f"halts at step {k} ({name})<extra></extra>"))


def halting_figure(trace: Trace, current: int | None = None, height: int = 340, previous: dict | None = None):
    """Plotly figure of q_halt, accuracy (when known) and mean confidence per step; ``current`` draws a cursor;
    ``previous`` (``run_curves`` of another run of the puzzle, plus its ``name``) is drawn dashed beside."""
    import plotly.graph_objects as go  # imported here: only callers that want a Plotly figure pay for it

    s = step_summary(trace)
    steps = np.arange(1, trace.num_steps + 1)
    fig = go.Figure()
    if previous is not None:
        _previous_traces(fig, previous)
        height += 20        # its legend entry's row (on a phone; a wide legend often has room for it)
    fig.add_trace(go.Scatter(x=steps, y=s["q_halt_prob"], name="q_halt probability", mode="lines+markers",
                             line=dict(color=Q_HALT, width=3),
                             hovertemplate="step %{x}: q_halt %{y:.3f}<extra></extra>"))
    if s["accuracy"] is not None:
        fig.add_trace(go.Scatter(x=steps, y=s["accuracy"], name="cells to solve right", mode="lines+markers",
                                 line=dict(color=ACCURACY, width=2),
                                 hovertemplate="step %{x}: %{y:.1%} of cells to solve right<extra></extra>"))
        exact = steps[s["exact"]]
        if exact.size:
            fig.add_trace(go.Scatter(x=exact, y=np.ones(exact.size), name="whole answer right", mode="markers",
                                     marker=dict(color=ACCURACY, symbol="star", size=11),
                                     hovertemplate="step %{x}: whole answer right<extra></extra>"))
    fig.add_trace(go.Scatter(x=steps, y=s["confidence"], name="mean confidence", mode="lines",
                             line=dict(color=CONFIDENCE, width=2, dash="dot"),
                             hovertemplate="step %{x}: mean confidence %{y:.3f}<extra></extra>"))
    fig.add_hline(y=HALT_THRESHOLD, line=dict(color=THRESHOLD, dash="dash", width=1),
                  annotation_text="halt threshold 0.5", annotation_position="bottom right")
    if trace.halt_step is not None:
        k = int(trace.halt_step)
        fig.add_trace(go.Scatter(x=[k], y=[float(s["q_halt_prob"][k - 1])], name=f"halts at step {k}",
                                 mode="markers", marker=dict(color=Q_HALT, size=16, symbol="circle-open",
                                                             line=dict(width=3)),
                                 hovertemplate=f"halts at step {k}<extra></extra>"))
    if current is not None:
        fig.add_vline(x=int(current), line=dict(color=CURSOR, width=2))
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", line=dict(color=CURSOR, width=2),   # its legend
                                 name=f"the viewer's step ({int(current)})", hoverinfo="skip"))
    fig.update_layout(height=height, margin=dict(l=40, r=10, t=30, b=40), template="plotly_white",
                      legend=dict(orientation="h", yanchor="top", y=-0.15, font=dict(size=11)), hovermode="x unified",
                      title=dict(text="Halting and accuracy per supervision step", font=dict(size=14)))
    # No x-axis title: the figure's title names the axis, and a title below the axis collides with the legend once
    # a narrow (phone) screen wraps the legend onto several rows.
    # the earlier run whole, unless drawn at equal compute far past this run (T=16 then T=1: to step 256): then
    # up to twice this run's steps (Plotly pans to the rest)
    n = trace.num_steps
    theirs = 0.0 if previous is None else len(previous["q_halt"]) * float(previous.get("every") or 1)
    longest = max(n, min(theirs, 2 * n) if previous and previous.get("every") else theirs)
    fig.update_xaxes(dtick=1 if longest <= 24 else None, range=[0.5, longest + 0.5])
    fig.update_yaxes(range=[-0.03, 1.05])
    return fig


def halting_svg(q_halt_prob: np.ndarray, halt_step: int | None = None, accuracy: np.ndarray | None = None,
                confidence: np.ndarray | None = None, current: int | None = None,
                width: int = 320, height: int = 130) -> str:
    """A self-contained inline SVG of the halting curve. Steps are 1-based. The root carries data-x0 / data-dx (the x
    of step 1 and the distance between steps) so a script can move the ``hc-cursor`` line without redrawing."""
    q = np.asarray(q_halt_prob, dtype=np.float64)
    n = int(q.size)
    if n == 0:
        raise ValueError("The halting curve needs at least one step.")
    left, right, top, bottom = 28, 8, 16, 22
    pw, ph = width - left - right, height - top - bottom
    dx = pw / (n - 1) if n > 1 else 0.0
    x0 = left if n > 1 else left + pw / 2

    def X(k: float) -> float:
        return x0 + (k - 1) * dx

    def Y(v: float) -> float:
        return top + (1.0 - float(np.clip(v, 0.0, 1.0))) * ph

    def poly(values: np.ndarray, color: str, cls: str, w: float, dash: str = "") -> str:
        pts = " ".join(f"{X(k):.1f},{Y(v):.1f}" for k, v in enumerate(values, start=1))
        d = f' stroke-dasharray="{dash}"' if dash else ""
        return f'<polyline class="{cls}" points="{pts}" fill="none" stroke="{color}" stroke-width="{w}"{d}/>'

    # A screen reader gets the curve as words: the values, and where it halts.
    said = (f"Halting probability per step: {', '.join(f'{v:.2f}' for v in q)}; "
            + (f"halts at step {int(halt_step)}" if halt_step is not None else "never crosses 0.5"))
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="trm-halting" viewBox="0 0 {width} {height}" '
           f'width="{width}" height="{height}" data-steps="{n}" data-x0="{x0:.2f}" data-dx="{dx:.2f}" role="img" '
           f'aria-label="{said}">',
           "<title>q_halt probability per step (violet); dashed: halt threshold 0.5</title>",
           f'<rect class="hc-frame" x="{left}" y="{top}" width="{pw}" height="{ph}" fill="#fafafa" stroke="#e5e7eb"/>']
    for v in (0.0, 1.0):
        out.append(f'<text class="hc-axis" x="{left - 4}" y="{Y(v) + 3:.1f}" font-size="9" text-anchor="end" '
                   'fill="#6b7280">'
                   f'{v:g}</text>')
    ty = Y(HALT_THRESHOLD)
    out.append(f'<line class="hc-threshold" x1="{left}" y1="{ty:.1f}" x2="{left + pw}" y2="{ty:.1f}" '
               f'stroke="{THRESHOLD}" stroke-width="1" stroke-dasharray="4 3"><title>halt threshold 0.5</title></line>'
               f'<text class="hc-axis" x="{left - 4}" y="{ty + 3:.1f}" font-size="9" text-anchor="end" '
               f'fill="{THRESHOLD}">0.5</text>')
    for k in sorted({1, n}):
        out.append(f'<text class="hc-axis" x="{X(k):.1f}" y="{height - 9}" font-size="9" text-anchor="middle" '
                   f'fill="#6b7280">{k}'
                   "</text>")
    out.append(f'<text class="hc-axis" x="{left + pw / 2:.1f}" y="{height - 9}" font-size="9" text-anchor="middle" '
               'fill="#6b7280">step</text>')
    if confidence is not None:
        out.append(poly(np.asarray(confidence), CONFIDENCE, "hc-conf", 1.5, "2 2"))
    if accuracy is not None:
        out.append(poly(np.asarray(accuracy), ACCURACY, "hc-acc", 1.5))
    out.append(poly(q, Q_HALT, "hc-q", 2.5))
    for k, v in enumerate(q, start=1):
        out.append(f'<circle class="hc-pt" cx="{X(k):.1f}" cy="{Y(v):.1f}" r="2.5" fill="{Q_HALT}">'
                   f"<title>step {k}: q_halt {v:.3f}</title></circle>")
    if halt_step is not None and 1 <= int(halt_step) <= n:
        k = int(halt_step)
        out.append(f'<circle class="hc-halt" cx="{X(k):.1f}" cy="{Y(q[k - 1]):.1f}" r="6" fill="none" '
                   f'stroke="{Q_HALT}" stroke-width="2"><title>halts at step {k}</title></circle>')
    hidden = "" if current is not None and 1 <= int(current) <= n else ' visibility="hidden"'
    cx = X(int(current)) if not hidden else x0
    out.append(f'<line class="hc-cursor" x1="{cx:.1f}" y1="{top}" x2="{cx:.1f}" y2="{top + ph}" stroke="{CURSOR}" '
               f'stroke-width="2"{hidden}/>')
    key = [("q_halt", Q_HALT)] + ([("right", ACCURACY)] if accuracy is not None else []) + \
          ([("conf", CONFIDENCE)] if confidence is not None else [])
    kx = left + pw
    for label, color in reversed(key):
        out.append(f'<text class="hc-key-{label}" x="{kx}" y="{top - 5}" font-size="9" text-anchor="end" '
                   f'fill="{color}">'
                   f"{escape(label)}</text>")
        kx -= 6 * len(label) + 8
    out.append("</svg>")
    return "".join(out)


def halting_svg_for(trace: Trace, current: int | None = None, width: int = 320, height: int = 130) -> str:
    s = step_summary(trace)
    return halting_svg(s["q_halt_prob"], trace.halt_step, s["accuracy"], s["confidence"], current, width, height)
