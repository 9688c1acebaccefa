"""How a shipped model was trained, for the app's "Training history" panel: the training curve (loss and cells
right on the training batches, per logging interval) with the held-out evaluations at the end of each run, and a
short text summary from the model card (trm_viz.model.history reads both).
"""
from __future__ import annotations

import math

from ..model.history import TrainingHistory
from .style import ACCURACY, CONFIDENCE, Q_HALT, THRESHOLD

MAX_POINTS = 600      # the training log is thinned to this many points: a 75k-step run logs ~1,500


def _thin(n: int) -> range:
    return range(0, n, max(1, -(-n // MAX_POINTS)))


def history_figure(history: TrainingHistory, height: int = 320):
    """Plotly figure: lm loss (left axis), cells right on training batches and held-out exact accuracy (right
    axis, 0-100%) against optimizer steps; below them, when the log has it, the learning rate (log scale), so that
    a jump in accuracy can be read against the lr cut or anneal that came before it."""
    import plotly.graph_objects as go  # imported here: only callers that want a Plotly figure pay for it

    fig = go.Figure()
    keep = list(_thin(len(history.steps)))
    steps = [history.steps[i] for i in keep]
    lrs = [history.lr[i] for i in keep]      # read_history keeps lr aligned with steps (NaN where missing)
    show_lr = any(math.isfinite(v) for v in lrs)
    if show_lr:
        fig.add_trace(go.Scatter(x=steps, y=[v if math.isfinite(v) else None for v in lrs], yaxis="y3",
                                 name="learning rate", line=dict(color=THRESHOLD, width=1.5),
                                 mode="lines" if len(steps) > 20 else "lines+markers",    # a short log: dots too
                                 hovertemplate="step %{x}: lr %{y:.2e}<extra></extra>"))
    if steps:
        fig.add_trace(go.Scatter(x=steps, y=[history.lm_loss[i] for i in keep], name="training loss (lm)",
                                 mode="lines", line=dict(color=Q_HALT, width=2),
                                 hovertemplate="step %{x}: loss %{y:.3f}<extra></extra>"))
        fig.add_trace(go.Scatter(x=steps, y=[100 * history.cell_acc[i] for i in keep], yaxis="y2",
                                 name="cells right, training batches", mode="lines",
                                 line=dict(color=ACCURACY, width=1, dash="dot"),
                                 hovertemplate="step %{x}: %{y:.1f}% of cells right<extra></extra>"))
    # One line per held-out set: a card whose runs changed data (e.g. easy grids, then minimal puzzles) must not
    # draw a fall in accuracy where the test got harder.
    sets = list(dict.fromkeys(e.held_out for e in history.evaluations))
    for k, name in enumerate(sets):
        evals = [e for e in history.evaluations if e.held_out == name]
        colour = ACCURACY if k == len(sets) - 1 else THRESHOLD
        fig.add_trace(go.Scatter(x=[e.step for e in evals], y=[100 * e.exact for e in evals], yaxis="y2",
                                 name=f"held-out solved: {name}", mode="lines+markers",
                                 line=dict(color=colour, width=3), marker=dict(size=9),
                                 customdata=[[e.run, e.n] for e in evals],
                                 hovertemplate="run %{customdata[0]}, step %{x}: %{y:.1f}% of "
                                               "%{customdata[1]} held-out puzzles solved<extra></extra>"))
        voted = [e for e in evals if e.vote is not None]
        if voted:
            fig.add_trace(go.Scatter(x=[e.step for e in voted], y=[100 * e.vote for e in voted], yaxis="y2",
                                     name=f"with the vote: {name}", mode="markers",
                                     marker=dict(color=CONFIDENCE, size=9, symbol="diamond"),
                                     hovertemplate="step %{x}: %{y:.1f}% with the vote<extra></extra>"))
    fig.update_layout(height=height + (110 if show_lr else 0), margin=dict(l=50, r=50, t=30, b=40),
                      template="plotly_white", legend=dict(orientation="h", y=-0.25), hovermode="x unified",
                      title=dict(text="Training history", font=dict(size=14)),
                      xaxis=dict(title="optimizer steps"), yaxis=dict(title="loss", rangemode="tozero"),
                      yaxis2=dict(title="%", overlaying="y", side="right", range=[0, 101], showgrid=False))
    if show_lr:      # a strip under the curves, on the same step axis
        # The range spans the runs' own learning rates (the first steps of a warm-up fall below it, off the strip).
        # The log's lowest 2% are left out of the range for the same reason; runs without an evaluation count too.
        logged = sorted(v for v in lrs if math.isfinite(v) and v > 0)     # a log scale: an lr of 0 has no place
        seen = [v for e in history.evaluations for v in (e.lr, e.lr_end) if v is not None and v > 0]
        seen += [logged[len(logged) // 50], logged[-1]] if logged else []
        seen = seen or [1e-4]
        lo, hi = math.log10(min(seen)) - 0.3, math.log10(max(seen)) + 0.3
        fig.update_layout(xaxis=dict(anchor="y3"), yaxis=dict(domain=[0.32, 1.0]),
                          yaxis3=dict(title="lr", type="log", domain=[0.0, 0.24], range=[lo, hi], dtick=1,
                                      exponentformat="power"))
    return fig


def _sci(v: float) -> str:
    """1e-4 and 2.5e-4, not 1.0e-04."""
    if v == 0:
        return "0"
    mantissa, exponent = f"{v:.1e}".split("e")
    return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"


def _lr_text(e) -> str:
    if e.depth:
        return f"evaluated at {e.depth}"
    if e.lr is None:
        return "-"
    return _sci(e.lr) + (f"→{_sci(e.lr_end)}" if e.lr_end is not None else "")


def history_markdown(history: TrainingHistory | None, name: str,
                     card: str = "Its model card (README.md in its folder) has") -> str:
    """A few lines: how long the model trained, on what, and its held-out results run by run; ``card`` says where
    the rest is (an uploaded checkpoint came with its card.json, perhaps without the README.md beside it)."""
    if history is None:
        return (f"`{name}` has no training record (card.json) beside its weights, so there is no history to "
                "show: a checkpoint trained elsewhere, or one made by hand.")
    minutes = " and ".join(f"{m:,.0f} {kind}-minute{'s' * (round(m) != 1)}" for m, kind in ((history.gpu_minutes, "GPU"),
                                                                      (history.cpu_minutes, "CPU")) if m >= 0.5)
    devices = ", ".join(history.devices) or "unknown devices"
    scored = history.evaluation_only
    also = f", and {scored} run{'s' * (scored != 1)} that only scored it" if scored else ""
    lines = [f"**`{name}`** trained for **{history.total_steps:,} optimizer steps** in {history.runs} "
             f"run{'s' if history.runs != 1 else ''} ({minutes or 'under a minute'}; {devices}){also}."]
    if history.evaluations:
        lines += ["", "| run | lr | steps | held out | solved | at halt | vote @1 / @2 |",
                  "|---|---|---|---|---|---|---|"]
        pct = lambda v: "-" if v is None else f"{100 * v:.1f}%"  # noqa: E731
        vote = lambda e: "-" if e.vote is None else f"{pct(e.vote)} / {pct(e.vote_pass2)}"  # noqa: E731
        lines += [f"| {e.run} | {_lr_text(e)} | {e.step:,} | {e.n} {e.held_out} | **{pct(e.exact)}** | "
                  f"{pct(e.exact_at_halt)} | {vote(e)} |" for e in history.evaluations]
        missing = [i for i in history.unevaluated if i not in history.not_asked]
        if missing:
            lines += ["", f"Run{'s' * (len(missing) > 1)} {', '.join(map(str, missing))} ended without a held-out "
                          "evaluation (a short session's budget ran out first)."]
        if history.interrupted:
            lines += ["", f"Run{'s' * (len(history.interrupted) > 1)} {', '.join(map(str, history.interrupted))} "
                          "ended early (Ctrl-C or SIGTERM)."]
        if history.not_asked:
            lines += ["", f"Run{'s' * (len(history.not_asked) > 1)} {', '.join(map(str, history.not_asked))} "
                          "skipped the held-out evaluation (trained with --no-eval)."]
        lines += ["", "lr: the run's learning rate after warm-up (a→b: annealed on a cosine from a to b over the "
                      "run); solved: after all steps; at halt: at the step the halting head chose; vote: "
                      "the symmetric copies' (ARC: the task's variants') top answer, and the top two."]
    else:
        lines += ["", "No held-out evaluation has been run yet."]
    if history.still_training:
        lines += ["", "It solves none of its held-out puzzles yet: it is still in training."]
    lines += ["", f"{card} the data, settings and notes of every run."]
    return "\n".join(lines)
