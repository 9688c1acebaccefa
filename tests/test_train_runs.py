"""The `python -m trm_viz.train` command: budgeted runs that resume and add up in the model card, the output folder
limits (a large ARC embedding table), the lr schedule over a run's budget, ARC pass@2 in the card, bad command
lines, and 2-process DDP on the CPU."""
from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp

from train_fixtures import TINY, cache, one_thread, tiny  # noqa: F401  (fixtures; pytest puts tests/ on sys.path)
from trm_viz.model.checkpoints import load_checkpoint
from trm_viz.model.trm import TRM
from trm_viz.train.__main__ import main as train_main
from trm_viz.train.budget import budget_share, first_step_warning, fit_evaluation
from trm_viz.train.card import new_card, render_readme
from trm_viz.train.config import build_configs
from trm_viz.train.data import load_task_data
from trm_viz.train.loop import Trainer
from trm_viz.train.state import load_run, save_run


def test_large_arc_table_ships_identity_rows_and_resumes_whole(tmp_path):
    """A 512-wide ARC model with 16 variants x 400 tasks: model.safetensors keeps one row per task (< 16 MB) while
    the full table goes to its own file, and resuming restores every row."""
    _, mcfg = build_configs("arc", {})
    names = ["<blank>"] + [f"{t:08x}" if v == 0 else f"{t:08x}|||t1|||0123456789" for t in range(400)
                           for v in range(16)]
    mcfg = mcfg.replace(num_puzzle_identifiers=len(names), puzzle_names=names)
    torch.manual_seed(0)
    model = TRM(mcfg)
    with torch.no_grad():
        model.puzzle_emb.weights.normal_()
    card = new_card("arc")
    save_run(tmp_path, model, model, {"task": "arc"}, 7, card, render_readme(card))
    sizes = {f.name: f.stat().st_size for f in tmp_path.iterdir()}
    assert "puzzle_emb.safetensors" in sizes and len(sizes) <= 8 and max(sizes.values()) < 16 * 2**20
    shipped, _ = load_checkpoint(tmp_path)
    assert shipped.config.num_puzzle_identifiers == 401 and shipped.config.puzzle_names[1] == "00000000"
    torch.testing.assert_close(shipped.puzzle_emb.weights[1], model.puzzle_emb.weights[1].detach().bfloat16().float())
    resumed = load_run(tmp_path)
    assert resumed.step == 7 and resumed.raw_state["puzzle_emb.weights"].shape == (len(names), 512)


def _run_cli(cache: str, out: Path, *extra: str, without: tuple[str, ...] = ()) -> None:
    args = ["--task", "sudoku", "--out", str(out), "--eval-size", "24"]
    for k, v in TINY.items():
        if k not in ("eval_size", *without):
            args += ["--set", f"{k}={v}"]
    args += ["--set", f"data_dir={cache}", "--set", "log_every=4", *extra]
    assert train_main(args) == 0


