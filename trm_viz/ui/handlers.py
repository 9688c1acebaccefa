"""Handlers for the output side: Run (streams every supervision step as it completes), the per-step views refreshed
when the viewer settles on a step (halting plot cursor, latent heat maps, inner recursion), the corrections table
linked to the viewer, exports, and loading a user's checkpoint.

The run's result (trace + puzzle) lives in the session's gr.State; handlers only call tasks / trace / viz.
"""
from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any, Iterator

import gradio as gr
import torch
from gradio.utils import get_upload_folder

from ..model.checkpoints import CheckpointError
from ..model.config import TRMConfig
from ..model.precision import BF16_VOTE_SPEEDUP, inference_dtype
from ..tasks import PuzzleError, get_task
from ..trace import Trace, task_of, to_json
from ..viz.animation import animation_gif
from ..viz.corrections import cell_changes, corrections_table, summary_line
from ..viz.latents import inner_strip, latent_heatmap, latent_rgb
from ..viz.plots import halting_figure
from ..viz.viewer_data import viewer_data
from ..viz.vote import vote_image, vote_summary
from ..vote import DEFAULT_VARIANTS
from . import session as ss
from .limits import hosted_counts
from .models import ModelRegistry, active_model, active_task, load_local, load_uploaded
from .runner import stream_trace, vote_run
from .step_viewer import select_update

MAX_TABLE_ROWS = 3000   # corrections shown in the table (an untrained 30x30 model changes thousands of cells)


def empty_halting_figure():
    """The halting plot before any run: axes and the 0.5 line, so the first real figure renders quickly (Plotly's
    script is then already loaded)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    fig.add_hline(y=0.5, line=dict(color="#6b7280", dash="dash", width=1), annotation_text="halt threshold 0.5",
                  annotation_position="bottom right")
    fig.update_layout(height=300, margin=dict(l=40, r=10, t=30, b=40), template="plotly_white",
                      title=dict(text="Run a puzzle to see q_halt per supervision step", font=dict(size=14)))
    fig.update_xaxes(title_text="supervision step", range=[0.5, 16.5], dtick=1)
    fig.update_yaxes(range=[-0.03, 1.05])
    return fig


def export_dir() -> Path:
    """A fresh folder inside Gradio's cache: files returned from there are served as they are and removed by the
    app's delete_cache schedule, like every other file Gradio made."""
    folder = Path(get_upload_folder()) / "trm_viz" / uuid.uuid4().hex
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _file_stem(result: dict) -> str:
    name = "".join(ch if ch.isalnum() else "-" for ch in (result["puzzle"].name or "puzzle"))[:40].strip("-")
    return f"trm-{result['task']}-{name or 'puzzle'}"


def step_images(trace: Trace, step: int) -> tuple:
    """z_H / z_L change heat maps, their RGB projections and the inner-recursion strip at ``step``."""
    task = task_of(trace)
    return (latent_heatmap(trace, step, "z_H"), latent_heatmap(trace, step, "z_L"), latent_rgb(trace, step, "z_H"),
            latent_rgb(trace, step, "z_L"), inner_strip(trace, task, step))


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
        hint += (f" Each copy costs about what this run did ({run_seconds:.1f} s)"
                 + (" (a third of that here, where votes compute in bfloat16)" if fast else "")
                 + f": the default {copies} copies take roughly {seconds:.0f} s here.")
    return hint


def vote_views(result: dict, step: int) -> tuple:
    """The vote's paragraph and picture at ``step`` (the trace and the vote have the same number of steps)."""
    vv = result["vote"]
    step = min(step, vv.num_steps)
    return vote_summary(vv, step), vote_image(vv, task_of(result["trace"]), step)


