"""TRMConfig: the architecture of one Tiny Recursive Model, plus the recursion counts used by default.

Field names follow the official TinyRecursiveModels config (all_config.yaml ``arch:``) so that an official run's
config maps onto this one key for key. H_cycles, L_cycles and halt_max_steps are defaults only: the trace and the
app may run a trained model with other counts ("what if it thinks less?").
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any


@dataclass
class TRMConfig:
    vocab_size: int = 11
    seq_len: int = 81
    num_puzzle_identifiers: int = 1
    puzzle_emb_ndim: int = 512        # 0: no puzzle embedding at all
    puzzle_emb_len: int = 16          # positions prepended for the puzzle embedding (0: ceil(ndim / hidden))

    hidden_size: int = 512
    num_heads: int = 8
    expansion: float = 4.0
    L_layers: int = 2
    mlp_t: bool = False               # True: mix over positions with an MLP instead of attention (TRM-MLP, Sudoku)
    pos_encodings: str = "rope"       # "rope" | "learned" | "none"
    rms_norm_eps: float = 1e-5
    rope_theta: float = 10000.0

    H_cycles: int = 3                 # T: z_H updates per supervision step
    L_cycles: int = 6                 # n: z_L updates before each z_H update
    halt_max_steps: int = 16          # N_sup: supervision steps
    halt_exploration_prob: float = 0.1

    task: str = ""                    # "sudoku" | "maze" | "arc" (which task module encodes its inputs)
    # Names of the puzzle identifiers (index = identifier). ARC: "<task_id>" or "<task_id>|||t<k>|||<colour perm>".
    puzzle_names: list[str] = field(default_factory=list)

    def __post_init__(self):
        if self.pos_encodings not in ("rope", "learned", "none"):
            raise ValueError(f"pos_encodings must be rope, learned or none, not {self.pos_encodings!r}")
        if not self.mlp_t and self.hidden_size % self.num_heads:
            raise ValueError(f"hidden_size {self.hidden_size} is not a multiple of num_heads {self.num_heads}")
        for name in ("vocab_size", "seq_len", "num_puzzle_identifiers", "hidden_size", "L_layers", "H_cycles",
                     "L_cycles", "halt_max_steps"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")

    @property
    def total_puzzle_emb_len(self) -> int:
        """Positions taken by the puzzle embedding (0 when there is none), as the official code computes it."""
        if self.puzzle_emb_ndim <= 0:
            return 0
        if self.puzzle_emb_len:
            return self.puzzle_emb_len
        return -(self.puzzle_emb_ndim // -self.hidden_size)

    @property
    def total_len(self) -> int:
        return self.seq_len + self.total_puzzle_emb_len

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TRMConfig":
        """Build from a dict, ignoring keys this version does not know (e.g. official loss/ema settings)."""
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})

    def replace(self, **changes) -> "TRMConfig":
        return dataclasses.replace(self, **changes)
