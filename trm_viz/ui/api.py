"""The named API endpoints for gradio_client and scripts: ``/trace`` (a puzzle in -> the trace JSON out,
trm_viz.trace.to_json) and ``/vote`` (a puzzle -> the vote of its variants, trm_viz.vote.to_json), run with
the default shipped checkpoint of its task (checkpoints/<task>/ when shipped, else the first
checkpoints/<task>-<variant>/). The UI's "Shipped model" menu and uploaded checkpoints do not apply here.

    from gradio_client import Client
    client = Client("http://localhost:7860/")       # one for all calls: each new Client is a session of its own
    trace = client.predict("sudoku", "53..7....6..195...", 16, 0, 0, "", api_name="/trace")
    vote = client.predict("arc", arc_task_json, 16, 0, 0, "0d3d703e", 16, api_name="/vote")
"""
from __future__ import annotations

from typing import Any

from ..model.checkpoints import CheckpointError
from ..tasks import TASK_NAMES, PuzzleError, get_task
from ..tasks.arc import recognise
from ..trace import to_json
from ..vote import DEFAULT_VARIANTS, to_json as vote_to_json
from .limits import hosted_counts, whole
from .models import ModelRegistry
from .runner import SLOT, trace_run, vote_run
from .views import refusal


def _checked(registry: ModelRegistry, task: str, puzzle: str, steps, H_cycles, L_cycles, arc_task_id: str):
    """(loaded model, puzzle, steps, H_cycles, L_cycles) of an API call, or PuzzleError / ValueError."""
    if task not in TASK_NAMES:
        raise PuzzleError(f"Unknown task {task!r}: choose one of {', '.join(TASK_NAMES)}.")
    loaded = registry.get(task)
    t = get_task(task, loaded.config.seq_len)
    counts = hosted_counts(loaded.config, steps, H_cycles, L_cycles)
    if not isinstance(puzzle, str):
        raise PuzzleError(f"The puzzle must be text (its text or JSON as a string), not {type(puzzle).__name__}.")
    if not puzzle.strip():
        raise PuzzleError("The puzzle is empty: send its text (or JSON) as the second argument.")
    if arc_task_id and (not isinstance(arc_task_id, str) or len(arc_task_id) > 64):
        raise PuzzleError("arc_task_id must be an ARC task's id (e.g. 0d3d703e), at most 64 characters.")
    p = t.parse(puzzle, task_id=arc_task_id or None) if task == "arc" else t.parse(puzzle)
    if task == "arc":
        p.arc_task_id = arc_task_id or p.arc_task_id
        recognise(p)
    t.validate(p)
    return (loaded, p, *counts)


def make_trace_api(registry: ModelRegistry):
    def trace(task: str, puzzle: str, steps: int = 0, H_cycles: int = 0, L_cycles: int = 0,
              arc_task_id: str = "") -> dict[str, Any]:
        """Run the shipped TRM on one puzzle and return every supervision step.

        The model is the task's default shipped checkpoint (checkpoints/<task>/ when shipped, else the first
        checkpoints/<task>-<variant>/, named in the result's meta.checkpoint), whatever model the web page has picked.

        Args:
            task: "sudoku", "maze" or "arc".
            puzzle: the puzzle in any text format the task reads: Sudoku as 81 characters, 9 lines or JSON rows;
                a maze as text rows of '#', ' ', 'S', 'G' or JSON; ARC as a task JSON {"train", "test"} or a grid.
            steps: supervision steps to run, 1-16 (0: the model's default, 16).
            H_cycles: z_H updates per step, T, 1-16 (0: the model's default).
            L_cycles: z_L updates per z_H update, n, 1-16 (0: the model's default). A run may cost at most
                trm_viz.ui.limits.HOSTED_GFLOP (the paper-size models run at about their own T and n).
            arc_task_id: ARC only: the task whose learned embedding to use (a task JSON upload has none).
        Returns:
            The trace: task, input, solution, halt_step, num_steps and steps[] with answer, q_halt_prob,
            changed_cells, confidence, z_H_delta, z_L_delta, inner_answers, inner_change (and exact, cell_accuracy
            over every cell, solve_accuracy over the cells to solve and p_right per cell, when the answer is known).
        """
        try:
            loaded, p, steps, H_cycles, L_cycles = _checked(registry, task, puzzle, steps, H_cycles, L_cycles,
                                                            arc_task_id)
            with SLOT.held():
                result = trace_run(loaded.model, p, steps, H_cycles, L_cycles)
        except (PuzzleError, CheckpointError, ValueError) as e:
            raise refusal(str(e)) from None
        result.meta["checkpoint"] = loaded.label
        return to_json(result)

    return trace


def make_vote_api(registry: ModelRegistry):
    def vote(task: str, puzzle: str, steps: int = 0, H_cycles: int = 0, L_cycles: int = 0, arc_task_id: str = "",
             variants: int = DEFAULT_VARIANTS) -> dict[str, Any]:
        """Run one puzzle through several variants at once (ARC: the task's learned variants, the official pass@2
        vote; Sudoku, maze: the symmetries training used), map their answers back and rank them by votes, then mean
        halting probability, after every supervision step. Same model and arguments as /trace, plus ``variants``.

        Args:
            task: "sudoku", "maze" or "arc".
            puzzle: the puzzle in any text format the task reads (as /trace).
            steps: supervision steps to run, 1-16 (0: the model's default, 16).
            H_cycles: z_H updates per step, T (0: the model's default).
            L_cycles: z_L updates per z_H update, n (0: the model's default).
            arc_task_id: ARC only: the task whose variants to run.
            variants: how many variants to run, 1-32 (ARC: at most those the model knows; maze: at most 8), costing
                at most trm_viz.ui.limits.HOSTED_VOTE_GFLOP together.
        Returns:
            task, variants, num_steps and steps[] with the ranked answers (answer, votes, mean_q_halt_prob, right
            when the solution is known), each variant's place and q_halt_prob, pass_at_1 and pass_at_2.
        """
        try:
            loaded, p, steps, H_cycles, L_cycles = _checked(registry, task, puzzle, steps, H_cycles, L_cycles,
                                                            arc_task_id)
            with SLOT.held():
                data = vote_to_json(vote_run(loaded.model, p, steps, H_cycles, L_cycles, whole(variants)), p.grid)
        except (PuzzleError, CheckpointError, ValueError) as e:
            raise refusal(str(e)) from None
        data["checkpoint"] = loaded.label
        return data

    return vote
