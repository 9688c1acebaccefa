"""The page: which components exist, where they sit, and which handler each event calls. No logic of its own
(handlers live in input_handlers.py, handlers.py and api.py).

Left column: task switch, grid editor, examples / new / clear / undo / upload, the ARC task picker with its
demonstration pairs, run settings and Run, your own checkpoint. Right column: run status, the step viewer, the
halting plot, and tabs for latents, inner recursion, corrections and export.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path

import gradio as gr
import numpy as np

from ..tasks import get_task
from ..viz.corrections import TABLE_HEADERS
from ..vote import DEFAULT_VARIANTS, MAX_VARIANTS
from .api import make_trace_api, make_vote_api
from . import housekeeping
from .grid_editor import editor_for
from .handlers import RunHandlers
from .views import IDLE_STATUS, empty_halting_figure
from .input_handlers import SUDOKU_LEVELS, UPLOAD_TYPES, InputHandlers, examples
from .limits import MAX_H_CYCLES, MAX_L_CYCLES, MAX_STEPS
from .menu import Menu
from .models import ModelRegistry, local_paths_allowed, model_line
from .session import new_session
from .step_viewer import StepViewer
from .teaching import API_HELP, CAPTIONS, HOW_TRM_WORKS, INTRO, TITLE

PRIVATE = {"api_visibility": "private"}     # UI-only listeners are not part of the public API
# Input handlers are quick; without this a failed one leaves an error overlay on the editor that blocks clicks.
QUIET = {"show_progress": "hidden", **PRIVATE}
# Everything that runs the model shares one slot: two traces at once would only halve each other's speed on the
# 2 vCPUs of a free Space, and the queue shows people their position instead.
MODEL_SLOT = {"concurrency_limit": 1, "concurrency_id": "model"}
# The run's pictures: titled inside the image (a label badge would cover its top row); no "share" button (to a
# Space's discussions) among the image buttons.
PICTURE = {"type": "pil", "show_label": False, "buttons": ["fullscreen", "download"], "interactive": False}

CSS = """
.trm-caption, .trm-caption p { font-size: 0.92em; color: #4b5563; }   /* 7:1 on the page; Gradio's subdued grey was
   2.4:1, which a projector washes out */
/* Dark mode. Gradio's rewriter of this CSS breaks a selector list that starts with ".dark": one selector a rule. */
.dark .trm-caption { color: #d1d5db; }
.dark .trm-caption p { color: #d1d5db; }
.dark .js-plotly-plot .main-svg { background: transparent !important; }  /* the figures are drawn plotly_white */
.dark .js-plotly-plot .bglayer .bg { fill: #111827 !important; }
.dark .js-plotly-plot .legend .bg { fill: transparent !important; }
.dark .js-plotly-plot .gridlayer path { stroke: #374151 !important; }
.dark .js-plotly-plot .zerolinelayer path { stroke: #4b5563 !important; }
.dark .js-plotly-plot .main-svg text { fill: #e5e7eb !important; }
.dark .js-plotly-plot .hoverlayer .bg { fill: #1f2937 !important; }
#arc-demos { border-width: 1px !important; border-color: var(--block-border-color) !important; }  /* was a 3 px
   frame, near-white in dark mode */
#run-button { font-size: 1.15em; }
#history-summary th, #history-summary td { word-break: keep-all; overflow-wrap: normal; }   /* not "11,49|7" */
.trm-big { font-size: 125%; }
.trm-big .prose, .trm-big .prose p, .trm-big .prose li, .trm-big label, .trm-big button, .trm-big .sv-stats,
.trm-big .sv-step, .trm-big .ge-help, .trm-big .sv-cellinfo { font-size: 1.25rem !important; }
.trm-big .label-wrap span, .trm-big input, .trm-big select, .trm-big textarea { font-size: 1.2rem !important; }
.trm-big .ge-grid, .trm-big .sv-grid, .trm-big .sv-svg { zoom: 1.3; }      /* the puzzles too, not only the prose */
.trm-big .prose code, .trm-big .sv-key, .trm-big [data-testid="block-info"] { font-size: 1.1rem !important; }
.trm-big button[role=tab] { font-size: 1rem !important; white-space: nowrap; }  /* larger tab names get cut */
.trm-big #history-summary table, .trm-big #history-summary td, .trm-big #history-summary th {
  font-size: 0.95rem !important; }                                           /* its wide table would overflow */
@media (pointer: coarse) {   /* a finger needs ~40 px: Gradio's small buttons are 26 px, its accordion heads 20 */
  button.sm, button.label-wrap, button[role=tab] { min-height: 40px; align-items: center; }
  .overflow-menu > button { min-height: 40px; min-width: 40px; }      /* "More tabs" on a narrow screen */
  .overflow-dropdown button { min-height: 40px; }
  .modebar-btn:not([data-title="Download plot as a PNG"]) { display: none; }   /* a touch screen shows Plotly's
     toolbar all the time, over the plot's title; a finger zooms by dragging without it */
  .modebar-group { padding-left: 0 !important; }
}
"""
# Run sits low in the left column and the views at the top of the right one (or below the inputs, on a phone):
# bring the status line into sight when it is not, so a class watches the steps arrive. A corrections-table row
# likewise brings the viewer, where it rings the cell, into sight.
SCROLL_INTO_SIGHT_JS = """(id) => {
  const e = document.getElementById(id), box = e && e.getBoundingClientRect();
  if (box && (box.top < 0 || box.top > window.innerHeight - 80)) e.scrollIntoView({behavior: 'smooth', block: 'start'});
}"""
SCROLL_TO_RUN_JS = f"() => ({SCROLL_INTO_SIGHT_JS})('status')"
SCROLL_TO_VIEWER_JS = f"() => ({SCROLL_INTO_SIGHT_JS})('viewer')"
# The page's help for screen readers and keyboards: the run's news in a live region, the columns as landmarks, the
# Plotly plots named by their values with one Tab stop each. Run once on page load; read as JavaScript from its file.
PAGE_JS = Path(__file__).with_name("page.js").read_text(encoding="utf-8")
BIG_TEXT_JS = "(on) => { document.querySelector('.gradio-container').classList.toggle('trm-big', on); return []; }"


def warm_up(registry: ModelRegistry) -> None:
    """Compile the numba solver and generators and load the shipped models in the background, so that the first
    visitor's "New puzzle", check and Run do not wait for them."""
    rng = np.random.default_rng(0)
    try:
        examples(get_task("sudoku"))
        get_task("sudoku").generate(rng, **SUDOKU_LEVELS["easy"])
        for name in ("maze", "arc"):
            task = get_task(name, getattr(registry.config(name), "seq_len", None))   # the default model's canvas
            examples(task)
            if name == "maze":
                task.generate(rng)
    except Exception:  # noqa: BLE001 - a warm-up failure must not stop the server; the real call reports it
        pass
    registry.preload()


def caption(text: str) -> gr.Markdown:
    return gr.Markdown(text, elem_classes=["trm-caption"])


def build_app(registry: ModelRegistry | None = None, warm: bool = True) -> gr.Blocks:
    registry = registry or ModelRegistry()
    inputs, runs = InputHandlers(registry), RunHandlers(registry)
    if warm:
        threading.Thread(target=warm_up, args=(registry,), name="trm-warm-up", daemon=True).start()
    sudoku_first = next(iter(examples(get_task("sudoku")).values()))

    # delete_cache: Gradio's own files in its cache (uploads, plots) go after an hour; the app's (pictures, exports)
    # are swept by files.py, since Gradio loses track of some (see there); housekeeping.py also trims memory.
    housekeeping.start()
    with gr.Blocks(title="TRM: watch a tiny recursive model think", delete_cache=(3600, 3600)) as demo:
        session = gr.State(new_session())
        request = gr.State(None)        # the checked puzzle and settings of the latest Run click
        result = gr.State(None)         # its trace, for the per-step views and exports
        page_key = gr.Textbox(visible=False)    # the page's own key, to notice a session the server let go
        gr.Markdown(TITLE)
        gr.Markdown(INTRO)
        with gr.Accordion("How TRM works", open=False, elem_id="how-trm-works"):
            gr.Markdown(HOW_TRM_WORKS)
        with gr.Row(equal_height=False):
            with gr.Column(scale=5, min_width=360, elem_id="puzzle-column"):
                task = gr.Radio([("Sudoku", "sudoku"), ("Maze", "maze"), ("ARC", "arc")], value="sudoku",
                                label="Puzzle type", elem_id="task")
                model_md = gr.Markdown(model_line(registry, "sudoku", None), elem_id="model-line")
                shipped = registry.choices("sudoku")      # several checkpoints of one task: the session picks one
                model_choice = Menu(registry.menu("sudoku"), value=shipped[0] if shipped else None,
                                           label="Shipped model",
                                           elem_id="model-choice", visible=len(shipped) >= 2)
                editor = editor_for(get_task("sudoku"), sudoku_first.grid, label="Puzzle", elem_id="editor")
                check = gr.Markdown(elem_id="check")
                with gr.Row():
                    example = Menu(list(examples(get_task("sudoku"))), value=sudoku_first.name, label="Examples",
                                          elem_id="examples", scale=3, min_width=220)
                    level = gr.Dropdown(list(SUDOKU_LEVELS), value="medium", label="New puzzle difficulty", scale=2,
                                        min_width=200)    # (min widths: on a phone the two stack, not squeeze)
                with gr.Row():
                    new_btn = gr.Button("New puzzle", size="sm", elem_id="new")
                    clear_btn = gr.Button("Clear", size="sm", elem_id="clear")
                    undo_btn = gr.Button("Undo", size="sm", elem_id="undo")
                    upload_btn = gr.UploadButton("Upload", size="sm", file_types=UPLOAD_TYPES, elem_id="upload")
                caption("Uploads: Sudoku as text, CSV or JSON; a maze as text, JSON or a picture; ARC as a task JSON "
                        "or a grid.")
                with gr.Group(visible=False) as arc_group:
                    picker = Menu([], label="ARC task (the model knows a task by its learned embedding)",
                                  elem_id="arc-task")
                    demos = gr.Gallery(label="Demonstration pairs: input \u2192 output", columns=2, height=260,
                                       elem_id="arc-demos", object_fit="contain")
                    with gr.Row(equal_height=True):
                        arc_h = gr.Number(10, label="rows", precision=0, minimum=1, maximum=30, min_width=80)
                        arc_w = gr.Number(10, label="columns", precision=0, minimum=1, maximum=30, min_width=80)
                        resize_btn = gr.Button("Resize test input", size="sm")
                        next_test_btn = gr.Button("Next test input", size="sm", elem_id="next-test")
                with gr.Accordion("Run settings", open=False):
                    cfg = registry.config("sudoku")       # the defaults of the model that answers first
                    T, n = (cfg.H_cycles, cfg.L_cycles) if cfg else (3, 6)
                    n_steps = min(cfg.halt_max_steps, MAX_STEPS) if cfg else MAX_STEPS
                    steps = gr.Slider(1, MAX_STEPS, n_steps, step=1, label="Supervision steps")
                    h_cycles = gr.Slider(1, MAX_H_CYCLES, min(T, MAX_H_CYCLES), step=1,
                                         label="H_cycles (T): z_H updates per step")
                    l_cycles = gr.Slider(1, MAX_L_CYCLES, min(n, MAX_L_CYCLES), step=1,
                                         label="L_cycles (n): z_L updates per z_H update")
                    caption(CAPTIONS["settings"])
                with gr.Row():
                    run_btn = gr.Button("Run", variant="primary", elem_id="run-button", scale=3)
                    stop_btn = gr.Button("Stop", variant="stop", scale=1)
                with gr.Accordion("Use your own checkpoint", open=False):
                    caption(CAPTIONS["checkpoint"])
                    ckpt_files = gr.File(file_count="multiple", label="Checkpoint files", elem_id="ckpt-files")
                    ckpt_path = gr.Textbox(label="...or a path on this server", visible=local_paths_allowed())
                    with gr.Row():
                        load_btn = gr.Button("Load checkpoint", size="sm")
                        forget_btn = gr.Button("Back to the shipped models", size="sm")
                    ckpt_status = gr.Markdown()
                big = gr.Checkbox(False, label="Large text (for a projector)")
            with gr.Column(scale=7, min_width=420, elem_id="results-column"):
                status = gr.Markdown(IDLE_STATUS, elem_id="status")
                viewer = StepViewer(None, label="Refinement", elem_id="viewer")
                caption(CAPTIONS["viewer"])
                plot = gr.Plot(empty_halting_figure(), label="Halting", show_label=False,     # the figure has a
                               elem_id="halting-plot")                                        # title of its own
                caption(CAPTIONS["halting"])
                with gr.Tabs():
                    with gr.Tab("Latents") as latents_tab:
                        step_md = gr.Markdown(elem_id="latent-step")
                        with gr.Row():
                            z_h_heat = gr.Image(label="z_H change", height=240, **PICTURE)
                            z_l_heat = gr.Image(label="z_L change", height=240, **PICTURE)
                        with gr.Row():
                            z_h_rgb = gr.Image(label="z_H as colours", height=240, **PICTURE)
                            z_l_rgb = gr.Image(label="z_L as colours", height=240, **PICTURE)
                        caption(CAPTIONS["latents"])
                    with gr.Tab("Inner recursion") as inner_tab:
                        inner = gr.Image(label="Inner updates of the selected step", **PICTURE)
                        caption(CAPTIONS["inner"])
                    with gr.Tab("Corrections"):
                        summary = gr.Markdown(elem_id="corrections-summary")
                        table = gr.Dataframe(headers=TABLE_HEADERS, interactive=False, elem_id="corrections",
                                             max_height=360, column_count=len(TABLE_HEADERS))
                        caption(CAPTIONS["corrections"])
                    with gr.Tab("Variant vote", elem_id="vote-tab") as vote_tab:
                        with gr.Row():
                            n_variants = gr.Slider(2, MAX_VARIANTS, DEFAULT_VARIANTS, step=1, label="Variants",
                                                   elem_id="vote-variants", scale=2)
                            vote_btn = gr.Button("Vote", elem_id="vote-button", scale=1)
                        vote_md = gr.Markdown(elem_id="vote-summary")
                        vote_img = gr.Image(label="The variants' answers", elem_id="vote-image", alt_text=(
                            "The ranked answers of the vote (the paragraph above lists them), then each variant's "
                            "own answer"), **PICTURE)
                        caption(CAPTIONS["vote"])
                    with gr.Tab("Training history", elem_id="history-tab"):
                        first_md, first_fig = inputs.history_view("sudoku", new_session())   # the default model's
                        history_md = gr.Markdown(first_md, elem_id="history-summary")
                        history_plot = gr.Plot(first_fig, label="Training history", show_label=False,
                                               elem_id="history-plot")
                        caption(CAPTIONS["history"])
                    with gr.Tab("Export"):
                        json_file = gr.File(label="Trace JSON", interactive=False, elem_id="trace-json")
                        gif_btn = gr.Button("Make the GIF", size="sm", elem_id="make-gif")
                        gif_file = gr.File(label="Refinement GIF", interactive=False, elem_id="gif-file")
                        gif_view = gr.Image(label="Preview", interactive=False, height=300,
                                            buttons=["fullscreen", "download"],      # no "share" (as PICTURE)
                                            alt_text="The refinement GIF: the answer at each step, one frame a step")
                        caption(CAPTIONS["export"])
                        caption(API_HELP)

        # --- wiring ----------------------------------------------------------------------------------------------
        load_outputs = [editor, session, demos, picker, check]
        run_outputs = [viewer, status, plot, result, z_h_heat, z_l_heat, z_h_rgb, z_l_rgb, inner, step_md, summary,
                       table, json_file, vote_md, vote_img]
        model_outputs = [steps, h_cycles, l_cycles, model_md]      # what follows the model Run will use
        task_outputs = load_outputs + [example, arc_group, level, *model_outputs, model_choice]
        # One queue for the page's load answer and task switches: processed in order, a late load answer (for the
        # task the page opened with) cannot overwrite the model line of a task the visitor has switched to. Both
        # handlers take milliseconds, so sharing one slot across visitors costs nothing noticeable.
        demo.load(None, None, None, js=PAGE_JS, **PRIVATE)
        demo.load(inputs.page_loaded, [task, session], [session, check, model_md, page_key],
                  concurrency_id="page-task", **QUIET)
        task.change(inputs.task_changed, [task, session], task_outputs, concurrency_id="page-task", **QUIET).then(
            runs.task_switched, [task, result, session], run_outputs + [n_variants], **QUIET)
        model_choice.input(inputs.shipped_chosen, [task, model_choice, session, editor], task_outputs,
                           **QUIET).success(
            runs.views_outdated, [task, result, editor, session], status, **QUIET)
        # The history follows the model line, whatever changed it (task, menu, own checkpoint loaded or forgotten).
        model_md.change(inputs.history_view, [task, session], [history_md, history_plot], **QUIET)
        example.input(inputs.example_chosen, [task, example, session], load_outputs, **QUIET)
        new_btn.click(inputs.new_puzzle, [task, level, session], load_outputs, **QUIET)
        clear_btn.click(inputs.clear, [task, editor, session], load_outputs, **QUIET)
        undo_btn.click(inputs.undo, [task, session, page_key], load_outputs, **QUIET)
        # Any new puzzle in the editor (typed, painted, loaded, undone): its change event checks it, and the status
        # line says when the views show the run of another puzzle.
        editor.change(inputs.edited, [task, editor, session, picker, page_key], [session, check, arc_h, arc_w, example],
                      **QUIET).success(runs.views_outdated, [task, result, editor, session], status, **QUIET)
        picker.input(inputs.arc_picked, [picker, session], load_outputs, **QUIET)
        picker.select(lambda task_id, session: inputs.arc_picked(task_id, session, again=True), [picker, session],
                      load_outputs, **QUIET)
        resize_btn.click(inputs.arc_resize, [arc_h, arc_w, editor, session, picker], load_outputs, **QUIET)
        next_test_btn.click(inputs.arc_next_test, [editor, session, picker], load_outputs, **QUIET)
        # Run is disabled while an upload is parsed, so it can never start on the grid from before the upload. It is
        # enabled again on success and on failure: in Gradio 6.31 a .then() does not run after a gr.Error.
        parsed = upload_btn.upload(lambda: gr.update(interactive=False), None, run_btn, queue=False, **PRIVATE).then(
            inputs.uploaded, [task, upload_btn, session, picker], load_outputs, **QUIET)
        for after in (parsed.success, parsed.failure):
            after(lambda: gr.update(interactive=True), None, run_btn, queue=False, **PRIVATE)

        # Checks first (quick, errors leave the views alone), then the model in its one slot, streaming each step
        # into the status line and the viewer (no overlay: it would hide the steps as they arrive).
        prepared = run_btn.click(runs.prepare, [task, editor, session, picker, steps, h_cycles, l_cycles,
                                                model_choice, page_key], [request, status, model_md], **QUIET)
        ran = prepared.success(runs.run, [request], run_outputs, show_progress="minimal", show_progress_on=[status],
                               trigger_mode="always_last", **MODEL_SLOT, **PRIVATE)
        # The GIF is made on request, from the run on screen: a new run or puzzle type must not offer the old one.
        for cleared in (prepared.success, task.change):
            cleared(lambda: (None, None), None, [gif_file, gif_view], queue=False, **PRIVATE)
        # (Run pressed during a run: the latest request runs next, the default dropped it. The status line shows the
        # queue position while other visitors' runs go first.)
        run_btn.click(None, None, None, js=SCROLL_TO_RUN_JS, queue=False, **PRIVATE)
        # Stop is a signal, not a cancel: the run ends after its current step and builds every view from the steps
        # that finished (a cancelled run would leave the views of the run before beside its first steps).
        stop_btn.click(runs.stop, [session], status, queue=False, **PRIVATE)
        viewer.step_change(runs.step_changed, [result, session, page_key],
                           [plot, z_h_heat, z_l_heat, z_h_rgb, z_l_rgb, inner, step_md, vote_md, vote_img, status],
                           trigger_mode="always_last", show_progress="hidden", **PRIVATE)
        # A hidden tab's pictures are fetched when it opens, maybe after the sweep deleted them (files.py).
        for pictures_tab in (latents_tab, inner_tab):
            pictures_tab.select(runs.pictures_tab_opened, [result], [z_h_heat, z_l_heat, z_h_rgb, z_l_rgb, inner],
                                show_progress="hidden", **PRIVATE)
        vote_tab.select(runs.vote_tab_opened, [result], vote_img, show_progress="hidden", **PRIVATE)
        voted = vote_btn.click(runs.vote_clicked, [result, n_variants, session, page_key],
                               [vote_md, vote_img, result, status],
                               show_progress_on=[vote_md], **MODEL_SLOT, **PRIVATE)
        # An edit or another model while the run or vote went: say so once it has ended.
        for ended in (ran.then, voted.then):
            ended(runs.views_outdated_after, [task, result, editor, session], status, **QUIET)
        table.select(runs.row_selected, [result], viewer, show_progress="hidden", **PRIVATE)
        table.select(None, None, None, js=SCROLL_TO_VIEWER_JS, queue=False, **PRIVATE)
        gif_btn.click(runs.make_gif, [result, session, page_key], [gif_file, gif_view], **PRIVATE)
        load_btn.click(runs.load_checkpoint, [ckpt_files, ckpt_path, session], [ckpt_status, session, task],
                       concurrency_limit=1, concurrency_id="checkpoint", show_progress_on=[ckpt_status],
                       **PRIVATE).success(inputs.task_changed, [task, session], task_outputs, **QUIET).success(
            runs.views_outdated, [task, result, editor, session], status, **QUIET)
        forget_btn.click(runs.forget_checkpoint, [session], [ckpt_status, session], **QUIET).then(
            inputs.task_changed, [task, session], task_outputs, **QUIET).success(
            runs.views_outdated, [task, result, editor, session], status, **QUIET)
        big.change(None, [big], None, js=BIG_TEXT_JS, **PRIVATE)

        gr.api(make_trace_api(registry), api_name="trace", **MODEL_SLOT)
        gr.api(make_vote_api(registry), api_name="vote", **MODEL_SLOT)
    # A small default limit: 2 vCPUs. Cheap UI events (edits, checks) each have their own slot.
    demo.queue(default_concurrency_limit=2, max_size=64)
    return demo


def launch_kwargs() -> dict:
    """How app.py serves the page: all interfaces on port 7860 unless GRADIO_SERVER_NAME / GRADIO_SERVER_PORT say
    otherwise, no server-side rendering (there is no Node here), theme and CSS (launch() arguments in Gradio 6)."""
    return dict(
        server_name=os.environ.get("GRADIO_SERVER_NAME", "0.0.0.0"),
        server_port=int(os.environ.get("GRADIO_SERVER_PORT", "7860")),
        ssr_mode=False,
        theme=gr.themes.Soft(font=["ui-sans-serif", "system-ui", "sans-serif"]),
        css=CSS,
        # user checkpoints can be large (official ARC files are ~1.8 GB); puzzle parsers have their own 8 MB limit
        max_file_size=os.environ.get("TRM_VIZ_MAX_UPLOAD", "2gb"),
        # Each visitor's session holds a copy of the page's settings (~200 KB, measured): Gradio's default of 10,000
        # sessions kept would grow a long-lived Space by ~2 GB. The oldest sessions beyond these are let go.
        state_session_capacity=int(os.environ.get("TRM_VIZ_SESSIONS", "1000")),
    )
