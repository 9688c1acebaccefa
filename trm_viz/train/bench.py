"""python -m trm_viz.train.bench: milliseconds per training step and achieved TFLOP/s, per compile mode.

    python -m trm_viz.train.bench --task sudoku                       # paper config, eager vs compiled
    python -m trm_viz.train.bench --task sudoku --modes net --profile 3   # + where the time goes, by kernel
    python -m trm_viz.train.bench --set hidden_size=128 --set global_batch_size=64 --modes off --steps 20

FLOPs are counted analytically (matmuls only, 2 per multiply-add): a training step runs T(n+1) net calls forward
(T-1 cycles without gradient + the last) and backpropagates through the last cycle's n+1 calls at ~2x their forward.
The data are real generated puzzles (a small cached set), trained on exactly as in the real loop. A mode that fails
(a compiler bug) prints its error and the next mode runs; the fallback of real training is off here, so that the
numbers are those of the mode asked for.
"""
from __future__ import annotations

import argparse
import json
import re
import time

import torch

from ..model.config import TRMConfig
from ..model.cost import head_flops, net_flops
from .config import build_configs, parse_overrides
from .data import load_task_data
from .loop import Trainer, error_line, setup_device


def train_step_flops(c: TRMConfig, batch: int) -> float:
    calls_fwd = c.H_cycles * (c.L_cycles + 1)
    calls_bwd = 2 * (c.L_cycles + 1)
    return batch * ((calls_fwd + calls_bwd) * net_flops(c) + 3 * head_flops(c))    # head: forward + backward


def bench_mode(tcfg, mcfg, data, device, steps: int, warmup: int) -> tuple[dict, Trainer]:
    trainer = Trainer(tcfg, mcfg, data, device)
    trainer.compiled_ok = True            # no fallback: time the mode asked for, or report that it fails
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
    out = {"compile": trainer.compile, "dtype": trainer.dtype_mode, "ms_per_step": round(1000 * sec, 2),
           "first_step_s": round(first, 2),
           "tflops_per_step": round(flops / 1e12, 4), "achieved_tflops": round(flops / sec / 1e12, 3),
           "batch": trainer.batch}
    if device.type == "cuda":
        out["max_memory_gb"] = round(torch.cuda.max_memory_allocated(device) / 1e9, 2)
        torch.cuda.reset_peak_memory_stats(device)
    return out, trainer


def fused_agreement(trainer: Trainer) -> str:
    """The fused MLP over positions against the plain path on one block, on this device: 'off' when it did not
    apply (no CUDA or no Triton), else the largest difference relative to the largest value."""
    from ..model import fused_mlp_t

    if not (fused_mlp_t.enabled() and trainer.device.type == "cuda"):
        return "off (needs CUDA and Triton)"
    block = trainer.model.L_level.layers[0]
    h = torch.randn(8, trainer.mcfg.total_len, trainer.mcfg.hidden_size, device=trainer.device)
    with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16):
        fused = block(h).float()
        fused_mlp_t.set_enabled(False)
        plain = block(h).float()
        fused_mlp_t.set_enabled(True)
    return f"on, max relative difference to the plain path {float((fused - plain).abs().max() / plain.abs().max()):.2e}"


def profile_steps(trainer: Trainer, steps: int, rows: int = 25) -> str:
    """torch.profiler over ``steps`` training steps: the operators and kernels that take the most device time
    (CPU time on a CPU), as a table."""
    from torch.profiler import ProfilerActivity, profile

    cuda = trainer.device.type == "cuda"
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    with profile(activities=activities) as prof:
        for _ in range(steps):
            trainer.train_step()
        if cuda:
            torch.cuda.synchronize(trainer.device)
    table = prof.key_averages()
    for key in (("self_device_time_total", "self_cuda_time_total") if cuda else ("self_cpu_time_total",)):
        try:
            return table.table(sort_by=key, row_limit=rows, max_name_column_width=80)
        except (AttributeError, KeyError, ValueError):
            continue
    return table.table(row_limit=rows)


def mode_configs(task: str, overrides: dict, modes: list[str]) -> list[tuple]:
    """The (TrainConfig, TRMConfig) of each COMPILE[/DTYPE][+fused] mode; ValueError naming a bad one."""
    runs = []
    for spec in modes:
        mode, fused, _ = spec.partition("+fused")
        compile_mode, _, dtype = mode.partition("/")
        try:
            runs.append(build_configs(task, {**overrides, "compile": compile_mode, "dtype": dtype or "auto",
                                             "fused_mlp_t": str(bool(fused)).lower()}))
        except ValueError as e:
            raise ValueError(f"--modes {spec}: {e}") from None
    return runs


