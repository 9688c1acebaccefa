"""Handlers for the output side: Run (streams every supervision step as it completes), Stop, the variant vote (streams
too), switching puzzle type (each type keeps its last run), the per-step views refreshed when the viewer settles on a
step, the corrections table linked to the viewer, exports, and loading a user's checkpoint.

The run's result (trace + puzzle) lives in the session's gr.State; views.py builds what the views show from it, and
the session's "runs" desk (_desk) holds what Stop and a type switch need. Handlers only call tasks / trace / viz.
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Any, Iterator

import gradio as gr

from ..model.checkpoints import CheckpointError
from ..tasks import PuzzleError, get_task
from ..trace import known_arc_tasks, puzzle_identifier, task_of
from ..viz.animation import animation_gif
from ..viz.plots import halting_figure, run_curves
from ..viz.viewer_data import viewer_data
from ..vote import DEFAULT_VARIANTS, MAX_VARIANTS, task_variants
from . import session as ss
from .files import export_dir, touch_or_missing
from .limits import hosted_counts
from .models import (ModelRegistry, active_config, active_model, active_task, forget_user_model, load_local,
                     load_uploaded, model_id, model_line)
from .runner import SLOT, stream_trace, stream_vote
from .step_viewer import select_update
from .views import (IDLE_STATUS, RUN_LOST, SESSION_LOST, _file_stem, cleared_views, internal_error, refusal,
                    result_status, result_views, shown_pictures, vote_views)


def _desk(session: dict) -> dict:
    """The session's runs (session.new_session), shared by reference with every run it requests: when Stop was last
    pressed (runs requested before end after their current step), the runs asked for and not ended (their click
    times), the puzzle type on screen (a run of another type stops and is kept aside, not shown) and each type's
    last run, kept aside."""
    return session.setdefault("runs", ss.new_session()["runs"])


@contextmanager
def _going(desk: dict, task_name: str) -> Iterator[None]:
    """A run or vote of this session under way on ``task_name``'s puzzle: it holds the host's model slot
    (runner.SLOT: other visitors' Run says "Waiting"), and the session's desk counts it and its puzzle type (Stop
    says whether one has started, and whether it runs unseen, on another type)."""
    desk["going"] = desk.get("going", 0) + 1
    desk["going_task"] = task_name
    try:
        with SLOT.held():
            yield
    finally:
        desk["going"] -= 1


def _on_screen(desk: dict, task_name: str) -> bool:
    """Whether the page shows ``task_name``'s puzzle type (a run or vote of another type must not write its views)."""
    return desk["task"] in (None, task_name)


class RunHandlers:
    def __init__(self, registry: ModelRegistry):
        self.registry = registry

    def prepare(self, task_name: str, grid: Any, session: dict, arc_task_id: str | None, steps: float,
                H_cycles: float, L_cycles: float, pick: str | None = None, page_key: str | None = None) -> tuple:
        """Everything that can be refused before the model runs: the puzzle (from the grid as it is at the click),
        the model (loaded now if need be) and the run's cost on this host (ui/limits.py). Outputs: the run request
        (a gr.State), the status line and the model line. A failure here shows one error and leaves every view,
        and the grid, as it was. In a session the server had let go (session.lost), the run takes the shipped model
        the page's menu shows (``pick``), says what was lost, and the session becomes the page's own again."""
        if ss.lost(session, page_key):
            if ss.first_told(session, page_key):
                gr.Warning(SESSION_LOST)
            if pick in self.registry.choices(task_name):
                ss.choose_shipped(session, task_name, pick)
            ss.remember(session, task_name, grid)     # the page's puzzle, kept across a later type switch
            session["page"] = page_key
        try:
            user_key, shipped = session.get("user_model"), ss.shipped(session, task_name)
            task = active_task(self.registry, task_name, user_key, shipped)
            puzzle = ss.build_puzzle(task, grid, session, arc_task_id)
            loaded = active_model(self.registry, task_name, user_key, shipped)
            puzzle_identifier(loaded.config, puzzle)            # an ARC task the model does not know
            steps, H_cycles, L_cycles = hosted_counts(loaded.config, steps, H_cycles, L_cycles)
        except (PuzzleError, CheckpointError, ValueError) as e:
            raise refusal(str(e)) from None
        for note in puzzle.notes:
            gr.Warning(note)
        desk = _desk(session)
        request = {"task": task_name, "puzzle": puzzle, "user_model": user_key, "shipped": shipped,
                   "steps": steps, "H_cycles": H_cycles, "L_cycles": L_cycles, "clicked": time.perf_counter(),
                   "desk": desk}
        mine = bool(desk["live"])                  # this visitor's own run or vote is asked for or going
        desk["live"].append(request["clicked"])    # until its run ends: Stop then has something to stop
        desk["task"] = task_name
        the = "the " if loaded.label.startswith("shipped") else ""      # not "the your checkpoint"
        line = model_line(self.registry, task_name, user_key, shipped)
        if mine:
            return request, ("**Waiting** for your run or vote that is going to end (**Stop** ends it after its "
                             f"step). Then {steps} steps with {the}{loaded.label}."), line
        if SLOT.busy:
            return request, ("**Waiting** for the model: another visitor's run or vote (or an API call) is going, and "
                             f"this host runs one at a time. Then {steps} steps with {the}{loaded.label}."), line
        return request, f"Starting {steps} steps with {the}{loaded.label}...", line

    def run(self, request: dict | None) -> Iterator[tuple]:
        """Streams every supervision step into the viewer as it completes (the first also clears the views of the
        run before), then fills the other views. Stop ends it after the current step, with every view built from
        the steps that finished. Outputs (RUN_OUTPUTS): viewer, status, halting plot, result, z_H heat, z_L heat,
        z_H rgb, z_L rgb, inner strip, step label, corrections summary, corrections table, trace JSON file, vote
        text, vote picture."""
        if not request:
            return
        desk = request.get("desk") or ss.new_session()["runs"]
        mine = request["clicked"]
        # Requests older than this one that are not running never will: a Run pressed while another was queued
        # replaces it (the listener's trigger_mode="always_last"), and the runs of one session go one at a time.
        desk["live"][:] = [t for t in desk["live"] if t >= mine]
        try:
            with _going(desk, request["task"]):
                yield from self._run(request, desk)
        finally:
            desk["live"][:] = [t for t in desk["live"] if t != mine]

    def _run(self, request: dict, desk: dict) -> Iterator[tuple]:
        skip = gr.skip()
        task_name, puzzle, n = request["task"], request["puzzle"], request["steps"]
        clicked = request["clicked"]

        def stopped() -> bool:
            return desk["stop_at"] > clicked


        if stopped():
            yield (skip, "**Stopped** before the run started.") + (skip,) * 13
            return
        t0 = time.perf_counter()        # the run's times start here, not at the click: a queue may come between
        try:
            loaded = active_model(self.registry, task_name, request["user_model"], request.get("shipped"))
        except CheckpointError as e:
            yield (skip, f"**Could not run:** {e}") + (skip,) * 13       # not "Running..." beside the error
            raise refusal(str(e)) from None
        task = get_task(task_name, loaded.config.seq_len)
        trace, first, unseen = None, None, False
        try:
            for trace in stream_trace(loaded.model, puzzle, n, request["H_cycles"], request["L_cycles"]):
                k = trace.num_steps
                first = first or time.perf_counter() - t0
                if not _on_screen(desk, task_name):
                    # The visitor looks at another puzzle type: the run goes on unseen and waits for their return
                    # (below), unless they asked for a run or vote there, which would wait for this one to end.
                    if any(t > clicked for t in desk["live"]):
                        trace.meta["stopped_by"] = "a run or vote on another puzzle type"
                        break
                    unseen = True
                    if stopped():
                        break
                    continue
                status = f"Step {k} of {n} done ({time.perf_counter() - t0:.1f} s)" + \
                         ("; stopping..." if stopped() and k < n else
                          f"; running step {k + 1}..." if k < n else "; preparing the views...")
                # the first step shown clears the views of the run before (or, back from another puzzle type
                # mid-run, those of this type's earlier run that the switch brought back)
                yield (viewer_data(trace, task, puzzle), status) + (cleared_views(task_name, True) if k == 1 or unseen
                                                                     else (skip,) * 13)
                unseen = False
                if stopped():
                    break       # closing stream_trace lets its thread finish the step it is on, and no more
        except Exception as e:  # noqa: BLE001 - expected refusals word themselves; a bug gets one line + the log
            message = str(e) if isinstance(e, (PuzzleError, CheckpointError, ValueError)) else internal_error(e)
            yield (skip, f"**Could not run:** {message}") + (skip,) * 13
            raise refusal(message) from None
        if trace is None:
            return
        total = time.perf_counter() - t0
        trace.meta.update(checkpoint=loaded.label, first_step_seconds=round(first, 3), total_seconds=round(total, 3))
        result = {"trace": trace, "puzzle": puzzle, "task": task_name, "user_model": request["user_model"],
                  "shipped": request.get("shipped"), "config": loaded.config,     # the vote runs the same model
                  "model_id": model_id(self.registry, task_name, request["user_model"], request.get("shipped")),
                  "clicked": clicked}
        result["previous"] = ss.compared_run(desk, task_name, puzzle, trace, result["model_id"], run_curves(trace))
        if not _on_screen(desk, task_name):
            desk["kept"][task_name] = result        # shown when the user comes back to this puzzle type
            yield (skip,) * 15      # Gradio applies a generator's last outputs again when it ends: not this type's
            return                  # last step on the other type's page
        yield (skip,) + result_views(result)

    def step_changed(self, result: dict | None, session: dict, page_key: str | None, evt: gr.EventData) -> tuple:
        """The viewer settled on a step: move the plot cursor and redraw the per-step pictures (and the variant
        vote, when there is one, at the same step). Outputs: plot, the five pictures, step label, vote text, vote
        picture, status line (only to say that the server no longer holds the run)."""
        skip = gr.skip()
        if not result:
            return (skip,) * 9 + (RUN_LOST if ss.lost(session, page_key) else skip,)
        trace = result["trace"]
        try:
            step = min(max(1, int(getattr(evt, "step", 0) or trace.num_steps)), trace.num_steps)
        except (TypeError, ValueError):
            return (skip,) * 10
        result["step"] = step    # kept in the session's state object: the vote opens at the step being looked at
        votes = vote_views(result, step) if result.get("vote") else (skip, skip)
        return (halting_figure(trace, step, previous=result.get("previous")), *shown_pictures(result, step),
                f"Showing step {step}.", *votes, skip)

    def pictures_tab_opened(self, result: dict | None) -> tuple:
        """The Latents or Inner recursion tab opened. The browser fetches a tab's pictures when it first shows them,
        and files.sweep deletes a picture an hour after it was last shown (a run left open before a class): shown
        pictures are touched; gone ones are written again, under new names, so that the browser fetches them (it
        keeps a broken picture for a name it failed to fetch). Outputs: the five pictures."""
        if not touch_or_missing((result or {}).get("pictures") or []):
            return (gr.skip(),) * 5
        return shown_pictures(result, result.get("step") or result["trace"].num_steps, fresh=True)

    def vote_tab_opened(self, result: dict | None) -> Any:
        """The Variant vote tab opened: its picture, as pictures_tab_opened does. Output: the vote picture."""
        if not result or not result.get("vote") or not touch_or_missing([result.get("vote_picture")]):
            return gr.skip()
        return vote_views(result, result.get("step") or result["trace"].num_steps, fresh=True)[1]

    def vote_clicked(self, result: dict | None, variants: float, session: dict | None = None,
                     page_key: str | None = None) -> Iterator[tuple]:
        """Run the puzzle of the latest trace through ``variants`` of its variants with the trace's settings, and
        show the vote at the step the viewer is on. It streams its progress; Stop ends it after the step it is on (a
        paper-size vote takes a minute or two on a small host), as does leaving the page. If the user has moved to
        another puzzle type meanwhile, the vote stays with its run, shown when they come back. Outputs: vote text,
        vote picture, result, status line."""
        if not result:
            raise refusal(RUN_LOST if session is not None and ss.lost(session, page_key) else
                          "Run a puzzle first: the vote runs it again through its variants.")
        trace, skip = result["trace"], gr.skip()
        desk = _desk(session) if session is not None else ss.new_session()["runs"]
        t0 = time.perf_counter()
        desk["live"].append(t0)             # Stop now has something to stop

        def here() -> bool:
            return _on_screen(desk, result["task"])

        try:
            with _going(desk, result["task"]):
                loaded = active_model(self.registry, result["task"], result["user_model"], result.get("shipped"))
                if here():
                    yield skip, skip, skip, "**Voting...** (**Stop** ends the vote after the step it is on)"
                vv, done = None, 0
                for item in stream_vote(loaded.model, result["puzzle"], trace.num_steps, trace.meta["H_cycles"],
                                        trace.meta["L_cycles"], int(variants), stop=lambda: desk["stop_at"] > t0):
                    if item is not None:
                        vv = item
                        continue
                    done += 1
                    progress = f"Voting: step {done} of {trace.num_steps} done..."
                    yield (progress, skip, skip, skip) if here() else (skip,) * 4
                result["vote"] = vv
        except (PuzzleError, CheckpointError, ValueError) as e:
            raise refusal(str(e)) from None
        except Exception as e:  # noqa: BLE001 - a bug: one line here, the traceback in the server log
            raise refusal(internal_error(e)) from None
        finally:
            desk["live"][:] = [t for t in desk["live"] if t != t0]
        if not here():
            yield (skip,) * 4
            return
        n = vv.num_steps
        status = (f"**Stopped** the vote after step {n} of {trace.num_steps}." if n < trace.num_steps
                  else result_status(result))
        yield (*vote_views(result, result.get("step") or trace.halt_step or trace.num_steps), result, status)

    @staticmethod
    def stop(session: dict) -> str | Any:
        """Stop: the session's runs and votes end after the step they are on, and show what they computed."""
        desk = _desk(session)
        if not desk["live"]:
            return gr.skip()
        desk["stop_at"] = time.perf_counter()
        going = desk.get("going_task")
        if desk.get("going") and going and not _on_screen(desk, going):
            # it writes nothing on this page: a "Stopping..." here would stay for good
            label = {"arc": "ARC"}.get(going, going.capitalize())        # as the puzzle-type buttons say
            return (f"**Stopping** your {label} run or vote, which went on while you looked at this puzzle type, "
                    f"after the step it is on: it shows what it computed when you go back to {label}.")
        if desk.get("going"):
            return "**Stopping** after the current step..."
        return "**Stopping:** your run has not started yet, and will not."

    def task_switched(self, task_name: str, result: dict | None, session: dict) -> tuple:
        """Another puzzle type: the run shown so far is kept aside for when the user comes back, and this type's
        own last run (or empty views) shows instead; the vote's slider follows the type's number of variants.
        Outputs: RUN_OUTPUTS, then the variants slider."""
        desk = _desk(session)
        desk["task"] = task_name
        kept = desk["kept"]
        if result and result["task"] != task_name:
            kept[result["task"]] = result
        back = result if result and result["task"] == task_name else kept.pop(task_name, None)
        slider = gr.update(maximum=(most := self.variants_max(task_name, session)), value=min(DEFAULT_VARIANTS, most))
        if back is None:
            return (None, IDLE_STATUS) + cleared_views(task_name) + (slider,)
        trace = back["trace"]
        views = result_views(back)
        _desk(session).get("judged", {}).pop(task_name, None)      # judged afresh: this type's grid and model now
        match = self._views_match(task_name, back, session["grids"].get(task_name), session)
        if isinstance(match, str):                   # edited, or another model picked, before the user left
            views = (match,) + views[1:]
        return (viewer_data(trace, task_of(trace), back["puzzle"]),) + views + (slider,)

    def variants_max(self, task_name: str, session: dict) -> int:
        """How many variants the vote can run for this puzzle type: a maze's 8 symmetries; the variants the ARC
        model learned per task (16 for ours); else the batch bound."""
        if task_name != "arc":
            return len(get_task(task_name).symmetries(MAX_VARIANTS))
        cfg = active_config(self.registry, "arc", session.get("user_model"), ss.shipped(session, "arc"))
        known = known_arc_tasks(cfg) if cfg is not None else []
        return max(2, min(MAX_VARIANTS, len(task_variants(cfg, known[0])))) if known else MAX_VARIANTS

    def _views_match(self, task_name: str, result: dict | None, grid: Any, session: dict) -> str | bool | None:
        """None: nothing to say (no run of this type on screen; a run or vote of this visitor is asked for or
        going: its own lines are the news then; or neither the puzzle nor the model changed since the last
        judgement, e.g. a menu left by Tab: the line on screen, perhaps a stopped vote's, stays); True: the views
        show the run of the puzzle in the editor by the model Run uses; else the line that says what differs."""
        desk = _desk(session)
        if not result or result["task"] != task_name or desk["live"]:
            return None
        now = model_id(self.registry, task_name, session.get("user_model"), ss.shipped(session, task_name))
        judged = desk.setdefault("judged", {})
        seen = (ss.rows(grid), now, result.get("clicked"))     # the run: its click time
        if judged.get(task_name) == seen:
            return None
        judged[task_name] = seen
        if ss.rows(grid) != ss.rows(result["puzzle"].grid):
            name = result["puzzle"].name
            return (f"The views below show your last run{f', of {name},' if name else ''} not the puzzle in the "
                    "editor: press **Run** for it.")
        if result.get("model_id") not in (None, now):
            return "The views below show your last run, made by another model. Press **Run** to run this one."
        return True

    def views_outdated(self, task_name: str, result: dict | None, grid: Any, session: dict) -> str | Any:
        """After anything that changes the puzzle in the editor (a load, an edit, undo...) or the model Run uses:
        the status line says when the run on screen is of another puzzle or by another model, and shows the run's
        own line again when they match again (an undo, the model picked back)."""
        match = self._views_match(task_name, result, grid, session)
        return gr.skip() if match is None else result_status(result) if match is True else match

    def views_outdated_after(self, task_name: str, result: dict | None, grid: Any, session: dict) -> str | Any:
        """After a run or vote ended: an edit or another model while it went is said now (its own last line, e.g. a
        stopped vote's, stays otherwise)."""
        match = self._views_match(task_name, result, grid, session)
        return match if isinstance(match, str) else gr.skip()

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
    def make_gif(result: dict | None, session: dict | None = None, page_key: str | None = None) -> tuple:
        if not result:
            raise refusal(RUN_LOST if session is not None and ss.lost(session, page_key) else
                          "Run a puzzle first; the GIF shows its refinement.")
        path = export_dir() / f"{_file_stem(result)}.gif"
        animation_gif(result["trace"], task_of(result["trace"]), result["puzzle"], path=path)
        return str(path), str(path)

    @staticmethod
    def load_checkpoint(files: list[str] | None, path: str, session: dict) -> tuple:
        """Upload (or, where allowed, a server path) -> the session's own model. Outputs: status, session, task."""
        try:
            old = session.get("user_model")      # one own checkpoint per visitor: the new one replaces it
            key, loaded = (load_local(path, old) if path and path.strip() and not files
                           else load_uploaded(files or [], old))
        except CheckpointError as e:
            raise refusal(str(e)) from None
        session["user_model"] = key
        task = loaded.task or None
        gr.Info(f"Loaded {loaded.label}.")
        notes = "".join(f" **Note:** {n}" for n in loaded.info.get("notes", []))
        return (f"**Using {loaded.label}** for {f'{task} puzzles' if task else 'every puzzle type'}.{notes}", session,
                gr.update(value=task) if task else gr.skip())

    @staticmethod
    def forget_checkpoint(session: dict) -> tuple:
        forget_user_model(session.get("user_model"))
        session["user_model"] = None
        return "Using the shipped models.", session
