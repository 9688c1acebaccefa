"""The variant vote: run a puzzle through several meaning-preserving variants at once, map every variant's answer
back, and rank the distinct answers by votes, then by mean halting probability, after every supervision step.

- ARC: the official evaluation. An ARC TRM learns each task in many augmented variants (a dihedral transform and a
  colour permutation), each with its own learned puzzle embedding; the top two answers are the pass@2 submission
  (TRM: 44.6% on ARC-AGI-1).
- Sudoku and maze: test-time augmentation with the symmetries training used (Sudoku: digits relabelled, bands,
  stacks, rows and columns shuffled, transposed; maze: rotations and mirror images), all through the one puzzle
  embedding. Not in the paper; measured here, it lifts a small model a lot (see the model cards).

The trace (trace.py) follows the identity variant in depth; this records what the whole ensemble answers.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np
import torch

from .model.config import resolve_counts
from .model.precision import autocast, inference_dtype
from .model.trm import TRM
from .tasks import Puzzle, get_task
from .tasks.arc_aug import Vote, parse_name, pass_at_k, pool_votes, same_grid
from .tasks.base import Symmetry, Task
from .trace import check_compatible, puzzle_identifier

DEFAULT_VARIANTS = 16   # ARC: all our checkpoints know (official ones ~1000); Sudoku: measured to help (cards)
MAX_VARIANTS = 32       # one batch on a hosted 2-vCPU page


@torch.no_grad()
def batched_steps(model: TRM, inputs: torch.Tensor, ids: torch.Tensor, steps: int, H_cycles: int,
                  L_cycles: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """(argmax tokens (B, seq_len), sigmoid(q_halt) (B,)) after each of ``steps`` supervision steps of one batch of
    puzzles, every one run for all the steps (as the official evaluation does; halting is not applied)."""
    x = model.input_embeddings(inputs, ids)
    z_H, z_L = model.initial_latents(inputs.shape[0])
    for _ in range(steps):
        z_H, z_L, logits, q_halt = model.supervision_step(z_H, z_L, x, H_cycles, L_cycles)
        yield logits.argmax(-1), torch.sigmoid(q_halt.float())


@dataclass
class VariantVote:
    task: str                        # "sudoku" | "maze" | "arc"
    arc_task_id: str | None          # ARC: the task whose learned variants ran
    variants: list[str]              # the variants that ran, the identity first
    answers: list[list[np.ndarray]]  # [step][variant]: each variant's answer mapped back to the puzzle's own frame
    q_halt_prob: np.ndarray          # (N, V) sigmoid(q_halt_logit) of each variant at each step
    ranked: list[list[Vote]]         # [step]: the distinct answers, most votes first (ties: higher mean q_halt)
    solution: np.ndarray | None      # the known answer, else None
    available: int | None            # variants there are to run (ARC: the checkpoint's for this task; None: no limit)
    seconds: float
    dtype: str = "float32"           # the precision it computed in (model/precision.py: bfloat16 on some CPUs)

    @property
    def num_steps(self) -> int:
        return len(self.ranked)

    def rank_of(self, step: int, variant: int) -> int:
        """1-based place in the step's ranking of the answer that ``variant`` gave."""
        a = self.answers[step - 1][variant]
        return next(i + 1 for i, v in enumerate(self.ranked[step - 1]) if same_grid(v.grid, a))

    def is_solution(self, grid: np.ndarray) -> bool | None:
        """Whether an answer is the known solution (None when it is unknown)."""
        if self.solution is None:
            return None
        return same_grid(grid, self.solution)

    def pass_at(self, k: int, step: int | None = None) -> bool | None:
        """Whether one of the top k answers after ``step`` (default: the last) is the known solution."""
        if self.solution is None:
            return None
        return pass_at_k(self.ranked[(step or self.num_steps) - 1], self.solution, k)

    def top_votes(self) -> np.ndarray:
        """(N,) votes of the leading answer at each step: how far the variants agree."""
        return np.array([r[0].votes for r in self.ranked])


def task_variants(config, task_id: str) -> list[tuple[int, str, Symmetry]]:
    """(puzzle-embedding row, name, transform) of every variant of ARC task ``task_id`` the checkpoint knows, the
    identity first."""
    out = []
    for row, name in enumerate(config.puzzle_names or []):
        if not name.startswith(task_id):       # cheap filter first: official checkpoints name ~1M variants
            continue
        try:
            tid, aug = parse_name(name)
        except ValueError:
            continue
        if tid == task_id:
            out.append((row, name, Symmetry(name, aug.apply, aug.invert)))
    return sorted(out, key=lambda v: v[1] != task_id)


