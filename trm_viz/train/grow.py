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
from .state import PUZZLE_KEY, load_run, save_run


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


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m trm_viz.train.grow", description=__doc__.split("\n\n")[0])
    p.add_argument("source", help="a run folder (written by python -m trm_viz.train --out)")
    p.add_argument("out", help="the folder to write the grown run to (then: python -m trm_viz.train --resume OUT)")
    p.add_argument("--hidden-size", type=int, required=True, help="a whole multiple of the source's hidden_size")
    p.add_argument("--expansion", type=float, default=None, help="SwiGLU expansion (default: the source's)")
    p.add_argument("--noise", type=float, default=0.1, help="zero-sum noise between channel copies, relative to "
                   "the weight's std (breaks their symmetry; the function is unchanged whatever its size)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    try:
        run = load_run(args.source)
        if Path(args.out, "train_state.safetensors").exists():
            raise ValueError(f"{args.out} already holds a training run; choose an empty folder")
        old = run.model_config
        new = grown_config(old, args.hidden_size, args.expansion)
        shipped = load_checkpoint(args.source)[0].state_dict()      # the EMA weights, puzzle table included...
        if shipped.get(PUZZLE_KEY, torch.empty(0)).shape != run.raw_state.get(PUZZLE_KEY, torch.empty(0)).shape:
            shipped[PUZZLE_KEY] = run.raw_state[PUZZLE_KEY]         # ... unless trimmed to the shipped rows (ARC)
        models = []
        for state in (run.raw_state, shipped):
            m = TRM(new)
            m.load_state_dict(grow_state(state, old, new, noise=args.noise, seed=args.seed))
            models.append(m)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    card = run.card
    params = models[0].num_parameters()
    card.setdefault("notes", []).append(
        f"At step {run.step:,} the model was grown from hidden_size {old.hidden_size}, expansion {old.expansion} to "
        f"{new.hidden_size}, expansion {new.expansion} ({card.get('parameters', 0):,} -> {params:,} parameters; "
        "`python -m trm_viz.train.grow`, function-preserving); the runs after it train the grown model.")
    describe_model(card, new, params)
    out = Path(args.out)
    save_run(out, models[0], models[1], run.train_config, run.step, card, render_readme(card))
    for name, text in run.logs.items():
        (out / name).write_text(text)
    print(f"grew {args.source} ({old.hidden_size} wide) into {out} ({new.hidden_size} wide, {params:,} parameters)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
