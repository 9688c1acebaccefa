"""Training and held-out sets for each task, built from the task modules' generators (ARC: its JSON tasks), cached as
.npz under ``TrainConfig.data_dir`` and moved to the training device once.

- Sudoku: ``train_size`` random minimal unique puzzles for training and ``eval_size`` others, held out (different
  seed, exact duplicates of training puzzles removed). Difficulty: ``sudoku_min_guesses`` (solver guesses).
  ``sudoku_hard_eval`` adds a second held-out set of puzzles that need >= 20 guesses (``hard_sudoku_eval``).
- Maze: 30x30 mazes with a unique shortest path of >= 110 steps (Maze-Hard's filter), split the same way; with
  ``maze_size`` < 30, mazes of that canvas with the filter scaled to it (maze_generate.hard_min_path). With
  ``maze_sizes`` "lo-hi", the training mazes mix every size of that range (a curriculum); held-out ones stay full-size.
- ARC: every demonstration pair of the chosen collections is trained on; the test pairs of tasks whose test
  outputs are known (the training collections) are held out, so evaluation asks for new pairs of tasks the model
  has seen (evaluation-set test outputs are never used). Each task gets ``arc_variants`` puzzle identifiers: the
  identity and arc_variants - 1 random (dihedral transform, colour permutation) variants, as the official build.
  ``train_size`` does not apply (all demonstrations are used); ``eval_size`` caps the held-out pairs. With
  ``arc_size`` < 30 only the tasks whose every grid fits that canvas are used (``arc_tasks`` narrows them further).
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..tasks import Task, get_task
from .augment import DeviceData
from .config import TrainConfig, int_range

DATA_FORMAT_VERSION = 1
HARD_MIN_GUESSES = 20     # the hard held-out Sudoku set: puzzles our solver needs >= this many guesses for


@dataclass
class TaskData:
    train: DeviceData
    eval: DeviceData
    num_puzzle_identifiers: int
    puzzle_names: list[str] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)     # what the model card says about the data


SPLIT_STREAMS = {"train": 1, "eval": 2, "hard_eval": 3}     # each split's own random stream under one seed


def _seed(seed: int, split: str) -> int:
    return int(np.random.SeedSequence([seed, SPLIT_STREAMS[split]]).generate_state(1)[0] & 0x7FFFFFFF)


def _without(rows: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Mask of rows not present in ``known`` (exact byte equality)."""
    seen = {r.tobytes() for r in known}
    return np.array([r.tobytes() not in seen for r in rows], dtype=bool)


def _encode(task: Task, grids: np.ndarray) -> np.ndarray:
    """Grids in the task's cell codes -> (n, seq_len) uint8 official tokens, by the task module's own encoder."""
    encode = task.encode
    return np.stack([encode(g) for g in grids]).astype(np.uint8) if len(grids) else np.zeros((0, 0), np.uint8)


# --- generators ---------------------------------------------------------------------------------------------------
def _build_sudoku(cfg: TrainConfig) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    from ..tasks.sudoku_generate import blank_out, generate_batch, random_full_grids
    out: dict[str, np.ndarray] = {}
    ratings = {}
    blanks = int_range(cfg.sudoku_blanks, "sudoku_blanks", "20-50") if cfg.sudoku_blanks else None
    for split, n in (("train", cfg.train_size), ("eval", cfg.eval_size)):
        if blanks:   # full grids straight from the solver: no minimal puzzle is built only to be thrown away
            grids = random_full_grids(n, seed=_seed(cfg.seed, split))
            puzzles, solutions, rating = blank_out(grids, _seed(cfg.seed, split) + 1, *blanks)
        else:
            puzzles, solutions, rating = generate_batch(n, seed=_seed(cfg.seed, split),
                                                        min_guesses=cfg.sudoku_min_guesses)
        inputs, labels = _encode(get_task("sudoku"), puzzles), _encode(get_task("sudoku"), solutions)
        if split == "eval":
            keep = _without(inputs, out["train_inputs"])
            inputs, labels, puzzles, rating = inputs[keep], labels[keep], puzzles[keep], rating[keep]
        out[f"{split}_inputs"], out[f"{split}_labels"] = inputs, labels
        ratings[split] = {"median_guesses": float(np.median(rating)) if len(rating) else 0.0,
                          "mean_clues": float((puzzles > 0).sum(1).mean()) if len(puzzles) else 0.0}
    source = ("generated minimal unique Sudoku (trm_viz.tasks.sudoku_generate)" if not cfg.sudoku_blanks else
              f"random full grids with {cfg.sudoku_blanks} random blanks, unique solution "
              "(sudoku_generate.random_full_grids + blank_out)")
    info = {"source": source, "blanks": cfg.sudoku_blanks,
            "min_guesses": cfg.sudoku_min_guesses, **{f"{k}_stats": v for k, v in ratings.items()}}
    return out, info


