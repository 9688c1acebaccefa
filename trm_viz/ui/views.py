"""What the run's views show, built from a result (its trace, puzzle and vote): the status line, the halting plot,
the per-step pictures, corrections, the trace JSON export and the vote's text and picture, and the same views
empty. No events here: the handlers (handlers.py) decide when each is shown; result_views also records in the
result the step it shows and where its JSON export is.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

import gradio as gr
import torch

from ..model.checkpoints import one_line
from ..model.config import TRMConfig
from ..model.precision import BF16_VOTE_SPEEDUP, inference_dtype
from ..tasks import get_task
from ..trace import Trace, task_of, to_json
from ..viz.corrections import cell_changes, corrections_table, revisions_first, summary_line
from ..viz.grids import stacked, with_caption
from ..viz.latents import LATENTS, change_share, inner_strip, latent_heatmap, latent_rgb
from ..viz.recursion import recursion_map
from ..viz.plots import halting_figure
from ..viz.vote import vote_image, vote_summary
from ..vote import DEFAULT_VARIANTS
from .files import export_dir, keep_or_write, picture_file

log = logging.getLogger(__name__)
IDLE_STATUS = "Press **Run** to watch the model refine its answer."
# When the server has let the page's session go (session.lost): said once, and by each view that needs the run.
_WHY_LOST = "after an hour without a connection, or once very many visitors came after you"
SESSION_LOST = (f"The server let this page's session go ({_WHY_LOST}). The puzzle on screen and the settings are "
                "still here; the undo history, the other puzzle types' grids, the earlier runs and any checkpoint you "
                "loaded are not (load it again).")
RUN_LOST = (f"The server no longer holds the run shown here: it let this page's session go ({_WHY_LOST}). "
            "Press Run to run the puzzle again.")
MAX_TABLE_ROWS = 3000   # corrections shown in the table (an untrained 30x30 model changes thousands of cells)


def empty_halting_figure(title: str = "Run a puzzle to see q_halt per supervision step"):
    """The halting plot before any run (or while one streams): axes and the 0.5 line, so the first real figure
    renders quickly (Plotly's script is then already loaded)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    fig.add_hline(y=0.5, line=dict(color="#6b7280", dash="dash", width=1), annotation_text="halt threshold 0.5",
                  annotation_position="bottom right")
    fig.update_layout(height=340, margin=dict(l=40, r=10, t=30, b=40), template="plotly_white",
                      title=dict(text=title, font=dict(size=14)))
    fig.update_xaxes(title_text="supervision step", range=[0.5, 16.5], dtick=1)
    fig.update_yaxes(range=[-0.03, 1.05])
    return fig


def _file_stem(result: dict) -> str:
    name = "".join(ch if ch.isalnum() else "-" for ch in (result["puzzle"].name or "puzzle"))[:40].strip("-")
    return f"trm-{result['task']}-{name or 'puzzle'}"


def step_images(trace: Trace, step: int, fresh: bool = False) -> tuple:
    """z_H / z_L change heat maps, their RGB projections and the inner-recursion strip at ``step``, each with its
    alt text (what a screen reader says of it). The pictures carry their titles (the image components show no
    label, which would cover the top row). They go out as files the app writes (files.py), which it deletes
    (``fresh``: under new names)."""
    heat = []
    for z in LATENTS:
        share = f"{change_share(trace, step, z):.0%}"      # short: the image buttons cover the title's right end
        heat.append(gr.update(value=picture_file(with_caption(latent_heatmap(trace, step, z),
                                                              f"{z} moved (max {share} of run's)"), fresh),
                              alt_text=(f"{z} change at step {step}: how far each cell's {z} moved in this step, "
                                        f"brightest where it moved most; up to {share} of the run's largest change")))
    rgb = [gr.update(value=picture_file(with_caption(latent_rgb(trace, step, z), f"{z} as colours"), fresh), alt_text=(
        f"{z} at step {step} as colours: each cell's latent projected on 3 directions chosen at step 1 of the run; "
        "cells of one colour hold similar states")) for z in LATENTS]
    moved = ", ".join(f"{kind} {100 * trace.inner_change[step - 1, k]:.0f}%" for k, kind in enumerate(trace.inner_kinds))
    task = task_of(trace)
    inner = gr.update(value=picture_file(stacked(recursion_map(trace, task, step), inner_strip(trace, task, step)),
                                         fresh), alt_text=(
        f"Top: the whole run, a row per step and a column per inner update, coloured by the share of the cells to "
        f"solve that update's read-out has right, and by how far it moved its latent; step {step} framed. Below: "
        f"step {step}'s answer decoded after each of its {len(trace.inner_kinds)} inner updates, changed cells "
        f"outlined; how far each update moved its latent: {moved}"))
    return (*heat, *rgb, inner)