class RunHandlers:
    def __init__(self, registry: ModelRegistry):
        self.registry = registry

    def prepare(self, task_name: str, grid: Any, session: dict, arc_task_id: str | None, steps: float,
                H_cycles: float, L_cycles: float) -> tuple:
        """Everything that can be refused before the model runs: the puzzle (from the grid as it is at the click),
        the model (loaded now if need be) and the run's cost on this host (ui/limits.py). Outputs: the run request
        (a gr.State) and the status line. A failure here shows one error and leaves every view, and the grid, as it
        was."""
        try:
            user_key, shipped = session.get("user_model"), ss.shipped(session, task_name)
            task = active_task(self.registry, task_name, user_key, shipped)
            puzzle = ss.build_puzzle(task, grid, session, arc_task_id)
            loaded = active_model(self.registry, task_name, user_key, shipped)
            steps, H_cycles, L_cycles = hosted_counts(loaded.config, steps, H_cycles, L_cycles)
        except (PuzzleError, CheckpointError, ValueError) as e:
            raise gr.Error(str(e)) from None
        for note in puzzle.notes:
            gr.Warning(note)
        request = {"task": task_name, "puzzle": puzzle, "user_model": user_key, "shipped": shipped,
                   "steps": steps, "H_cycles": H_cycles, "L_cycles": L_cycles, "clicked": time.perf_counter()}
        return request, f"Running step 1 of {steps} with the {loaded.label}..."

    def run(self, request: dict | None) -> Iterator[tuple]:
        """Streams every supervision step into the viewer as it completes, then fills the other views.
        Outputs (RUN_OUTPUTS): viewer, status, halting plot, result, z_H heat, z_L heat, z_H rgb, z_L rgb, inner
        strip, step label, corrections summary, corrections table, trace JSON file, vote text, vote picture."""
        if not request:
            return
        skip = gr.skip()
        task_name, puzzle, n = request["task"], request["puzzle"], request["steps"]
        t0 = request["clicked"]
        try:
            loaded = active_model(self.registry, task_name, request["user_model"], request.get("shipped"))
        except CheckpointError as e:
            raise gr.Error(str(e)) from None
        task = get_task(task_name, loaded.config.seq_len)
        trace, first = None, None
        try:
            for trace in stream_trace(loaded.model, puzzle, n, request["H_cycles"], request["L_cycles"]):
                k = trace.num_steps
                first = first or time.perf_counter() - t0
                status = f"Step {k} of {n} done ({time.perf_counter() - t0:.1f} s)" + \
                         (f"; running step {k + 1}..." if k < n else "; preparing the views...")
                yield (viewer_data(trace, task, puzzle), status) + (skip,) * 13
        except (PuzzleError, CheckpointError, ValueError) as e:
            raise gr.Error(str(e)) from None
        if trace is None:
            return
        total = time.perf_counter() - t0
        trace.meta.update(checkpoint=loaded.label, first_step_seconds=round(first, 3), total_seconds=round(total, 3))
        result = {"trace": trace, "puzzle": puzzle, "task": task_name, "user_model": request["user_model"],
                  "shipped": request.get("shipped")}     # the vote runs the model that made this trace
        step = trace.halt_step or trace.num_steps
        json_path = export_dir() / f"{_file_stem(result)}.json"
        json_path.write_text(json.dumps(to_json(trace)))
        changes = cell_changes(trace)
        summary = summary_line(trace) + (f" The table lists the first {MAX_TABLE_ROWS} of {len(changes)} changes."
                                         if len(changes) > MAX_TABLE_ROWS else "")
        yield (skip, self.status_line(trace, first, total), halting_figure(trace, step), result,
               *step_images(trace, step), f"Showing step {step}.", summary,
               corrections_table(changes[:MAX_TABLE_ROWS], task), str(json_path),
               vote_hint(task_name, total, loaded.config), None)

    @staticmethod
    def status_line(trace: Trace, first: float, total: float) -> str:
        halt = (f"q_halt passes 0.5 at step **{trace.halt_step}**" if trace.halt_step
                else "q_halt never passes 0.5 (it would run all steps)")
        verdict = ""
        if trace.exact is not None:
            right = float(trace.cell_accuracy[-1])
            verdict = (" Final answer: **right**." if trace.exact[-1]
                       else f" Final answer: **wrong** ({right:.0%} of cells right).")
        return (f"**Done:** {trace.num_steps} steps in {total:.1f} s (first step shown after {first:.2f} s); "
                f"{halt}.{verdict}")

    def step_changed(self, result: dict | None, evt: gr.EventData) -> tuple:
        """The viewer settled on a step: move the plot cursor and redraw the per-step pictures (and the variant
        vote, when there is one, at the same step)."""
        if not result:
            return (gr.skip(),) * 9
        trace = result["trace"]
        try:
            step = min(max(1, int(getattr(evt, "step", 0) or trace.num_steps)), trace.num_steps)
        except (TypeError, ValueError):
            return (gr.skip(),) * 9
        result["step"] = step    # kept in the session's state object: the vote opens at the step being looked at
        votes = vote_views(result, step) if result.get("vote") else (gr.skip(), gr.skip())
        return (halting_figure(trace, step), *step_images(trace, step), f"Showing step {step}.", *votes)

    def vote_clicked(self, result: dict | None, variants: float) -> tuple:
        """Run the puzzle of the latest trace through ``variants`` of its variants with the trace's settings, and
        show the vote at the step the viewer is on. Outputs: vote text, vote picture, result."""
        if not result:
            raise gr.Error("Run a puzzle first: the vote runs it again through its variants.")
        trace = result["trace"]
        try:
            loaded = active_model(self.registry, result["task"], result["user_model"], result.get("shipped"))
            result["vote"] = vote_run(loaded.model, result["puzzle"], trace.num_steps, trace.meta["H_cycles"],
                                      trace.meta["L_cycles"], int(variants))
        except (PuzzleError, CheckpointError, ValueError) as e:
            raise gr.Error(str(e)) from None
        return (*vote_views(result, result.get("step") or trace.halt_step or trace.num_steps), result)

    @staticmethod
    def row_selected(result: dict | None, evt: gr.SelectData):
        """A corrections-table row was clicked: the viewer jumps to that step and rings that cell."""
        row = evt.row_value if evt is not None else None
        if not result or not row or len(row) < 3:
            return gr.skip()
        try:
            return select_update(int(row[0]), int(row[1]) - 1, int(row[2]) - 1)
        except (TypeError, ValueError):
            return gr.skip()

    @staticmethod
    def make_gif(result: dict | None) -> tuple:
        if not result:
            raise gr.Error("Run a puzzle first; the GIF shows its refinement.")
        path = export_dir() / f"{_file_stem(result)}.gif"
        animation_gif(result["trace"], task_of(result["trace"]), result["puzzle"], path=path)
        return str(path), str(path)

    @staticmethod
    def load_checkpoint(files: list[str] | None, path: str, session: dict) -> tuple:
        """Upload (or, where allowed, a server path) -> the session's own model. Outputs: status, session, task."""
        try:
            key, loaded = load_local(path) if path and path.strip() and not files else load_uploaded(files or [])
        except CheckpointError as e:
            raise gr.Error(str(e)) from None
        session["user_model"] = key
        task = loaded.task or None
        gr.Info(f"Loaded {loaded.label}.")
        return (f"**Using {loaded.label}** for {task or 'every'} puzzles.", session,
                gr.update(value=task) if task else gr.skip())

    @staticmethod
    def forget_checkpoint(session: dict) -> tuple:
        session["user_model"] = None
        return "Using the shipped models.", session
