"""TrainConfig (optimisation, data and run settings) and the paper's per-task defaults for both it and TRMConfig.

The defaults follow the official TinyRecursiveModels README commands (config/cfg_pretrain.yaml + command-line
overrides) for each task:
- Sudoku-Extreme: TRM-MLP (mlp_t, no positional encoding), hidden 512, 2 layers, T=3, n=6, lr 1e-4,
  puzzle_emb_lr 1e-4, weight decay 1.0 (both), EMA 0.999, batch 768, warm-up 2000.
- Maze-Hard: attention + RoPE, hidden 512, 2 layers, T=3, n=4, otherwise as Sudoku.
- ARC-AGI: attention + RoPE, T=3, n=4, weight decay 0.1, puzzle_emb_lr 1e-2, one puzzle embedding per
  task-augmentation variant.
``--set key=value`` overrides any field of either dataclass by name.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

from ..model.config import TRMConfig

TASKS = ("sudoku", "maze", "arc")


def int_range(spec: str, name: str, example: str) -> tuple[int, int]:
    """ "lo-hi" -> (lo, hi), for the range settings (sudoku_blanks, maze_sizes)."""
    try:
        lo, hi = (int(v) for v in spec.split("-"))
    except ValueError:
        raise ValueError(f"{name} must look like {example}, not {spec!r}") from None
    return lo, hi


@dataclass
class TrainConfig:
    task: str = "sudoku"
    # --- optimisation (official names) ---
    # adam_atan2: the official optimizer (trm_viz.train.optim.AdamATan2); adamw: torch's AdamW (eps 1e-8)
    optimizer: str = "adam_atan2"
    global_batch_size: int = 768       # slots of the deep-supervision batch, summed over all processes
    lr: float = 1e-4
    lr_warmup_steps: int = 2000
    # On --resume the optimizer's Adam moments start from zero (they are not saved: with betas (0.9, 0.95) they
    # re-estimate within ~20 steps), so the learning rate ramps up again over this many steps to keep the first
    # updates small.
    lr_rewarmup_steps: int = 100
    # After warm-up the lr follows a cosine from lr down to lr * lr_min_ratio over *this run's* budget (max_steps,
    # else the training share of --minutes), so each budgeted run anneals and a --resume restarts from lr. 1.0 (the
    # official default): constant. Why: on the CPU runs of sudoku-tiny every lr cut paid (see the README).
    lr_min_ratio: float = 1.0
    beta1: float = 0.9
    beta2: float = 0.95
    weight_decay: float = 1.0
    puzzle_emb_lr: float = 1e-4
    puzzle_emb_weight_decay: float = 1.0
    ema_rate: float = 0.999
    grad_clip: float = 0.0             # 0: off (the official code does not clip)
    # --- data ---
    train_size: int = 1000             # base puzzles (Sudoku/maze) generated for training; augmented per batch
    eval_size: int = 1000              # held-out puzzles (never trained on)
    augment: bool = True               # fresh random symmetry of every example each time it is drawn
    sudoku_min_guesses: int = 0        # Sudoku: keep minimal puzzles needing >= this many guesses (not with blanks)
    sudoku_blanks: str = ""            # Sudoku: "lo-hi" = full grids with lo..hi random blanks (unique), a curriculum
                                       # for small models; "" = minimal puzzles (the hard, Sudoku-Extreme-like default)
    # Sudoku: the end-of-run evaluation also scores this many other held-out minimal puzzles that need >= 20 solver
    # guesses (median ~26; most random minimal puzzles need ~2, Sudoku-Extreme's hard half is of this kind), made
    # with their own seed, training duplicates removed; 0: off. ~3% of minimal puzzles qualify: 500 take ~25 s on
    # one core and a few seconds on a GPU machine's 16, once (cached beside the data).
    sudoku_hard_eval: int = 0
    maze_size: int = 30                # Maze: square canvas side; the model reads maze_size^2 tokens
    maze_min_path: int = 0             # Maze: shortest path filter; 0 = Maze-Hard's (>= 110 on 30x30) scaled to size
    maze_sizes: str = ""               # Maze: "lo-hi" = training mazes of every size lo..hi on the canvas (a size
                                       # curriculum); "" = all maze_size. Held-out mazes are always maze_size.
    arc_variants: int = 16             # ARC: augmentation variants per task, each with its own puzzle embedding
    # ARC collections (trm_viz.tasks.arc_data names). "training" ships with the repository; the published protocol
    # also trains on the demonstrations of "evaluation" (its test outputs are never used).
    arc_subsets: str = "training"
    # ARC: square canvas side (the model reads arc_size^2 tokens); only tasks whose every grid fits it are used, so a
    # small canvas is also a choice of tasks (8: the 70 ARC-AGI-1 training tasks with grids up to 8x8).
    arc_size: int = 30
    arc_tasks: str = ""                # ARC: comma-separated task ids to keep ("" = every task that fits)
    # Sudoku / maze: the end-of-run evaluation also votes over this many symmetric copies of each held-out puzzle
    # (trm_viz.vote; maze: at most its 8 rotations and mirror images); 0: off. ARC always votes over its variants.
    vote_variants: int = 16
    # ... on the first vote_size held-out puzzles (0: all). The vote costs vote_variants plain evaluations: on all
    # 1,000 held-out Sudoku it took 70 s of a 9-minute H200 session (measured 2026-11-27), on 250 it takes ~18 s.
    vote_size: int = 250
    data_dir: str = "data/train_cache"
    # --- run ---
    seed: int = 0
    max_steps: int = 0                 # 0: no limit (stop on the --minutes budget)
    minutes: float = 0.0               # wall-clock budget of the whole run, 0: none
    log_every: int = 50                # the only host synchronisation of the loop happens every log_every steps
    eval_batch_size: int = 0           # 0: global_batch_size
    # auto: net on CUDA, off on CPU. net compiles the reasoning blocks (L_level); step the whole supervision step,
    # loss included. Measured on an H200 (torch 2.11, Triton 3.6, 2026-11-27), Sudoku paper config: off 334.8 ms,
    # net 144.7 ms per step; step failed to compile there (Triton "PassManager::run failed" in the fused loss
    # kernel; fixed since, see losses.act_loss, and checked offline by python -m trm_viz.train.compile_check). A mode
    # that fails to compile falls back to the next one (step -> net -> off) at the first step. On a CPU, step is
    # ~1.37x faster for small attention models and ~1.1x for small TRM-MLP ones after ~1 minute of compiling: worth
    # it for long runs only, so auto stays off there.
    compile: str = "auto"
    compile_mode: str = "default"      # torch.compile mode, e.g. max-autotune-no-cudagraphs
    # CUDA + Triton: the MLP over positions of gradient-free calls (2/3 of a step's forward, and evaluation) as one
    # fused kernel (trm_viz/model/fused_mlp_t.py); off until the benchmark has measured it on a GPU
    fused_mlp_t: bool = False
    # Numerics of the forward pass (weights and optimizer always float32):
    #   bfloat16       autocast: matmuls in bfloat16, residual stream and carried z_H/z_L in float32
    #   bfloat16-pure  activations and the carry in bfloat16, weights cast at use (the official forward_dtype)
    #   float32        everything float32 (CPU default: bfloat16 matmuls are slow on CPUs without AMX)
    #   auto           bfloat16 on CUDA, float32 otherwise
    dtype: str = "auto"

    def __post_init__(self):
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {', '.join(TASKS)}, not {self.task!r}")
        if self.compile not in ("auto", "step", "net", "off"):
            raise ValueError(f"compile must be auto, step, net or off, not {self.compile!r}")
        if self.optimizer not in ("adam_atan2", "adamw"):
            raise ValueError(f"optimizer must be adam_atan2 or adamw, not {self.optimizer!r}")
        if self.dtype not in ("auto", "bfloat16", "bfloat16-pure", "float32"):
            raise ValueError(f"dtype must be auto, bfloat16, bfloat16-pure or float32, not {self.dtype!r}")
        for name in ("global_batch_size", "train_size", "eval_size", "log_every", "arc_variants"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 5 <= self.maze_size <= 30:
            raise ValueError(f"maze_size must be between 5 and 30, got {self.maze_size}")
        if not 3 <= self.arc_size <= 30:
            raise ValueError(f"arc_size must be between 3 and 30, got {self.arc_size}")
        if self.maze_sizes:
            lo, hi = int_range(self.maze_sizes, "maze_sizes", "8-12")
            if not 5 <= lo <= hi <= self.maze_size:
                raise ValueError(f"maze_sizes must lie within 5-{self.maze_size} (the canvas), got {self.maze_sizes}")
        if self.maze_min_path < 0:
            raise ValueError(f"maze_min_path must be >= 0 (0: scaled Maze-Hard filter), got {self.maze_min_path}")
        if not 0.0 <= self.lr_min_ratio <= 1.0:
            raise ValueError(f"lr_min_ratio must be in [0, 1] (1: constant lr), got {self.lr_min_ratio}")
        if not 0.0 <= self.ema_rate < 1.0:
            raise ValueError(f"ema_rate must be in [0, 1), got {self.ema_rate}")
        if not 0 <= self.vote_variants <= 32:
            raise ValueError(f"vote_variants must be between 0 (off) and 32, got {self.vote_variants}")
        if self.sudoku_hard_eval < 0:
            raise ValueError(f"sudoku_hard_eval must be >= 0 (0: off), got {self.sudoku_hard_eval}")
        if self.vote_size < 0:
            raise ValueError(f"vote_size must be >= 0 (0: every held-out puzzle), got {self.vote_size}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


# Per-task architecture (TRMConfig fields) and optimisation (TrainConfig fields) defaults.
_MODEL_DEFAULTS: dict[str, dict[str, Any]] = {
    "sudoku": dict(vocab_size=11, seq_len=81, mlp_t=True, pos_encodings="none", H_cycles=3, L_cycles=6),
    "maze": dict(vocab_size=6, seq_len=900, mlp_t=False, pos_encodings="rope", H_cycles=3, L_cycles=4),
    "arc": dict(vocab_size=12, seq_len=900, mlp_t=False, pos_encodings="rope", H_cycles=3, L_cycles=4),
}
_TRAIN_DEFAULTS: dict[str, dict[str, Any]] = {
    "sudoku": dict(),
    "maze": dict(),
    "arc": dict(weight_decay=0.1, puzzle_emb_weight_decay=0.1, puzzle_emb_lr=1e-2),
}
_COMMON_MODEL = dict(hidden_size=512, num_heads=8, expansion=4.0, L_layers=2, puzzle_emb_len=16,
                     halt_max_steps=16, halt_exploration_prob=0.1)


# Settings that follow from others, with what decides them (a --set of one of them is refused with this reason).
DERIVED = {
    "task": "use --task",
    "seq_len": "it follows the task (Sudoku: 81 cells; maze: maze_size squared; ARC: arc_size squared)",
    "vocab_size": "it follows the task's tokens",
    "puzzle_names": "the data's puzzle identifiers decide it",
    "num_puzzle_identifiers": "the data's puzzle identifiers decide it",
}


def _field_types(cls) -> dict[str, Any]:
    return {f.name: type(f.default) for f in dataclasses.fields(cls) if f.default is not dataclasses.MISSING}


_KIND_WORDS = {int: "an integer", float: "a number", bool: "true or false", str: "text"}


def parse_value(key: str, text: str, kind: type) -> Any:
    """'--set key=value' text -> a value of the field's type, with a readable error."""
    try:
        if kind is bool:
            if text.lower() in ("1", "true", "yes", "on"):
                return True
            if text.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if kind is int:
            return int(float(text)) if float(text).is_integer() else int(text)
        return kind(text)
    except ValueError:
        raise ValueError(f"--set {key}={text}: expected {_KIND_WORDS.get(kind, kind.__name__)}") from None


