"""pass@k of the variant vote on a held-out set (trm_viz.vote does one puzzle; this does a whole split, batched).

- ARC, as the official evaluator scores it: run every augmented variant of the task (each with its own puzzle
  embedding), map each prediction back to the task's frame, pool equal grids and submit the k with the most votes
  (ties: the higher mean halting probability). pass@2 is the number the paper reports for ARC-AGI (TRM: 44.6% on
  ARC-AGI-1).
- Sudoku and maze: the same vote over symmetric copies of each puzzle (Task.symmetries), one puzzle embedding; not
  in the paper, reported beside the plain accuracy.

Exact accuracy per step (evaluate.py) only looks at the identity variant.

    python -m trm_viz.train.vote_eval CHECKPOINT_DIR [--variants 16]     # score a run folder, add it to its card
"""
from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch

from ..model.config import resolve_counts
from ..model.trm import TRM
from ..tasks import get_task
from ..tasks.arc_aug import ArcAug, pass_at_k, pool_votes, vote
from ..vote import batched_steps
from .augment import DeviceData, arc_canvas
from .evaluate import autocast_for


def _predictions_by_step(model: TRM, inputs: torch.Tensor, ids: torch.Tensor | None, steps: int, H_cycles: int,
                         L_cycles: int, batch_size: int, dtype: torch.dtype | None) -> tuple[np.ndarray, np.ndarray]:
    """(tokens (steps, N, seq_len) as uint8, halting probability (steps, N)) after each of ``steps`` supervision
    steps: the vote is scored at every step, as the card's exact accuracy is (vocabularies are far below 256)."""
    tokens, q_prob = [], []
    if ids is None:
        ids = torch.zeros(inputs.shape[0], dtype=torch.long, device=inputs.device)
    for lo in range(0, inputs.shape[0], batch_size):
        with autocast_for(inputs.device, dtype):
            per_step = list(batched_steps(model, inputs[lo:lo + batch_size], ids[lo:lo + batch_size], steps,
                                          H_cycles, L_cycles))
        tokens.append(torch.stack([tok for tok, _ in per_step]).to(torch.uint8).cpu())
        q_prob.append(torch.stack([q for _, q in per_step]).cpu())
    return torch.cat(tokens, dim=1).numpy(), torch.cat(q_prob, dim=1).numpy()


def _by_step(scores: list[dict[str, Any]], ks: tuple[int, ...]) -> dict[str, Any]:
    """The last step's scores (the reported number, as the official evaluation runs every step) plus
    pass_at_k_by_step lists: where the vote peaks, which a run of all 16 steps hides."""
    out = dict(scores[-1])
    out.update({f"pass_at_{k}_by_step": [s[f"pass_at_{k}"] for s in scores] for k in ks})
    return out


def arc_pass_at_k(model: TRM, data: DeviceData, *, ks: tuple[int, ...] = (1, 2), steps: int | None = None,
                  H_cycles: int | None = None, L_cycles: int | None = None, batch_size: int = 256,
                  dtype: torch.dtype | None = None) -> dict[str, Any]:
    """data: an ARC split (raw grids, shapes, identity-variant identifiers and the variant tables). Returns
    {"pass_at_1", "pass_at_2" (per ks; after the last step), "pass_at_k_by_step" (after each step), "n" test pairs,
    "variants" run per pair, "steps", "seconds"}."""
    was_training = model.training
    model.eval()
    t0 = time.perf_counter()
    N, T, L = resolve_counts(model.config, steps, H_cycles, L_cycles)
    ids = variant_ids(data)
    inputs = variant_canvases(data, "inputs", ids)
    try:
        tokens, q_prob = _predictions_by_step(model, inputs, ids, N, T, L, batch_size, dtype)
    finally:
        model.train(was_training)
    out = _by_step([score_votes(data, ids, tokens[s].astype(np.int64), q_prob[s], ks) for s in range(N)], ks)
    out.update(steps=N, seconds=round(time.perf_counter() - t0, 3))
    return out


