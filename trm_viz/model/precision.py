"""The precision a model computes in at inference on a CPU: float32, or bfloat16 autocast for batched runs where
the CPU multiplies bfloat16 natively.

- CPUs with AMX (Intel Sapphire Rapids and later) or AVX512-BF16 run bfloat16 matmuls several times faster than
  float32; CPUs without them emulate bfloat16 far slower than float32 (~20x on an AVX2 EPYC). So bfloat16 only
  where ``bf16_is_fast()``.
- Autocast, not bfloat16 weights: matmuls run in bfloat16 while the weights, norms and the carried z_H/z_L stay
  float32, the numerics the models were trained and evaluated in on the GPU (bfloat16 autocast).
- Batched runs only (the variant vote, evaluation), where it pays: the paper Sudoku model's 16-copy vote takes 21 s
  instead of 61 s on one thread of a 2-core Xeon with AMX, 13 s instead of 40 s on both, with the same verdicts.
  A single trace (batch 1) stays float32: its step-by-step path is what the README and the model cards describe,
  and float32 keeps it the same on every CPU, while bfloat16 moves the step at which some puzzles come right (the
  same model on "Hard 2": step 8 instead of 5) for little gain: 2.3 s against 3.3 s on one thread, nothing on two
  (3.1 s against 3.05 s).
- Small work stays float32 too: below ~1 GFLOP per batched net call the time is per-call overhead, not arithmetic.

``TRM_VIZ_DTYPE=float32|bfloat16`` overrides the choice everywhere (the CLI's ``--dtype`` sets it).
"""
from __future__ import annotations

import contextlib
import functools
import os

import torch

from .config import TRMConfig
from .cost import net_flops

# The CPU flags (Linux /proc/cpuinfo names) of native bfloat16 matmuls.
BF16_FLAGS = ("amx_bf16", "avx512_bf16")
BF16_MIN_CALL_FLOPS = 1e9       # per net call over the whole batch
# The paper Sudoku model's 16-copy vote, float32 over bfloat16 autocast (61 s / 21 s, one thread, python -m
# trm_viz.bench --vote 16, 2026-11-28): what the app's vote-time estimate divides by.
BF16_VOTE_SPEEDUP = 2.9
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}
ENV = "TRM_VIZ_DTYPE"


@functools.lru_cache(maxsize=1)
def bf16_is_fast() -> bool:
    """True when this CPU has native bfloat16 matmuls (AMX or AVX512-BF16). Unknown (no /proc/cpuinfo): False."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    return any(flag in line.split(":", 1)[1].split() for flag in BF16_FLAGS)
    except OSError:
        pass
    return False


def inference_dtype(config: TRMConfig, batch: int = 1) -> torch.dtype:
    """The precision of a run of ``batch`` puzzles at once of ``config``'s model on this CPU (module docstring)."""
    wanted = os.environ.get(ENV, "").strip().lower()
    if wanted in DTYPES:
        return DTYPES[wanted]
    if batch > 1 and bf16_is_fast() and batch * net_flops(config) >= BF16_MIN_CALL_FLOPS:
        return torch.bfloat16
    return torch.float32


@contextlib.contextmanager
def forced(dtype: torch.dtype):
    """Every run inside the block computes in ``dtype`` (sets TRM_VIZ_DTYPE, restores it after)."""
    saved = os.environ.get(ENV)
    os.environ[ENV] = str(dtype).removeprefix("torch.")
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(ENV, None)
        else:
            os.environ[ENV] = saved


def autocast(device: torch.device, dtype: torch.dtype):
    """The context a model's forward calls on ``device`` run in: autocast to ``dtype``, or nothing for float32.
    (Training and its evaluation use it too, through train/evaluate.autocast_for.)"""
    if dtype == torch.float32:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=dtype)
