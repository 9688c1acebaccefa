"""CPU inference benchmark: a full recorded trace against the plain forward pass, in the same run.

    python -m trm_viz.bench [--configs sudoku,maze] [--dtypes float32,bfloat16] [--repeats 3] [--vote 16]
    python -m trm_viz.bench --configs runs/my-run            # your own checkpoint folder

Paper-size configurations run with random weights (timing only; the arithmetic does not depend on them), the
shipped checkpoints with their own. The "plain" baseline is the official-style
forward: 16 supervision steps, no recording. ``--vote V`` also times the variant vote (V variants, 16 steps, one
batch). Prints one table and, last, one JSON line with every number.
bfloat16 (autocast, as the app's vote uses it: model/precision.py) is only fast on CPUs with AMX / AVX512-BF16; on
AVX2-only machines it is ~20x slower than float32, so it is skipped there unless asked for.
"""
from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch

from .model import precision
from .model.config import TRMConfig
from .model.cost import trace_flops
from .model.trm import TRM
from .tasks import get_task
from .trace import iter_trace

CONFIGS = {
    "sudoku": TRMConfig(vocab_size=11, seq_len=81, mlp_t=True, pos_encodings="none", H_cycles=3, L_cycles=6,
                        hidden_size=512, task="sudoku"),
    "maze": TRMConfig(vocab_size=6, seq_len=900, mlp_t=False, pos_encodings="rope", H_cycles=3, L_cycles=4,
                      hidden_size=512, task="maze"),
}


def shipped() -> dict[str, Path]:
    """The repository's trained checkpoints, by folder name (timed with their real weights)."""
    root = Path(__file__).resolve().parents[1] / "checkpoints"
    return {p.name: p for p in sorted(root.glob("*")) if (p / "config.json").is_file()}


def bench_one(name: str, dtype: torch.dtype, repeats: int, vote_variants: int = 0) -> dict:
    """Times with every run (the trace, the vote) in ``dtype``, as TRM_VIZ_DTYPE would make the app run."""
    with precision.forced(dtype):
        return _bench(name, dtype, repeats, vote_variants)


def _bench(name: str, dtype: torch.dtype, repeats: int, vote_variants: int) -> dict:
    if name in CONFIGS:
        cfg = CONFIGS[name]
        torch.manual_seed(0)
        model = TRM(cfg).eval()
    else:
        from .model.checkpoints import load_checkpoint

        model = load_checkpoint(shipped().get(name) or Path(name))[0]
        cfg = model.config
    task = get_task(cfg.task, cfg.seq_len)
    puzzle = next(iter(task.examples().values()))
    inputs = torch.as_tensor(task.encode(puzzle.grid))[None]
    ids = torch.zeros(1, dtype=torch.long)
    plain, first, full = [], [], []
    for _ in range(repeats):
        with torch.inference_mode(), precision.autocast(inputs.device, dtype):
            t0 = time.perf_counter()
            model(inputs, ids, steps=16)
            plain.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        gen = iter_trace(model, puzzle, steps=16)
        next(gen)
        first.append(time.perf_counter() - t0)
        for _ in gen:
            pass
        full.append(time.perf_counter() - t0)
    flops = trace_flops(cfg, 16, cfg.H_cycles, cfg.L_cycles)
    best = min(full)
    extra = {}
    if vote_variants:
        from .vote import run_vote

        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            vv = run_vote(model, puzzle, steps=16, variants=vote_variants)
            times.append(time.perf_counter() - t0)
        extra = {"vote_variants": len(vv.variants), "vote_16_steps_s": round(min(times), 3),
                 "vote_over_plain": round(min(times) / min(plain), 2)}
    return {**{"config": name, "dtype": str(dtype).removeprefix("torch."), "params_M": round(model.num_parameters() / 1e6, 2),
            "plain_16_steps_s": round(min(plain), 3), "trace_first_step_s": round(min(first), 3),
            "trace_16_steps_s": round(best, 3), "trace_over_plain": round(best / min(plain), 3),
            "gflop_16_steps": round(flops / 1e9, 1), "trace_gflops_per_s": round(flops / best / 1e9, 1)}, **extra}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m trm_viz.bench", description=__doc__.split("\n\n")[0])
    ap.add_argument("--configs", default=None, help="paper-size sudoku,maze (random weights), shipped checkpoint "
                    "names, or paths of checkpoint folders; default: the paper sizes and every shipped one")
    ap.add_argument("--dtypes", default=None, help="default: float32, plus bfloat16 (autocast) where the CPU has "
                    "AMX or AVX512-BF16")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--vote", type=int, default=0, metavar="V", help="also time the vote over V variants")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    dtypes = (args.dtypes.split(",") if args.dtypes else
              ["float32"] + (["bfloat16"] if precision.bf16_is_fast() else []))
    known = list(dict.fromkeys([*CONFIGS, *shipped()]))     # "sudoku": the paper config, also a folder
    names = args.configs.split(",") if args.configs else known
    unknown = [n for n in names if n not in known and not (Path(n) / "config.json").is_file()]
    if unknown:
        ap.error(f"--configs: no config, shipped checkpoint or checkpoint folder (with a config.json) named "
                 f"{', '.join(unknown)}; choose from {','.join(known)} or give a folder's path")
    from .model.checkpoints import CheckpointError

    rows: list[dict] = []
    try:                    # each row as it is measured: the default set takes minutes on 2 cores
        for c in names:
            for d in dtypes:
                rows.append(bench_one(c, getattr(torch, d), args.repeats, args.vote))
                if len(rows) == 1:
                    print(" | ".join(rows[0]), flush=True)
                print(" | ".join(str(v) for v in rows[-1].values()), flush=True)
    except CheckpointError as e:
        ap.error(str(e))
    env = {"torch": torch.__version__, "threads": torch.get_num_threads(),
           "cpu": platform.processor() or platform.machine(),
           "capability": torch.backends.cpu.get_cpu_capability(), "native_bf16": precision.bf16_is_fast()}
    print(json.dumps({"env": env, "results": rows}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
