"""The trace and the CLI on the shipped, trained Sudoku checkpoint: what a user of `python -m trm_viz` sees, and what a
recorded run holds of z_H and z_L against the model replayed by hand (a swap of z_H and z_L, or a step read one
late in the viewer's cells, passed every test before)."""
from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from trm_viz import trace as trace_mod
from trm_viz.model.checkpoints import load_checkpoint
from trm_viz.tasks import PuzzleError, get_task
from trm_viz.tasks.sudoku import is_solved
from trm_viz.viz import cells

ROOT = Path(__file__).resolve().parents[1]
CKPT = ROOT / "checkpoints" / "sudoku-tiny"
SUDOKU = get_task("sudoku")
EASY = SUDOKU.examples()["Warm-up 2 (40 blanks)"]
MEDIUM = SUDOKU.examples()["Medium 1 (generated)"]


@pytest.fixture(scope="module")
def model():
    return load_checkpoint(CKPT)[0]


@pytest.fixture(scope="module")
def easy_trace(model):
    return trace_mod.run(model, EASY, steps=16)


def test_trained_model_solves_an_easy_sudoku_checked_by_the_solver(easy_trace):
    final = easy_trace.answers[-1]
    assert is_solved(final, EASY), "the shipped tiny model should solve a 40-blank warm-up"
    assert (final == SUDOKU.solve(EASY)).all()
    assert easy_trace.exact is not None and easy_trace.exact[-1]
    assert easy_trace.halt_step is not None and easy_trace.q_halt_prob[easy_trace.halt_step - 1] > 0.5


def test_trace_records_every_step_and_inner_update(easy_trace, model):
    tr = easy_trace
    T, n = model.config.H_cycles, model.config.L_cycles
    assert tr.num_steps == 16 and len(tr.answers) == 16 and tr.q_halt_prob.shape == (16,)
    assert tr.inner_tokens.shape == (16, T * (n + 1), 9, 9) and len(tr.inner_kinds) == T * (n + 1)
    assert tr.z_H_proj.shape == (16, 9, 9, 3) and tr.z_L_delta.shape == (16, 9, 9)
    # the last inner update is the z_H update whose decode is the step's answer
    assert (tr.inner_tokens[:, -1] == tr.tokens).all() and tr.inner_kinds[-1] == f"H{T}"
    # step 1's changes are measured from the input: exactly the cells whose shown value differs
    assert (tr.changed[0] == (tr.answers[0] != tr.input_grid)).all() and tr.changed[0].sum() > 0
    assert all((tr.changed[i] == (tr.answers[i] != tr.answers[i - 1])).all() for i in range(1, 16))
    assert ((tr.confidence > 0) & (tr.confidence <= 1)).all()


def test_trace_is_deterministic_and_inference_counts_matter(model, easy_trace):
    again = trace_mod.run(model, EASY, steps=16)
    for a, b in [(easy_trace.tokens, again.tokens), (easy_trace.z_H_proj, again.z_H_proj),
                 (easy_trace.q_halt_prob, again.q_halt_prob)]:
        assert np.array_equal(a, b)
    short = trace_mod.run(model, EASY, steps=3, H_cycles=1, L_cycles=1)
    assert short.num_steps == 3 and short.inner_tokens.shape[1] == 2
    assert not np.array_equal(short.confidence, easy_trace.confidence[:3])


def test_one_step_at_twice_the_H_cycles_is_two_steps(model):
    """Only z_H and z_L pass between steps, so a step of T=4 computes what two steps of T=2 do (the teaching text
    and the README say so): the answer, its confidence and q_halt after step k at T=4 are those after step 2k at
    T=2."""
    deep = trace_mod.run(model, MEDIUM, steps=3, H_cycles=4)
    long = trace_mod.run(model, MEDIUM, steps=6, H_cycles=2)
    assert np.array_equal(deep.tokens, long.tokens[1::2])
    assert np.allclose(deep.confidence, long.confidence[1::2], atol=1e-5)
    assert np.allclose(deep.q_halt_prob, long.q_halt_prob[1::2], atol=1e-5)
    assert not np.array_equal(long.tokens[0], long.tokens[1])       # the steps in between do change the answer