# The fused kernel rounds differently from the plain path (it keeps gate and up in float32): bfloat16 rounding
# gives relative differences of ~1e-2; more than this means the kernel is wrong.
FUSED_AGREEMENT = 3e-2


def fastest_mode(log_lines: list[str]) -> dict | None:
    """The fastest mode of a benchmark's output that ran (with the fused kernel: that agreed with the plain path),
    as its JSON row; None when none did."""
    rows = []
    for line in log_lines:
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if not isinstance(row, dict) or "ms_per_step" not in row:
            continue
        fused = str(row.get("fused_mlp_t", ""))
        if fused:
            agreement = re.search(r"difference to the plain path ([0-9.e+-]+)", fused)
            if agreement is None or not float(agreement.group(1)) <= FUSED_AGREEMENT:
                continue
        rows.append(row)
    return min(rows, key=lambda r: r["ms_per_step"], default=None)


def mode_arguments(row: dict) -> list[str]:
    """The training command's --set arguments that run a benchmark row's mode."""
    return ["--set", f"compile={row['compile']}", "--set", f"dtype={row['dtype']}",
            "--set", f"fused_mlp_t={'true' if row.get('fused_mlp_t') else 'false'}"]


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m trm_viz.train.bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", default="sudoku", choices=("sudoku", "maze", "arc"))
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--modes", default=None,
                   help="comma-separated COMPILE[/DTYPE][+fused] runs, COMPILE in off|net|step, DTYPE in "
                        "bfloat16|bfloat16-pure|float32, +fused: the fused MLP over positions (CUDA + Triton) "
                        "(default on CUDA: off,net; on CPU: off)")
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--profile", type=int, default=0, metavar="STEPS",
                   help="after the last mode that ran, profile this many steps of it and print the top kernels")
    p.add_argument("--device")
    p.add_argument("--pick", metavar="LOG", help="only print the training arguments (--set compile=... dtype=... "
                   "fused_mlp_t=...) of the fastest mode in an earlier benchmark's output LOG; nothing if none ran")
    args = p.parse_args(argv)
    if args.pick:
        try:
            best = fastest_mode(open(args.pick, encoding="utf-8", errors="replace").read().splitlines())
        except OSError as e:
            p.error(f"--pick: cannot read {args.pick}: {e.strerror}")
        print(" ".join(mode_arguments(best)) if best else "")
        return
    device = setup_device(args.device)
    overrides = {"train_size": "256", "eval_size": "16", **parse_overrides(args.overrides)}
    default = "off,net" if device.type == "cuda" else "off"
    modes = (args.modes or default).split(",")
    tcfg, mcfg = build_configs(args.task, overrides)
    data = load_task_data(tcfg, device)
    if args.task == "arc":
        mcfg = mcfg.replace(num_puzzle_identifiers=data.num_puzzle_identifiers, puzzle_names=data.puzzle_names)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu x{torch.get_num_threads()}"
    print(f"{args.task}: hidden {mcfg.hidden_size}, layers {mcfg.L_layers}, T {mcfg.H_cycles}, n {mcfg.L_cycles}, "
          f"mlp_t {mcfg.mlp_t}, batch {tcfg.global_batch_size}, device {name}", flush=True)
    try:
        runs = [tcfg_m for tcfg_m, _ in mode_configs(args.task, overrides, modes)]
    except ValueError as e:
        p.error(str(e))
    last = None
    for tcfg_m in runs:
        compile_mode = tcfg_m.compile
        try:
            result, last = bench_mode(tcfg_m, mcfg, data, device, args.steps, args.warmup)
            if tcfg_m.fused_mlp_t:
                result["fused_mlp_t"] = fused_agreement(last)
        except Exception as e:   # noqa: BLE001 - a compiler bug in one mode must not cost the others
            result = {"compile": compile_mode, "error": error_line(e, 300)}
            torch._dynamo.reset()
        print(json.dumps({"task": args.task, "device": name, **result}), flush=True)
    if args.profile and last is not None:
        from ..model import fused_mlp_t

        fused_mlp_t.set_enabled(last.tcfg.fused_mlp_t and last.mcfg.mlp_t)   # a later failed mode may have changed it
        print(f"profile of {args.profile} steps, compile={last.compile}, fused_mlp_t={fused_mlp_t.enabled()}:",
              flush=True)
        try:
            print(profile_steps(last, args.profile), flush=True)
        except Exception as e:   # noqa: BLE001 - the timings above are already printed
            print(f"profile failed: {error_line(e, 300)}", flush=True)


if __name__ == "__main__":
    main()