def variant_ids(data: DeviceData) -> torch.Tensor:
    """(n * V,) puzzle identifiers: pair i's task variants 0..V-1 at rows i*V .. i*V+V-1 (identifiers of one task
    are consecutive, identity first: train/data.py)."""
    n, V = len(data), max(1, int(data.arc_variants))
    device = data.inputs.device
    return data.puzzle_identifiers.long().repeat_interleave(V) + torch.arange(V, device=device).repeat(n)


def variant_canvases(data: DeviceData, which: str, ids: torch.Tensor) -> torch.Tensor:
    """Official tokens (n * V, seq_len) of every pair's input ("inputs") or output ("labels") in each variant's frame,
    at the canvas' top-left (translation is a training augmentation only)."""
    V = ids.shape[0] // max(len(data), 1)
    pair = torch.arange(len(data), device=ids.device).repeat_interleave(V)
    shapes = data.shapes[pair].long()
    h, w = (shapes[:, 0], shapes[:, 1]) if which == "inputs" else (shapes[:, 2], shapes[:, 3])
    k, cmap = data.variant_dihedral[ids].long(), data.variant_colours[ids].long()
    zero = torch.zeros_like(k)
    return arc_canvas(getattr(data, which)[pair], h, w, k, zero, zero, cmap)


def score_votes(data: DeviceData, ids: torch.Tensor, tokens: np.ndarray, q_prob: np.ndarray,
                ks: tuple[int, ...] = (1, 2)) -> dict[str, Any]:
    """pass@k of predictions ``tokens`` (n * V, seq_len) in the variants' frames (rows as variant_ids) with their
    halting probabilities: each pair's candidates are voted on in the task's own frame."""
    n = len(data)
    V = ids.shape[0] // max(n, 1)
    trans = data.variant_dihedral[ids].cpu().numpy()
    perms = data.variant_colours[ids].cpu().numpy()
    labels, shapes = data.labels.cpu().numpy(), data.shapes.cpu().numpy()
    hits = {k: 0 for k in ks}
    for i in range(n):
        rows = range(i * V, (i + 1) * V)
        votes = vote(((tokens[r], ArcAug(int(trans[r]), tuple(int(c) for c in perms[r])), float(q_prob[r]))
                      for r in rows), k=max(ks))
        solution = labels[i, :int(shapes[i, 2]), :int(shapes[i, 3])]
        for k in ks:
            hits[k] += pass_at_k(votes, solution, k)
    out: dict[str, Any] = {f"pass_at_{k}": round(hits[k] / max(n, 1), 6) for k in ks}
    out.update(n=n, variants=V)
    return out


def symmetry_pass_at_k(model: TRM, task_name: str, inputs: torch.Tensor, labels: torch.Tensor, *, variants: int,
                       ks: tuple[int, ...] = (1, 2), steps: int | None = None, batch_size: int = 256,
                       dtype: torch.dtype | None = None) -> dict[str, Any]:
    """Sudoku / maze: each puzzle (official tokens, (N, seq_len)) run as ``variants`` symmetric copies
    (Task.symmetries), answers mapped back and voted on. Returns {"pass_at_k" per ks (after the last step),
    "pass_at_k_by_step", "n", "variants", "steps", "seconds"}."""
    was_training = model.training
    model.eval()
    t0 = time.perf_counter()
    task = get_task(task_name, model.config.seq_len)
    syms = task.symmetries(variants)
    V = len(syms)
    N, T, L = resolve_counts(model.config, steps)
    grids = [task.decode(t) for t in inputs.cpu().numpy()]
    copies = np.stack([task.encode(sym.apply(g)) for g in grids for sym in syms])      # puzzle i: rows i*V..
    try:
        tokens, q_prob = _predictions_by_step(model, torch.as_tensor(copies, device=inputs.device), None, N, T, L,
                                              batch_size, dtype)
    finally:
        model.train(was_training)
    solutions = [task.decode(label) for label in labels.cpu().numpy()]
    n, scores = len(grids), []
    for s in range(N):
        hits, step_tokens = {k: 0 for k in ks}, tokens[s].astype(np.int64)
        for i, solution in enumerate(solutions):
            rows = range(i * V, (i + 1) * V)
            ranked = pool_votes((syms[r - i * V].invert(task.decode(step_tokens[r])), q_prob[s, r]) for r in rows)
            for k in ks:
                hits[k] += pass_at_k(ranked, solution, k)
        scores.append({f"pass_at_{k}": round(hits[k] / max(n, 1), 6) for k in ks})
    out = _by_step(scores, ks)
    out.update(n=n, variants=V, steps=N, seconds=round(time.perf_counter() - t0, 3))
    return out


