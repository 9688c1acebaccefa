"""Training pieces: loss, optimizer, augmentations, the deep-supervision loop on real generated Sudoku, maze and ARC
data, evaluation and ARC pass@2. The `python -m trm_viz.train` command itself: test_train_runs.py."""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

from train_fixtures import cache, one_thread, tiny  # noqa: F401  (fixtures; pytest puts tests/ on sys.path)
from trm_viz.model.trm import TRM
from trm_viz.tasks import get_task
from trm_viz.tasks.arc import encode_grid
from trm_viz.tasks.arc_aug import ArcAug
from trm_viz.tasks.common import dihedral
from trm_viz.train.augment import BatchSampler, arc_canvas, dihedral_index, maze_augment, split_tokens, sudoku_augment
from trm_viz.train.config import build_configs
from trm_viz.train.data import load_task_data
from trm_viz.train.evaluate import evaluate
from trm_viz.train.loop import Trainer
from trm_viz.train.losses import act_loss, cell_accuracy, stablemax_cross_entropy
from trm_viz.train.optim import AdamATan2


# --- loss -----------------------------------------------------------------------------------------------------------
def test_stablemax_cross_entropy_matches_direct_formula():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 5, 7, generator=g) * 4
    labels = torch.randint(0, 7, (3, 5), generator=g)
    valid = torch.rand(3, 5, generator=g) > 0.3
    got = stablemax_cross_entropy(logits, labels, valid)
    x = logits.double().numpy()
    s = np.where(x >= 0, x + 1, 1 / (1 - x))
    want = -np.log(np.take_along_axis(s, labels.numpy()[..., None], -1)[..., 0] / s.sum(-1))
    np.testing.assert_allclose(got.numpy(), np.where(valid.numpy(), want, 0), rtol=1e-12)
    assert got.dtype == torch.float64


def test_act_loss_counts_only_real_cells_and_targets_exactness():
    labels = torch.tensor([[2, 3, 0, 0], [4, 4, 4, 4]])            # row 0: two padding cells
    logits = torch.full((2, 4, 6), -3.0)
    logits[0, 0, 2] = logits[0, 1, 3] = 5.0                         # row 0 exactly right on its real cells
    logits[1, :, 5] = 5.0                                           # row 1 all wrong
    q_halt = torch.tensor([0.0, 0.0])
    loss, stats = act_loss(logits, q_halt, labels)
    assert stats["seq_correct"].tolist() == [True, False]
    assert cell_accuracy(stats).tolist() == [1.0, 0.0]
    lm = stablemax_cross_entropy(logits, labels, labels != 0)
    want_lm = (lm[0, :2].mean() + lm[1].mean()) / 2
    assert math.isclose(float(stats["lm_loss"]), float(want_lm), rel_tol=1e-6)
    assert math.isclose(float(loss), float(want_lm) + 0.5 * math.log(2), rel_tol=1e-5)


# --- optimizer ------------------------------------------------------------------------------------------------------
def test_adam_atan2_matches_the_official_kernels_formula():
    """Five steps of AdamATan2 on two tensors against the official kernel's formula (adam_atan2.cu: the first bias
    correction scales the step, outside atan2) computed element by element in float64, including an element whose
    gradient is always 0 (atan2(0, 0) = 0: only weight decay moves it)."""
    g = torch.Generator().manual_seed(0)
    shapes = [(3, 4), (5,)]
    params = [torch.randn(s, generator=g, dtype=torch.float64, requires_grad=True) for s in shapes]
    want = [p.detach().clone().reshape(-1).tolist() for p in params]
    m = [[0.0] * len(w) for w in want]
    v = [[0.0] * len(w) for w in want]
    lr, wd, b1, b2 = 0.01, 0.5, 0.9, 0.95
    opt = AdamATan2(params, lr=lr, betas=(b1, b2), weight_decay=wd)
    for t in range(1, 6):
        grads = [torch.randn(s, generator=g, dtype=torch.float64) * 10 ** (t - 3) for s in shapes]
        grads[1][0] = 0.0
        for p, gr in zip(params, grads):
            p.grad = gr.clone()
        opt.step()
        for i, gr in enumerate(grads):
            for j, gij in enumerate(gr.reshape(-1).tolist()):
                w = want[i][j] * (1 - lr * wd)
                m[i][j] = b1 * m[i][j] + (1 - b1) * gij
                v[i][j] = b2 * v[i][j] + (1 - b2) * gij * gij
                step_size, denom = lr / (1 - b1 ** t), math.sqrt(v[i][j]) / math.sqrt(1 - b2 ** t)
                want[i][j] = w - step_size * math.atan2(m[i][j], denom)
        for p, w in zip(params, want):
            np.testing.assert_allclose(p.detach().reshape(-1).numpy(), w, rtol=1e-12, atol=1e-14)
    assert float(params[1][0].detach()) == pytest.approx(want[1][0]) and math.isfinite(float(params[1][0].detach()))


