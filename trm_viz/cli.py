"""Command line: ``python -m trm_viz trace|vote|eval|generate|bench|train ...``.

Every expected failure (a bad puzzle file, a wrong checkpoint) prints one clear line to stderr and exits with
status 2; an unexpected one (a bug) prints one line too and exits with 1 (TRM_VIZ_DEBUG=1: the traceback).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from pathlib import Path

import numpy as np

from .model.checkpoints import CheckpointError, load_checkpoint, one_line
from .model import precision
from .tasks import TASK_NAMES, PuzzleError, get_task
from .tasks.arc import recognise
from . import trace as trace_mod


def at_least(low: float, kind=int):
    """An argparse type: a number of ``kind`` no smaller than ``low`` (a negative --limit or --minutes is refused
    with a message, not taken as "all" or "no limit")."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a {'whole ' if kind is int else ''}number") from None
        if not value >= low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, got {text}")
        return value
    return parse


def _load_model(path: str, task_name: str):
    """(model, info, task): the task as this model reads it (a maze model's canvas size)."""
    model, info = load_checkpoint(path)
    task = get_task(task_name, model.config.seq_len)
    trace_mod.check_compatible(model.config, task)
    return model, info, task


def _read_input(path: str) -> bytes:
    p = Path(path)
    if p.is_dir():
        raise PuzzleError(f"{path} is a folder; give a puzzle file.")
    if not p.is_file():
        raise PuzzleError(f"No such input file: {path}")
    from .tasks import MAX_INPUT_BYTES

    if p.stat().st_size > MAX_INPUT_BYTES:
        raise PuzzleError(f"{path} is {p.stat().st_size / 1e6:.1f} MB; the limit is {MAX_INPUT_BYTES / 1e6:.0f} MB.")
    return p.read_bytes()


def _puzzle(args, task):
    """The puzzle of --example or --input (ARC: --arc-task, --test-index), its validation notes on stderr."""
    if args.example:
        examples = task.examples()
        if args.example not in examples:
            raise PuzzleError(f"No {args.task} example named {args.example!r}; there are: {', '.join(examples)}.")
        puzzle = examples[args.example]
    elif args.input:
        arc = {"task_id": args.arc_task, "test_index": args.test_index} if args.task == "arc" else {}
        puzzle = task.parse(_read_input(args.input), filename=args.input, **arc)
        if args.task == "arc" and (said := recognise(puzzle)):
            print(f"note: {said}", file=sys.stderr)
    else:
        raise PuzzleError("Give --input FILE or --example NAME.")
    for note in task.validate(puzzle):
        print(f"note: {note}", file=sys.stderr)
    return puzzle


def _write(data: dict, out: str | None) -> None:
    if out:
        Path(out).write_text(json.dumps(data))
    else:
        print(json.dumps(data))


def cmd_trace(args) -> int:
    model, info, task = _load_model(args.checkpoint, args.task)
    puzzle = _puzzle(args, task)
    tr = trace_mod.run(model, puzzle, steps=args.steps, H_cycles=args.H_cycles, L_cycles=args.L_cycles)
    tr.meta["checkpoint"] = info["path"]
    _write(trace_mod.to_json(tr), args.out)
    if args.npz:
        trace_mod.save_npz(tr, args.npz)
    final = tr.answers[-1]
    summary = {"steps": tr.num_steps, "halt_step": tr.halt_step, "q_halt_prob_last": float(tr.q_halt_prob[-1]),
               "exact_last": None if tr.exact is None else bool(tr.exact[-1]),
               "seconds": round(sum(tr.meta["step_seconds"]), 3)}
    print(task.to_text(final), file=sys.stderr)
    print(json.dumps(summary), file=sys.stderr)
    return 0


def cmd_vote(args) -> int:
    from .vote import run_vote, to_json

    model, info, task = _load_model(args.checkpoint, args.task)
    puzzle = _puzzle(args, task)
    vv = run_vote(model, puzzle, steps=args.steps, H_cycles=args.H_cycles, L_cycles=args.L_cycles,
                  variants=args.variants)
    data = to_json(vv, puzzle.grid)
    data["checkpoint"] = info["path"]
    _write(data, args.out)
    last = data["steps"][-1]
    print(task.to_text(vv.ranked[-1][0].grid), file=sys.stderr)
    print(json.dumps({"variants": len(vv.variants), "top_votes": last["answers"][0]["votes"],
                      "pass_at_1": last.get("pass_at_1"), "pass_at_2": last.get("pass_at_2"),
                      "seconds": vv.seconds}), file=sys.stderr)
    return 0


