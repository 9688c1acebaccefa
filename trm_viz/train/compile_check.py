"""python -m trm_viz.train.compile_check: compile a training step's GPU kernels for an NVIDIA GPU, without the GPU.

    python -m trm_viz.train.compile_check --task sudoku --modes step,net          # the paper config, for sm_90
    python -m trm_viz.train.compile_check --task maze --set maze_size=12 --modes step --arch 80

Why: GPU time comes in 15-minute sessions, and a compiler failure found there costs one. On 2026-11-27 the whole-step
compile failed on the H200 (Triton 3.6: "PassManager::run failed" in one fused loss kernel) and the session fell back
to slower modes. This check finds such failures on a CPU machine in a few minutes: it has inductor write the Triton
code of every kernel of one training step (forward and backward, as compile=MODE does on CUDA) through its
Triton-on-CPU backend, keeps the sources instead of running them, and compiles each one for the GPU target (Triton
to PTX to cubin, with Triton's bundled ptxas) at several block sizes, as inductor's autotuner would try. With the
fused MLP over positions (TRM-MLP models) its kernel is compiled too, with ptxas's register and spill report.

What it cannot see: numerics, speed, and kernels whose GPU code differs from the CPU-backend code (inductor picks
block sizes and a few lowerings per device; matmuls and attention are library calls on both). A kernel it reports
failing is worth fixing before a session; a clean report is good evidence, not proof. Needs the `triton` package
(requirements-dev.txt pins the device image's version).
"""
from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import itertools
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from unittest import mock

import torch

from ..model import fused_mlp_t
from .bench import mode_configs
from .config import parse_overrides
from .data import load_task_data
from .loop import Trainer, error_line

# Block sizes tried per kernel argument (inductor's autotuner picks among values like these on the GPU). A size that
# a kernel's shape makes pointless still compiles, so the product of these is the number of compiles per kernel.
BLOCKS = {"XBLOCK": (1, 8, 64), "YBLOCK": (16, 64), "R0_BLOCK": (128,), "R1_BLOCK": (16,)}


@contextlib.contextmanager
def _capture_triton_sources(sources: dict[str, str]):
    """Inductor generates Triton code for the CPU and hands each kernel to ``sources`` instead of compiling it;
    backward graphs are lowered at once (not at the first backward call, which never comes: kernels do not run)."""
    import torch._functorch.config as functorch_config
    import torch._inductor.config as inductor_config
    import torch.utils._triton as torch_triton
    from torch._inductor.async_compile import AsyncCompile

    def keep(self, kernel_name, source_code, *args, **kwargs):
        sources[kernel_name] = source_code

    with inductor_config.patch(cpu_backend="triton", compile_threads=1), \
            functorch_config.patch(force_non_lazy_backward_lowering=True), \
            mock.patch.object(torch_triton, "triton_hash_with_backend", lambda: "0" * 64), \
            mock.patch.object(AsyncCompile, "triton", keep):
        yield


def step_kernels(trainer: Trainer) -> dict[str, str]:
    """{kernel name: Triton source} of one training step of ``trainer`` (built on the CPU, compile mode set)."""
    sources: dict[str, str] = {}
    torch._dynamo.reset()
    trainer.compiled_ok = True          # no fallback to another mode: the kernels of the mode asked for
    with _capture_triton_sources(sources):
        try:
            trainer.train_step()
        except Exception:               # noqa: BLE001 - expected: the captured kernels were never compiled
            pass
    torch._dynamo.reset()
    return sources


