"""A fused MLP over positions (TRM-MLP's token mixing) for CUDA, gradient-free calls only: one Triton kernel
computes down(silu(gate) * up) for a block of channels while the 1,024-wide hidden activations stay on chip.

Why: the paper's Sudoku step (batch 768) spends about as long moving the SwiGLU intermediates through GPU memory as
on its matmuls (README, "Speed (GPU training)"). The MLP over positions is the worst: it widens each 97-value column
to 2 x 512 values, ~0.8 GB written and read back per block call, for a matmul of only 97 inputs. Here each program
loads a [channels x 97] tile of h once, loops over the hidden width in chunks (gate and up products, silu * up, then
the down product accumulated in registers) and writes only the [channels x 97] result. Two thirds of a training
step's forward calls run without gradient (the paper's T-1 cycles) and so does every evaluation.

Off by default (TrainConfig.fused_mlp_t / set_enabled): the training benchmark times it against the plain path and
checks that both agree on the GPU (`python -m trm_viz.train.bench --modes net,net+fused`). Calls with gradient, on
the CPU, or without Triton use trm_viz.model.layers.SwiGLU as always; the results agree within bfloat16 rounding (the
fused kernel keeps gate and up in float32 where the plain path rounds them to bfloat16).
"""
from __future__ import annotations

import importlib.util

import torch

triton = tl = None           # imported on first use: the app never pays for Triton unless a run enables this
_enabled = False
_kernel = None
_op = None


def available() -> bool:
    """Triton is installed (the CPU wheel of torch comes without it: then the plain path is used)."""
    return importlib.util.find_spec("triton") is not None


def set_enabled(flag: bool) -> None:
    """Use the fused kernel where it applies (CUDA, no gradient). Without Triton this stays off."""
    global _enabled
    _enabled = bool(flag) and available()
    if _enabled:
        _load()


def enabled() -> bool:
    return _enabled


def use_fused(h: torch.Tensor) -> bool:
    """Whether a Block should run its MLP over positions through the fused kernel for this input."""
    return _enabled and h.is_cuda and not torch.is_grad_enabled()


def _load() -> None:
    global triton, tl, _op
    if _op is not None:
        return
    import triton as _triton
    import triton.language as _tl
    triton, tl = _triton, _tl

    @torch.library.custom_op("trm_viz::token_mlp", mutates_args=())
    def token_mlp(h: torch.Tensor, w_gu: torch.Tensor, w_down: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        """An opaque op for torch.compile (the net compile mode traces the blocks around it)."""
        return launch(h, w_gu, w_down, dtype)

    @token_mlp.register_fake
    def _(h, w_gu, w_down, dtype):
        return h.new_empty(h.shape, dtype=dtype)

    _op = token_mlp


def _token_mlp(h_ptr, wgu_ptr, wd_ptr, out_ptr, S, D, stride_b, stride_s, stride_d, o_stride_b, o_stride_s,
               o_stride_d, I: tl.constexpr, BM: tl.constexpr, BS: tl.constexpr, BI: tl.constexpr,
               DOT: tl.constexpr):
    """The kernel's source (jitted by make_kernel): out[b, :, d] = w_down @ (silu(w_gate @ h[b, :, d]) *
    (w_up @ h[b, :, d])) for BM channels d of one b. w_gu is (2I, S) row-major (gate rows first, as gate_up_proj),
    w_down (S, I)."""
    pid_b = tl.program_id(0)
    d = tl.program_id(1) * BM + tl.arange(0, BM)
    s = tl.arange(0, BS)
    dmask, smask = d < D, s < S
    x = tl.load(h_ptr + pid_b * stride_b + s[None, :] * stride_s + d[:, None] * stride_d,
                mask=dmask[:, None] & smask[None, :], other=0.0).to(DOT)                 # [BM, BS]
    acc = tl.full((BM, BS), 0.0, dtype=tl.float32)     # core ops only (tl.zeros/tl.sigmoid are jit helpers)
    for i0 in range(0, I, BI):
        i = i0 + tl.arange(0, BI)
        wg = tl.load(wgu_ptr + i[None, :] * S + s[:, None], mask=smask[:, None], other=0.0).to(DOT)
        wu = tl.load(wgu_ptr + (I + i)[None, :] * S + s[:, None], mask=smask[:, None], other=0.0).to(DOT)
        g = tl.dot(x, wg)                                                                  # [BM, BI] fp32
        u = tl.dot(x, wu)
        a = (g / (1.0 + tl.exp(-g)) * u).to(DOT)                                      # silu(g) * u
        wd = tl.load(wd_ptr + s[None, :] * I + i[:, None], mask=smask[None, :], other=0.0).to(DOT)
        acc += tl.dot(a, wd)                                                               # [BM, BS]
    tl.store(out_ptr + pid_b * o_stride_b + s[None, :] * o_stride_s + d[:, None] * o_stride_d,
             acc.to(out_ptr.dtype.element_ty), mask=dmask[:, None] & smask[None, :])


def make_kernel():
    """The jitted kernel, built when asked: TRITON_INTERPRET=1 (Triton's CPU interpreter, for tests) set by then is
    honoured."""
    _load()
    return triton.jit(_token_mlp)


def launch(h: torch.Tensor, w_gu: torch.Tensor, w_down: torch.Tensor, dtype: torch.dtype, kernel=None,
           dot_dtype: torch.dtype | None = None) -> torch.Tensor:
    """The fused MLP over positions of h (B, S, D): returns (B, S, D) in ``dtype``. ``dot_dtype`` is the matmuls'
    input type (default ``dtype``; the CPU interpreter needs float32)."""
    global _kernel
    if kernel is None:
        kernel = _kernel = _kernel or make_kernel()
    B, S, D = h.shape
    inter = w_down.shape[1]
    BM, BI = 64, 64
    if inter % BI or w_gu.shape != (2 * inter, S) or w_down.shape != (S, inter):
        raise ValueError(f"fused MLP over positions: unexpected weights {tuple(w_gu.shape)}, {tuple(w_down.shape)}")
    dot_dtype = dot_dtype or dtype
    w_gu = w_gu.to(dot_dtype).contiguous()
    w_down = w_down.to(dot_dtype).contiguous()
    out = torch.empty((B, S, D), device=h.device, dtype=dtype)
    tl_dtype = {torch.bfloat16: tl.bfloat16, torch.float16: tl.float16, torch.float32: tl.float32}[dot_dtype]
    kernel[(B, triton.cdiv(D, BM))](h, w_gu, w_down, out, S, D, *h.stride(), *out.stride(), I=inter, BM=BM,
                                   BS=max(16, triton.next_power_of_2(S)), BI=BI, DOT=tl_dtype, num_warps=8)
    return out


def fused_token_mlp(h: torch.Tensor, mlp) -> torch.Tensor:
    """What Block computes as ``mlp(h.transpose(1, 2))`` (mlp: the SwiGLU over positions), in that (B, D, S) shape,
    in the dtype the plain path would give (autocast's, else h's)."""
    dtype = torch.get_autocast_dtype("cuda") if torch.is_autocast_enabled("cuda") else h.dtype
    return _op(h, mlp.gate_up_proj.weight, mlp.down_proj.weight, dtype).transpose(1, 2)
