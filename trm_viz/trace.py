"""The Trace: everything recorded while a TRM refines one puzzle, as plain numpy arrays.

Arrays are indexed by step (index 0 = supervision step 1) and by cell of the task's token canvas (9x9 for Sudoku;
for mazes and ARC the model's canvas, 30x30 in the paper). Only compact summaries of the latents are kept (norms and
a 3-component projection per cell), never the full hidden states, so a 16-step 30x30 trace stays a few MB.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np
import torch

from .model.checkpoints import CheckpointError
from .model.config import resolve_counts
from .model.precision import autocast, inference_dtype
from .model.stablemax import stablemax_probs
from .model.trm import TRM
from .tasks import Puzzle, PuzzleError, Task, get_task
from .tasks.arc_aug import SEPARATOR as ARC_SEPARATOR   # "<task_id>|||t<k>|||<colours>": a variant

TRACE_FORMAT_VERSION = 1


@dataclass
class Trace:
    task: str
    input_grid: np.ndarray            # (h, w) the puzzle as the user gave it, task cell codes
    input_tokens: np.ndarray          # (L,) official tokens fed to the model
    canvas_shape: tuple[int, int]     # token canvas as a grid, H*W == L
    # --- per supervision step (N = number of steps run) ---
    tokens: np.ndarray                # (N, H, W) int  argmax token per canvas cell
    answers: list[np.ndarray]         # N grids, task cell codes (ARC: cropped, so shapes may differ per step)
    confidence: np.ndarray            # (N, H, W) float32  probability of the chosen token
    q_halt_prob: np.ndarray           # (N,) float32  sigmoid(q_halt_logit)
    changed: np.ndarray               # (N, H, W) bool  cell shows another value than at the previous step (step 1: than the input)
    z_H_delta: np.ndarray             # (N, H, W) float32  ||z_H(step) - z_H(step-1)|| per cell
    z_L_delta: np.ndarray             # (N, H, W) float32  same for z_L
    z_H_proj: np.ndarray              # (N, H, W, 3) float32  projection on 3 fixed directions (one basis per run)
    z_L_proj: np.ndarray              # (N, H, W, 3) float32
    inner_tokens: np.ndarray          # (N, K, H, W) int  lm_head decode after each inner update, K = H_cycles*(L_cycles+1)
    inner_kinds: list[str]            # K labels, e.g. "L1.1" (cycle 1, z_L update 1) ... "H1" (z_H update of cycle 1)
    # (N, K) float32  how far each inner update moved the latent it updated: ||z_new - z_old|| / ||z_old|| over the
    # puzzle cells. A z_L that settles makes it shrink; one that stays near 1 while the decode stays put flips between
    # two states (sudoku-tiny's z_L does: it needs an even L_cycles).
    inner_change: np.ndarray
    halt_step: int | None             # first step (1-based) with q_halt_prob > 0.5, None if it never halts
    # --- when the answer is known ---
    label_tokens: np.ndarray | None = None   # (H, W) tokens of the correct answer
    solution: np.ndarray | None = None       # correct answer grid
    correct: np.ndarray | None = None        # (N, H, W) bool  token == label (pad label cells count as right)
    # (N, H, W) float32  the probability the model gives the right token: near 1 where it knows, near 0.5 beside a
    # runner-up where it hesitates, near 0 where it is sure of a wrong value (a wrong answer "almost known" or not)
    p_right: np.ndarray | None = None
    # --- metadata: checkpoint, config, H_cycles/L_cycles used, dtype, timings ---
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def num_steps(self) -> int:
        return int(self.tokens.shape[0])

    @property
    def exact(self) -> np.ndarray | None:
        """(N,) bool: the whole answer is right at each step: the answer grid has the solution's shape and every
        cell right (``correct_cells``), as the official ARC evaluation compares the cropped answer (an ARC answer
        whose end-of-row markers are off but whose grid is the solution is right). None when the answer is
        unknown."""
        if self.solution is None:
            return None
        shape = np.asarray(self.solution).shape
        return np.array([np.asarray(self.answers[i]).shape == shape and bool(self.correct_cells(i).all())
                         for i in range(self.num_steps)], dtype=bool)

    def correct_cells(self, i: int) -> np.ndarray | None:
        """(h, w) bool over the answer grid of step ``i`` (from 0): the cell equals the known solution's (a cell
        outside the solution is wrong) and, where the cells are the tokens one to one (Sudoku, a maze, a full-canvas
        ARC answer), its token is right too (a padding token decodes to a wall, yet is no answer). The one
        definition of a right cell: the viewer, pictures, plots, status line and JSON all count these."""
        if self.solution is None:
            return None
        answer, solution = np.asarray(self.answers[i]), np.asarray(self.solution)
        right = np.zeros(answer.shape, dtype=bool)
        if solution.ndim == 2 and answer.ndim == 2:
            hh, ww = min(answer.shape[0], solution.shape[0]), min(answer.shape[1], solution.shape[1])
            right[:hh, :ww] = answer[:hh, :ww] == solution[:hh, :ww]
        tokens = None if self.correct is None else np.asarray(self.correct).reshape(self.num_steps, -1)[i]
        if tokens is not None and tokens.size == right.size:
            right &= tokens.reshape(right.shape)
        return right

    def cells_to_solve(self, i: int) -> tuple[int, int] | None:
        """(right, of) at step ``i`` (from 0) over the cells to solve: those where the solution differs from the
        input (a Sudoku's blanks, a maze's path, the cells an ARC rule changes) and any other cell the answer has
        wrong (a given or a wall the model changed). Where the input, answer and solution do not share one shape (an
        ARC task that resizes the grid), every cell is to solve, as in ``cell_accuracy``. The share the views
        plot and quote as "cells to solve right": over all cells, a maze's walls and a Sudoku's givens, copied
        from the input, kept a wrong answer above 90% (a flat line while the answer flipped between right and
        wrong). None when the answer is unknown."""
        if self.solution is None:
            return None
        return solve_counts(self.answers[i], self.solution, self.input_grid, self.correct_cells(i))

    @property
    def solve_accuracy(self) -> np.ndarray | None:
        """(N,) share of the cells to solve that are right at each step (``cells_to_solve``); 1 exactly when the
        whole answer is right (a puzzle with nothing to solve, answered as given, is right)."""
        if self.solution is None:
            return None
        counts = [self.cells_to_solve(i) for i in range(self.num_steps)]
        return np.array([r / n if n else 1.0 for r, n in counts])

    @property
    def cell_accuracy(self) -> np.ndarray | None:
        """(N,) fraction of cells right at each step, over the answer and the solution laid on each other from their
        top-left corners: the right cells (``correct_cells``) over the cells of either grid, so that an ARC answer
        missing a row of the solution, or with an extra one, is not 100% right (its end-of-row markers are not
        cells)."""
        if self.solution is None:
            return None
        sh, sw = np.asarray(self.solution).shape[:2] if np.asarray(self.solution).ndim == 2 else (0, 0)
        out = []
        for i in range(self.num_steps):
            right = self.correct_cells(i)
            h, w = right.shape if right.ndim == 2 else (0, 0)
            cells = h * w + sh * sw - min(h, sh) * min(w, sw)
            out.append(float(right.sum()) / cells if cells else 0.0)
        return np.array(out)


def solve_counts(answer: Any, solution: Any, given: Any, right: np.ndarray | None = None) -> tuple[int, int]:
    """(right, of) over the cells to solve of one answer grid (Trace.cells_to_solve): ``right`` marks its right cells
    (default: those equal to the solution's, laid on each other from their top-left corners, as for an inner
    decode, which has no tokens of its own to check)."""
    answer, solution, given = np.asarray(answer), np.asarray(solution), np.asarray(given)
    if right is None:
        right = np.zeros(answer.shape, dtype=bool)
        if answer.ndim == 2 and solution.ndim == 2:
            hh, ww = min(answer.shape[0], solution.shape[0]), min(answer.shape[1], solution.shape[1])
            right[:hh, :ww] = answer[:hh, :ww] == solution[:hh, :ww]
    sh, sw = solution.shape if solution.ndim == 2 else (0, 0)
    h, w = right.shape if right.ndim == 2 else (0, 0)
    if given.shape != solution.shape:        # a task that resizes the grid: every cell of either grid is to solve
        return int(right.sum()), h * w + sh * sw - min(h, sh) * min(w, sw)
    # On the two grids laid on each other: the solution's cells that differ from the input, and every cell the
    # answer has wrong, missing (an answer short of rows) or extra. An answer that lost 3 rows of a 7x8 output
    # scored above the step before, over all cells, when only its shape changed.
    H, W = max(h, sh), max(w, sw)
    inside, ok, todo = np.zeros((H, W), bool), np.zeros((H, W), bool), np.zeros((H, W), bool)
    inside[:h, :w] = True
    inside[:sh, :sw] = True
    ok[:h, :w] = right
    todo[:sh, :sw] = solution != given
    todo = (todo | ~ok) & inside
    return int(ok[todo].sum()), int(todo.sum())


# --- recording ----------------------------------------------------------------------------------------------------
def _pca_basis(z: torch.Tensor) -> torch.Tensor:
    """(cells, D) -> (D, 3): the top principal directions of one latent over the cells, with a fixed sign
    convention, so the same run always gets the same colours."""
    centered = z - z.mean(0, keepdim=True)
    _, _, v = torch.linalg.svd(centered, full_matrices=False)
    basis = v[:3].T.contiguous()
    if basis.shape[1] < 3:
        basis = torch.nn.functional.pad(basis, (0, 3 - basis.shape[1]))
    signs = torch.sign(basis.sum(0))
    signs[signs == 0] = 1
    return basis * signs


def task_of(trace: "Trace") -> Task:
    """The task a trace was recorded on, at its canvas size (a maze model's canvas may be smaller than 30x30)."""
    H, W = trace.canvas_shape
    return get_task(trace.task, H * W)


def _a(name: str) -> str:
    return f"{'an' if name[:1] in 'aeiou' else 'a'} {name}"      # "an arc model", "a maze puzzle"


def check_compatible(config, task) -> None:
    """Refuse a model that cannot read this task's tokens (a wrong task, or a task-less checkpoint of other sizes)."""
    if config.task and config.task != task.name:
        raise PuzzleError(f"This checkpoint is {_a(config.task)} model; it cannot run {_a(task.name)} puzzle.")
    if config.seq_len != task.seq_len:
        raise PuzzleError(f"This checkpoint reads {config.seq_len} tokens of {config.vocab_size} kinds; "
                          f"{_a(task.name)} puzzle is {task.seq_len} tokens of {task.vocab_size} kinds. "
                          f"Use {_a(task.name)} model.")
    if config.vocab_size != task.vocab_size:    # e.g. a 9x9 maze canvas has Sudoku's 81 tokens
        raise PuzzleError(f"This checkpoint reads tokens of {config.vocab_size} kinds; {_a(task.name)} puzzle uses "
                          f"{task.vocab_size} kinds. Use {_a(task.name)} model.")


def known_arc_tasks(config) -> list[str]:
    """ARC task ids whose own (un-augmented) puzzle embedding the model has, in identifier order."""
    return [n for n in config.puzzle_names if n and ARC_SEPARATOR not in n and not n.startswith("<")]


def puzzle_identifier(config, puzzle: Puzzle) -> int:
    """The puzzle-embedding row for this puzzle: 0 for Sudoku/maze, the ARC task's own row otherwise."""
    if puzzle.task != "arc" or config.num_puzzle_identifiers <= 1:
        return 0
    if not config.puzzle_names:
        raise PuzzleError("This ARC checkpoint has no task names, so it is unknown which learned embedding belongs "
                          "to which task. Put the dataset's identifiers.json beside an official checkpoint.")
    if not puzzle.arc_task_id:
        raise PuzzleError("Which ARC task is this grid a test input of? An ARC TRM knows a task only through its "
                          "learned puzzle embedding: pick the task (the task picker, or arc_task_id in the API).")
    try:
        return config.puzzle_names.index(puzzle.arc_task_id)
    except ValueError:
        known = known_arc_tasks(config)
        some = ", ".join(known[:5]) + (f" and {len(known) - 5} more" if len(known) > 5 else "")
        raise PuzzleError(f"This checkpoint was not trained on ARC task {puzzle.arc_task_id!r}: an ARC TRM knows a "
                          f"task only through its learned puzzle embedding. Pick one of its tasks ({some}).") from None


def iter_trace(model: TRM, puzzle: Puzzle, steps: int | None = None, H_cycles: int | None = None,
               L_cycles: int | None = None) -> Iterator[Trace]:
    """Run the model on one puzzle, yielding the Trace so far after every supervision step (for streaming).

    Deterministic: the same checkpoint and puzzle give the same trace. Computes in float32 unless TRM_VIZ_DTYPE
    says otherwise (model/precision.py: one puzzle gains little from bfloat16, and float32 paths match on every CPU).
    Inference mode is held only while a step computes, never across a yield, so the caller's code runs normally."""
    cfg = model.config
    task = get_task(puzzle.task, cfg.seq_len)
    check_compatible(cfg, task)
    steps, T, n = resolve_counts(cfg, steps, H_cycles, L_cycles)
    H, W = task.canvas_shape
    if puzzle.task != "arc" and puzzle.grid.shape != (H, W):
        raise PuzzleError(f"The puzzle is on a {puzzle.grid.shape[0]}x{puzzle.grid.shape[1]} canvas but this model "
                          f"reads {H}x{W}: parse it with get_task({puzzle.task!r}, model.config.seq_len).")
    P = model.puzzle_emb_len
    pid = puzzle_identifier(cfg, puzzle)       # first: an ARC task the model does not know says so, nothing else
    input_tokens = task.encode(puzzle.grid)
    solution = puzzle.solution if puzzle.solution is not None else task.solve(puzzle)
    label_tokens = task.encode(solution) if solution is not None else None
    inner_kinds = [f"L{c + 1}.{i + 1}" if i < n else f"H{c + 1}" for c in range(T) for i in range(n + 1)]

    rec: dict[str, list] = {k: [] for k in ("tokens", "conf", "q", "zHd", "zLd", "zHp", "zLp", "inner", "moved",
                                            "secs", "p_right")}
    label_on = torch.as_tensor(label_tokens, device=model.lm_head.weight.device) if label_tokens is not None else None
    basis: dict[str, torch.Tensor] = {}
    dtype = inference_dtype(cfg, 1)
    config = {k: v for k, v in cfg.to_dict().items() if k != "puzzle_names"}   # ARC runs name up to ~1M variants
    meta = {"steps_requested": steps, "H_cycles": T, "L_cycles": n,
            "dtype": str(dtype).removeprefix("torch."),
            "puzzle_identifier": pid, "puzzle_identifier_name": cfg.puzzle_names[pid] if cfg.puzzle_names else None,
            "config": config}
    dev = model.lm_head.weight.device
    with torch.inference_mode(), autocast(dev, dtype):
        inputs = torch.as_tensor(input_tokens, device=dev)[None]
        x = model.input_embeddings(inputs, torch.tensor([pid], device=dev))
        z_H, z_L = model.initial_latents(1)
    for _ in range(steps):
        t0 = time.perf_counter()
        with torch.inference_mode():
            inner: list[torch.Tensor] = []
            moved: list[torch.Tensor] = []
            old = {"H": z_H[0, P:].float(), "L": z_L[0, P:].float()}
            last = dict(old)       # each latent as the hook last saw it

            def hook(kind: str, c: int, i: int, z: torch.Tensor) -> None:
                inner.append(model.decode(z)[0].argmax(-1))
                now = z[0, P:].float()
                moved.append((now - last[kind]).norm() / last[kind].norm().clamp_min(1e-12))
                last[kind] = now

            with autocast(dev, dtype):    # the model's calls only: the recording below stays float32
                new_H, new_L, logits, q_logit = model.supervision_step(z_H, z_L, x, T, n, on_update=hook)
            if not (torch.isfinite(new_H).all() and torch.isfinite(logits).all()):
                raise CheckpointError(f"The model's latent state became NaN or infinite at step {len(rec['q']) + 1}: "
                                      "its weights overflow (a training run that diverged?), so there is nothing to "
                                      "show from here on.")
            probs = stablemax_probs(logits[0].float())
            conf, tok = probs.max(-1)
            if label_on is not None:
                rec["p_right"].append(probs.gather(-1, label_on[:, None])[:, 0].reshape(H, W).cpu().numpy())
            cur = {"H": new_H[0, P:].float(), "L": new_L[0, P:].float()}
            for k in ("H", "L"):
                if k not in basis:   # fixed at step 1: colours stay comparable across the run's steps
                    basis[k] = _pca_basis(cur[k])
                rec[f"z{k}d"].append((cur[k] - old[k]).norm(dim=-1).reshape(H, W).cpu().numpy())
                rec[f"z{k}p"].append((cur[k] @ basis[k]).reshape(H, W, 3).cpu().numpy())
            z_H, z_L = new_H, new_L
            rec["tokens"].append(tok.reshape(H, W).cpu().numpy())
            rec["conf"].append(conf.reshape(H, W).cpu().numpy())
            rec["q"].append(float(q_logit[0]))
            rec["inner"].append(torch.stack(inner).reshape(len(inner), H, W).cpu().numpy())
            rec["moved"].append(torch.stack(moved).cpu().numpy())
        rec["secs"].append(time.perf_counter() - t0)
        yield _assemble(task, puzzle, input_tokens, rec, inner_kinds, label_tokens, solution, meta)


def _shown(task, canvas_tokens: np.ndarray) -> np.ndarray:
    """What each canvas cell shows: the decoded answer placed at the top left, -1 where it shows nothing (outside
    an ARC answer's cropped rectangle). Two token states that look the same (a Sudoku pad and blank) are equal."""
    cells = task.decode(canvas_tokens.reshape(-1))
    out = np.full(task.canvas_shape, -1, dtype=np.int64)
    out[: cells.shape[0], : cells.shape[1]] = cells
    return out


def _assemble(task, puzzle, input_tokens, rec, inner_kinds, label_tokens, solution, meta) -> Trace:
    H, W = task.canvas_shape
    tokens = np.stack(rec["tokens"]).astype(np.int64)
    shown = np.stack([_shown(task, t) for t in np.concatenate([input_tokens.reshape(1, H, W), tokens])])
    q_logit = np.asarray(rec["q"], dtype=np.float64)
    halted = np.flatnonzero(q_logit > 0)        # sigmoid(q) > 0.5, the rule the model was trained to halt by
    label = label_tokens.reshape(H, W) if label_tokens is not None else None
    # Pad label cells (maze/ARC canvas outside the grid) are not scored, as in training and the official metric.
    correct = ((tokens == label[None]) | (label[None] == 0)) if label is not None else None
    return Trace(
        task=task.name, input_grid=puzzle.grid.copy(), input_tokens=np.asarray(input_tokens), canvas_shape=(H, W),
        tokens=tokens, answers=[task.decode(t.reshape(-1)) for t in tokens],
        confidence=np.stack(rec["conf"]).astype(np.float32),
        q_halt_prob=(1.0 / (1.0 + np.exp(-q_logit))).astype(np.float32), changed=shown[1:] != shown[:-1],
        z_H_delta=np.stack(rec["zHd"]).astype(np.float32), z_L_delta=np.stack(rec["zLd"]).astype(np.float32),
        z_H_proj=np.stack(rec["zHp"]).astype(np.float32), z_L_proj=np.stack(rec["zLp"]).astype(np.float32),
        inner_tokens=np.stack(rec["inner"]).astype(np.int64), inner_kinds=list(inner_kinds),
        inner_change=np.stack(rec["moved"]).astype(np.float32),
        halt_step=int(halted[0]) + 1 if halted.size else None,
        label_tokens=label, solution=solution, correct=correct,
        p_right=np.stack(rec["p_right"]).astype(np.float32) if rec.get("p_right") else None,
        meta={**meta, "step_seconds": [round(s, 4) for s in rec["secs"]], "puzzle_name": puzzle.name,
              "notes": list(puzzle.notes)},
    )


def run(model: TRM, puzzle: Puzzle, steps: int | None = None, H_cycles: int | None = None,
        L_cycles: int | None = None) -> Trace:
    """The whole trace at once (see iter_trace)."""
    trace = None
    for trace in iter_trace(model, puzzle, steps, H_cycles, L_cycles):
        pass
    return trace


# --- export -------------------------------------------------------------------------------------------------------
def _r(a: np.ndarray, digits: int = 4) -> list:
    return np.round(a.astype(np.float64), digits).tolist()


def to_json(trace: Trace) -> dict[str, Any]:
    """A JSON-ready dict: top level task, halt_step, steps[] (step, answer, q_halt_prob, changed_cells, ...)."""
    task = task_of(trace)
    exact, cell_acc, solve_acc = trace.exact, trace.cell_accuracy, trace.solve_accuracy
    steps = []
    for i in range(trace.num_steps):
        changed = np.argwhere(trace.changed[i])
        step = {
            "step": i + 1,
            "answer": trace.answers[i].tolist(),
            "q_halt_prob": round(float(trace.q_halt_prob[i]), 6),
            "changed_cells": changed.tolist(),
            "confidence": _r(trace.confidence[i], 3),
            "z_H_delta": _r(trace.z_H_delta[i]),
            "z_L_delta": _r(trace.z_L_delta[i]),
            "inner_answers": [task.decode(t.reshape(-1)).tolist() for t in trace.inner_tokens[i]],
            "inner_change": _r(trace.inner_change[i]),
        }
        if exact is not None:
            step["exact"] = bool(exact[i])
            step["cell_accuracy"] = round(float(cell_acc[i]), 6)          # over every cell
            step["solve_accuracy"] = round(float(solve_acc[i]), 6)        # over the cells to solve (the views')
            if trace.p_right is not None:
                step["p_right"] = _r(trace.p_right[i], 3)
        steps.append(step)
    return {
        "format": "trm_viz.trace", "version": TRACE_FORMAT_VERSION, "task": trace.task,
        "input": trace.input_grid.tolist(),
        "solution": trace.solution.tolist() if trace.solution is not None else None,
        "halt_step": trace.halt_step, "num_steps": trace.num_steps, "inner_kinds": trace.inner_kinds,
        "canvas_shape": list(trace.canvas_shape), "steps": steps,
        "meta": {k: v for k, v in trace.meta.items()},
    }


def save_npz(trace: Trace, path) -> None:
    """All arrays, uncompressed names as in the Trace; ragged ARC answers are stored per step."""
    arrays = {k: getattr(trace, k) for k in ("input_grid", "input_tokens", "tokens", "confidence", "q_halt_prob",
                                            "changed", "z_H_delta", "z_L_delta", "z_H_proj", "z_L_proj",
                                            "inner_tokens", "inner_change")}
    for k in ("label_tokens", "solution", "correct", "p_right"):
        if getattr(trace, k) is not None:
            arrays[k] = getattr(trace, k)
    for i, a in enumerate(trace.answers):
        arrays[f"answer_{i + 1}"] = a
    np.savez_compressed(path, halt_step=np.int64(trace.halt_step or 0), **arrays)