def test_budgeted_runs_resume_and_add_up(cache, tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    _run_cli(cache, first, "--max-steps", "6")
    _run_cli(cache, second, "--resume", str(first), "--max-steps", "5", "--minutes", "5")
    card = json.loads((second / "card.json").read_text())
    assert card["total_steps"] == 11
    assert [r["steps"] for r in card["runs"]] == [6, 5]
    assert card["runs"][1]["steps_start"] == 6
    assert all(len(r["eval"]["exact_by_step"]) == 16 for r in card["runs"])
    # the end-of-run vote over 16 symmetric copies of every held-out puzzle, beside the plain accuracy
    assert all(r["eval"]["vote_variants"] == 16 and r["eval"]["vote_n"] == r["eval"]["n"] for r in card["runs"])
    files = list(second.iterdir())
    assert len(files) <= 8 and all(f.stat().st_size < 16 * 2**20 for f in files)
    assert {"config.json", "model.safetensors", "train_state.safetensors", "card.json", "README.md",
            "metrics.jsonl", "train.log"} <= {f.name for f in files}
    rows = [json.loads(line) for line in (second / "metrics.jsonl").read_text().splitlines()]
    steps = [r["step"] for r in rows]
    assert steps[0] == 1 and steps[-1] == 11 and 6 in steps      # both runs' metrics, in order
    assert [r["run"] for r in rows] == [1 if r["step"] <= 6 else 2 for r in rows]   # each line names its run
    # how far each run is through its budget (the progress bar of the log) once the line's step is done
    used = [r.get("budget_used") for r in rows if r["step"] in (1, 6, 7, 11) and "loss" in r]
    assert used == pytest.approx([1 / 6, 1.0, 1 / 5, 1.0], abs=1e-6)
    log = (second / "train.log").read_text()
    assert "[##........]  20% of budget" in log and log.count("[##########] 100% of budget") == 2
    assert log.count('   training: {"task": "sudoku"') == 2 and '"lr_min_ratio": 1.0' in log   # each run's settings
    readme = (second / "README.md").read_text()
    assert "| 2 |" in readme and "exact@16" in readme and "Vote over symmetric copies" in readme
    assert "| optimizer | Adam-atan2" in readme                     # the training table names the optimizer
    model, info = load_checkpoint(second)                          # the shipped EMA weights load for inference
    assert isinstance(model, TRM) and model.config.hidden_size == 32 and info["format"] == "trm_viz"
    cfg = json.loads((second / "config.json").read_text())
    assert cfg["weights_dtype"] == "float32" and cfg["step"] == 11 and cfg["weights"] == "ema"


def test_eval_only_scores_a_run_at_another_depth_and_records_it_without_training(cache, tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    _run_cli(cache, first, "--max-steps", "4")
    _run_cli(cache, second, "--resume", str(first), "--eval-only", "--set", "H_cycles=3")
    card = json.loads((second / "card.json").read_text())
    assert card["total_steps"] == 4 and [r["steps"] for r in card["runs"]] == [4, 0]
    assert [(r["H_cycles"], r["L_cycles"]) for r in card["runs"]] == [(2, 2), (3, 2)]
    assert len(card["runs"][1]["eval"]["exact_by_step"]) == 16
    before, after = load_checkpoint(first)[0], load_checkpoint(second)[0]
    assert after.config.H_cycles == 3                              # the app now runs it at the new depth...
    for (k, a), b in zip(before.state_dict().items(), after.state_dict().values()):
        assert torch.equal(a, b), k                                # ... with the very same weights
    readme = (second / "README.md").read_text()
    assert "| training runs | 1 |" in readme and "| 3, 2 |" in readme
    with pytest.raises(SystemExit, match="--eval-only evaluates a trained run: it needs --resume"):
        _run_cli(cache, tmp_path / "c", "--eval-only")


def test_a_sudoku_run_also_scores_puzzles_that_need_search(cache, tmp_path):
    """sudoku_hard_eval: the end-of-run evaluation scores a second held-out set, puzzles our solver needs >= 20
    guesses for; the card, its README table and the app's training history keep it apart from the main set."""
    from trm_viz.model.history import read_history
    from trm_viz.tasks import get_task
    from trm_viz.tasks.sudoku_solver import rating

    out = tmp_path / "run"
    _run_cli(cache, out, "--max-steps", "3", "--set", "sudoku_hard_eval=6", "--set", "vote_variants=0")
    hard = json.loads((out / "card.json").read_text())["runs"][0]["eval"]["hard"]
    assert hard["n"] == 6 and hard["min_guesses"] == 20 and hard["median_guesses"] >= 20
    assert len(hard["exact_by_step"]) == 16 and 0.0 <= hard["exact_at_halt"] <= 1.0
    [cached] = Path(cache).glob("sudoku-hard-*.npz")
    trained = set()
    for other in Path(cache).glob("sudoku-*.npz"):       # every training set in this module's cache
        if other != cached:
            with np.load(other) as d:
                trained |= {r.tobytes() for r in d["train_inputs"]}
    with np.load(cached) as z:                     # the puzzles really need search; none is a training puzzle
        puzzles = [get_task("sudoku").decode(row) for row in z["inputs"]]
        assert trained and not {r.tobytes() for r in z["inputs"]} & trained
    assert all(rating(p) >= 20 for p in puzzles)
    assert "minimal puzzles, >= 20 guesses" in (out / "README.md").read_text()
    assert "eval (EMA), >= 20 guesses: exact by step" in (out / "train.log").read_text()
    history = read_history(out)
    assert [e.held_out for e in history.evaluations] == ["minimal puzzles", "minimal puzzles, >= 20 guesses"]


def test_budget_share_counts_steps_or_training_time():
    """The lr_min_ratio cosine follows the share of the run's budget used: of --max-steps, or of the time the
    --minutes budget leaves for training (evaluation and saving set aside), whichever is further along."""
    inf = float("inf")
    assert budget_share(5, 10, 3.0, inf) == 0.5                   # steps only
    assert budget_share(5, 0, 30.0, 90.0) == 0.25                 # time only: 30 s used, 90 s left to train
    assert budget_share(5, 10, 90.0, 30.0) == 0.75                # both: the further one
    assert budget_share(50, 10, 100.0, -5.0) == 1.0               # past the budget: capped
    assert budget_share(7, 0, 30.0, inf) == 0.0                   # no budget: the lr stays constant


def test_lr_min_ratio_anneals_the_lr_over_the_runs_budget(cache):
    """lr_min_ratio < 1: after warm-up the lr follows a cosine from lr to lr * lr_min_ratio over the run's budget
    (here 10 steps), so a short budgeted run ends annealed; 1.0 (the default) keeps it constant."""
    def lrs_used(ratio: str) -> list[float]:
        tcfg, mcfg = tiny(cache, lr_min_ratio=ratio, lr_warmup_steps="1", global_batch_size="8")
        trainer = Trainer(tcfg, mcfg, load_task_data(tcfg, torch.device("cpu")), torch.device("cpu"))
        used, step = [], trainer.optimizer.step
        trainer.optimizer.step = lambda: (used.append(trainer.optimizer.param_groups[0]["lr"]), step())[1]
        trainer.run(max_steps=10, deadline=lambda s: False, log=lambda m: None, progress=lambda done: done / 10)
        return used

    annealed = lrs_used("0.1")
    cosine = [3e-3 * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * k / 10))) for k in range(10)]
    assert annealed == pytest.approx(cosine)          # the lr of step k+1 follows the share of the budget used, k/10
    assert annealed[0] == pytest.approx(3e-3) and annealed[-1] < 0.13 * 3e-3
    assert lrs_used("1.0") == pytest.approx([3e-3] * 10)
    with pytest.raises(ValueError, match="lr_min_ratio must be in"):
        tiny(cache, lr_min_ratio="1.5")