def cmd_eval(args) -> int:
    from .train.evaluate import evaluate

    model, info, task = _load_model(args.checkpoint, args.task)
    if not Path(args.data).is_file():
        raise PuzzleError(f"No such data file: {args.data}")
    puzzles = task.load_data_file(Path(args.data), limit=args.limit or None)
    if args.task == "arc":
        for p in puzzles:
            recognise(p)          # outputs the file lacks (Kaggle's challenges) that the collections here have
    inputs, labels, ids = [], [], []
    for i, p in enumerate(puzzles):
        solution = p.solution if p.solution is not None else task.solve(p)
        if solution is None:
            raise PuzzleError(f"Puzzle {i + 1} of {args.data} has no known or unique solution to score against.")
        inputs.append(task.encode(p.grid))
        labels.append(task.encode(solution))
        ids.append(trace_mod.puzzle_identifier(model.config, p))
    if not inputs:
        raise PuzzleError(f"{args.data} holds no puzzles.")
    dtype = precision.inference_dtype(model.config, min(args.batch_size, len(inputs)))
    result = evaluate(model, np.stack(inputs), np.stack(labels), np.array(ids), batch_size=args.batch_size,
                      steps=args.steps, H_cycles=args.H_cycles, L_cycles=args.L_cycles, dtype=dtype,
                      per_puzzle=bool(args.per_puzzle))
    if args.per_puzzle:
        _write_rows(args.per_puzzle, puzzles, result.pop("puzzles"))
    if args.variants:
        from .vote import run_vote

        votes = [run_vote(model, p, args.steps, args.H_cycles, args.L_cycles, args.variants) for p in puzzles]
        result["vote"] = {"variants": len(votes[0].variants),      # a maze has at most 8
                          "exact_by_step": [round(float(np.mean([v.pass_at(1, s) for v in votes])), 6)
                                            for s in range(1, votes[0].num_steps + 1)],
                          "pass_at_2": round(float(np.mean([v.pass_at(2) for v in votes])), 6)}
    result["checkpoint"] = info["path"]
    result["dtype"] = str(dtype).removeprefix("torch.")
    _write(result, args.out)
    return 0


def cmd_generate(args) -> int:
    """Fresh puzzles with their solutions, in the data-file format ``eval`` reads: a held-out set of your own (the
    generators training uses; another --seed than a run's data gives puzzles it never saw)."""
    if args.task == "arc":
        raise PuzzleError("ARC puzzles are not generated: eval reads ARC task files, e.g. "
                          "assets/arc/data/arc-agi_training_challenges.json.")
    task = get_task(args.task, args.size * args.size if args.task == "maze" else None)
    rng = np.random.default_rng(args.seed)
    extra = {"min_guesses": args.min_guesses} if args.task == "sudoku" else {}
    puzzles = [task.generate(rng, **extra) for _ in range(args.n)]
    if args.task == "sudoku":
        text = "".join(f"{''.join(str(v) if v else '.' for v in p.grid.ravel())},"
                       f"{''.join(map(str, np.asarray(p.solution).ravel()))}\n" for p in puzzles)
    else:      # '.' for open cells: a row of spaces would read as the blank line that ends a maze
        rows = lambda g: task.to_text(g).replace(" ", ".")  # noqa: E731
        text = "\n".join(f"{rows(p.grid)}\n---\n{rows(p.solution)}\n" for p in puzzles)
    Path(args.out).write_text(text, encoding="utf-8")
    print(f"{len(task.load_data_file(Path(args.out)))} {args.task} puzzles with their solutions written to "
          f"{args.out}", file=sys.stderr)          # read back as eval will read them
    return 0