def _variants(config, task: Task, puzzle: Puzzle, n: int) -> tuple[list[tuple[int, Symmetry]], int | None]:
    """(embedding row, transform) of the first n variants, and how many there are (None: no limit)."""
    if task.name == "arc":
        known = task_variants(config, puzzle.arc_task_id)
        return [(row, sym) for row, _, sym in known[:n]], len(known)
    syms = task.symmetries(n)
    return [(0, sym) for sym in syms], (len(syms) if len(syms) < n else None)


def run_vote(model: TRM, puzzle: Puzzle, steps: int | None = None, H_cycles: int | None = None,
             L_cycles: int | None = None, variants: int = DEFAULT_VARIANTS,
             stop: Callable[[], bool] | None = None) -> VariantVote:
    """Run ``puzzle`` through up to ``variants`` of its variants in one batch and vote after every step; ``stop``,
    asked after each step, ends it there (the vote then has fewer steps). PuzzleError when it cannot be run (the
    checkpoint's task, an ARC task it does not know)."""
    if not isinstance(variants, int) or isinstance(variants, bool) or not 1 <= variants <= MAX_VARIANTS:
        raise ValueError(f"variants must be a whole number from 1 to {MAX_VARIANTS}, not {variants!r}.")
    t0 = time.perf_counter()
    cfg = model.config
    task = get_task(puzzle.task, cfg.seq_len)
    check_compatible(cfg, task)
    steps, T, n = resolve_counts(cfg, steps, H_cycles, L_cycles)
    puzzle_identifier(cfg, puzzle)      # the same clear refusals as a trace (ARC: no names, no task, unknown task)
    chosen, available = _variants(cfg, task, puzzle, variants)
    syms = [sym for _, sym in chosen]
    dev = model.lm_head.weight.device
    inputs = torch.as_tensor(np.stack([task.encode(sym.apply(puzzle.grid)) for sym in syms]), device=dev)
    ids = torch.tensor([row for row, _ in chosen], device=dev)
    answers, q_prob, ranked = [], [], []
    dtype = inference_dtype(cfg, len(syms))
    with torch.inference_mode(), autocast(dev, dtype):
        for tokens, q in batched_steps(model, inputs, ids, steps, T, n):
            grids = [task.decode(t) for t in tokens.cpu().numpy()]
            grids = [np.asarray(sym.invert(g)) if g.size else g for g, sym in zip(grids, syms)]
            qs = q.cpu().numpy()
            answers.append(grids)
            q_prob.append(qs)
            ranked.append(pool_votes(zip(grids, qs)))
            if stop is not None and stop():
                break
    solution = puzzle.solution if puzzle.solution is not None else task.solve(puzzle)
    return VariantVote(task=task.name, arc_task_id=puzzle.arc_task_id if task.name == "arc" else None,
                       variants=[sym.name for sym in syms], answers=answers,
                       q_halt_prob=np.stack(q_prob).astype(np.float32), ranked=ranked, solution=solution,
                       available=available, seconds=round(time.perf_counter() - t0, 3),
                       dtype=str(dtype).removeprefix("torch."))


def to_json(vv: VariantVote, input_grid: np.ndarray | None = None) -> dict:
    """A JSON-ready dict: the variants run and, per step, the ranked answers (grid, votes, mean q_halt, right when
    the solution is known), each variant's place and pass@1 / pass@2."""
    steps = []
    for s in range(1, vv.num_steps + 1):
        answers = [{"answer": v.grid.tolist(), "votes": v.votes, "mean_q_halt_prob": round(v.mean_q, 6)}
                   for v in vv.ranked[s - 1]]
        step = {"step": s, "answers": answers,
                "variant_places": [vv.rank_of(s, k) for k in range(len(vv.variants))],
                "q_halt_prob": [round(float(q), 6) for q in vv.q_halt_prob[s - 1]]}
        if vv.solution is not None:
            for a, v in zip(answers, vv.ranked[s - 1]):
                a["right"] = vv.is_solution(v.grid)
            step.update(pass_at_1=vv.pass_at(1, s), pass_at_2=vv.pass_at(2, s))
        steps.append(step)
    return {"format": "trm_viz.vote", "version": 1, "task": vv.task, "arc_task_id": vv.arc_task_id,
            "input": None if input_grid is None else np.asarray(input_grid).tolist(),
            "solution": None if vv.solution is None else vv.solution.tolist(), "variants": vv.variants,
            "available_variants": vv.available, "num_steps": vv.num_steps, "seconds": vv.seconds, "dtype": vv.dtype,
            "steps": steps}
