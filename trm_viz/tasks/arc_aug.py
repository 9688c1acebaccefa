"""ARC augmentations and the official vote over them.

An augmented variant of a task = one of the 8 dihedral transforms applied after a permutation of colours 1-9
(0, the background, stays). The official dataset names each variant "<task>|||t<k>|||<perm>" (perm = the 10 new
colours of 0..9 as digits) and gives every name its own puzzle embedding; the unaugmented task keeps its plain id.
Translation (where the grid sits on the 30x30 canvas) is not part of the name: it is drawn per example at encoding.

Evaluation (official evaluators/arc.py): run every variant, crop each prediction, map it back with the variant's
inverse, pool identical grids, rank by number of votes then mean halting probability, submit the top 2 (pass@2).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np

from .common import dihedral, inverse_dihedral

SEPARATOR = "|||"
IDENTITY_PERM = tuple(range(10))


@dataclass(frozen=True)
class ArcAug:
    trans_id: int = 0                       # dihedral transform 0..7 (trm_viz.tasks.common.dihedral)
    perm: tuple[int, ...] = IDENTITY_PERM   # perm[c] = colour that colour c becomes

    def __post_init__(self):
        if not 0 <= self.trans_id <= 7:
            raise ValueError(f"Dihedral transform must be 0..7, got {self.trans_id}.")
        if sorted(self.perm) != list(range(10)):
            raise ValueError(f"Colour permutation must reorder 0..9, got {self.perm}.")

    @classmethod
    def random(cls, rng: np.random.Generator) -> "ArcAug":
        """As the official `aug`: any of the 8 transforms, colours 1-9 shuffled, 0 kept."""
        return cls(int(rng.integers(0, 8)), (0,) + tuple(int(c) for c in rng.permutation(np.arange(1, 10))))

    @property
    def is_identity(self) -> bool:
        return self.trans_id == 0 and self.perm == IDENTITY_PERM

    def apply(self, grid: np.ndarray) -> np.ndarray:
        return dihedral(np.asarray(self.perm)[np.asarray(grid)], self.trans_id)

    def invert(self, grid: np.ndarray) -> np.ndarray:
        return np.argsort(self.perm)[inverse_dihedral(np.asarray(grid), self.trans_id)]

    def name(self, task_id: str) -> str:
        """The official puzzle-identifier name of this variant (the plain id for the identity)."""
        if self.is_identity:
            return task_id
        return f"{task_id}{SEPARATOR}t{self.trans_id}{SEPARATOR}{''.join(map(str, self.perm))}"


def parse_name(name: str) -> tuple[str, ArcAug]:
    """'<task>|||t<k>|||<perm>' (or a plain task id) -> (task id, ArcAug); ValueError when malformed."""
    if SEPARATOR not in name:
        return name, ArcAug()
    parts = name.split(SEPARATOR)
    if len(parts) != 3 or not parts[1].startswith("t") or not parts[1][1:].isdigit() or not parts[2].isdigit():
        raise ValueError(f"{name!r} is not an ARC variant name like '007bbfb7|||t3|||0918273645'.")
    return parts[0], ArcAug(int(parts[1][1:]), tuple(int(ch) for ch in parts[2]))


@dataclass
class Vote:
    grid: np.ndarray     # the answer in the original task's frame
    votes: int           # how many variants predicted it
    mean_q: float        # mean halting probability sigmoid(q_halt_logit) of those predictions


def pool_votes(candidates: Iterable[tuple[np.ndarray, float]]) -> list[Vote]:
    """Answers (grids in one frame) with their q_halt probabilities -> the distinct answers, ranked by votes, then
    mean q_halt probability; equal ones keep the order in which they were first seen (as the official sort)."""
    pool: dict[tuple, Vote] = {}
    for grid, q in candidates:
        grid = np.asarray(grid)
        key = (grid.shape, grid.astype(np.uint8).tobytes())
        if key not in pool:
            pool[key] = Vote(grid, 0, 0.0)
        pool[key].votes += 1
        pool[key].mean_q += float(q)      # a sum until the end
    for v in pool.values():
        v.mean_q /= v.votes
    return sorted(pool.values(), key=lambda v: (v.votes, v.mean_q), reverse=True)


def vote(candidates: Iterable[tuple[np.ndarray, ArcAug | str | None, float]], k: int = 2) -> list[Vote]:
    """Official ARC voting. candidates: (prediction, its variant, q_halt probability); the prediction is a grid in
    the variant's frame, or its (900,) tokens (then cropped as the official _crop). Returns the top k by votes,
    then mean q_halt probability (pool_votes)."""
    from .arc import crop

    def back(prediction: np.ndarray, aug: ArcAug | str | None) -> np.ndarray:
        prediction = np.asarray(prediction)
        grid = crop(prediction) if prediction.ndim == 1 else prediction
        if isinstance(aug, str):
            aug = parse_name(aug)[1]
        return (aug or ArcAug()).invert(grid) if grid.size else grid

    return pool_votes((back(p, aug), q) for p, aug, q in candidates)[:k]


def same_grid(a: np.ndarray, b: np.ndarray) -> bool:
    """Exactly equal answers: the same shape and the same cells."""
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and bool((a == b).all())


def pass_at_k(votes: list[Vote], solution: np.ndarray, k: int = 2) -> bool:
    """True when one of the first k voted grids equals the solution exactly (shape and colours)."""
    return any(same_grid(v.grid, solution) for v in votes[:k])
