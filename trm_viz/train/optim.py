"""Adam-atan2: the optimizer the official TinyRecursiveModels code trains with (`from adam_atan2 import AdamATan2`,
the `adam-atan2` package's fused CUDA kernel), re-implemented with plain torch ops so it also runs on the CPU.

Per element, at step t, as the official kernel (adam_atan2.cu) computes it:

    p    <- p * (1 - lr * weight_decay)                 decoupled weight decay, applied first (as AdamW)
    m    <- beta1 * m + (1 - beta1) * g
    v    <- beta2 * v + (1 - beta2) * g^2
    p    <- p - lr / (1 - beta1^t) * atan2(m, sqrt(v) / sqrt(1 - beta2^t))

atan2 replaces Adam's m_hat / (sqrt(v_hat) + eps) (Everett et al. 2024, "Scaling Exponents Across Parameterizations
and Optimizers"): no epsilon to tune, and a parameter whose gradient is exactly zero gets atan2(0, 0) = 0 (no 0/0).
The first bias correction scales the step, outside atan2, as in the kernel: the first step moves lr * 10 *
atan(0.1) ~ 0.997 lr, where atan2(m_hat, sqrt(v_hat)) would move pi/4 lr; the two agree once 1 - beta1^t ~ 1 (about
40 steps). (The separate `adam-atan2-pytorch` package is another variant, with scale knobs a = 1.27, b = 1.)

No host synchronisation: the step counter is a device tensor and the bias corrections are computed from it on the
device, so a step is a fixed sequence of kernels (foreach ops for the moments and the decay; torch has no foreach
atan2, so that part is one fused-friendly expression per tensor).
"""
from __future__ import annotations

from typing import Iterable

import torch
from torch import Tensor


class AdamATan2(torch.optim.Optimizer):
    def __init__(self, params: Iterable[Tensor] | Iterable[dict], lr: float = 1e-4,
                 betas: tuple[float, float] = (0.9, 0.95), weight_decay: float = 0.0):
        if lr < 0:
            raise ValueError(f"learning rate must be >= 0, got {lr}")
        if not (0.0 <= betas[0] < 1.0 and 0.0 <= betas[1] < 1.0):
            raise ValueError(f"betas must be in [0, 1), got {betas}")
        if weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {weight_decay}")
        super().__init__(params, dict(lr=lr, betas=betas, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self, closure=None):  # type: ignore[override]
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            # Group tensors by device/dtype so the foreach ops below see homogeneous lists.
            buckets: dict[tuple[torch.device, torch.dtype], list[Tensor]] = {}
            for p in params:
                if p.grad.is_sparse:
                    raise RuntimeError("AdamATan2 does not support sparse gradients")
                buckets.setdefault((p.device, p.dtype), []).append(p)
            for ps in buckets.values():
                self._update(ps, group)
        return loss

    def _update(self, params: list[Tensor], group: dict) -> None:
        lr, wd = group["lr"], group["weight_decay"]
        beta1, beta2 = group["betas"]
        grads = [p.grad for p in params]
        states = [self.state[p] for p in params]
        for p, st in zip(params, states):
            if not st:
                st["step"] = torch.zeros((), dtype=torch.float32, device=p.device)
                st["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                st["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        exp_avgs = [st["exp_avg"] for st in states]
        exp_avg_sqs = [st["exp_avg_sq"] for st in states]
        steps = [st["step"] for st in states]

        torch._foreach_add_(steps, 1.0)
        if wd != 0:
            torch._foreach_mul_(params, 1.0 - lr * wd)
        torch._foreach_lerp_(exp_avgs, grads, 1.0 - beta1)
        torch._foreach_mul_(exp_avg_sqs, beta2)
        torch._foreach_addcmul_(exp_avg_sqs, grads, grads, value=1.0 - beta2)
        for p, m, v, t in zip(params, exp_avgs, exp_avg_sqs, steps):
            # Bias corrections as device scalars (no .item(), no sync), in float64 as the official kernel computes
            # them; a 0-dim tensor does not change the dtype of m and v.
            t64 = t.double()
            step_size = lr / (1.0 - torch.pow(beta1, t64))
            denom = v.sqrt() / (1.0 - torch.pow(beta2, t64)).sqrt()
            p.sub_(torch.atan2(m, denom).mul_(step_size))


def make_optimizer(name: str, params: list[Tensor], *, betas: tuple[float, float], weight_decay: float,
                   device: torch.device) -> torch.optim.Optimizer:
    """The network optimizer by TrainConfig.optimizer name (lr starts at 0: the loop's schedule sets it)."""
    if name == "adam_atan2":
        return AdamATan2(params, lr=0.0, betas=betas, weight_decay=weight_decay)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=0.0, betas=betas, weight_decay=weight_decay,
                                 fused=device.type == "cuda")
    raise ValueError(f"optimizer must be adam_atan2 or adamw, not {name!r}")