def shown_pictures(result: dict, step: int, fresh: bool = False) -> tuple:
    """``step_images`` of the result's trace, remembering their files (RunHandlers.pictures_tab_opened checks that
    they still exist)."""
    pictures = step_images(result["trace"], step, fresh)
    result["pictures"] = [p["value"] for p in pictures]
    return pictures


def vote_hint(task_name: str, run_seconds: float | None = None, config: TRMConfig | None = None) -> str:
    """What Vote does; after a slow run also how long it will take: each copy costs about what the run did (measured
    2026-11-28, 16 copies in one batch: 11x a sudoku-tiny run, 15-22x a paper-size Sudoku run, one thread), a third
    of that where the vote computes in bfloat16 (model/precision.py; ``config``: the model's)."""
    what = {"arc": "this test input through the variants of its task the model learned",
            "maze": "the maze rotated and mirrored",
            "sudoku": "symmetric copies of the puzzle"}[task_name]
    hint = f"Press **Vote** to run {what} and rank the answers they give."
    if run_seconds is None:
        return hint
    copies = DEFAULT_VARIANTS if task_name == "arc" else len(get_task(task_name).symmetries(DEFAULT_VARIANTS))
    seconds = copies * run_seconds
    fast = config is not None and inference_dtype(config, copies) == torch.bfloat16
    if fast:
        seconds /= BF16_VOTE_SPEEDUP
    if seconds >= 15:
        hint += (f" Each copy costs about what this run did ({run_seconds:.1f} s"
                 + ("; a third of that here, where votes compute in bfloat16" if fast else "")
                 + f"): the default {copies} copies take roughly {seconds:.0f} s here.")
    return hint


def vote_views(result: dict, step: int, fresh: bool = False) -> tuple:
    """The vote's paragraph and picture at ``step`` (the trace and the vote have the same number of steps); the
    picture's file is remembered as the result's "vote_picture" (``fresh``: under a new name, see picture_file)."""
    vv = result["vote"]
    step = min(step, vv.num_steps)
    result["vote_picture"] = picture_file(vote_image(vv, task_of(result["trace"]), step), fresh)
    return vote_summary(vv, step), result["vote_picture"]


def refusal(message: str) -> gr.Error:
    """The error a handler raises for what the visitor asked (a bad puzzle, file or setting): shown on the page, and
    not a traceback in the server's log (a long-lived Space's log would fill with them)."""
    return gr.Error(message, print_exception=False)


def internal_error(e: BaseException) -> str:
    """One line for the page about an unexpected failure (a bug), whose traceback goes to the server's log."""
    log.error("unexpected failure", exc_info=e)
    return f"Internal error ({type(e).__name__}: {one_line(e)}). The details are in the server's log."


def cleared_views(task_name: str, running: bool = False) -> tuple:
    """Every run output after the status line, empty: what a new run shows until it ends (no view of the run before
    lingers beside its first steps), and a task with no run yet."""
    title = ("Filled in when the run ends; the viewer's small curve follows each step" if running
             else "Run a puzzle to see q_halt per supervision step")
    pictures = (None,) * 5
    return (empty_halting_figure(title), None, *pictures, "", "", [], None, vote_hint(task_name), None)