def test_optimizer_setting_selects_and_old_runs_keep_adamw(cache):
    tcfg, mcfg = tiny(cache)
    assert tcfg.optimizer == "adam_atan2"
    data = load_task_data(tcfg, torch.device("cpu"))
    assert isinstance(Trainer(tcfg, mcfg, data, torch.device("cpu")).optimizer, AdamATan2)
    tcfg, mcfg = tiny(cache, optimizer="adamw")
    assert isinstance(Trainer(tcfg, mcfg, data, torch.device("cpu")).optimizer, torch.optim.AdamW)
    # A run saved before the setting existed was trained with AdamW and resumes with it.
    old, _ = build_configs("sudoku", {}, base_train={"lr": 1e-4})
    assert old.optimizer == "adamw"
    with pytest.raises(ValueError, match="optimizer must be"):
        build_configs("sudoku", {"optimizer": "sgd"})


# --- augmentations ----------------------------------------------------------------------------------------------------
def _valid_sudoku(cells: np.ndarray) -> bool:
    g = cells.reshape(9, 9)
    groups = [g[i] for i in range(9)] + [g[:, i] for i in range(9)]
    groups += [g[r:r + 3, c:c + 3].reshape(-1) for r in (0, 3, 6) for c in (0, 3, 6)]
    return all(sorted(x.tolist()) == list(range(1, 10)) for x in groups)


def test_sudoku_augment_keeps_puzzles_valid_and_consistent(cache):
    tcfg, _ = tiny(cache)
    data = load_task_data(tcfg, torch.device("cpu"))
    inputs, labels = data.train.inputs[:64].long(), data.train.labels[:64].long()
    aug_in, aug_lab = sudoku_augment(inputs, labels, torch.Generator().manual_seed(1))
    assert not torch.equal(aug_in, inputs)
    for x, y in zip(aug_in.numpy(), aug_lab.numpy()):
        assert _valid_sudoku(y - 1)                               # tokens: digit d is d + 1
        given = x >= 2
        assert np.array_equal(x[given], y[given])                 # the clues are still the solution's digits
    # Same number of clues per puzzle: a symmetry only moves and relabels cells.
    assert torch.equal((aug_in >= 2).sum(1), (inputs >= 2).sum(1))
    # Each example draws its own symmetry: one puzzle repeated 64 times comes out 64 different ways.
    same = sudoku_augment(inputs[:1].repeat(64, 1), labels[:1].repeat(64, 1), torch.Generator().manual_seed(2))[1]
    assert len({tuple(s.tolist()) for s in same}) == 64


def test_sudoku_blanks_mode_builds_unique_puzzles_from_full_grids(cache):
    tcfg, _ = tiny(cache, sudoku_blanks="10-20", train_size="64", eval_size="16")
    data = load_task_data(tcfg, torch.device("cpu"))
    blanks = (data.train.inputs == 1).sum(1)                  # token 1 = blank
    assert len(data.train) == 64 and blanks.min() >= 1 and blanks.max() <= 20 and blanks.float().mean() > 12
    for x, y in zip(data.train.inputs.long().numpy(), data.train.labels.long().numpy()):
        assert _valid_sudoku(y - 1) and np.array_equal(x[x >= 2], y[x >= 2])
    assert "random_full_grids" in data.info["source"]


def test_maze_augment_is_one_of_the_eight_symmetries():
    rng = np.random.default_rng(0)
    grids = rng.integers(1, 6, size=(16, 30, 30))
    inputs = torch.from_numpy(grids.reshape(16, -1))
    out_in, out_lab = maze_augment(inputs, inputs + 1, torch.Generator().manual_seed(0), dihedral_index(30, "cpu"))
    assert torch.equal(out_lab, out_in + 1)
    used = set()
    for g, o in zip(grids, out_in.numpy()):
        ks = [k for k in range(8) if np.array_equal(dihedral(g, k).reshape(-1), o)]
        assert ks
        used.add(ks[0])
    assert len(used) >= 6                 # 16 independent draws out of 8 transforms


