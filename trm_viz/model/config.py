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
        if self.num_heads < 1:
            raise ValueError(f"num_heads must be >= 1, got {self.num_heads}")
        if not self.mlp_t and self.hidden_size % self.num_heads:
            raise ValueError(f"hidden_size {self.hidden_size} is not a multiple of num_heads {self.num_heads}")
        for name in ("vocab_size", "seq_len", "num_puzzle_identifiers", "hidden_size", "L_layers", "H_cycles",
                     "L_cycles", "halt_max_steps"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("rms_norm_eps", "rope_theta", "expansion"):      # a negative eps makes every norm NaN
            if not 0 < float(getattr(self, name)) < float("inf"):
                raise ValueError(f"{name} must be a positive number, got {getattr(self, name)}")
        if len(self.puzzle_names) > self.num_puzzle_identifiers:     # a name past the table would index outside it
            n = self.num_puzzle_identifiers
            raise ValueError(f"{len(self.puzzle_names)} puzzle names for {n} puzzle embedding{'s' * (n != 1)}: the "
                             "names list (identifiers.json) does not belong to these weights")
        if not 0 <= float(self.halt_exploration_prob) <= 1:
            raise ValueError(f"halt_exploration_prob must be from 0 to 1, got {self.halt_exploration_prob}")
        if self.task not in ("", "sudoku", "maze", "arc"):             # trm_viz.tasks.TASK_NAMES, or any
            raise ValueError(f"task must be sudoku, maze or arc (or empty), not {self.task!r:.40}")
        if not self.mlp_t and self.pos_encodings == "rope" and (self.hidden_size // self.num_heads) % 2:
            raise ValueError(f"RoPE rotates pairs of numbers: each of the {self.num_heads} heads needs an even "
                             f"size, and hidden_size {self.hidden_size} gives {self.hidden_size // self.num_heads}")
        if self.puzzle_emb_ndim > self.total_puzzle_emb_len * self.hidden_size:
            raise ValueError(f"puzzle_emb_ndim {self.puzzle_emb_ndim} does not fit {self.total_puzzle_emb_len} "
                             f"positions of hidden_size {self.hidden_size}")

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


# What the engine accepts for the inference-time recursion counts (a host may allow less: see ui/api.py).
ENGINE_LIMITS = {"steps": 64, "H_cycles": 16, "L_cycles": 32}


def resolve_counts(config: TRMConfig, steps: int | None = None, H_cycles: int | None = None,
                   L_cycles: int | None = None, limits: dict[str, int] = ENGINE_LIMITS) -> tuple[int, int, int]:
    """(steps, H_cycles, L_cycles) to run: None or 0 means the model's own; anything else must be a whole number
    from 1 to its limit (ValueError otherwise, with a message a person understands)."""
    defaults = {"steps": config.halt_max_steps, "H_cycles": config.H_cycles, "L_cycles": config.L_cycles}
    out = []
    for name, value in (("steps", steps), ("H_cycles", H_cycles), ("L_cycles", L_cycles)):
        if value is None or (not isinstance(value, bool) and isinstance(value, int) and value == 0):
            value = defaults[name]
        top = max(limits[name], int(defaults[name]))      # a model trained deeper than the limit runs at its own
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= top:
            raise ValueError(f"{name} must be a whole number from 1 to {top} (or 0 for the model's "
                             f"default, {defaults[name]}); got {value!r}.")
        out.append(value)
    return out[0], out[1], out[2]