def test_inner_change_shows_z_L_flipping_between_two_states_so_an_odd_L_cycles_fails(model, easy_trace):
    tr = easy_trace
    T, n = model.config.H_cycles, model.config.L_cycles
    assert tr.inner_change.shape == (16, T * (n + 1)) and np.isfinite(tr.inner_change).all()
    L = [k for k, kind in enumerate(tr.inner_kinds) if kind.startswith("L")]
    H = [k for k, kind in enumerate(tr.inner_kinds) if kind.startswith("H")]
    # every z_L update moves z_L by about its own size, z_H updates by a fraction of theirs...
    assert tr.inner_change[:, L].mean() > 0.7 and tr.inner_change[:, H].mean() < 0.5
    # ... yet the model solves the Wikipedia example at n = 2 or 4 updates and fails it at 3: z_L flips between two
    # states, and an odd n hands z_H the other one
    wikipedia = SUDOKU.examples()["Easy 1 (Wikipedia example)"]
    assert [bool(trace_mod.run(model, wikipedia, steps=16, L_cycles=n).exact[-1]) for n in (2, 3, 4)] == [
        True, False, True]


def test_json_and_npz_export(easy_trace, tmp_path):
    data = trace_mod.to_json(easy_trace)
    json.dumps(data)
    assert data["task"] == "sudoku" and data["halt_step"] == easy_trace.halt_step and len(data["steps"]) == 16
    s1 = data["steps"][0]
    assert {"step", "answer", "q_halt_prob", "changed_cells", "exact", "inner_answers", "inner_change"} <= set(s1)
    assert len(s1["inner_change"]) == len(data["inner_kinds"])
    assert len(s1["answer"]) == 9 and all(len(r) == 9 for r in s1["answer"])
    trace_mod.save_npz(easy_trace, tmp_path / "t.npz")
    with np.load(tmp_path / "t.npz") as z:
        assert z["tokens"].shape == (16, 9, 9) and int(z["halt_step"]) == easy_trace.halt_step
        assert z["inner_change"].shape == easy_trace.inner_change.shape


def test_wrong_task_for_the_checkpoint_is_refused(model):
    maze = next(iter(get_task("maze").examples().values()))
    with pytest.raises(PuzzleError, match="sudoku model"):
        trace_mod.run(model, maze)


def _cli(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "trm_viz", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def test_cli_trace_and_eval(tmp_path):
    puzzle = tmp_path / "p.txt"
    puzzle.write_text(SUDOKU.to_text(EASY.grid))
    out = tmp_path / "trace.json"
    r = _cli("trace", "--checkpoint", str(CKPT), "--task", "sudoku", "--input", str(puzzle), "--out", str(out))
    assert r.returncode == 0, r.stderr
    data = json.loads(out.read_text())
    assert data["task"] == "sudoku" and len(data["steps"]) == 16 and "halt_step" in data
    assert {"step", "answer", "q_halt_prob", "changed_cells"} <= set(data["steps"][0])

    lines = [f"{''.join(map(str, p.grid.ravel()))},{''.join(map(str, SUDOKU.solve(p).ravel()))}"
             for p in list(SUDOKU.examples().values())[:4]]
    data_file = tmp_path / "data.txt"
    # (a broken fifth line: --limit reads no further than it needs; a 200,000-line file took 69 s to score 5)
    data_file.write_text("# four examples\n" + "\n".join(lines) + "\nnot a sudoku\n")
    r = _cli("eval", "--checkpoint", str(CKPT), "--task", "sudoku", "--data", str(data_file), "--limit", "3")
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout.strip().splitlines()[-1])
    assert result["n"] == 3 and len(result["exact_by_step"]) == 16 and 0 <= result["exact_at_halt"] <= 1
    assert result["dtype"] == "float32"          # a tiny model: bfloat16 would gain nothing (model/precision.py)
    # one row a puzzle, which add up to the summary; q_halt's calibration counts every puzzle at every step
    r = _cli("eval", "--checkpoint", str(CKPT), "--task", "sudoku", "--data", str(data_file), "--limit", "3",
             "--per-puzzle", str(tmp_path / "rows.csv"))
    assert r.returncode == 0, r.stderr
    again = json.loads(r.stdout.strip().splitlines()[-1])
    rows = list(csv.DictReader((tmp_path / "rows.csv").open()))
    assert [row["puzzle"] for row in rows] == ["data.txt:2", "data.txt:3", "data.txt:4"]     # lines of the file
    assert sum(row["right_at_halt"] == "True" for row in rows) / 3 == pytest.approx(again["exact_at_halt"])
    assert [sum(row["exact_by_step"][k] == "1" for row in rows) / 3 for k in range(16)] == pytest.approx(
        again["exact_by_step"])
    assert sum(b["n"] for b in again["calibration"]) == 3 * 16 and "puzzles" not in again
    assert "3 puzzles written to" in r.stderr and "halt on a wrong answer" in r.stderr
    r = _cli("eval", "--checkpoint", str(CKPT), "--task", "sudoku", "--data", str(data_file), "--limit", "1",
             "--steps", "2", "--dtype", "bfloat16", "--out", str(tmp_path / "eval.json"))
    assert r.returncode == 0, r.stderr
    assert json.loads((tmp_path / "eval.json").read_text())["dtype"] == "bfloat16"


