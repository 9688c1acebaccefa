"""python -m trm_viz.train.bench: milliseconds per training step and achieved TFLOP/s, per compile mode.

    python -m trm_viz.train.bench --task sudoku                       # paper config, eager vs compiled
    python -m trm_viz.train.bench --set hidden_size=128 --set global_batch_size=64 --modes off --steps 20

FLOPs are counted analytically (matmuls only, 2 per multiply-add): a training step runs T(n+1) net calls forward
(T-1 cycles without gradient + the last) and backpropagates through the last cycle's n+1 calls at ~2x their forward.
The data are real generated puzzles (a small cached set), trained on exactly as in the real loop.
"""
from __future__ import annotations

import argparse
import json
import time

import torch

from ..model.config import TRMConfig
from ..model.layers import swiglu_inter
from .config import build_configs, parse_overrides
from .data import load_task_data
from .loop import Trainer, setup_device


def net_flops_per_sample(c: TRMConfig) -> float:
    """FLOPs of one net(h, injection) call (L_layers blocks) for one sequence."""
    S, D = c.total_len, c.hidden_size
    channel = 6 * S * D * swiglu_inter(D, c.expansion)                     # gate_up (2 inter) + down
    if c.mlp_t:
        mixing = 6 * D * S * swiglu_inter(S, c.expansion)                  # the same SwiGLU over positions
    else:
        mixing = 2 * S * D * 3 * D + 4 * S * S * D + 2 * S * D * D         # qkv, scores + weighted sum, output
    return c.L_layers * (channel + mixing)


def train_step_flops(c: TRMConfig, batch: int) -> float:
    calls_fwd = c.H_cycles * (c.L_cycles + 1)
    calls_bwd = 2 * (c.L_cycles + 1)
    head = 2 * c.total_len * c.hidden_size * c.vocab_size * 3               # lm_head forward + backward
    return batch * ((calls_fwd + calls_bwd) * net_flops_per_sample(c) + head)


def bench_mode(tcfg, mcfg, data, device, steps: int, warmup: int) -> dict:
    trainer = Trainer(tcfg, mcfg, data, device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    t0 = time.perf_counter()
    trainer.train_step()
    sync()
    first = time.perf_counter() - t0
    for _ in range(warmup):
        trainer.train_step()
    sync()
    t0 = time.perf_counter()
    for _ in range(steps):
        trainer.train_step()
    sync()
    sec = (time.perf_counter() - t0) / steps
    flops = train_step_flops(mcfg, trainer.batch)
    out = {"compile": trainer.compile, "dtype": trainer.dtype_mode, "ms_per_step": round(1000 * sec, 2), "first_step_s": round(first, 2),
           "tflops_per_step": round(flops / 1e12, 4), "achieved_tflops": round(flops / sec / 1e12, 3),
           "batch": trainer.batch}
    if device.type == "cuda":
        out["max_memory_gb"] = round(torch.cuda.max_memory_allocated(device) / 1e9, 2)
        torch.cuda.reset_peak_memory_stats(device)
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m trm_viz.train.bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", default="sudoku", choices=("sudoku", "maze", "arc"))
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--modes", default=None,
                   help="comma-separated COMPILE[/DTYPE] runs, COMPILE in off|net|step, DTYPE in bfloat16|"
                        "bfloat16-pure|float32 (default on CUDA: off,step,step/bfloat16-pure,net/bfloat16-pure; "
                        "on CPU: off)")
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--device")
    args = p.parse_args(argv)
    device = setup_device(args.device)
    overrides = {"train_size": "256", "eval_size": "16", **parse_overrides(args.overrides)}
    default = "off,step,step/bfloat16-pure,net/bfloat16-pure" if device.type == "cuda" else "off"
    modes = (args.modes or default).split(",")
    tcfg, mcfg = build_configs(args.task, overrides)
    data = load_task_data(tcfg, device)
    if args.task == "arc":
        mcfg = mcfg.replace(num_puzzle_identifiers=data.num_puzzle_identifiers, puzzle_names=data.puzzle_names)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu x{torch.get_num_threads()}"
    print(f"{args.task}: hidden {mcfg.hidden_size}, layers {mcfg.L_layers}, T {mcfg.H_cycles}, n {mcfg.L_cycles}, "
          f"mlp_t {mcfg.mlp_t}, batch {tcfg.global_batch_size}, device {name}", flush=True)
    for mode in modes:
        compile_mode, _, dtype = mode.partition("/")
        tcfg_m, _ = build_configs(args.task, {**overrides, "compile": compile_mode, "dtype": dtype or "auto"})
        result = bench_mode(tcfg_m, mcfg, data, device, args.steps, args.warmup)
        print(json.dumps({"task": args.task, "device": name, **result}), flush=True)


if __name__ == "__main__":
    main()
