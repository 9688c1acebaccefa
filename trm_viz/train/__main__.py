"""python -m trm_viz.train: train (or continue training) a TRM within a wall-clock budget, evaluate it on held-out
puzzles and write a small checkpoint folder with its model card.

    python -m trm_viz.train --task sudoku --minutes 8 --out runs/sudoku
    python -m trm_viz.train --task sudoku --resume checkpoints/sudoku --minutes 8 --out $OUT
    python -m trm_viz.train --task sudoku --set hidden_size=128 --set global_batch_size=64 --max-steps 500 --out x
    torchrun --nproc-per-node 4 -m trm_viz.train --task maze --minutes 9 --out runs/maze
    python -m trm_viz.train --resume checkpoints/sudoku-tiny --eval-only --set H_cycles=4 --out runs/deeper
"""
from __future__ import annotations

import time

_IMPORTED = time.time()   # run as a command, the --minutes budget counts from process start, imports included

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
from pathlib import Path  # noqa: E402

import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402

from ..cli import at_least  # noqa: E402
from ..tasks import get_task  # noqa: E402
from .augment import split_tokens  # noqa: E402
from .budget import Budget, first_step_warning  # noqa: E402
from .card import add_run, new_card, render_readme  # noqa: E402
from .checks import (check_device, check_out_folder, check_same_architecture, check_writable,  # noqa: E402
                     read_config_file, training_depth)
from .config import TASKS, build_configs, parse_overrides  # noqa: E402
from .data import build_or_load_arrays, hard_sudoku_eval, to_device  # noqa: E402
from .evaluate import evaluate  # noqa: E402
from .loop import Trainer, setup_device  # noqa: E402
from .state import load_run, save_run  # noqa: E402
from .vote_eval import vote_on_held_out  # noqa: E402



def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m trm_viz.train", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", choices=TASKS, help="puzzle type (default: the resumed run's, else sudoku)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override any TrainConfig/TRMConfig field, e.g. --set hidden_size=128 (repeatable)")
    p.add_argument("--config", help="JSON file of KEY: VALUE overrides (applied before --set)")
    p.add_argument("--minutes", type=at_least(0.01, float),
                   help="wall-clock budget of the whole run, evaluation and saving included")
    p.add_argument("--max-steps", type=at_least(1), help="stop after this many optimizer steps in this run")
    p.add_argument("--resume", help="a folder written by an earlier run: continue its weights, steps and card")
    p.add_argument("--out", required=True, help="output folder (at most 8 files, each < 16 MB)")
    p.add_argument("--data-size", type=at_least(1), help="training puzzles to generate (train_size)")
    p.add_argument("--eval-size", type=at_least(1), help="held-out puzzles to evaluate on (eval_size)")
    p.add_argument("--device", help="cuda, cuda:1, cpu (default: cuda when available)")
    p.add_argument("--seed", type=int)
    p.add_argument("--no-eval", action="store_true", help="skip the held-out evaluation at the end")
    p.add_argument("--eval-only", action="store_true",
                   help="train nothing: evaluate the --resume run as it is, e.g. at another --set H_cycles=N, and "
                        "add the result to its card as a run of 0 steps")
    return p.parse_args(argv)