@pytest.mark.parametrize("size", [30, 8])
def test_arc_canvas_matches_the_task_encoder(size):
    """The on-device drawing equals trm_viz.tasks.arc's (official layout), for every symmetry and placement, on the
    30x30 canvas and on a small model's."""
    rng = np.random.default_rng(3)
    for k in range(8):
        for h, w in ((3, 7), (30, 30), (1, 29), (12, 5), (8, 8), (2, 6)):
            if max(h, w) > size:
                continue
            grid = rng.integers(0, 10, size=(h, w))
            aug = ArcAug.random(rng)
            aug = ArcAug(k, aug.perm)
            dr, dc = int(rng.integers(0, size + 1 - max(h, w))), int(rng.integers(0, size + 1 - max(h, w)))
            padded = np.zeros((size, size), np.int64)
            padded[:h, :w] = grid
            got = arc_canvas(torch.from_numpy(padded)[None], torch.tensor([h]), torch.tensor([w]), torch.tensor([k]),
                             torch.tensor([dr]), torch.tensor([dc]), torch.tensor([aug.perm]))
            np.testing.assert_array_equal(got[0].numpy(), encode_grid(aug.apply(grid), (dr, dc), size))


# --- training ---------------------------------------------------------------------------------------------------------
def test_tiny_model_learns_real_sudoku(cache):
    tcfg, mcfg = tiny(cache)
    data = load_task_data(tcfg, torch.device("cpu"))
    trainer = Trainer(tcfg, mcfg, data, torch.device("cpu"))
    logs: list[dict] = []
    trainer.run(max_steps=60, deadline=lambda s: False, log=logs.append)
    assert trainer.step == 60
    first, last = logs[0]["lm_loss"], logs[-1]["lm_loss"]
    # Uniform guessing over 11 tokens costs ~2.4; copying the clues and learning the digit statistics alone should
    # take a 60-step model well below it.
    assert first > 2.2 and last < 0.85 * first, [round(m["lm_loss"], 3) for m in logs]
    assert logs[-1]["cell_acc"] > 0.25
    assert any(m["halted"] > 0 for m in logs)


def test_numeric_modes_agree(cache):
    """float32, bfloat16 autocast and pure bfloat16 (activations and carry) compute the same first losses."""
    losses = {}
    for dtype in ("float32", "bfloat16", "bfloat16-pure"):
        tcfg, mcfg = tiny(cache, dtype=dtype, global_batch_size="8")
        trainer = Trainer(tcfg, mcfg, load_task_data(tcfg, torch.device("cpu")), torch.device("cpu"))
        logs: list[dict] = []
        trainer.run(max_steps=2, deadline=lambda s: False, log=logs.append)
        losses[dtype] = [m["loss"] for m in logs]
        assert trainer.slots.z_H.dtype == (torch.bfloat16 if dtype == "bfloat16-pure" else torch.float32)
    for dtype in ("bfloat16", "bfloat16-pure"):
        assert losses[dtype] == pytest.approx(losses["float32"], rel=2e-2)