def test_arc_run_reports_pass_at_2_in_its_card(cache, tmp_path):
    args = ["--task", "arc", "--out", str(tmp_path), "--eval-size", "4", "--max-steps", "2"]
    for k, v in {"hidden_size": 32, "num_heads": 2, "L_layers": 1, "H_cycles": 1, "L_cycles": 1,
                 "global_batch_size": 4, "arc_variants": 2, "data_dir": cache}.items():
        args += ["--set", f"{k}={v}"]
    assert train_main(args) == 0
    ev = json.loads((tmp_path / "card.json").read_text())["runs"][0]["eval"]
    assert ev["vote_variants"] == 2 and ev["n"] == 4 and 0 <= ev["pass_at_1"] <= ev["pass_at_2"] <= 1
    # the vote after every one of the 16 steps, the last being the reported number, and the card's columns for it
    assert len(ev["pass_at_2_by_step"]) == 16 and ev["pass_at_2_by_step"][-1] == ev["pass_at_2"]
    readme = (tmp_path / "README.md").read_text()
    assert "| run | pass@1 | pass@2 | pass@2@1 | pass@2@2 | pass@2@4 | pass@2@8 | variants voted | n |" in readme
    assert "vote over 2 variants" in (tmp_path / "train.log").read_text()


def test_sigterm_ends_a_run_with_its_evaluation_and_checkpoint(cache, tmp_path):
    """A job's time limit (SIGTERM) or Ctrl-C in a background job does not lose the run: it is evaluated and saved."""
    import signal
    import subprocess
    import sys
    import time

    args = [sys.executable, "-m", "trm_viz.train", "--task", "sudoku", "--out", str(tmp_path / "run"),
            "--eval-size", "8", "--device", "cpu"]
    for k, v in {**TINY, "data_dir": cache, "log_every": "1", "vote_variants": "2"}.items():
        args += ["--set", f"{k}={v}"]
    proc = subprocess.Popen(args, cwd=Path(__file__).resolve().parents[1], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        for line in proc.stdout:       # wait until it trains
            if line.startswith("step"):
                break
        time.sleep(1.0)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=240)
    finally:
        proc.kill()
    assert proc.returncode == 0, out
    assert "interrupted: evaluating and saving" in out
    card = json.loads((tmp_path / "run" / "card.json").read_text())
    assert card["total_steps"] >= 1 and len(card["runs"][0]["eval"]["exact_by_step"]) == 16
    assert card["runs"][0]["ended"] == "interrupted"
    logged = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert max(m["step"] for m in logged if "loss" in m) == card["total_steps"]      # its last steps logged too
    assert isinstance(load_checkpoint(tmp_path / "run")[0], TRM)