def test_cli_vote_ranks_an_arc_test_inputs_variants_and_eval_scores_the_vote(tmp_path):
    from trm_viz.tasks.arc_data import curated_tasks

    arc_ckpt = ROOT / "checkpoints" / "arc-tiny"
    task = tmp_path / "0d3d703e.json"          # the task id comes from the file name, as ARC's own files
    task.write_text(json.dumps(curated_tasks()["0d3d703e"]))
    out = tmp_path / "vote.json"
    r = _cli("vote", "--checkpoint", str(arc_ckpt), "--task", "arc", "--input", str(task), "--steps", "3",
             "--variants", "8", "--out", str(out))
    assert r.returncode == 0, r.stderr
    data = json.loads(out.read_text())
    assert data["arc_task_id"] == "0d3d703e" and len(data["variants"]) == 8 and data["available_variants"] == 16
    assert [s["step"] for s in data["steps"]] == [1, 2, 3] and data["steps"][-1]["pass_at_2"] is True
    # eval scores the vote beside the identity run: warm-up puzzles the model solves, by both
    data_file = tmp_path / "warm.txt"
    data_file.write_text("\n".join("".join(map(str, p.grid.ravel())) for name, p in SUDOKU.examples().items()
                                   if name.startswith("Warm-up")))
    r = _cli("eval", "--checkpoint", str(CKPT), "--task", "sudoku", "--data", str(data_file), "--steps", "8",
             "--variants", "4")
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout.strip().splitlines()[-1])
    assert result["n"] == 3 and result["vote"]["variants"] == 4 and len(result["vote"]["exact_by_step"]) == 8
    assert result["vote"]["exact_by_step"][-1] == result["exact_by_step"][-1] == 1.0
    r = _cli("vote", "--checkpoint", str(CKPT), "--task", "sudoku", "--example", "Warm-up 2 (40 blanks)",
             "--variants", "40")
    assert r.returncode == 2 and r.stderr.startswith("error: ") and "from 1 to 32" in r.stderr


@pytest.mark.parametrize("content,message", [
    ("12345", "81"),                                   # too short
    ("55" + "." * 79, "two 5s"),                      # clashing clues
    (b"\xff\xfe\x00bad", "starts as UTF-16 text but is not"),      # not text
])
def test_cli_bad_input_gives_one_clear_line(tmp_path, content, message):
    f = tmp_path / "bad.txt"
    f.write_bytes(content if isinstance(content, bytes) else content.encode())
    r = _cli("trace", "--checkpoint", str(CKPT), "--task", "sudoku", "--input", str(f))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.startswith("error: ") and message in r.stderr


def test_cli_bad_checkpoint_gives_one_clear_line(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "model.safetensors").write_bytes(b"\x00" * 100)
    r = _cli("trace", "--checkpoint", str(tmp_path), "--task", "sudoku", "--example", "Warm-up 2 (40 blanks)")
    assert r.returncode == 2 and "Traceback" not in r.stderr and "safetensors" in r.stderr