def test_a_compile_that_fails_falls_back_instead_of_ending_the_run(cache, monkeypatch):
    """The first GPU session lost its first command to a compiler bug (compile=step: Triton "PassManager::run
    failed"). A compiled mode that fails at its first step now falls back, step -> net -> off, and the run goes on;
    an error after a compiled step has run, or in eager mode, is raised as before."""
    def broken_compile(module, *args, **kwargs):      # what torch.compile does to a module, with a compiler bug
        def fail(*a, **k):
            raise RuntimeError("PassManager::run failed\nmore detail")
        module._compiled_call_impl = fail

    monkeypatch.setattr(torch.nn.Module, "compile", broken_compile)
    tcfg, mcfg = tiny(cache, compile="step", global_batch_size="8")
    said: list[str] = []
    trainer = Trainer(tcfg, mcfg, load_task_data(tcfg, torch.device("cpu")), torch.device("cpu"), say=said.append)
    logs: list[dict] = []
    trainer.run(max_steps=2, deadline=lambda s: False, log=logs.append)
    assert trainer.compile == "off" and trainer.step == 2 and all(math.isfinite(m["loss"]) for m in logs)
    assert len(said) == 2 and "compile=step failed" in said[0] and "falling back to compile=net" in said[0]
    assert "RuntimeError: PassManager::run failed)" in said[0] and "falling back to compile=off" in said[1]

    broken_compile(trainer.step_module)                  # a failure after steps have run is not a compiler hiccup
    with pytest.raises(RuntimeError, match="PassManager"):
        trainer.train_step()
    fresh = Trainer(tcfg, mcfg, trainer.data, torch.device("cpu"), say=said.append)
    fresh._set_compile("off")                            # a real bug in eager mode: raised, no fallback message
    monkeypatch.setattr(fresh.model, "supervision_step", lambda *a, **k: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        fresh.train_step()
    assert len(said) == 2


def test_a_fused_kernel_that_fails_is_turned_off_first(cache, monkeypatch):
    """With the optional fused kernel on, a first step that fails turns the kernel off and keeps the compile mode."""
    from trm_viz.model import fused_mlp_t, layers

    def broken(h):
        if fused_mlp_t._enabled:
            raise RuntimeError("triton: out of resources")
        return False

    monkeypatch.setattr(fused_mlp_t, "_enabled", False)            # restored whatever happens
    monkeypatch.setattr(fused_mlp_t, "available", lambda: True)
    monkeypatch.setattr(fused_mlp_t, "_load", lambda: None)
    monkeypatch.setattr(layers, "use_fused", broken)
    tcfg, mcfg = tiny(cache, fused_mlp_t="true", global_batch_size="8")
    said: list[str] = []
    trainer = Trainer(tcfg, mcfg, load_task_data(tcfg, torch.device("cpu")), torch.device("cpu"), say=said.append)
    assert fused_mlp_t._enabled
    trainer.run(max_steps=2, deadline=lambda s: False, log=lambda m: None)
    assert trainer.step == 2 and trainer.compile == "off" and not fused_mlp_t._enabled
    assert said == ["the first step failed with the fused MLP over positions (RuntimeError: triton: out of "
                    "resources); turning it off"]


def test_evaluate_reports_every_step_and_matches_forward(cache):
    tcfg, mcfg = tiny(cache)
    data = load_task_data(tcfg, torch.device("cpu"))
    trainer = Trainer(tcfg, mcfg, data, torch.device("cpu"))
    trainer.run(max_steps=15, deadline=lambda s: False, log=lambda m: None)
    model = trainer.ema_model()
    inputs, labels = data.eval.inputs[:20], data.eval.labels[:20]
    res = evaluate(model, inputs, labels, batch_size=8)
    assert res["n"] == 20 and len(res["exact_by_step"]) == 16 and len(res["cell_acc_by_step"]) == 16
    assert all(0.0 <= v <= 1.0 for v in res["exact_by_step"] + [res["exact_at_halt"], res["halt_accuracy"]])
    assert 1.0 <= res["mean_steps"] <= 16.0
    # Per-step cell accuracy equals running the model's own forward for that many steps.
    with torch.no_grad():
        for steps in (1, 3):
            logits, _ = model(inputs.long(), torch.zeros(20, dtype=torch.long), steps=steps)
            acc = (logits.argmax(-1) == labels.long()).float().mean(-1).mean().item()
            assert math.isclose(res["cell_acc_by_step"][steps - 1], acc, abs_tol=1e-5)


def test_puzzle_rows_find_the_puzzles_that_halt_on_a_wrong_answer():
    """eval --per-puzzle: right at step 4 but halting at step 2 is a halt too early; a puzzle that never halts is
    scored at its last step."""
    from trm_viz.train.evaluate import puzzle_rows

    exact = np.array([[0, 0, 0, 1], [0, 1, 1, 0], [0, 0, 0, 0]], bool)
    q = np.array([[0.1, 0.7, 0.9, 0.9], [0.1, 0.2, 0.8, 0.9], [0.1, 0.1, 0.2, 0.3]])
    rows = puzzle_rows(exact, q)
    assert [(r["halt_step"], r["right_at_halt"], r["first_right_step"], r["right_at_last"]) for r in rows] == [
        (2, False, 4, True), (3, True, 2, False), (None, False, None, False)]
    assert rows[0]["q_halt_at_halt"] == 0.7 and rows[2]["q_halt_at_halt"] == 0.3 and rows[1]["exact_by_step"] == "0110"


@pytest.mark.parametrize("task", ["maze", "arc"])
def test_maze_and_arc_train_and_evaluate(cache, task):
    tcfg, mcfg = build_configs(task, {"hidden_size": "32", "num_heads": "2", "L_layers": "1", "H_cycles": "1",
                                      "L_cycles": "1", "global_batch_size": "4", "train_size": "16",
                                      "eval_size": "4", "arc_variants": "4", "data_dir": cache})
    data = load_task_data(tcfg, torch.device("cpu"))
    if task == "arc":
        mcfg = mcfg.replace(num_puzzle_identifiers=data.num_puzzle_identifiers, puzzle_names=data.puzzle_names)
        assert data.num_puzzle_identifiers == 1 + 4 * 400 and data.puzzle_names[1] == "007bbfb7"
        assert data.puzzle_names[2].startswith("007bbfb7|||t")
    trainer = Trainer(tcfg, mcfg, data, torch.device("cpu"))
    logs: list[dict] = []
    emb_before = trainer.model.puzzle_emb.weights.detach().clone()
    trainer.run(max_steps=3, deadline=lambda s: False, log=logs.append)
    assert all(math.isfinite(m["loss"]) for m in logs)
    changed = (trainer.model.puzzle_emb.weights != emb_before).any(-1)
    if task == "arc":   # sign-SGD touches only the rows of puzzles in the batches, nothing else
        assert 0 < int(changed.sum()) <= 3 * 4
    else:
        assert changed.tolist() == [True]
    ids = data.eval.puzzle_identifiers
    res = evaluate(trainer.ema_model(), *split_tokens(task, data.eval)[:2], ids, batch_size=4, steps=2)
    assert res["n"] == 4 and len(res["exact_by_step"]) == 2


def test_small_arc_canvas_keeps_only_the_tasks_that_fit(cache):
    """arc_size=6: a 36-token model, trained and scored only on tasks whose every grid is at most 6x6; the samples
    are the official layout of that canvas (translated, so inside it)."""
    tcfg, mcfg = build_configs("arc", {"arc_size": "6", "arc_variants": "2", "data_dir": cache})
    assert mcfg.seq_len == 36
    data = load_task_data(tcfg, torch.device("cpu"))
    ids = data.info["task_ids"]
    assert data.info["tasks"] == len(ids) == 46 and data.info["skipped_too_big"] == 400 - 46
    assert "3c9b0459" in ids and "007bbfb7" not in ids            # 3x3 rotate vs 9x9 fractal
    assert data.train.inputs.shape[1:] == (6, 6) and data.eval.shapes.max() <= 6
    inputs, labels, _ = BatchSampler("arc", data.train, augment=True, seed=0).sample(32)
    assert inputs.shape == labels.shape == (32, 36)
    one = build_configs("arc", {"arc_size": "6", "arc_tasks": "3c9b0459", "data_dir": cache, "arc_variants": "2"})[0]
    names = load_task_data(one, torch.device("cpu")).puzzle_names          # arc_tasks narrows the choice further
    assert len(names) == 3 and names[1] == "3c9b0459" and names[2].startswith("3c9b0459|||t")


def test_arc_pass_at_2_votes_over_variants_in_the_tasks_frame(cache):
    """The exact outputs in every variant's frame vote to pass@1 = 1; when most variants agree on a wrong grid the
    right one still passes at 2 (second-most votes) but not at 1; a real model run reports every test pair."""
    from trm_viz.train.vote_eval import arc_pass_at_k, score_votes, variant_canvases, variant_ids
    tcfg, mcfg = build_configs("arc", {"hidden_size": "32", "num_heads": "2", "L_layers": "1", "H_cycles": "1",
                                       "L_cycles": "1", "eval_size": "6", "arc_variants": "4", "data_dir": cache})
    data = load_task_data(tcfg, torch.device("cpu"))
    ids = variant_ids(data.eval)
    assert ids.shape == (6 * 4,) and ids[:4].tolist() == [data.eval.puzzle_identifiers[0] + v for v in range(4)]
    oracle = variant_canvases(data.eval, "labels", ids).numpy()
    q = np.full(len(ids), 0.9)
    assert score_votes(data.eval, ids, oracle, q) == {"pass_at_1": 1.0, "pass_at_2": 1.0, "n": 6, "variants": 4}
    off = data.eval.labels.clone()
    off[:, 0, 0] = (off[:, 0, 0] + 1) % 10                # one wrong cell, in the task's own frame
    wrong = variant_canvases(dataclasses.replace(data.eval, labels=off), "labels", ids).numpy()
    wrong[::4] = oracle[::4]                               # the identity variant right, the other 3 agree wrongly
    res = score_votes(data.eval, ids, wrong, q)
    assert (res["pass_at_1"], res["pass_at_2"]) == (0.0, 1.0)
    mcfg = mcfg.replace(num_puzzle_identifiers=data.num_puzzle_identifiers, puzzle_names=data.puzzle_names)
    res = arc_pass_at_k(TRM(mcfg), data.eval, steps=1, batch_size=8)
    assert (res["n"], res["variants"], res["steps"]) == (6, 4, 1) and 0 <= res["pass_at_1"] <= res["pass_at_2"] <= 1


def test_small_maze_canvas_sets_the_model_size_and_trains(cache):
    """--set maze_size=8: 8x8 mazes (path >= the scaled Maze-Hard filter), a 64-token model, dihedral augmentation
    on the 8x8 canvas, and a held-out set the trace's task reads."""
    from trm_viz.tasks.maze import shortest_paths
    from trm_viz.train.augment import BatchSampler
    tcfg, mcfg = build_configs("maze", {"maze_size": "8", "hidden_size": "32", "num_heads": "2", "L_layers": "1",
                                        "H_cycles": "1", "L_cycles": "1", "global_batch_size": "4",
                                        "train_size": "16", "eval_size": "4", "data_dir": cache})
    assert mcfg.seq_len == 64
    data = load_task_data(tcfg, torch.device("cpu"))
    assert tuple(data.train.inputs.shape) == (16, 64) and data.info["min_path"] == 8
    task = get_task("maze", mcfg.seq_len)
    inputs, labels, _ = BatchSampler("maze", data.train, True, seed=0).sample(8)
    for x, y in zip(inputs.numpy(), labels.numpy()):     # a transformed maze keeps its unique shortest path
        solution, length, n_paths = shortest_paths(task.decode(x))
        assert n_paths == 1 and length >= 8 and solution.tolist() == task.decode(y).tolist()
    trainer = Trainer(tcfg, mcfg, data, torch.device("cpu"))
    logs: list[dict] = []
    trainer.run(max_steps=2, deadline=lambda s: False, log=logs.append)
    assert all(math.isfinite(m["loss"]) for m in logs)
    with pytest.raises(ValueError, match="maze_size must be between 5 and 30"):
        build_configs("maze", {"maze_size": "40"})


def test_maze_size_curriculum_mixes_sizes_and_keeps_full_size_held_out(cache):
    """--set maze_sizes=5-8 on an 8x8 canvas: every training maze is a real maze (one shortest path, the label its
    path) of one of the sizes, walls around the smaller ones; the held-out mazes are all 8x8 as without it."""
    from trm_viz.tasks.maze import WALL, shortest_paths
    base = {"maze_size": "8", "train_size": "40", "eval_size": "8", "data_dir": cache}
    tcfg, mcfg = build_configs("maze", {**base, "maze_sizes": "5-8"})
    data = load_task_data(tcfg, torch.device("cpu"))
    task = get_task("maze", mcfg.seq_len)
    extents = set()
    for x, y in zip(data.train.inputs.numpy(), data.train.labels.numpy()):
        maze = task.decode(x)
        solution, _, n_paths = shortest_paths(maze)
        assert n_paths == 1 and solution.tolist() == task.decode(y).tolist()
        rows, cols = np.nonzero(maze != WALL)
        extents.add(max(rows.max() - rows.min(), cols.max() - cols.min()) + 1)
    assert min(extents) <= 5 and max(extents) >= 7          # small and full-size mazes both present
    plain, _ = build_configs("maze", base)
    held_out = load_task_data(plain, torch.device("cpu")).eval.inputs
    assert torch.equal(data.eval.inputs, held_out) and "5-8" in data.info["source"]
    with pytest.raises(ValueError, match="maze_sizes must lie within 5-8"):
        build_configs("maze", {**base, "maze_sizes": "4-8"})