def _load_kernel(name: str, source: str, folder: Path):
    """The @triton.jit function of an inductor kernel source and its signature (the autotuning decorator and the
    CPU driver switch removed)."""
    meta = re.search(r"'signature': (\{.*?\})", source)
    if meta is None:
        raise ValueError(f"{name}: no signature in the generated source")
    signature = eval(meta.group(1), {})          # noqa: S307 - inductor's own generated literal, not user input
    source = source.replace("triton_helpers.set_driver_to_cpu()", "")
    source = re.sub(r"@triton_heuristics\.\w+\(.*?\n\)\n", "", source, flags=re.S)
    path = folder / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(f"_compile_check_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name), signature


def _compile(fn, signature: dict, constexprs: dict, arch: int, **options):
    """triton.compile of a @triton.jit function for cuda:``arch`` (no GPU needed)."""
    import triton
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource

    return triton.compile(ASTSource(fn=fn, signature=signature, constexprs=constexprs),
                          target=GPUTarget("cuda", arch, 32), options=options or None)


def compile_kernel(name: str, source: str, arch: int, folder: Path, blocks: dict = BLOCKS) -> list[tuple[dict, str]]:
    """Compile one kernel for cuda:``arch`` at each block-size combination: [(constexprs, error)] of the failures."""
    fn, signature = _load_kernel(name, source, folder)
    keys = [k for k, v in signature.items() if v == "constexpr"]
    failures = []
    for values in itertools.product(*(blocks.get(k, (16,)) for k in keys)):
        consts = dict(zip(keys, values))
        try:
            with contextlib.redirect_stderr(io.StringIO()):     # MLIR dumps a long reproducer on failure
                _compile(fn, signature, consts, arch)
        except Exception as e:  # noqa: BLE001 - the compiler's error is the result
            failures.append((consts, error_line(e)))
    return failures


def fused_kernel_report(arch: int) -> str:
    """Compile trm_viz.model.fused_mlp_t's kernel (paper Sudoku shapes, bfloat16) for cuda:``arch`` and return
    ptxas's register / spill line."""
    import triton
    import triton.language as tl

    ints = ("S", "D", "stride_b", "stride_s", "stride_d", "o_stride_b", "o_stride_s", "o_stride_d")
    signature = {"h_ptr": "*fp32", "wgu_ptr": "*bf16", "wd_ptr": "*bf16", "out_ptr": "*bf16",
                 **{k: "i32" for k in ints}, **{k: "constexpr" for k in ("I", "BM", "BS", "BI", "DOT")}}
    consts = {"I": 512, "BM": 64, "BS": 128, "BI": 64, "DOT": tl.bfloat16}
    compiled = _compile(fused_mlp_t.make_kernel(), signature, consts, arch, num_warps=8)
    ptxas = Path(triton.__file__).parent / "backends" / "nvidia" / "bin" / "ptxas"
    with tempfile.TemporaryDirectory() as tmp:
        ptx = Path(tmp) / "k.ptx"
        ptx.write_text(compiled.asm["ptx"])
        run = subprocess.run([str(ptxas), "-v", "--gpu-name", f"sm_{arch}a" if arch >= 90 else f"sm_{arch}",
                              str(ptx), "-o", os.devnull], capture_output=True, text=True, timeout=120)
    lines = [ln.split("info    :")[-1].strip() for ln in (run.stdout + run.stderr).splitlines()
             if "registers" in ln or "spill" in ln]
    return "; ".join(lines) or "compiled (no ptxas report)"


def _with_gpu_dtype(mode: str) -> str:
    """'net' -> 'net/bfloat16', 'step+fused' -> 'step/bfloat16+fused': dtype auto is bfloat16 on CUDA, and on this
    CPU it would mean float32."""
    base, plus, rest = mode.partition("+")
    return mode if "/" in base else f"{base}/bfloat16{plus}{rest}"


def check(task: str, overrides: dict[str, str], modes: list[str], arch: int = 90, say=print,
          blocks: dict = BLOCKS) -> int:
    """Capture and compile each mode's kernels; the number of kernels that fail in any mode."""
    modes = [_with_gpu_dtype(m) for m in modes]
    runs = mode_configs(task, {"train_size": "64", "eval_size": "8", **overrides}, modes)
    device = torch.device("cpu")
    failing = 0
    with tempfile.TemporaryDirectory() as tmp:
        for label, (tcfg, mcfg) in zip(modes, runs):
            data = load_task_data(tcfg, device)
            if task == "arc":
                mcfg = mcfg.replace(num_puzzle_identifiers=data.num_puzzle_identifiers, puzzle_names=data.puzzle_names)
            sources = step_kernels(Trainer(tcfg, mcfg, data, device, say=lambda _: None))
            bad = {name: fails for name, src in sources.items()
                   if (fails := compile_kernel(name, src, arch, Path(tmp), blocks))}
            failing += len(bad)
            say(f"{task} {label}: {len(sources)} kernels, {len(bad)} fail to compile for sm_{arch}")
            for name, fails in bad.items():
                say(f"  {name}: {fails[0][1]} (at {fails[0][0]}; {len(fails)} block configurations fail)")
            if tcfg.fused_mlp_t and mcfg.mlp_t:
                say(f"  fused MLP over positions: {fused_kernel_report(arch)}")
    fused_mlp_t.set_enabled(False)      # a +fused mode's Trainer turned it on for the process
    return failing


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m trm_viz.train.compile_check", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", default="sudoku", choices=("sudoku", "maze", "arc"))
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--modes", default="step,net",
                   help="comma-separated COMPILE[/DTYPE][+fused], as the training benchmark's (default step,net)")
    p.add_argument("--arch", type=int, default=90, help="CUDA compute capability x10: 90 H100/H200, 80 A100")
    args = p.parse_args(argv)
    if importlib.util.find_spec("triton") is None:
        sys.exit("compile_check needs the triton package (pip install -r requirements-dev.txt)")
    modes = [m for m in args.modes.split(",") if m]
    if any(m.partition("/")[0].partition("+")[0] == "off" for m in modes):
        p.error("--modes: 'off' compiles nothing; use step or net")
    try:
        failing = check(args.task, parse_overrides(args.overrides), modes, args.arch)
    except ValueError as e:
        p.error(str(e))
    sys.exit(1 if failing else 0)


if __name__ == "__main__":
    main()