def test_refuses_to_overwrite_a_run_or_other_files(cache, tmp_path):
    """--out never replaces another run (not even one a --resume run would write over) or someone's own files: a
    README.md there would become the model card."""
    _run_cli(cache, tmp_path / "a", "--max-steps", "1", "--no-eval")
    _run_cli(cache, tmp_path / "b", "--max-steps", "1", "--no-eval")
    with pytest.raises(SystemExit, match="already holds a training run"):
        _run_cli(cache, tmp_path / "a", "--max-steps", "1")
    card = (tmp_path / "b" / "card.json").read_text()
    with pytest.raises(SystemExit, match=r"--out .*b already holds a training run: pass --resume .*b --out .*b"):
        _run_cli(cache, tmp_path / "b", "--resume", str(tmp_path / "a"), "--max-steps", "1")
    assert (tmp_path / "b" / "card.json").read_text() == card
    mine = tmp_path / "project"
    mine.mkdir()
    (mine / "README.md").write_text("my notes")
    with pytest.raises(SystemExit, match=r"--out .*project holds other files \(README.md\)"):
        _run_cli(cache, mine, "--max-steps", "1")
    assert (mine / "README.md").read_text() == "my notes"
    _run_cli(cache, tmp_path / "a", "--resume", str(tmp_path / "a"), "--max-steps", "1", "--no-eval")  # its own


def test_a_resume_drops_metrics_past_its_saved_step_and_refuses_nan_weights(cache, tmp_path):
    """A run killed before it saved (kill -9, a crash) left metrics past the saved step: the resumed run trains those
    steps again, so its log must not step backwards. A diverged (NaN) training state is refused, and a loss that
    turns NaN ends a run without saving over the folder."""
    from safetensors import safe_open
    from safetensors.torch import save_file

    run = tmp_path / "a"
    _run_cli(cache, run, "--max-steps", "4", "--no-eval")
    with open(run / "metrics.jsonl", "a") as f:
        f.write(json.dumps({"step": 50, "loss": 1.0}) + "\n")
    _run_cli(cache, run, "--resume", str(run), "--max-steps", "2", "--no-eval")
    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert steps == sorted(steps) and steps[-1] == 6 and 50 not in steps
    history = json.loads((run / "card.json").read_text())["runs"]
    assert history[0]["no_eval"] is True

    with safe_open(str(run / "train_state.safetensors"), framework="pt") as f:
        meta, state = f.metadata(), {k: f.get_tensor(k) for k in f.keys()}
    bad = tmp_path / "nan"
    bad.mkdir()
    for name in ("config.json", "model.safetensors", "card.json"):
        (bad / name).write_bytes((run / name).read_bytes())
    save_file({k: v.fill_(float("nan")) if v.is_floating_point() else v for k, v in state.items()},
              str(bad / "train_state.safetensors"), metadata=meta)
    with pytest.raises(SystemExit, match="holds NaN or infinite weights"):
        _run_cli(cache, tmp_path / "c", "--resume", str(bad), "--max-steps", "1")

    before = (run / "model.safetensors").read_bytes()
    with pytest.raises(SystemExit, match="training diverged"):
        _run_cli(cache, run, "--resume", str(run), "--max-steps", "20", "--no-eval", "--set", "lr=1e30",
                 "--set", "lr_warmup_steps=0", "--set", "optimizer=adamw")
    assert (run / "model.safetensors").read_bytes() == before


