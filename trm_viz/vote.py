"""The variant vote of ARC: how the official evaluation answers an ARC test input, step by step.

An ARC TRM is trained on many augmented variants of each task (a dihedral transform and a colour permutation), each
with its own learned puzzle embedding. At evaluation the test input is run through every variant the model knows,
each variant's answer is mapped back to the task's own frame, equal answers are pooled, and the distinct answers are
ranked by votes, then by mean halting probability. The top two are the pass@2 submission (TRM: 44.6% on ARC-AGI-1).

The trace (trace.py) follows one variant, the identity, in depth. This records what the whole ensemble answers after
every supervision step, so a viewer can see where the variants agree and when the vote settles.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import torch

from .model.config import resolve_counts
from .model.trm import TRM
from .tasks import Puzzle, PuzzleError, get_task
from .tasks.arc import crop
from .tasks.arc_aug import ArcAug, Vote, parse_name, pass_at_k, vote
from .trace import check_compatible, puzzle_identifier

# Our checkpoints know 16 variants per task; official ones ~1000. A hosted 2-vCPU page runs at most this many.
MAX_VARIANTS = 32


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
    task_id: str
    variants: list[str]              # puzzle-identifier names that were run, the identity first
    answers: list[list[np.ndarray]]  # [step][variant]: each variant's answer mapped back to the task's own frame
    q_halt_prob: np.ndarray          # (N, V) sigmoid(q_halt_logit) of each variant at each step
    ranked: list[list[Vote]]         # [step]: the distinct answers, most votes first (ties: higher mean q_halt)
    solution: np.ndarray | None      # the known test output, else None
    known_variants: int              # how many variants of this task the checkpoint knows (>= len(variants))
    seconds: float

    @property
    def num_steps(self) -> int:
        return len(self.ranked)

    def rank_of(self, step: int, variant: int) -> int:
        """1-based place in the step's ranking of the answer that ``variant`` gave."""
        a = self.answers[step - 1][variant]
        return next(i + 1 for i, v in enumerate(self.ranked[step - 1])
                    if v.grid.shape == a.shape and (v.grid == a).all())

    def pass_at(self, k: int, step: int | None = None) -> bool | None:
        """Whether one of the top k answers after ``step`` (default: the last) is the known solution."""
        if self.solution is None:
            return None
        return pass_at_k(self.ranked[(step or self.num_steps) - 1], self.solution, k)

    def top_votes(self) -> np.ndarray:
        """(N,) votes of the leading answer at each step: how far the variants agree."""
        return np.array([r[0].votes for r in self.ranked])


def task_variants(config, task_id: str) -> list[tuple[int, str, ArcAug]]:
    """(puzzle-embedding row, name, augmentation) of every variant of ``task_id`` the checkpoint knows, the
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
            out.append((row, name, aug))
    return sorted(out, key=lambda v: not v[2].is_identity)


def run_vote(model: TRM, puzzle: Puzzle, steps: int | None = None, H_cycles: int | None = None,
             L_cycles: int | None = None, max_variants: int = MAX_VARIANTS) -> VariantVote:
    """Run ``puzzle`` (an ARC test input of a task the checkpoint knows) through up to ``max_variants`` of its task's
    variants in one batch, and vote after every step. PuzzleError when it cannot be run (not ARC, unknown task)."""
    if max_variants < 1:
        raise ValueError(f"Run at least one variant, not {max_variants}.")
    if puzzle.task != "arc":
        raise PuzzleError("The variant vote is for ARC puzzles: Sudoku and maze models have one puzzle embedding.")
    t0 = time.perf_counter()
    cfg = model.config
    task = get_task("arc", cfg.seq_len)
    check_compatible(cfg, task)
    steps, T, n = resolve_counts(cfg, steps, H_cycles, L_cycles)
    puzzle_identifier(cfg, puzzle)      # the same clear refusals as a trace (no names, no task id, unknown task)
    known = task_variants(cfg, puzzle.arc_task_id)
    chosen = known[:max_variants]
    augs = [aug for _, _, aug in chosen]
    dev = model.lm_head.weight.device
    inputs = torch.as_tensor(np.stack([task.encode(aug.apply(puzzle.grid)) for aug in augs]), device=dev)
    ids = torch.tensor([row for row, _, _ in chosen], device=dev)
    answers, q_prob, ranked = [], [], []
    with torch.inference_mode():
        for tokens, q in batched_steps(model, inputs, ids, steps, T, n):
            grids = [crop(t) for t in tokens.cpu().numpy()]
            grids = [aug.invert(g) if g.size else g for g, aug in zip(grids, augs)]
            qs = q.cpu().numpy()
            answers.append(grids)
            q_prob.append(qs)
            ranked.append(vote(((g, None, float(p)) for g, p in zip(grids, qs)), k=len(grids)))
    return VariantVote(task_id=puzzle.arc_task_id, variants=[name for _, name, _ in chosen], answers=answers,
                       q_halt_prob=np.stack(q_prob).astype(np.float32), ranked=ranked, solution=puzzle.solution,
                       known_variants=len(known), seconds=round(time.perf_counter() - t0, 3))


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
                a["right"] = bool(v.grid.shape == vv.solution.shape and (v.grid == vv.solution).all())
            step.update(pass_at_1=vv.pass_at(1, s), pass_at_2=vv.pass_at(2, s))
        steps.append(step)
    return {"format": "trm_viz.vote", "version": 1, "task_id": vv.task_id,
            "input": None if input_grid is None else np.asarray(input_grid).tolist(),
            "solution": None if vv.solution is None else vv.solution.tolist(), "variants": vv.variants,
            "known_variants": vv.known_variants, "num_steps": vv.num_steps, "seconds": vv.seconds, "steps": steps}
