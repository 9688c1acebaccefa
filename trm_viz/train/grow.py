"""Grow a trained run into a wider model that computes exactly the same function, then keep training it.

    python -m trm_viz.train.grow checkpoints/sudoku-tiny runs/wide --hidden-size 128 --expansion 4
    python -m trm_viz.train --resume runs/wide --minutes 60 --out runs/wide

Why: a small model that has stopped improving (sudoku-tiny after 145k steps) may lack capacity, and training a wider
one from scratch would throw its CPU-hours away. Net2Net-style growth (Chen et al., 2016) keeps what it learned.
(Measured on sudoku-tiny: 92 CPU-minutes of training after growing did not catch up with the original; see the
README. Longer runs, e.g. on a GPU, are the open question.) How:

- hidden_size x k: every channel of the residual stream is repeated k times, [h, h, ...]. Weights that read the
  stream are split into k parts that sum to the old weight (W/k + noise, noise summing to zero over the copies, so
  the copies can grow apart under training); weights that write it are repeated. RMSNorm over channels sees the same
  mean square, so every block computes the old values repeated. Token embeddings are divided by sqrt(k) because the
  model multiplies them by sqrt(hidden_size). Attention keeps its head size and repeats its heads (num_heads x k).
- expansion (the SwiGLU hidden width, both the channel MLP and the MLP over positions): new units start with a
  random gate and input but a zero output weight, so they add nothing until training gives them a use.

The card, logs and step count carry over; the card gets a note, and the next run's record shows the new size.

A larger canvas (`--canvas N`, ARC or maze): a model with RoPE attention has no weight tied to the number of
positions, so every weight carries over to a larger canvas. For ARC it also admits more tasks (every task whose grids
fit it): puzzle-embedding rows move by name (task id + augmentation) and the new tasks' rows start at zero, as a
fresh run's do. This is a warm start, not the same function: a row of the canvas is now N positions long, so what
attention learned about "the cell below" has to be relearned. For mazes it is a size curriculum across runs: learn
short paths on a small canvas where a CPU or a short GPU session can, then move up (8 -> 12 -> ... -> 30).

    python -m trm_viz.train.grow checkpoints/arc-tiny runs/arc8 --canvas 8
    python -m trm_viz.train --resume runs/arc8 --minutes 60 --out runs/arc8
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import torch

from ..model.checkpoints import load_checkpoint
from ..model.config import TRMConfig
from ..model.layers import swiglu_inter
from ..model.trm import TRM
from .card import describe_model, render_readme
from .config import build_configs
from .data import build_or_load_arrays
from .state import PUZZLE_KEY, ResumeState, load_run, save_run


def _split_inputs(w: torch.Tensor, k: int, noise: float, gen: torch.Generator) -> torch.Tensor:
    """A weight reading a k-times repeated input (last dim): k parts summing to w, made unequal by zero-sum noise."""
    parts = w.unsqueeze(0).repeat(k, *([1] * w.dim())) / k
    if noise > 0 and k > 1:
        eps = torch.randn(parts.shape, generator=gen) * noise * (w.std().item() / k)
        parts = parts + eps - eps.mean(0, keepdim=True)
    return torch.cat(list(parts), dim=-1)


def _grow_swiglu(state: dict, prefix: str, dim_k: int, old_inter: int, new_inter: int, noise: float,
                 gen: torch.Generator, channel: bool) -> None:
    """gate_up_proj (2I, D), down_proj (D, I): widen I with silent units, and (channel MLP only) D by dim_k."""
    gu, down = state[prefix + "gate_up_proj.weight"], state[prefix + "down_proj.weight"]
    gate, up = gu[:old_inter], gu[old_inter:]
    extra = new_inter - old_inter
    if extra:
        fresh = torch.randn(2, extra, gu.shape[1], generator=gen) * (gu.std().item())
        gate, up = torch.cat((gate, fresh[0])), torch.cat((up, fresh[1]))
        down = torch.cat((down, torch.zeros(down.shape[0], extra)), dim=1)
    gu = torch.cat((gate, up))
    if channel and dim_k > 1:
        gu = _split_inputs(gu, dim_k, noise, gen)
        down = down.repeat(dim_k, 1)
    state[prefix + "gate_up_proj.weight"], state[prefix + "down_proj.weight"] = gu, down


def grow_state(state: dict[str, torch.Tensor], old: TRMConfig, new: TRMConfig, *, noise: float = 0.1,
               seed: int = 0) -> dict[str, torch.Tensor]:
    """The state dict of ``new`` (a grown ``old``) computing what ``state`` computed under ``old``."""
    k, rest = divmod(new.hidden_size, old.hidden_size)
    changed = {f for f in ("vocab_size", "seq_len", "num_puzzle_identifiers", "puzzle_emb_len", "L_layers", "mlp_t",
                           "pos_encodings", "task") if getattr(old, f) != getattr(new, f)}
    if rest or k < 1:
        raise ValueError(f"hidden_size must be a whole multiple of the old one ({old.hidden_size}), "
                         f"not {new.hidden_size}")
    if changed:
        raise ValueError(f"grow keeps everything but the width; these may not change: {sorted(changed)}")
    if new.expansion < old.expansion:
        raise ValueError(f"expansion can only grow ({old.expansion} -> {new.expansion})")
    if not old.mlp_t and new.num_heads != old.num_heads * k:
        raise ValueError(f"attention keeps its head size: num_heads must become {old.num_heads * k}")
    if old.puzzle_emb_ndim % old.hidden_size or new.puzzle_emb_ndim != old.puzzle_emb_ndim * k:
        raise ValueError("the puzzle embedding must fill whole positions: puzzle_emb_ndim a multiple of hidden_size, "
                         f"becoming {old.puzzle_emb_ndim * k}")
    gen = torch.Generator().manual_seed(seed)

    def rep(t: torch.Tensor) -> torch.Tensor:               # a vector of the stream, repeated: [h, h, ...]
        return t.repeat(*([1] * (t.dim() - 1)), k)

    s = {name: t.detach().float().cpu().clone() for name, t in state.items()}
    D = old.hidden_size
    for name in ("embed_tokens.embedding_weight", "embed_pos.embedding_weight"):
        if name in s:
            s[name] = rep(s[name]) / math.sqrt(k)
    if "puzzle_emb.weights" in s:                            # (N, positions * D): repeat within each position
        p = s["puzzle_emb.weights"]
        s["puzzle_emb.weights"] = rep(p.view(p.shape[0], -1, D)).reshape(p.shape[0], -1) / math.sqrt(k)
    for name in ("H_init", "L_init"):
        s[name] = rep(s[name])
    for name in ("lm_head.weight", "q_head.weight"):
        s[name] = _split_inputs(s[name], k, noise, gen)
    for i in range(old.L_layers):
        pre = f"L_level.layers.{i}."
        _grow_swiglu(s, pre + "mlp.", k, swiglu_inter(D, old.expansion), swiglu_inter(new.hidden_size, new.expansion),
                     noise, gen, channel=True)
        if old.mlp_t:                                        # mixes positions, channel by channel: only I grows
            L = old.total_len
            _grow_swiglu(s, pre + "mlp_t.", 1, swiglu_inter(L, old.expansion), swiglu_inter(L, new.expansion),
                         noise, gen, channel=False)
        else:                                                # heads repeated: q, k, v each [heads, heads copy]
            qkv = s[pre + "self_attn.qkv_proj.weight"]
            qkv = torch.cat([part.repeat(k, 1) for part in qkv.chunk(3)])
            s[pre + "self_attn.qkv_proj.weight"] = _split_inputs(qkv, k, noise, gen)
            o = s[pre + "self_attn.o_proj.weight"]
            s[pre + "self_attn.o_proj.weight"] = _split_inputs(o, k, noise, gen).repeat(k, 1)
    return s


def grown_config(old: TRMConfig, hidden_size: int, expansion: float | None) -> TRMConfig:
    k = hidden_size // old.hidden_size
    return old.replace(hidden_size=hidden_size, expansion=expansion or old.expansion,
                       num_heads=old.num_heads if old.mlp_t else old.num_heads * k,
                       puzzle_emb_ndim=old.puzzle_emb_ndim * k)


def _shipped_state(source: str, run: ResumeState) -> dict[str, torch.Tensor]:
    """The EMA weights of a run folder, with the whole puzzle table (the shipped file may keep only the rows that
    inference needs, ARC's identity variants: then the table comes from the training state)."""
    shipped = load_checkpoint(source)[0].state_dict()
    if shipped.get(PUZZLE_KEY, torch.empty(0)).shape != run.raw_state.get(PUZZLE_KEY, torch.empty(0)).shape:
        shipped[PUZZLE_KEY] = run.raw_state[PUZZLE_KEY]
    return shipped


def _check_movable(old: TRMConfig, seq_len: int) -> None:
    """ValueError unless ``old`` is an ARC or maze model that can move to a canvas of ``seq_len`` cells."""
    if old.task not in ("arc", "maze") or old.mlp_t or old.pos_encodings == "learned":
        raise ValueError("--canvas moves an ARC or maze model without weights tied to positions (attention, with "
                         f"rope or no position encoding); this one is task {old.task!r}, mlp_t {old.mlp_t}, "
                         f"pos_encodings {old.pos_encodings!r}")
    if seq_len < old.seq_len:
        raise ValueError(f"--canvas can only grow the canvas ({old.seq_len} -> {seq_len} cells)")


def recanvas_state(state: dict[str, torch.Tensor], old: TRMConfig,
                   new: TRMConfig) -> tuple[dict[str, torch.Tensor], int]:
    """The state dict of ``new`` (a model on a larger canvas; for ARC, with more tasks) warm-started from ``state``:
    all weights kept, puzzle-embedding rows moved by name, unknown names at zero. Returns it and the rows moved.
    A maze model's table is one unnamed row, kept as it is."""
    _check_movable(old, new.seq_len)
    s = {name: t.detach().float().cpu().clone() for name, t in state.items()}
    if PUZZLE_KEY not in s or not new.puzzle_names:
        return s, 0
    table = s[PUZZLE_KEY]
    rows = {name: i for i, name in enumerate(old.puzzle_names)}
    moved = torch.zeros(new.num_puzzle_identifiers, table.shape[1])
    hits = [(j, rows[name]) for j, name in enumerate(new.puzzle_names) if name in rows]
    for j, i in hits:
        moved[j] = table[i]
    s[PUZZLE_KEY] = moved
    return s, len(hits)


def _recanvas(run: ResumeState, source: str, size: int,
              data_dir: str) -> tuple[TRMConfig, dict, list[TRM], str]:
    """(new model config, new training config, [raw, EMA] models, card note) for ``--canvas``."""
    old = run.model_config
    _check_movable(old, size * size)               # before building the new canvas' data, not after
    task = old.task
    tcfg, new = build_configs(task, {f"{task}_size": size, "data_dir": data_dir}, old.to_dict(), run.train_config)
    side = math.isqrt(old.seq_len)
    if task == "arc":                              # the larger canvas admits more tasks: one embedding row each
        arrays, info = build_or_load_arrays(tcfg)
        names = [str(n) for n in arrays["puzzle_names"]]
        new = new.replace(num_puzzle_identifiers=len(names), puzzle_names=names)
    shipped = _shipped_state(source, run)
    models, hits = [], 0
    for state in (run.raw_state, shipped):
        m = TRM(new)
        state, hits = recanvas_state(state, old, new)
        m.load_state_dict(state)
        models.append(m)
    if task == "arc":
        what = (f", {info['tasks']} tasks: every weight kept, {hits:,} of {len(names):,} puzzle embeddings carried "
                "over by name (the earlier tasks' identity rows and the variants drawn alike), the rest start at zero")
    else:
        what = ": every weight kept, as attention reads relative positions only"
    note = (f"At step {run.step:,} the model moved from the {side}x{side} canvas to {size}x{size} "
            f"(`python -m trm_viz.train.grow --canvas {size}`){what}; a warm start, since a canvas row is now {size} "
            "positions long. The runs after it train on the larger canvas.")
    return new, tcfg.to_dict(), models, note


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m trm_viz.train.grow", description=__doc__.split("\n\n")[0])
    p.add_argument("source", help="a run folder (written by python -m trm_viz.train --out)")
    p.add_argument("out", help="the folder to write the grown run to (then: python -m trm_viz.train --resume OUT)")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--hidden-size", type=int, help="a whole multiple of the source's hidden_size")
    what.add_argument("--canvas", "--arc-size", type=int, dest="canvas",
                      help="ARC or maze (attention): a larger canvas side (ARC: and every task that fits it)")
    p.add_argument("--expansion", type=float, default=None, help="SwiGLU expansion (default: the source's)")
    p.add_argument("--noise", type=float, default=0.1, help="zero-sum noise between channel copies, relative to "
                   "the weight's std (breaks their symmetry; the function is unchanged whatever its size)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-dir", default="data/train_cache",
                   help="--canvas: where the larger canvas' training data is cached")
    args = p.parse_args(argv)
    try:
        run = load_run(args.source)
        if Path(args.out, "train_state.safetensors").exists():
            raise ValueError(f"{args.out} already holds a training run; choose an empty folder")
        old = run.model_config
        if args.canvas is not None:
            new, train_config, models, note = _recanvas(run, args.source, args.canvas, args.data_dir)
            return _write(args.out, run, new, train_config, models, note)
        new = grown_config(old, args.hidden_size, args.expansion)
        models = []
        for state in (run.raw_state, _shipped_state(args.source, run)):
            m = TRM(new)
            m.load_state_dict(grow_state(state, old, new, noise=args.noise, seed=args.seed))
            models.append(m)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    params = models[0].num_parameters()
    note = (f"At step {run.step:,} the model was grown from hidden_size {old.hidden_size}, expansion {old.expansion} "
            f"to {new.hidden_size}, expansion {new.expansion} ({run.card.get('parameters', 0):,} -> {params:,} "
            "parameters; `python -m trm_viz.train.grow`, function-preserving); the runs after it train the grown model.")
    return _write(args.out, run, new, run.train_config, models, note)


def _write(out: str, run: ResumeState, new: TRMConfig, train_config: dict, models: list[TRM], note: str) -> int:
    """Save the grown run (raw and EMA weights, card with its note, the source's logs) for --resume."""
    card = run.card
    card.setdefault("notes", []).append(note)
    describe_model(card, new, models[0].num_parameters())
    save_run(Path(out), models[0], models[1], train_config, run.step, card, render_readme(card))
    for name, text in run.logs.items():
        (Path(out) / name).write_text(text)
    print(f"wrote {out}: {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