def _build_maze(cfg: TrainConfig) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    from ..tasks.maze import maze_task
    from ..tasks.maze_generate import generate_batch, hard_min_path
    out: dict[str, np.ndarray] = {}
    task, min_path = maze_task(cfg.maze_size), cfg.maze_min_path or hard_min_path(cfg.maze_size)
    for split, n in (("train", cfg.train_size), ("eval", cfg.eval_size)):
        if split == "train" and cfg.maze_sizes:
            mazes, labels = _mixed_mazes(cfg, n, min_path)
        else:
            mazes, labels = generate_batch(n, seed=_seed(cfg.seed, split), min_path=min_path, size=cfg.maze_size)
        inputs, labels = _encode(task, mazes), _encode(task, labels)
        if split == "eval":
            keep = _without(inputs, out["train_inputs"])
            inputs, labels = inputs[keep], labels[keep]
        out[f"{split}_inputs"], out[f"{split}_labels"] = inputs, labels
    info = {"source": f"generated {cfg.maze_size}x{cfg.maze_size} mazes with a unique shortest path "
                      "(trm_viz.tasks.maze_generate)", "min_path": min_path, "size": cfg.maze_size}
    if cfg.maze_sizes:
        info["train_sizes"] = cfg.maze_sizes
        info["source"] += (f"; training mazes of every size {cfg.maze_sizes} in equal shares (each with its scaled "
                           f"Maze-Hard filter), smaller ones at random places on the walled canvas; held-out mazes "
                           f"all {cfg.maze_size}x{cfg.maze_size}")
    return out, info


def _mixed_mazes(cfg: TrainConfig, n: int, min_path: int) -> tuple[np.ndarray, np.ndarray]:
    """A size curriculum: n mazes, an equal share of each size in maze_sizes. Small mazes teach path-following in
    fewer steps; placing them anywhere on the wall-filled canvas asks for a rule independent of position, which
    suits attention with RoPE more than MLP-T's per-position mixing (and teaches the padded layout the app uses for
    small drawn mazes). On 12x12 CPU runs it had not helped either model after ~1 hour (README)."""
    from ..tasks.maze import WALL
    from ..tasks.maze_generate import generate_batch, hard_min_path
    lo, hi = int_range(cfg.maze_sizes, "maze_sizes", "8-12")
    sizes, canvas = list(range(lo, hi + 1)), cfg.maze_size
    rng = np.random.default_rng(_seed(cfg.seed, "train"))
    mazes = np.full((n, canvas, canvas), WALL, dtype=np.uint8)
    labels = mazes.copy()
    for k, size in enumerate(sizes):
        rows = np.arange(k, n, len(sizes))
        seed = _seed(cfg.seed + 7919 * size, "train")
        small, small_labels = generate_batch(len(rows), seed=seed, size=size,
                                             min_path=min_path if size == canvas else hard_min_path(size))
        for row, maze, label in zip(rows, small, small_labels):
            top, left = rng.integers(0, canvas - size + 1, size=2)
            mazes[row, top:top + size, left:left + size] = maze
            labels[row, top:top + size, left:left + size] = label
    return mazes, labels


def _pad(grid: list[list[int]], what: str, size: int) -> tuple[np.ndarray, int, int]:
    """An ARC grid (checked by the task module) at the top-left of a size x size uint8 array, and its height and
    width."""
    from ..tasks.arc import check_grid
    a = check_grid(grid, what)
    out = np.zeros((size, size), np.uint8)
    out[:a.shape[0], :a.shape[1]] = a
    return out, a.shape[0], a.shape[1]