def test_arc_answer_right_inside_the_grid_is_right_whatever_the_padding_holds():
    """ARC labels leave the canvas outside the output (and its end markers) as padding, which is not scored, as in
    training and the official metric; what is shown changes only inside the answer's rectangle."""
    arc = get_task("arc")
    puzzle = next(iter(arc.examples().values()))
    label = arc.encode(puzzle.solution).reshape(30, 30)
    noisy = label.copy()
    noisy[label == 0] = 7                                   # garbage colours where the label is padding
    rec = {k: [] for k in ("zHd", "zLd", "zHp", "zLp", "secs")}
    rec.update(tokens=[noisy], conf=[np.ones((30, 30))], q=[2.0], inner=[noisy[None]], moved=[np.ones(1)],
               zHd=[np.zeros((30, 30))], zLd=[np.zeros((30, 30))], zHp=[np.zeros((30, 30, 3))],
               zLp=[np.zeros((30, 30, 3))], secs=[0.0])
    tr = trace_mod._assemble(arc, puzzle, arc.encode(puzzle.grid), rec, ["H1"], label.reshape(-1),
                             puzzle.solution, {})
    assert tr.exact[0] and tr.cell_accuracy[0] == 1.0 and tr.halt_step == 1
    assert (tr.answers[0] == puzzle.solution).all()
    h, w = puzzle.solution.shape
    assert not tr.changed[0, h + 1:, w + 1:].any()          # invisible padding changes are not "changes"


def test_a_model_for_other_sizes_is_refused_with_a_reason(model):
    from trm_viz.model.trm import TRM

    taskless = TRM(model.config.replace(task=""))
    maze = next(iter(get_task("maze").examples().values()))
    with pytest.raises(PuzzleError, match="reads 81 tokens of 11 kinds; a maze puzzle is 900 tokens"):
        trace_mod.check_compatible(taskless.config, get_task("maze"))
    # 81 tokens would also be a 9x9 maze canvas: then the token kinds are what differs
    with pytest.raises(PuzzleError, match="reads tokens of 11 kinds; a maze puzzle uses 6 kinds"):
        trace_mod.run(taskless, maze)


def test_cli_refuses_bad_counts_and_unwritable_outputs(tmp_path):
    data_file = tmp_path / "d.txt"
    data_file.write_text(f"{''.join(map(str, EASY.grid.ravel()))}\n")
    for flags, message in ((["--steps", "-3"], "steps must be a whole number from 1 to 64"),
                           (["--L-cycles", "100"], "L_cycles must be a whole number from 1 to 32"),
                           (["--batch-size", "0"], "batch_size must be a whole number >= 1"),
                           (["--limit", "-3"], "--limit: must be at least 0")):      # not "all but the last 3"
        r = _cli("eval", "--checkpoint", str(CKPT), "--task", "sudoku", "--data", str(data_file), *flags)
        assert r.returncode == 2 and "Traceback" not in r.stderr and message in r.stderr, r.stderr
    r = _cli("trace", "--checkpoint", str(CKPT), "--task", "sudoku", "--input", str(data_file), "--example", "x")
    assert r.returncode == 2 and "not allowed with argument" in r.stderr                 # which one was meant?
    r = _cli("trace", "--checkpoint", str(CKPT), "--task", "sudoku", "--input", str(data_file), "--steps", "2",
             "--out", str(tmp_path / "missing" / "t.json"))
    assert r.returncode == 2 and "Traceback" not in r.stderr and "No such file or directory" in r.stderr
    r = _cli("trace", "--checkpoint", str(CKPT), "--task", "sudoku", "--input", str(data_file), "--steps", "2",
             "--npz", str(tmp_path / "t.npz"))
    assert r.returncode == 0 and json.loads(r.stdout)["num_steps"] == 2 and (tmp_path / "t.npz").is_file()


def test_bench_names_an_unknown_config_in_one_line():
    r = _cli("bench", "--configs", "checkpoints/nowhere")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert ("no config, shipped checkpoint or checkpoint folder (with a config.json) named checkpoints/nowhere; "
            "choose from") in r.stderr


