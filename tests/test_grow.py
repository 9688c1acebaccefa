"""Growing a trained run wider (`python -m trm_viz.train.grow`): the grown model answers exactly as the small one
did, its channel copies can still grow apart, and the written folder resumes like any run."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from train_fixtures import TINY, cache, one_thread  # noqa: F401  (fixtures; pytest puts tests/ on sys.path)
from trm_viz.model.checkpoints import load_checkpoint
from trm_viz.model.config import TRMConfig
from trm_viz.model.trm import TRM
from trm_viz.train.__main__ import main as train_main
from trm_viz.train.grow import grow_state, grown_config, main as grow_main


def _trained_looking(cfg: TRMConfig) -> TRM:
    torch.manual_seed(0)
    model = TRM(cfg)
    with torch.no_grad():        # no zero halting head or zero puzzle embedding: every weight matters
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return model


@pytest.mark.parametrize("mlp_t,pos", [(True, "none"), (False, "rope"), (False, "learned")])
def test_grown_model_gives_the_same_answers_and_halting(mlp_t, pos):
    old = TRMConfig(vocab_size=11, seq_len=16, hidden_size=32, num_heads=4, expansion=2, L_layers=2, mlp_t=mlp_t,
                    pos_encodings=pos, puzzle_emb_ndim=32, puzzle_emb_len=2, num_puzzle_identifiers=3,
                    H_cycles=2, L_cycles=2)
    small = _trained_looking(old)
    new = grown_config(old, 64, 8.0)           # twice as wide, a channel SwiGLU of 512 units instead of 256
    big = TRM(new)
    big.load_state_dict(grow_state(small.state_dict(), old, new, noise=0.5))
    assert big.L_level.layers[0].mlp.down_proj.weight.shape == (64, 512)
    x, ids = torch.randint(0, 11, (6, 16)), torch.randint(0, 3, (6,))
    with torch.no_grad():
        for steps in (1, 2):
            a, qa = small(x, ids, steps=steps)
            b, qb = big(x, ids, steps=steps)
            assert torch.allclose(a, b, atol=1e-3) and torch.allclose(qa, qb, atol=1e-3), steps
    # the two copies of each channel read it through different weights (so training can tell them apart)
    w = big.lm_head.weight
    assert not torch.allclose(w[:, :32], w[:, 32:])
    assert torch.allclose(w[:, :32] + w[:, 32:], small.lm_head.weight, atol=1e-6)


def test_grow_refuses_what_it_cannot_keep():
    old = TRMConfig(hidden_size=32, num_heads=4, puzzle_emb_ndim=32, L_layers=1)
    state = TRM(old).state_dict()
    for new, message in ((old.replace(hidden_size=48, puzzle_emb_ndim=48), "whole multiple"),
                         (grown_config(old, 64, None).replace(L_layers=2), "L_layers"),
                         (grown_config(old, 64, 2.0), "expansion can only grow"),
                         (grown_config(old, 64, None).replace(num_heads=4), "num_heads must become 8")):
        with pytest.raises(ValueError, match=message):
            grow_state(state, old, new)


def test_grown_run_scores_the_same_then_resumes_and_keeps_its_card(cache, tmp_path, capsys):
    small_run, grown, more = tmp_path / "small", tmp_path / "grown", tmp_path / "more"
    common = ["--set", f"data_dir={cache}", "--set", "vote_variants=0", "--set", "log_every=4"]
    args = ["--task", "sudoku", "--out", str(small_run), "--max-steps", "4"]
    for k, v in TINY.items():
        args += ["--set", f"{k}={v}"]
    assert train_main(args + common) == 0
    assert grow_main([str(small_run), str(grown), "--hidden-size", "64", "--expansion", "8"]) == 0
    a, b = load_checkpoint(small_run)[0], load_checkpoint(grown)[0]
    assert b.config.hidden_size == 64
    x = torch.from_numpy(np.random.default_rng(0).integers(1, 11, (8, 81)))
    ids = torch.zeros(8, dtype=torch.long)
    with torch.no_grad():      # (a 4-step model's recursion is chaotic: float rounding grows ~3x per step)
        assert torch.allclose(a(x, ids, steps=2)[0], b(x, ids, steps=2)[0], atol=1e-3)
    assert train_main(["--resume", str(grown), "--out", str(more), "--max-steps", "3", *common]) == 0
    card = json.loads((more / "card.json").read_text())
    assert card["total_steps"] == 7 and [r["steps"] for r in card["runs"]] == [4, 3]
    assert card["model"]["hidden_size"] == 64 and card["parameters"] == b.num_parameters()
    readme = (more / "README.md").read_text()
    assert "grown from hidden_size 32, expansion 2.0 to 64, expansion 8.0" in readme
    assert "| hidden_size | 64 |" in readme
    # a second grow into the same folder, or from a folder that is not a run: one line, exit status 2
    capsys.readouterr()
    assert grow_main([str(small_run), str(grown), "--hidden-size", "64"]) == 2
    assert grow_main([str(tmp_path / "nothing"), str(tmp_path / "x"), "--hidden-size", "64"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("error: ") for line in err)


def test_arc_run_moves_to_a_larger_canvas_with_more_tasks_and_resumes(cache, tmp_path, capsys):
    """`grow --canvas` on ARC: every weight carries over, the puzzle embeddings of the tasks it knew move by name, the
    tasks the larger canvas admits start at zero, and the folder resumes on the larger canvas."""
    small_run, moved, more = tmp_path / "small", tmp_path / "moved", tmp_path / "more"
    args = ["--task", "arc", "--out", str(small_run), "--eval-size", "4", "--max-steps", "2"]
    for k, v in {"hidden_size": 32, "num_heads": 2, "L_layers": 1, "H_cycles": 1, "L_cycles": 1, "arc_size": 4,
                 "global_batch_size": 4, "arc_variants": 2, "vote_variants": 0, "data_dir": cache}.items():
        args += ["--set", f"{k}={v}"]
    assert train_main(args) == 0
    assert grow_main([str(small_run), str(moved), "--canvas", "5", "--data-dir", cache]) == 0
    a, b = load_checkpoint(small_run)[0], load_checkpoint(moved)[0]
    assert (a.config.seq_len, b.config.seq_len) == (16, 25)
    assert b.config.num_puzzle_identifiers > a.config.num_puzzle_identifiers       # 5x5 admits more tasks
    sa, sb = a.state_dict(), b.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa if not k.startswith("puzzle_emb."))
    rows_a = dict(zip(a.config.puzzle_names, sa["puzzle_emb.weights"]))
    rows_b = dict(zip(b.config.puzzle_names, sb["puzzle_emb.weights"]))
    kept = set(rows_a) & set(rows_b)
    tasks_a = {n for n in a.config.puzzle_names if "|" not in n and n != "<blank>"}
    assert tasks_a <= kept                                           # every task's identity row at least
    assert all(torch.equal(rows_a[n], rows_b[n]) for n in kept)
    assert all(not rows_b[n].any() for n in set(rows_b) - kept)      # the rest start at zero, as a fresh run's
    assert train_main(["--resume", str(moved), "--out", str(more), "--max-steps", "2"]) == 0
    card = json.loads((more / "card.json").read_text())
    assert card["total_steps"] == 4 and card["runs"][-1]["train_config"]["arc_size"] == 5
    assert "moved from the 4x4 canvas to 5x5" in (more / "README.md").read_text()
    # what it cannot move says so in one line: a smaller canvas, or a model tied to its positions (not ARC)
    capsys.readouterr()
    assert grow_main([str(moved), str(tmp_path / "x"), "--canvas", "4", "--data-dir", cache]) == 2
    assert "can only grow the canvas" in capsys.readouterr().err


def test_maze_run_moves_to_a_larger_canvas_and_resumes_there(cache, tmp_path, capsys):
    """`grow --canvas` on a maze model (attention + RoPE): the same weights read a larger canvas, the folder resumes
    on it (training mazes of the new size), and an MLP-T model, whose weights are tied to positions, is refused."""
    small_run, moved, more, mlp = (tmp_path / n for n in ("small", "moved", "more", "mlp"))
    tiny = {"hidden_size": 32, "num_heads": 2, "L_layers": 1, "H_cycles": 1, "L_cycles": 1, "maze_size": 5,
            "global_batch_size": 4, "train_size": 16, "vote_variants": 0, "data_dir": cache}
    args = ["--task", "maze", "--eval-size", "4", "--max-steps", "2"]
    for k, v in tiny.items():
        args += ["--set", f"{k}={v}"]
    assert train_main(args + ["--out", str(small_run)]) == 0
    assert grow_main([str(small_run), str(moved), "--canvas", "7", "--data-dir", cache]) == 0
    a, b = load_checkpoint(small_run)[0], load_checkpoint(moved)[0]
    assert (a.config.seq_len, b.config.seq_len) == (25, 49)
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)
    assert train_main(["--resume", str(moved), "--out", str(more), "--max-steps", "2"]) == 0
    card = json.loads((more / "card.json").read_text())
    assert card["total_steps"] == 4 and card["runs"][-1]["train_config"]["maze_size"] == 7
    assert card["runs"][-1]["eval"]["n"] > 0
    assert "moved from the 5x5 canvas to 7x7" in (more / "README.md").read_text()
    capsys.readouterr()
    assert train_main(args + ["--set", "mlp_t=true", "--set", "pos_encodings=none", "--out", str(mlp)]) == 0
    assert grow_main([str(mlp), str(tmp_path / "x"), "--canvas", "7", "--data-dir", cache]) == 2
    assert "without weights tied to positions" in capsys.readouterr().err