def result_views(result: dict) -> tuple:
    """Every run output but the viewer, for a finished or stopped run: status, halting plot, the result itself,
    the per-step pictures at the viewer's opening step, corrections, the trace JSON and the vote (kept when
    there is one). Also what a task switch shows when it brings back that task's last run."""
    trace = result["trace"]
    step = trace.halt_step or trace.num_steps       # where the viewer opens
    result["step"] = step
    json_path = Path(result.get("json") or export_dir() / f"{_file_stem(result)}.json")
    result["json"] = keep_or_write(json_path, lambda: json.dumps(to_json(trace)).encode())
    changes = revisions_first(cell_changes(trace))
    summary = summary_line(trace) + (f" The table lists the first {MAX_TABLE_ROWS} of {len(changes)} changes."
                                     if len(changes) > MAX_TABLE_ROWS else "")
    votes = vote_views(result, step) if result.get("vote") else (
        vote_hint(result["task"], trace.meta.get("total_seconds"), result.get("config")), None)
    plot = halting_figure(trace, step, previous=result.get("previous"))
    return (result_status(result), plot, result, *shown_pictures(result, step), f"Showing step {step}.", summary,
            corrections_table(changes[:MAX_TABLE_ROWS], task_of(trace)), str(json_path), *votes)


def result_status(result: dict) -> str:
    """The status line of a run's result: its own line, and what the halting plot compares it with."""
    return status_line(result["trace"]) + compared_line(result.get("previous"))


def compared_line(previous: dict | None) -> str:
    """What the halting plot's faded dashes are (session.compared_run), for the status line."""
    if not previous:
        return ""
    k, n = previous.get("halt_step"), len(previous["q_halt"])
    steps = f"{n} step{'s' * (n != 1)}"
    ended = (f"halted at step {k}" if k else f"was stopped after {steps}, before q_halt passed 0.5"
             if previous.get("stopped") else f"did not halt in its {steps}")
    every = previous.get("every")
    at = "" if not every else (f", drawn at equal compute: its step k at this run's step {every}·k (only z_H and "
                               "z_L pass between steps, so equal thinking gives equal answers)")
    return f" The halting plot's faded dashes: your {previous['name']} of this puzzle, which {ended}{at}."


def status_line(trace: Trace) -> str:
    """The status line of a finished or stopped run (its times, when the page's run recorded them in meta)."""
    meta = trace.meta
    first, total, asked = meta.get("first_step_seconds"), meta.get("total_seconds"), meta["steps_requested"]
    finished = trace.num_steps == asked
    halt = (f"q_halt passes 0.5 at step **{trace.halt_step}**" if trace.halt_step
            else "q_halt never passes 0.5 (it would run all steps)" if finished
            else f"q_halt does not pass 0.5 in {trace.num_steps} step{'s' * (trace.num_steps != 1)}")

    def solved(i: int) -> str:       # a count, not a share of all cells: a maze's walls made a wrong answer 98% right
        right, of = trace.cells_to_solve(i)
        return f"{right} of {of} cells to solve right"

    if trace.halt_step and trace.exact is not None:     # would it stop on a right answer? (a lesson when it would not)
        k = trace.halt_step - 1
        halt += ", where its answer is right" if trace.exact[k] else f", where its answer is still wrong ({solved(k)})"
    verdict = ""
    if trace.exact is not None:
        verdict = (" Final answer" if finished else f" Answer at step {trace.num_steps}") + (
            ": **right**." if trace.exact[-1] else f": **wrong** ({solved(-1)}).")
    by = f" by {meta['stopped_by']}" if meta.get("stopped_by") else ""
    done = "**Done:**" if finished else f"**Stopped**{by} after step {trace.num_steps} of {asked}:"
    timing = "" if total is None or first is None else f" in {total:.1f} s (first step shown after {first:.2f} s)"
    return f"{done} {trace.num_steps} step{'s' * (trace.num_steps != 1)}{timing}; {halt}.{verdict}"