def vote_on_held_out(model: TRM, task_name: str, split, *, variants: int, batch_size: int = 256,
                     dtype: torch.dtype | None = None, limit: int = 0) -> dict[str, Any]:
    """The vote on a held-out split (DeviceData) as the trainer records it in the card's eval: pass_at_1, pass_at_2
    (after the last step), pass_at_2_by_step, vote_variants, vote_seconds, vote_n. Sudoku / maze: on the first
    ``limit`` puzzles (0: all); ARC always votes on every test input, since its variants are per task."""
    if task_name == "arc":
        votes = arc_pass_at_k(model, split, batch_size=batch_size, dtype=dtype)
    else:
        from .augment import split_tokens
        inputs, labels, _ = split_tokens(task_name, split)
        if limit > 0:
            inputs, labels = inputs[:limit], labels[:limit]
        votes = symmetry_pass_at_k(model, task_name, inputs, labels, variants=variants, batch_size=batch_size,
                                   dtype=dtype)
    return {"pass_at_1": votes["pass_at_1"], "pass_at_2": votes["pass_at_2"],
            "pass_at_2_by_step": votes["pass_at_2_by_step"], "vote_variants": votes["variants"],
            "vote_seconds": votes["seconds"], "vote_n": votes["n"]}


def main(argv: list[str] | None = None) -> int:
    """Score a run folder's vote on the held-out set its last run evaluated on, and add it to that run's card."""
    import argparse
    import json
    from pathlib import Path

    from ..model.checkpoints import load_checkpoint
    from .card import render_readme
    from .config import TrainConfig, build_configs
    from .data import build_or_load_arrays, to_device

    p = argparse.ArgumentParser(prog="python -m trm_viz.train.vote_eval", description=main.__doc__)
    p.add_argument("checkpoint", help="a folder written by python -m trm_viz.train")
    p.add_argument("--variants", type=int, default=16, help="Sudoku / maze: symmetric copies per puzzle")
    p.add_argument("--batch-size", type=int, default=256)
    args = p.parse_args(argv)
    folder = Path(args.checkpoint)
    try:
        model, _ = load_checkpoint(folder)
        card = json.loads((folder / "card.json").read_text())
        saved = json.loads((folder / "config.json").read_text()).get("train") or {}
        task = model.config.task
        if not Path(saved.get("data_dir", "")).is_dir():     # the run's cache is gone: rebuild it in the default
            saved["data_dir"] = TrainConfig.data_dir
        tcfg, _ = build_configs(task, {}, None, saved)
    except (OSError, ValueError, KeyError) as e:
        raise SystemExit(f"python -m trm_viz.train.vote_eval: error: {e}") from None
    arrays, info = build_or_load_arrays(tcfg)
    data = to_device(arrays, info, task, tcfg, torch.device("cpu"))
    result = vote_on_held_out(model, task, data.eval, variants=args.variants, batch_size=args.batch_size)
    card["runs"][-1]["eval"] = {**(card["runs"][-1].get("eval") or {}), **result}
    (folder / "card.json").write_text(json.dumps(card, indent=1))
    (folder / "README.md").write_text(render_readme(card))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