def _build_arc(cfg: TrainConfig) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    from ..tasks.arc import arc_task
    from ..tasks.arc_aug import ArcAug
    from ..tasks.arc_data import load_collection
    canvas = arc_task(cfg.arc_size)
    rng = np.random.default_rng(_seed(cfg.seed, "train"))
    names, dihedral, colours = ["<blank>"], [0], [np.arange(10)]
    rows: dict[str, list] = {"train": [], "eval": []}
    subsets = [s.strip() for s in cfg.arc_subsets.split(",") if s.strip()]
    wanted = {t.strip() for t in cfg.arc_tasks.split(",") if t.strip()}
    seen_tasks: set[str] = set()
    too_big = 0
    for subset in subsets:
        tasks = load_collection(subset)
        for task_id in sorted(tasks):
            if task_id in seen_tasks or (wanted and task_id not in wanted):   # ARC-AGI-2 repeats ARC-AGI-1 tasks
                continue
            if not canvas.fits_task(tasks[task_id]):
                too_big += 1
                continue
            seen_tasks.add(task_id)
            ident = len(names)
            # Identifiers of one task are consecutive, identity first (the sampler relies on it).
            variants = [ArcAug()]
            while len(variants) < cfg.arc_variants:
                aug = ArcAug.random(rng)
                if aug not in variants:
                    variants.append(aug)
            for aug in variants:
                names.append(aug.name(task_id))
                dihedral.append(aug.trans_id)
                colours.append(np.asarray(aug.perm))
            task = tasks[task_id]
            for i, pair in enumerate(task["train"]):
                rows["train"].append((pair["input"], pair["output"], ident, f"{task_id} training pair {i + 1}"))
            for i, pair in enumerate(task.get("test", [])):
                if "output" in pair:    # held out; tasks without known test outputs only contribute demonstrations
                    rows["eval"].append((pair["input"], pair["output"], ident, f"{task_id} test pair {i + 1}"))
    out: dict[str, np.ndarray] = {}
    for split, items in rows.items():
        grids_in, grids_out, shapes, ids = [], [], [], []
        for inp, lab, ident, where in items:
            a, h, w = _pad(inp, f"input of ARC task {where}", cfg.arc_size)
            b, h2, w2 = _pad(lab, f"output of ARC task {where}", cfg.arc_size)
            grids_in.append(a), grids_out.append(b), shapes.append((h, w, h2, w2)), ids.append(ident)
        empty = np.zeros((0, cfg.arc_size, cfg.arc_size), np.uint8)
        out[f"{split}_inputs"] = np.stack(grids_in) if grids_in else empty
        out[f"{split}_labels"] = np.stack(grids_out) if grids_out else empty
        out[f"{split}_shapes"] = np.asarray(shapes, np.uint8).reshape(-1, 4)
        out[f"{split}_ids"] = np.asarray(ids, np.int64)
    out["variant_dihedral"] = np.asarray(dihedral, np.uint8)
    out["variant_colours"] = np.stack(colours).astype(np.uint8)
    out["puzzle_names"] = np.asarray(names)
    info = {"source": f"ARC-AGI collections {', '.join(subsets)}: every demonstration pair trained on, test pairs "
                      "(where their outputs are known) held out", "tasks": len(seen_tasks),
            "variants_per_task": cfg.arc_variants, "size": cfg.arc_size,
            "skipped_too_big": too_big, **({"task_ids": sorted(seen_tasks)} if cfg.arc_size < 30 or wanted else {})}
    if not seen_tasks:
        raise ValueError(f"no ARC task of {cfg.arc_subsets} fits a {cfg.arc_size}x{cfg.arc_size} canvas"
                         + (f" among arc_tasks={cfg.arc_tasks}" if wanted else ""))
    return out, info


_BUILDERS = {"sudoku": _build_sudoku, "maze": _build_maze, "arc": _build_arc}


def cache_path(cfg: TrainConfig) -> Path:
    keys = {"v": DATA_FORMAT_VERSION, "task": cfg.task, "seed": cfg.seed}
    if cfg.task == "arc":
        keys.update(variants=cfg.arc_variants, subsets=cfg.arc_subsets)
        if cfg.arc_size != 30 or cfg.arc_tasks:    # (keeps the key, and so the cache, of 30x30 data as it was)
            keys.update(arc_size=cfg.arc_size, arc_tasks=cfg.arc_tasks)
    else:
        keys.update(train=cfg.train_size, eval=cfg.eval_size)
        # "grids": blank-mode puzzles come from random_full_grids (before: the solutions of minimal puzzles), so
        # caches of the old blank-mode data are not mistaken for the new.
        keys.update({"sudoku": {"min_guesses": cfg.sudoku_min_guesses, "blanks": cfg.sudoku_blanks,
                                **({"grids": "random_full"} if cfg.sudoku_blanks else {})},
                     "maze": {"min_path": cfg.maze_min_path, "size": cfg.maze_size,
                              **({"sizes": cfg.maze_sizes} if cfg.maze_sizes else {})}}[cfg.task])
    digest = hashlib.sha1(json.dumps(keys, sort_keys=True).encode()).hexdigest()[:12]
    return Path(cfg.data_dir) / f"{cfg.task}-{digest}.npz"