class RunLog:
    """Progress lines to stdout + train.log, metrics to metrics.jsonl (rank 0 only; earlier runs' logs kept).
    Each metrics line names its ``run`` (1, 2, ...: the card's runs, in order), since ``elapsed_s`` restarts at 0
    in every run of a resumed training."""

    def __init__(self, out: Path, previous: dict[str, str], active: bool, t0: float, run: int = 1):
        self.active = active
        self.t0 = t0
        self.run = run
        if active:
            out.mkdir(parents=True, exist_ok=True)
            for name in ("train.log", "metrics.jsonl"):
                (out / name).write_text(previous.get(name, ""))
            self.log_f = open(out / "train.log", "a")
            self.metrics_f = open(out / "metrics.jsonl", "a")

    def line(self, text: str) -> None:
        if self.active:
            print(text, flush=True)
            self.log_f.write(text + "\n")
            self.log_f.flush()

    def metrics(self, m: dict) -> None:
        if not self.active:
            return
        m = {"run": self.run, "elapsed_s": round(time.time() - self.t0, 1), **m}
        self.metrics_f.write(json.dumps({k: round(v, 6) if isinstance(v, float) else v for k, v in m.items()}) + "\n")
        self.metrics_f.flush()
        bar = ""
        if "budget_used" in m:         # a progress bar over the run's budget (--minutes / --max-steps)
            filled = int(10 * m["budget_used"] + 0.5)
            bar = f" | [{'#' * filled}{'.' * (10 - filled)}] {100 * m['budget_used']:3.0f}% of budget"
        self.line(f"step {m['step']:>7} | loss {m['loss']:.4f} (lm {m['lm_loss']:.4f}, q {m['q_halt_loss']:.4f}) | "
                  f"train exact {100 * m['exact']:5.1f}% cells {100 * m['cell_acc']:5.1f}% | halt step "
                  f"{m['halt_steps']:4.1f} | lr {m['lr']:.2e} | {m['steps_per_s']:6.2f} steps/s | "
                  f"{m['elapsed_s']:.0f} s{bar}")

    def eval_result(self, step: int, result: dict) -> None:
        if self.active:
            self.metrics_f.write(json.dumps({"run": self.run, "step": step, "eval": result}) + "\n")
            self.metrics_f.flush()

    def close(self) -> None:
        if self.active:
            self.log_f.close()
            self.metrics_f.close()