def test_a_resume_after_eval_only_trains_at_the_trained_depth(cache, tmp_path):
    """--eval-only at H_cycles 3 writes that depth into the folder's config (for the app); training resumed from it
    goes on at the depth it trained at, and says so."""
    first, scored, more = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    _run_cli(cache, first, "--max-steps", "2", "--no-eval")
    _run_cli(cache, scored, "--resume", str(first), "--eval-only", "--set", "H_cycles=3", "--set", "vote_variants=0")
    _run_cli(cache, more, "--resume", str(scored), "--max-steps", "1", "--no-eval", without=("H_cycles",))
    runs = json.loads((more / "card.json").read_text())["runs"]
    assert [(r["steps"], r["H_cycles"]) for r in runs] == [(2, 2), (0, 3), (1, 2)]
    assert "training at the depth of the last training run (H_cycles 2" in (more / "train.log").read_text()


def test_the_vote_gives_way_when_it_would_take_the_budget():
    """A short run skips the vote over symmetric copies when it would take over half of what is left, and says why;
    an evaluation that cannot fit at all is a warning (the run ends late)."""
    assert fit_evaluation(600, 10, 100) == (True, [])
    keep, said = fit_evaluation(100, 10, 146)
    assert not keep and said[0].startswith("budget: the vote over variants (~146 s) would take over half")
    keep, said = fit_evaluation(100, 250, 0)
    assert keep and "the held-out evaluation alone (~250 s) does not fit the 100 s left" in said[0]
    # a CPU run whose first step would outlast --minutes says so first (the paper Sudoku config: 32.8 TFLOP a step)
    assert first_step_warning(1e6, 30, 0.5) is None
    said = first_step_warning(32.8e12, 28, 0.5)
    assert said.startswith("budget: one training step of this configuration is 32.8 TFLOP, about ") and \
        "more than the 28 s left of --minutes 0.5" in said


def test_the_minutes_budget_stops_training_when_evaluation_and_saving_need_the_rest(cache):
    """Budget.deadline on a clock: training goes on while two more steps fit besides the evaluation, the vote and
    saving; the first measured step decides once whether the vote fits; progress reaches 1 at the deadline."""
    import time

    from trm_viz.train.budget import SAVE_RESERVE_S, Budget

    tcfg, mcfg = tiny(cache, minutes=1.0, max_steps=0)
    said: list[str] = []
    now = time.time()
    budget = Budget(tcfg, mcfg, now, eval_bs=24, n_eval=24, n_hard=0, vote_rows=16, say=said.append)
    assert not budget.deadline(float("nan"))                     # no step measured yet: 60 s left is plenty
    assert not budget.deadline(0.01) and budget.vote and said == []     # a fast step: the vote fits, nothing said
    assert 0 < budget.train_left < 60 - SAVE_RESERVE_S
    slow = Budget(tcfg, mcfg, now, eval_bs=24, n_eval=24, n_hard=0, vote_rows=16, say=said.append)
    assert not slow.deadline(0.5) and not slow.vote              # a slow step: the vote gives way, and it is said
    assert len(said) == 1 and said[0].startswith("budget: the vote over variants")
    late = Budget(tcfg, mcfg, now - 55, eval_bs=24, n_eval=24, n_hard=0, vote_rows=0, say=said.append)
    late.t_train = now - 50
    assert late.deadline(0.01) and late.progress(100) == 1.0     # 5 s left, 8 s reserved for saving: stop