def test_cli_generate_writes_a_held_out_set_eval_reads(tmp_path):
    """A researcher's own held-out set: hard Sudokus (20+ solver guesses, as the cards' hard set) and 8x8 mazes
    with their solutions, in the files eval reads; ARC says where its puzzles come from."""
    from trm_viz.tasks.sudoku_solver import rating

    hard = tmp_path / "hard.txt"
    r = _cli("generate", "--task", "sudoku", "--n", "3", "--min-guesses", "20", "--out", str(hard))
    assert r.returncode == 0 and "3 sudoku puzzles with their solutions" in r.stderr, r.stderr
    puzzles = SUDOKU.load_data_file(hard)
    assert len(puzzles) == 3 and all(rating(p.grid) >= 20 for p in puzzles)
    assert all((SUDOKU.solve(p) == p.solution).all() for p in puzzles)
    mazes = tmp_path / "mazes.txt"
    assert _cli("generate", "--task", "maze", "--size", "8", "--n", "2", "--out", str(mazes)).returncode == 0
    r = _cli("eval", "--checkpoint", str(ROOT / "checkpoints" / "maze-tiny"), "--task", "maze", "--data", str(mazes))
    assert r.returncode == 0 and json.loads(r.stdout.strip().splitlines()[-1])["n"] == 2, r.stderr
    r = _cli("generate", "--task", "arc", "--out", str(tmp_path / "arc.json"))
    assert r.returncode == 2 and "arc-agi_training_challenges.json" in r.stderr


def test_each_latents_move_and_colours_are_its_own(model):
    """z_H_delta / z_L_delta: how far that latent moved in the step, per cell; z_H_proj: the state in the basis
    chosen at step 1 (the colours keep their meaning across steps)."""
    recorded = trace_mod.run(model, EASY, steps=3)
    P = model.puzzle_emb_len
    with torch.inference_mode():
        x = model.input_embeddings(torch.as_tensor(recorded.input_tokens)[None], torch.tensor([0]))
        z, basis = model.initial_latents(1), None
        for i in range(3):
            new = model.supervision_step(*z, x)[:2]
            for k, (old_z, new_z) in enumerate(zip(z, new)):
                moved = (new_z - old_z)[0, P:].norm(dim=-1).reshape(9, 9).numpy()
                np.testing.assert_allclose((recorded.z_H_delta, recorded.z_L_delta)[k][i], moved, rtol=1e-4,
                                           atol=1e-5)
            if basis is None:
                basis = trace_mod._pca_basis(new[0][0, P:].float())
            np.testing.assert_allclose(recorded.z_H_proj[i], (new[0][0, P:].float() @ basis).reshape(9, 9, 3).numpy(),
                                       rtol=1e-4, atol=1e-4)
            z = new


def test_each_step_shows_its_own_confidence_and_moves(model):
    recorded = trace_mod.run(model, EASY, steps=3)
    for k in (1, 2, 3):
        c = cells.step_cells(recorded, k)
        assert np.array_equal(c.confidence, recorded.confidence[k - 1])
        assert np.array_equal(c.z_H_delta, recorded.z_H_delta[k - 1])
        assert np.array_equal(c.z_L_delta, recorded.z_L_delta[k - 1])
    with pytest.raises(ValueError, match="steps 1 to 3"):
        cells.step_cells(recorded, 0)                    # not the last step by Python's -1


def test_each_cell_records_the_chance_of_its_right_value(model, easy_trace):
    """p_right: the probability the model gives the right token. It equals the confidence where the chosen token is
    the right one, stays below it elsewhere, goes out in the JSON and the viewer, and is absent when the answer is
    unknown (a wrong answer the model "almost knows" shows as a runner-up near 0.5)."""
    p, conf, right = easy_trace.p_right, easy_trace.confidence, easy_trace.correct
    assert p.shape == conf.shape and np.allclose(p[right], conf[right]) and (p <= conf + 1e-6).all()
    assert (p[~right] < 0.5).all()                  # a wrong chosen token: the right one is not the favourite
    assert trace_mod.to_json(easy_trace)["steps"][0]["p_right"] == np.round(p[0].astype(np.float64), 3).tolist()
    from trm_viz.viz.viewer_data import viewer_data

    shown = viewer_data(easy_trace, SUDOKU, EASY)["steps"][-1]["pr"]
    assert shown == "".join(chr(48 + v) for v in np.clip(np.round(p[-1] * 9), 0, 9).astype(int).ravel())
    open_grid = SUDOKU.parse("123456789" + "." * 72)            # many solutions: no answer to score against
    blind = trace_mod.run(model, open_grid, steps=1)
    assert blind.solution is None and blind.p_right is None and "p_right" not in trace_mod.to_json(blind)["steps"][0]
    assert viewer_data(blind, SUDOKU, open_grid)["steps"][0]["pr"] is None