def build_or_load_arrays(cfg: TrainConfig) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The task's arrays, from the cache when present (building and caching them otherwise)."""
    path = cache_path(cfg)
    if path.exists():
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files if k != "info"}
            info = json.loads(str(z["info"]))
        return arrays, info
    arrays, info = _BUILDERS[cfg.task](cfg)
    info["train_examples"] = int(arrays["train_inputs"].shape[0])
    info["eval_examples"] = int(arrays["eval_inputs"].shape[0])
    _save_npz(path, info=np.asarray(json.dumps(info)), **arrays)
    return arrays, info


def _save_npz(path: Path, **arrays: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp.npz")
    np.savez_compressed(tmp, **arrays)
    os.replace(tmp, path)    # atomic: a concurrent reader never sees half a file


def _on(device: torch.device, a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a)).to(device)


def to_device(arrays: dict[str, np.ndarray], info: dict[str, Any], task: str, cfg: TrainConfig,
              device: torch.device) -> TaskData:
    def t(a: np.ndarray) -> torch.Tensor:
        return _on(device, a)

    splits = {}
    if task == "arc":   # all test pairs are held out; evaluate on the first eval_size of them (a fixed subset)
        arrays = {k: v[:cfg.eval_size] if k.startswith("eval_") else v for k, v in arrays.items()}
    for split in ("train", "eval"):
        n = arrays[f"{split}_inputs"].shape[0]
        if n == 0:
            raise ValueError(f"the {split} set of {task} is empty; check the data settings")
        if task == "arc":
            splits[split] = DeviceData(t(arrays[f"{split}_inputs"]), t(arrays[f"{split}_labels"]),
                                       t(arrays[f"{split}_ids"]), shapes=t(arrays[f"{split}_shapes"]),
                                       variant_dihedral=t(arrays["variant_dihedral"]),
                                       variant_colours=t(arrays["variant_colours"]), arc_variants=cfg.arc_variants)
        else:
            splits[split] = DeviceData(t(arrays[f"{split}_inputs"]), t(arrays[f"{split}_labels"]),
                                       torch.zeros(n, dtype=torch.long, device=device))
    names = [str(x) for x in arrays["puzzle_names"]] if task == "arc" else []
    return TaskData(splits["train"], splits["eval"], num_puzzle_identifiers=max(len(names), 1),
                    puzzle_names=names, info=info)


def hard_sudoku_eval(cfg: TrainConfig, train_inputs: np.ndarray, device: torch.device
                     ) -> tuple[DeviceData, dict[str, Any]]:
    """``cfg.sudoku_hard_eval`` held-out minimal Sudoku puzzles that need >= HARD_MIN_GUESSES solver guesses: the
    hard set the end-of-run evaluation also scores, so that a card tracks accuracy on puzzles that need search as
    well as on the (mostly easier) random minimal ones. Own seed, training duplicates removed, cached."""
    from ..tasks.sudoku_generate import generate_batch
    keys = {"v": DATA_FORMAT_VERSION, "seed": cfg.seed, "n": cfg.sudoku_hard_eval, "min_guesses": HARD_MIN_GUESSES}
    digest = hashlib.sha1(json.dumps(keys, sort_keys=True).encode()).hexdigest()[:12]
    path = Path(cfg.data_dir) / f"sudoku-hard-{digest}.npz"
    if path.exists():
        with np.load(path, allow_pickle=False) as z:
            inputs, labels, rating = z["inputs"], z["labels"], z["rating"]
    else:
        puzzles, solutions, rating = generate_batch(cfg.sudoku_hard_eval, seed=_seed(cfg.seed, "hard_eval"),
                                                    min_guesses=HARD_MIN_GUESSES)
        inputs, labels = _encode(get_task("sudoku"), puzzles), _encode(get_task("sudoku"), solutions)
        _save_npz(path, inputs=inputs, labels=labels, rating=rating)
    keep = _without(inputs, train_inputs)
    inputs, labels, rating = inputs[keep], labels[keep], rating[keep]
    if len(inputs) == 0:
        raise ValueError("the hard held-out Sudoku set is empty")
    ids = torch.zeros(len(inputs), dtype=torch.long, device=device)
    data = DeviceData(_on(device, inputs), _on(device, labels), ids)
    return data, {"min_guesses": HARD_MIN_GUESSES, "median_guesses": float(np.median(rating))}


def load_task_data(cfg: TrainConfig, device: torch.device) -> TaskData:
    arrays, info = build_or_load_arrays(cfg)
    return to_device(arrays, info, cfg.task, cfg, device)