@pytest.mark.parametrize("extra,message", [
    (["--resume", "{tmp}/nowhere"], r"error: .*nowhere is not a folder"),
    (["--resume", "{tmp}"], r"error: .* has no train_state.safetensors: it is not a resumable training run"),
    (["--set", "hidden_size=abc"], r"error: --set hidden_size=abc: expected an integer$"),
    (["--config", "{tmp}"], r"error: --config .* is a folder; it wants a JSON file"),
    (["--config", "{tmp}/bad.json"], r"error: --config .*bad.json is not valid JSON \(line 1"),
    (["--config", "{tmp}/list.json"], r"error: hidden_size=\[64\]: expected an integer"),
    (["--out", "{tmp}/bad.json"], r"error: --out .*bad.json is not a writable folder"),
    (["--device", "gpu"], r"error: --device gpu: not a device name; use cuda, cuda:N or cpu$"),
    (["--set", "seq_len=100"], r"error: seq_len cannot be set: it follows the task"),
    (["--config", "{tmp}/bool.json"], r"error: hidden_size=true: expected an integer$"),
])
def test_bad_command_line_ends_with_one_clear_line(tmp_path, extra, message):
    """Mistakes in the command line stop the run before any data is built, with a message and no traceback."""
    (tmp_path / "bad.json").write_text("{hidden_size: 64}")
    (tmp_path / "list.json").write_text('{"hidden_size": [64]}')
    (tmp_path / "bool.json").write_text('{"hidden_size": true}')
    args = ["--task", "sudoku", "--out", str(tmp_path / "out"), "--max-steps", "1"]
    args += [a.replace("{tmp}", str(tmp_path)) for a in extra]
    with pytest.raises(SystemExit, match=message) as stop:
        train_main(args)
    assert "\n" not in str(stop.value.code)
    assert not (tmp_path / "out" / "train_state.safetensors").exists()


def test_resume_refuses_settings_that_change_the_architecture(cache, tmp_path):
    _run_cli(cache, tmp_path / "a", "--max-steps", "1", "--no-eval")
    with pytest.raises(SystemExit, match=r"error: --resume .*a: its weights fix the architecture, and these settings "
                                         r"would change it: hidden_size 32 -> 48, L_layers 1 -> 2 \(") as stop:
        _run_cli(cache, tmp_path / "b", "--resume", str(tmp_path / "a"), "--max-steps", "1",
                 "--set", "hidden_size=48", "--set", "L_layers=2")
    assert "\n" not in str(stop.value.code) and not (tmp_path / "b").exists()
    _run_cli(cache, tmp_path / "c", "--resume", str(tmp_path / "a"), "--max-steps", "1", "--no-eval",
             "--set", "L_cycles=3")                               # the recursion depth may change


def test_unknown_setting_is_a_readable_error():
    with pytest.raises(ValueError, match="unknown setting 'hiden_size'"):
        build_configs("sudoku", {"hiden_size": "64"})
    with pytest.raises(ValueError, match="expected an integer"):
        build_configs("sudoku", {"hidden_size": "big"})


# --- DDP --------------------------------------------------------------------------------------------------------------
def _ddp_worker(rank: int, world: int, cache: str, port: int, result_dir: str) -> None:
    import torch.distributed as dist
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        tcfg, mcfg = tiny(cache, lr_min_ratio="0.1")
        data = load_task_data(tcfg, torch.device("cpu"))
        trainer = Trainer(tcfg, mcfg, data, torch.device("cpu"), rank=rank, world_size=world)
        logs: list[dict] = []
        # ranks that measure their budget differently (their clocks) must still anneal the lr alike
        trainer.run(max_steps=4, deadline=lambda s: False, log=logs.append, progress=lambda done: (done + rank) / 8)
        flat = torch.cat([p.detach().reshape(-1) for p in trainer.model.parameters()])
        torch.save({"flat": flat, "logs": logs, "batch": trainer.batch, "progress": trainer.progress},
                   Path(result_dir) / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def test_two_process_ddp_keeps_ranks_identical(cache, tmp_path):
    tcfg, _ = tiny(cache)
    load_task_data(tcfg, torch.device("cpu"))          # build the cache once, before the workers read it
    port = 29500 + os.getpid() % 1000
    mp.spawn(_ddp_worker, args=(2, cache, port, str(tmp_path)), nprocs=2, join=True)
    r0, r1 = (torch.load(tmp_path / f"rank{r}.pt") for r in (0, 1))
    assert r0["batch"] == r1["batch"] == 16                           # the global batch is split
    assert torch.equal(r0["flat"], r1["flat"])
    assert r0["progress"] == r1["progress"] == 5 / 8                  # the larger of the two ranks' shares
    # ... and the weights did move away from the shared initialisation
    tcfg, mcfg = tiny(cache)
    torch.manual_seed(tcfg.seed)
    init = torch.cat([p.detach().reshape(-1) for p in TRM(mcfg).parameters()])
    assert not torch.allclose(init, r0["flat"])
    assert r0["logs"][-1]["loss"] == pytest.approx(r1["logs"][-1]["loss"])   # metrics are reduced over ranks