def typed_value(key: str, value: Any, kind: type) -> Any:
    """An override value (command-line text, or a typed JSON value from --config) -> the field's type."""
    if isinstance(value, str) and kind is not str:
        return parse_value(key, value, kind)
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind is float and number:
        return float(value)
    if kind is int and number and float(value).is_integer():
        return int(value)
    if isinstance(value, kind) and (kind is bool or not isinstance(value, bool)):   # true is an int to Python
        return value
    raise ValueError(f"{key}={json.dumps(value)}: expected {_KIND_WORDS.get(kind, kind.__name__)}")


def parse_overrides(pairs: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        if "=" not in pair:
            raise ValueError(f"--set expects key=value, got {pair!r}")
        key, value = pair.split("=", 1)
        out[key.strip()] = value.strip()
    return out


def build_configs(task: str, overrides: dict[str, Any] | None = None,
                  base_model: dict[str, Any] | None = None,
                  base_train: dict[str, Any] | None = None) -> tuple[TrainConfig, TRMConfig]:
    """The run's (TrainConfig, TRMConfig): task defaults, then a resumed run's saved configs, then overrides.

    Override values may be strings (from the command line; converted to the field's type) or typed values."""
    if task not in TASKS:
        raise ValueError(f"task must be one of {', '.join(TASKS)}, not {task!r}")
    model_kw: dict[str, Any] = {**_COMMON_MODEL, **_MODEL_DEFAULTS[task], "task": task}
    train_kw: dict[str, Any] = {**_TRAIN_DEFAULTS[task], "task": task}
    model_kw.update(base_model or {})
    train_kw.update({k: v for k, v in (base_train or {}).items() if k != "task"})
    if base_train is not None and "optimizer" not in base_train:
        train_kw["optimizer"] = "adamw"   # saved before the optimizer was a setting: such runs were trained with AdamW
    model_types, train_types = _field_types(TRMConfig), _field_types(TrainConfig)
    model_types["puzzle_names"] = list
    explicit_emb_ndim = "puzzle_emb_ndim" in (base_model or {})
    for key, value in (overrides or {}).items():
        if key in DERIVED:
            raise ValueError(f"{key} cannot be set: {DERIVED[key]}")
        if key in model_types:
            model_kw[key] = typed_value(key, value, model_types[key])
            explicit_emb_ndim |= key == "puzzle_emb_ndim"
        elif key in train_types:
            train_kw[key] = typed_value(key, value, train_types[key])
        else:
            known = sorted((set(model_types) | set(train_types)) - set(DERIVED))
            raise ValueError(f"unknown setting {key!r}; known: {', '.join(known)}")
    if not explicit_emb_ndim:
        # The official config ties the puzzle embedding width to the hidden size (puzzle_emb_ndim: ${.hidden_size}).
        model_kw["puzzle_emb_ndim"] = model_kw["hidden_size"]
    train = TrainConfig(**train_kw)
    if task in ("maze", "arc"):   # the canvas is a data setting; the model reads it as its token count
        model_kw["seq_len"] = (train.maze_size if task == "maze" else train.arc_size) ** 2
    return train, TRMConfig(**model_kw)