def _write_rows(path: str, puzzles: list, rows: list[dict]) -> None:
    """eval --per-puzzle: one CSV row a puzzle (its line in the data file, or its ARC task and test input), and on
    stderr how many halted on a wrong answer: the puzzles to open in the app."""
    import csv

    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, ["puzzle", *rows[0]])
        w.writeheader()
        for i, (p, row) in enumerate(zip(puzzles, rows)):
            w.writerow({"puzzle": p.name or str(i + 1), **row})
    wrong = [r for r in rows if r["halt_step"] and not r["right_at_halt"]]
    early = [r for r in wrong if r["first_right_step"] and r["first_right_step"] > r["halt_step"]]
    print(f"{len(rows)} puzzles written to {path}; {len(wrong)} halt on a wrong answer ({len(early)} of them before "
          "their first right step)", file=sys.stderr)


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m trm_viz", description="Watch a Tiny Recursive Model think.")
    sub = ap.add_subparsers(dest="command", required=True)

    def common(p):
        p.add_argument("--checkpoint", required=True, help="checkpoint directory (ours or an official run) or file")
        p.add_argument("--task", required=True, choices=TASK_NAMES)
        p.add_argument("--steps", type=int, default=None, help="supervision steps (default: the model's, 16)")
        p.add_argument("--H-cycles", dest="H_cycles", type=int, default=None, help="T, z_H updates per step")
        p.add_argument("--L-cycles", dest="L_cycles", type=int, default=None, help="n, z_L updates per z_H update")
        p.add_argument("--dtype", choices=["auto", *precision.DTYPES], default="auto",
                       help="matmul precision (default auto, as the app: float32 for one puzzle; bfloat16 autocast for "
                            "batches of paper-size work on CPUs with AMX or AVX512-BF16)")

    def puzzle_args(p, what):
        source = p.add_mutually_exclusive_group()
        source.add_argument("--input", help="puzzle file in any format the task accepts")
        source.add_argument("--example", help="name of a shipped example instead of --input")
        p.add_argument("--out", help=f"write the {what} JSON here (default: stdout)")
        p.add_argument("--arc-task", help="ARC: which task of a collection file (and whose embedding to use)")
        p.add_argument("--test-index", type=int, default=0, help="ARC: which test input of the task (default 0)")

    t = sub.add_parser("trace", help="record one puzzle's refinement as JSON")
    common(t)
    puzzle_args(t, "trace")
    t.add_argument("--npz", help="also write all arrays to this .npz")
    t.set_defaults(func=cmd_trace)

    v = sub.add_parser("vote", help="run a puzzle through its variants (ARC: the task's learned ones; Sudoku, maze: "
                                    "symmetries) and rank their answers by votes")
    common(v)
    puzzle_args(v, "vote")
    v.add_argument("--variants", type=int, default=16, help="how many variants to run (1-32; maze at most 8)")
    v.set_defaults(func=cmd_vote)

    e = sub.add_parser("eval", help="exact accuracy per step on a data file; last line is JSON")
    common(e)
    e.add_argument("--data", required=True, help="data file (Sudoku: one puzzle a line, optional ,solution)")
    e.add_argument("--limit", type=at_least(0), default=None, help="score only the first N puzzles (0: all)")
    e.add_argument("--batch-size", type=int, default=64)
    e.add_argument("--variants", type=at_least(0), default=0,
                   help="also score the vote over this many variants of each puzzle (as `vote`): vote.exact_by_step")
    e.add_argument("--out", help="write the result JSON here (default: stdout, its last line)")
    e.add_argument("--per-puzzle", metavar="CSV", help="also write one row a puzzle here: halting step, right at "
                   "halt, first right step, q_halt at halt, exactness per step")
    e.set_defaults(func=cmd_eval)

    g = sub.add_parser("generate", help="fresh puzzles with their solutions, as a data file eval reads")
    g.add_argument("--task", required=True, choices=TASK_NAMES)
    g.add_argument("--n", type=at_least(1), default=100, help="how many puzzles (default 100)")
    g.add_argument("--min-guesses", type=at_least(0), default=0, help="Sudoku: the solver's guesses at least (20: "
                   "hard puzzles, as the cards' hard held-out set; 0: any minimal puzzle)")
    g.add_argument("--size", type=at_least(8), default=30, help="maze: the canvas (8 for maze-tiny; default 30)")
    g.add_argument("--seed", type=int, default=12345)
    g.add_argument("--out", required=True, help="the data file to write")
    g.set_defaults(func=cmd_generate)

    sub.add_parser("bench", help="time traces (same as python -m trm_viz.bench)", add_help=False)
    sub.add_parser("train", help="train (same as python -m trm_viz.train)", add_help=False)
    return ap


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("bench", "train"):  # delegate, keeping their own --help
        import runpy

        sys.argv = [f"trm_viz.{argv[0]}", *argv[1:]]
        runpy.run_module(f"trm_viz.{argv[0]}", run_name="__main__")
        return 0
    args = build_parser().parse_args(argv)
    # --dtype: the precision of every run of this command (model/precision.py), restored when it returns
    chosen = getattr(args, "dtype", "auto")           # generate runs no model
    dtype = precision.forced(precision.DTYPES[chosen]) if chosen != "auto" else contextlib.nullcontext()
    try:
        with dtype:
            return args.func(args)
    except (PuzzleError, CheckpointError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:   # an --out / --npz path that cannot be written, a file that vanished...
        print(f"error: {e.filename or ''}: {e.strerror or e}", file=sys.stderr)
        return 2
    except Exception as e:  # noqa: BLE001 - a bug: one line for the user, the traceback on request
        if os.environ.get("TRM_VIZ_DEBUG"):
            raise
        print(f"internal error: {type(e).__name__}: {one_line(e, 300)} "
              "(a bug; TRM_VIZ_DEBUG=1 shows the traceback)",
              file=sys.stderr)
        return 1