def init_distributed(device_arg: str | None) -> tuple[int, int, torch.device]:
    if "LOCAL_RANK" not in os.environ:
        return 0, 1, setup_device(device_arg)
    local_rank = int(os.environ["LOCAL_RANK"])
    cuda = torch.cuda.is_available() and (device_arg is None or device_arg.startswith("cuda"))
    dist.init_process_group(backend="nccl" if cuda else "gloo")
    if cuda:
        torch.cuda.set_device(local_rank)
        return dist.get_rank(), dist.get_world_size(), setup_device(f"cuda:{local_rank}")
    # Processes share the CPU cores: split the threads instead of oversubscribing them.
    torch.set_num_threads(max(1, (os.cpu_count() or 1) // int(os.environ.get("LOCAL_WORLD_SIZE", "1"))))
    return dist.get_rank(), dist.get_world_size(), setup_device("cpu")


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _stop_signals_interrupt() -> dict:
    """While training, SIGTERM (a job's time limit, `timeout`, `kill`) and SIGINT end the run like Ctrl-C: evaluate
    and save what was trained. SIGINT needs it too: a shell starts background jobs with SIGINT ignored. Returns the
    handlers to restore (none off the main thread, where signals cannot be set)."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGTERM, signal.SIGINT)}


def main(argv: list[str] | None = None, started: float | None = None) -> int:
    """``started``: when the --minutes budget began (the command passes its process start; default: now)."""
    t0 = started or time.time()
    args = parse_args(argv)
    out = Path(args.out)
    # Bad settings, folders or files end the run with one line saying what is wrong (SystemExit), not a traceback.
    try:
        check_device(args.device)
        rank, world, device = init_distributed(args.device)
        resume = load_run(args.resume) if args.resume else None
        task = args.task or (resume.model_config.task if resume else "sudoku")
        if resume and resume.model_config.task and task != resume.model_config.task:
            raise ValueError(f"--task {task} does not match the resumed run's task {resume.model_config.task}")
        if args.eval_only and (not resume or args.no_eval):
            raise ValueError("--eval-only evaluates a trained run: it needs --resume DIR and not --no-eval")
        check_out_folder(out, args.resume)
        overrides: dict = read_config_file(args.config) if args.config else {}
        overrides.update(parse_overrides(args.overrides))
        for flag, key in (("data_size", "train_size"), ("eval_size", "eval_size"), ("seed", "seed"),
                          ("minutes", "minutes"), ("max_steps", "max_steps")):
            if getattr(args, flag) is not None:
                overrides[key] = getattr(args, flag)
        depth, depth_note = training_depth(resume, overrides) if resume and not args.eval_only else ({}, None)
        overrides.update(depth)
        base_model = resume.model_config.to_dict() if resume else None
        base_train = dict(resume.train_config, minutes=0.0, max_steps=0) if resume else None
        tcfg, mcfg = build_configs(task, overrides, base_model, base_train)
        if resume:
            check_same_architecture(resume.model_config, mcfg, args.resume)
        if rank == 0:
            check_writable(out)
    except (ValueError, TypeError) as e:      # TypeError: a --config value of the wrong JSON type
        raise SystemExit(f"python -m trm_viz.train: error: {e}") from None

    try:
        if rank == 0:   # one process generates and caches the data, the others read the cache
            arrays, info = build_or_load_arrays(tcfg)
        if world > 1:
            dist.barrier()
        if rank != 0:
            arrays, info = build_or_load_arrays(tcfg)
    except KeyboardInterrupt:
        raise SystemExit("python -m trm_viz.train: interrupted while generating the training data; nothing was "
                         "written") from None
    data = to_device(arrays, info, task, tcfg, device)
    if task == "arc":
        if resume and mcfg.puzzle_names and mcfg.puzzle_names != data.puzzle_names:
            raise SystemExit("the ARC puzzle identifiers differ from the resumed run's (other arc_variants, "
                             "arc_subsets or seed?)")
        mcfg = mcfg.replace(num_puzzle_identifiers=data.num_puzzle_identifiers, puzzle_names=data.puzzle_names)

    log = RunLog(out, resume.logs if resume else {}, active=rank == 0, t0=t0,
                 run=len(resume.card.get("runs", [])) + 1 if resume else 1)
    trainer = Trainer(tcfg, mcfg, data, device, start_step=resume.step if resume else 0,
                      raw_state=resume.raw_state if resume else None, ema_state=resume.ema_state if resume else None,
                      rank=rank, world_size=world, say=log.line)
    params = trainer.model.num_parameters()
    log.line(f"== {task}: {params:,} parameters, {len(data.train)} training / {len(data.eval)} held-out examples, "
             f"device {device} x{world}, batch {tcfg.global_batch_size}, compile {trainer.compile}, "
             f"dtype {trainer.dtype_mode}, "
             f"start step {trainer.step}" + (f" (resumed from {args.resume})" if resume else ""))
    log.line("   config: " + json.dumps({k: v for k, v in mcfg.to_dict().items() if k != "puzzle_names"}))
    log.line("   training: " + json.dumps(tcfg.to_dict()))    # lr, lr_min_ratio, ... (a resume inherits them)
    if depth_note:
        log.line("   " + depth_note)
    if resume and not args.eval_only:
        log.line(f"   resumed: weights, EMA and step {resume.step}; Adam's moments start afresh (they are not saved), "
                 f"so the lr warms up again over {tcfg.lr_rewarmup_steps} steps")

    eval_bs = tcfg.eval_batch_size or tcfg.global_batch_size
    n_eval = 0 if args.no_eval else len(data.eval)
    hard, hard_info = (hard_sudoku_eval(tcfg, arrays["train_inputs"], device)
                       if rank == 0 and n_eval and task == "sudoku" and tcfg.sudoku_hard_eval else (None, {}))
    n_hard = len(hard) if hard is not None else 0
    # The vote runs held-out puzzles again once per variant (ARC: every test input, per variant of its task;
    # Sudoku / maze: the first vote_size puzzles).
    vote_rows = (0 if not n_eval else tcfg.arc_variants if task == "arc" else
                 len(get_task(task, mcfg.seq_len).symmetries(tcfg.vote_variants)) if tcfg.vote_variants else 0)
    if task != "arc" and tcfg.vote_size and n_eval:
        vote_rows *= min(tcfg.vote_size, n_eval) / n_eval
    budget = Budget(tcfg, mcfg, t0, eval_bs=eval_bs, n_eval=n_eval, n_hard=n_hard, vote_rows=vote_rows,
                    say=log.line)

    last_train: dict = {}

    def on_metrics(m: dict) -> None:
        if tcfg.minutes > 0 or tcfg.max_steps > 0:
            # the share of the budget used once the logged step is done (the lr schedule read the share before it,
            # so the last line of a finished run says 100%)
            m = {**m, "budget_used": budget.progress(m["step"] - start_step)}
        last_train.update(m)
        log.metrics(m)

    if device.type == "cpu" and tcfg.minutes > 0 and not args.eval_only and rank == 0:
        from .bench import train_step_flops

        warning = first_step_warning(train_step_flops(mcfg, trainer.batch), tcfg.minutes * 60 - (time.time() - t0),
                                     tcfg.minutes)
        if warning:
            log.line(warning)
    budget.start(trainer)
    start_step = trainer.step
    previous = _stop_signals_interrupt() if world == 1 else {}    # DDP ranks would stop at different steps
    try:
        if not args.eval_only:
            trainer.run(max_steps=tcfg.max_steps, deadline=budget.deadline, log=on_metrics, progress=budget.progress)
    except KeyboardInterrupt:                     # before the loop began
        trainer.interrupted = True
    finally:
        for sig, handler in previous.items():     # a second signal while evaluating or saving stops at once
            signal.signal(sig, handler)
    if trainer.interrupted:
        log.line("interrupted: evaluating and saving what was trained so far")
    log.line(f"trained {trainer.step - start_step} steps in {time.time() - budget.t_train:.0f} s")
    if trainer.diverged:     # NaN weights must not replace a good run, nor be shipped
        log.line(f"the loss is not finite at step {trainer.step}: training diverged; nothing saved")
        log.close()
        raise SystemExit(f"python -m trm_viz.train: training diverged (loss {last_train.get('loss')} at step "
                         f"{trainer.step}); nothing was saved to {out}: lower --set lr=..., or resume from an "
                         "earlier folder")

    if rank == 0:
        ema_model = trainer.ema_model()
        eval_result = None
        if n_eval:
            inputs, labels, ids = split_tokens(task, data.eval)
            eval_result = evaluate(ema_model, inputs, labels, ids, batch_size=eval_bs, dtype=trainer.eval_dtype)
            log.line(_eval_line("eval (EMA): exact by step ", eval_result))
            if (task == "arc" or tcfg.vote_variants) and budget.vote:   # ARC: the paper's number; Sudoku /
                # maze: symmetric copies
                votes = vote_on_held_out(ema_model, task, data.eval, variants=tcfg.vote_variants,
                                         batch_size=eval_bs, dtype=trainer.eval_dtype, limit=tcfg.vote_size)
                eval_result.update(votes)
                log.line(f"eval (EMA): vote over {votes['vote_variants']} variants: pass@1 "
                         f"{100 * votes['pass_at_1']:.1f}% | pass@2 {100 * votes['pass_at_2']:.1f}% | "
                         f"n {votes['vote_n']} | {votes['vote_seconds']:.1f} s")
            if hard is not None:     # Sudoku: the puzzles that need search, scored apart
                h = evaluate(ema_model, *split_tokens(task, hard), batch_size=eval_bs, dtype=trainer.eval_dtype)
                log.line(_eval_line(f"eval (EMA), >= {hard_info['min_guesses']} guesses: exact by step ", h))
                eval_result["hard"] = {**hard_info, **{k: h[k] for k in ("n", "exact_by_step", "cell_acc_by_step",
                                                                         "exact_at_halt", "halt_accuracy",
                                                                         "mean_steps", "seconds")}}
            log.eval_result(trainer.step, eval_result)
        card = resume.card if resume and resume.card else new_card(task)
        minutes = (time.time() - t0) / 60
        add_run(card, device=device, processes=world, steps_start=start_step, steps_end=trainer.step,
                minutes=minutes, data_info=data.info, train_config=tcfg.to_dict(), model_config=mcfg,
                eval_result=eval_result, last_train=last_train or None, params=params,
                ended="interrupted" if trainer.interrupted else None, no_eval=args.no_eval)
        log.line(f"saving to {out} ({time.time() - t0:.0f} s since start)")
        log.close()
        save_run(out, trainer.model, ema_model, tcfg.to_dict(), trainer.step, card, render_readme(card))
        print(f"saved {out} after {time.time() - t0:.0f} s", flush=True)
    if world > 1:
        dist.barrier()
        dist.destroy_process_group()
    return 0


def _eval_line(head: str, r: dict) -> str:
    return (head + " ".join(f"{100 * v:.1f}" for v in r["exact_by_step"])
            + f" | cells at step {r['steps']} {100 * r['cell_acc_by_step'][-1]:.1f}% | at halt "
            f"{100 * r['exact_at_halt']:.1f}% | halt acc {100 * r['halt_accuracy']:.1f}% | mean steps "
            f"{r['mean_steps']} | n {r['n']} | {r['seconds']:.1f} s")


if __name__ == "__main__":
    sys.exit(main(started=_IMPORTED))
