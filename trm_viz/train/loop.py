"""The deep-supervision training loop (official TinyRecursiveModels semantics, own code).

A batch is B *slots*. Each slot holds one puzzle, its carried latents z_H/z_L and a step counter. Every optimizer
step is one supervision step of every slot:

    refill halted slots with new (augmented) examples, reset their z_H/z_L to H_init/L_init   (torch.where, no sync)
    z_H, z_L, logits, q_halt_logit = model.supervision_step(z_H, z_L, x)   # only the last H cycle has gradient
    loss = stablemax CE (mean over cells, mean over slots) + 0.5 * BCE(q_halt_logit, answer exactly right)
    Adam-atan2 step as in the official code (or AdamW: TrainConfig.optimizer), sign-SGD on the puzzle embeddings,
    EMA update
    a slot halts when q_halt_logit > 0 or after halt_max_steps; with probability 0.1 a random minimum of 2..16
    steps applies first (exploration)

Speed: everything stays on the device; the only host synchronisation is every ``log_every`` steps (metrics are summed
in device tensors). On CUDA the reasoning network is compiled (compile=auto is "net"; "step" compiles the whole
step module) and runs under bfloat16 autocast with TF32 matmuls.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable

import torch
import torch.distributed as dist
from torch import nn

from ..model import fused_mlp_t
from ..model.config import TRMConfig
from ..model.trm import TRM
from .augment import BatchSampler
from .config import TrainConfig
from .data import TaskData
from .evaluate import autocast_for
from .losses import act_loss, cell_accuracy
from .optim import make_optimizer

PUZZLE_EMB = "puzzle_emb."


def error_line(error: BaseException, limit: int = 200) -> str:
    """An exception as one short line (compiler errors run to hundreds of lines), for logs."""
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0][:limit] if lines else ''}"


EARLY_LOG = 6          # an early log step: steps 2-6 time a step well before log_every (the budget plans with it)
METRICS = ("loss", "lm_loss", "q_halt_loss", "halted", "exact", "halt_steps", "q_halt_right", "cell_acc")


class TrainStep(nn.Module):
    """One supervision step of a batch and its loss, as a module so DDP and torch.compile can wrap it whole."""

    def __init__(self, model: TRM, compute_dtype: torch.dtype = torch.float32):
        super().__init__()
        self.model = model
        self.compute_dtype = compute_dtype   # bfloat16 for "bfloat16-pure": the blocks then run in x's dtype

    def forward(self, z_H, z_L, inputs, labels, puzzle_identifiers):
        x = self.model.input_embeddings(inputs, puzzle_identifiers).to(self.compute_dtype)
        z_H, z_L, logits, q_halt_logit = self.model.supervision_step(z_H, z_L, x)
        loss, stats = act_loss(logits, q_halt_logit, labels)
        return loss, z_H, z_L, q_halt_logit.detach(), stats


@dataclass
class Slots:
    z_H: torch.Tensor            # (B, S, D) carried answer state
    z_L: torch.Tensor            # (B, S, D) carried reasoning latent
    inputs: torch.Tensor         # (B, L) tokens of the puzzle in each slot
    labels: torch.Tensor
    ids: torch.Tensor            # (B,) puzzle identifiers
    steps: torch.Tensor          # (B,) supervision steps done on the current puzzle
    halted: torch.Tensor         # (B,) bool: the slot takes a new puzzle at the next step


def setup_device(device: str | None) -> torch.device:
    dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if dev.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.set_float32_matmul_precision("high")
    return dev


class Trainer:
    def __init__(self, tcfg: TrainConfig, mcfg: TRMConfig, data: TaskData, device: torch.device, *,
                 start_step: int = 0, raw_state: dict | None = None, ema_state: dict | None = None,
                 rank: int = 0, world_size: int = 1, say: Callable[[str], None] = print):
        self.tcfg, self.mcfg, self.data, self.device = tcfg, mcfg, data, device
        self.rank, self.world_size = rank, world_size
        if tcfg.global_batch_size % world_size:
            raise ValueError(f"global_batch_size {tcfg.global_batch_size} is not a multiple of {world_size} processes")
        self.batch = tcfg.global_batch_size // world_size
        self.step = self.start_step = start_step
        self.resumed = raw_state is not None
        self.progress = 0.0               # share of this run's budget used (Trainer.run sets it; lr_min_ratio)
        self.lr_used = (0.0, 0.0)         # (lr, progress) of the last optimizer step, for the log
        self.interrupted = False          # run() ended by Ctrl-C / SIGTERM
        self.diverged = False             # run() ended on a loss that is not finite

        torch.manual_seed(tcfg.seed)   # identical initial weights on every rank (DDP also broadcasts rank 0's)
        self.model = TRM(mcfg).to(device)
        if raw_state is not None:
            self.model.load_state_dict(raw_state)
        self.model.train()
        # EMA of the network weights in float32 (the official EMA skips the puzzle embeddings, a buffer there).
        self.ema = {n: p.detach().clone().float() for n, p in self.model.named_parameters()
                    if not n.startswith(PUZZLE_EMB)}
        if ema_state is not None:
            for n, t in self.ema.items():
                t.copy_(ema_state[n])

        dtype = tcfg.dtype if tcfg.dtype != "auto" else ("bfloat16" if device.type == "cuda" else "float32")
        self.dtype_mode = dtype
        # autocast only for "bfloat16"; "bfloat16-pure" feeds bfloat16 activations (Linear casts its weights).
        self.amp_dtype = torch.bfloat16 if dtype == "bfloat16" else torch.float32
        self.carry_dtype = torch.bfloat16 if dtype == "bfloat16-pure" else torch.float32
        self.eval_dtype = torch.float32 if dtype == "float32" else torch.bfloat16
        self.step_module: nn.Module = TrainStep(self.model, self.carry_dtype)
        fused_mlp_t.set_enabled(tcfg.fused_mlp_t and mcfg.mlp_t)   # process-wide: evaluation uses it as well
        self.say = say
        self.compiled_ok = False          # a compiled mode has run one step (until then a failure falls back)
        self._set_compile(tcfg.compile if tcfg.compile != "auto" else ("net" if device.type == "cuda" else "off"))
        if world_size > 1:
            self.step_module = nn.parallel.DistributedDataParallel(
                self.step_module, device_ids=[device.index] if device.type == "cuda" else None,
                broadcast_buffers=False)

        params = [p for n, p in self.model.named_parameters() if not n.startswith(PUZZLE_EMB)]
        self.optimizer = make_optimizer(tcfg.optimizer, params, betas=(tcfg.beta1, tcfg.beta2),
                                        weight_decay=tcfg.weight_decay, device=device)
        self.puzzle_emb = getattr(getattr(self.model, "puzzle_emb", None), "weights", None)
        self.sampler = BatchSampler(mcfg.task, data.train, tcfg.augment,
                                    seed=hash((tcfg.seed, rank, start_step)) & 0x7FFFFFFF)
        self.gen = self.sampler.gen
        self.slots = self._empty_slots()
        self.sums = torch.zeros(len(METRICS), device=device, dtype=torch.float64)

    def _empty_slots(self) -> Slots:
        B, S, D, L = self.batch, self.mcfg.total_len, self.mcfg.hidden_size, self.mcfg.seq_len
        zeros = lambda *s: torch.zeros(*s, dtype=torch.long, device=self.device)  # noqa: E731
        z = lambda: torch.zeros(B, S, D, device=self.device, dtype=self.carry_dtype)  # noqa: E731
        return Slots(z(), z(),
                     zeros(B, L), zeros(B, L), zeros(B), zeros(B),
                     torch.ones(B, dtype=torch.bool, device=self.device))   # all halted: filled at the first step

    def _set_compile(self, mode: str) -> None:
        """Compile the whole step ("step"), the reasoning blocks ("net") or nothing ("off"), undoing any earlier
        choice (nn.Module.compile keeps the compiled callable in _compiled_call_impl)."""
        self.step_module._compiled_call_impl = None
        self.model.L_level._compiled_call_impl = None
        if mode == "step":
            self.step_module.compile(mode=self.tcfg.compile_mode)
        elif mode == "net":
            self.model.L_level.compile(mode=self.tcfg.compile_mode)
        self.compile = mode

    def _fall_back(self, error: Exception) -> bool:
        """The first step failed with the fused kernel on (turn it off) or in a compiled mode (a compiler bug of the
        installed torch/Triton, as measured with "step" on the H200: switch to the next mode, step -> net -> off),
        rather than lose a GPU session. Under DDP, or once a step has run, the error is real: False, and the caller
        raises it. An error that is neither shows up again in eager mode and is raised there."""
        if self.compiled_ok or self.world_size > 1:
            return False
        why = f"({error_line(error)})"
        if fused_mlp_t.enabled():          # the optional Triton kernel goes first: the least to give up
            self.say(f"the first step failed with the fused MLP over positions {why}; turning it off")
            fused_mlp_t.set_enabled(False)
            nxt = self.compile
        elif self.compile == "off":
            return False
        else:
            nxt = "net" if self.compile == "step" else "off"
            self.say(f"compile={self.compile} failed at the first step {why}; falling back to compile={nxt}")
        torch._dynamo.reset()
        self._set_compile(nxt)
        return True

    # --- schedule ---------------------------------------------------------------------------------------------
    def lr_factor(self, step: int) -> float:
        """Linear warm-up from 0 over lr_warmup_steps; after a resume, also a short re-warm-up because the optimizer
        moments start again from zero. Then constant, or with lr_min_ratio < 1 a cosine down to lr_min_ratio over
        the run's budget (``self.progress``: 0 at the start of this run, 1 at its end)."""
        f = min(1.0, (step + 1) / max(1, self.tcfg.lr_warmup_steps))
        if self.resumed:
            f = min(f, (step - self.start_step + 1) / max(1, self.tcfg.lr_rewarmup_steps))
        r = self.tcfg.lr_min_ratio
        if r < 1.0:
            f *= r + (1.0 - r) * 0.5 * (1.0 + math.cos(math.pi * min(1.0, max(0.0, self.progress))))
        return f

    # --- one optimizer step -----------------------------------------------------------------------------------
    def train_step(self) -> None:
        s, t = self.slots, self.tcfg
        new_inputs, new_labels, new_ids = self.sampler.sample(self.batch)
        h = s.halted
        s.inputs = torch.where(h[:, None], new_inputs, s.inputs)
        s.labels = torch.where(h[:, None], new_labels, s.labels)
        s.ids = torch.where(h, new_ids, s.ids)
        s.z_H = torch.where(h[:, None, None], self.model.H_init.to(self.carry_dtype), s.z_H)
        s.z_L = torch.where(h[:, None, None], self.model.L_init.to(self.carry_dtype), s.z_L)
        s.steps = torch.where(h, 0, s.steps)

        try:
            with autocast_for(self.device, self.amp_dtype):
                loss, z_H, z_L, q_halt, stats = self.step_module(s.z_H, s.z_L, s.inputs, s.labels, s.ids)
            loss.backward()
        except Exception as e:     # noqa: BLE001 - only a first compiled step falls back; anything else re-raises
            if not self._fall_back(e):
                raise
            self.optimizer.zero_grad(set_to_none=True)
            if self.puzzle_emb is not None:
                self.puzzle_emb.grad = None
            return self.train_step()
        self.compiled_ok = True
        s.z_H, s.z_L = z_H, z_L

        f = self.lr_factor(self.step)
        self.lr_used = (t.lr * f, self.progress)
        for group in self.optimizer.param_groups:
            group["lr"] = t.lr * f
        if t.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(self.optimizer.param_groups[0]["params"], t.grad_clip)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self._puzzle_emb_step(t.puzzle_emb_lr * f)
        self._ema_update()

        # Halting (no host sync: all decisions are device tensors).
        N = self.mcfg.halt_max_steps
        s.steps = s.steps + 1
        explore = torch.rand(self.batch, generator=self.gen, device=self.device) < self.mcfg.halt_exploration_prob
        min_steps = explore * torch.randint(2, N + 1, (self.batch,), generator=self.gen, device=self.device)
        s.halted = ((s.steps >= N) | (q_halt > 0)) & (s.steps >= min_steps)

        with torch.no_grad():
            hf = s.halted.to(torch.float64)
            right = stats["seq_correct"]
            self.sums += torch.stack([loss.detach().double(), stats["lm_loss"].double(),
                                      stats["q_halt_loss"].double(), hf.sum(), (hf * right).sum(),
                                      (hf * s.steps).sum(), (hf * ((q_halt > 0) == right)).sum(),
                                      cell_accuracy(stats).double().mean()])
        self.step += 1

    @torch.no_grad()
    def _puzzle_emb_step(self, lr: float) -> None:
        """The official sparse sign-SGD for puzzle embeddings: rows used in the (global) batch move by
        -lr * sign(grad) with decoupled weight decay; untouched rows do not change at all. Adam on a dense table would
        decay and move every row at every step (momentum), which sparse per-puzzle rows must not suffer."""
        w = self.puzzle_emb
        if w is None or w.grad is None:
            return
        g = w.grad
        used = (g != 0).any(-1, keepdim=True)
        w.sub_(lr * (torch.sign(g) + self.tcfg.puzzle_emb_weight_decay * w * used))
        w.grad = None

    @torch.no_grad()
    def _ema_update(self) -> None:
        # Warm-up of the decay (as in most EMA implementations): with a fixed 0.999 the average of a short run
        # would still be mostly the random initial weights.
        step = self.step + 1
        rate = min(self.tcfg.ema_rate, (1 + step) / (10 + step))
        names = list(self.ema)
        params = dict(self.model.named_parameters())
        torch._foreach_lerp_([self.ema[n] for n in names], [params[n].detach().float() for n in names], 1 - rate)

    # --- metrics ----------------------------------------------------------------------------------------------
    def pop_metrics(self, steps: int) -> dict[str, float]:
        """Sum the interval's metrics over processes (the loop's one host synchronisation) and reset them."""
        sums = self.sums.clone()
        if self.world_size > 1:
            dist.all_reduce(sums)
        v = dict(zip(METRICS, sums.tolist()))
        self.sums.zero_()
        n = max(v["halted"], 1.0)
        per_step = max(steps * self.world_size, 1)
        return {"loss": v["loss"] / per_step, "lm_loss": v["lm_loss"] / per_step,
                "q_halt_loss": v["q_halt_loss"] / per_step, "exact": v["exact"] / n,
                "cell_acc": v["cell_acc"] / max(steps, 1) / self.world_size, "halt_steps": v["halt_steps"] / n,
                "q_halt_accuracy": v["q_halt_right"] / n, "halted": int(v["halted"])}

    def ema_model(self) -> TRM:
        """A float32 copy of the model holding the EMA weights (what is evaluated and shipped)."""
        model = TRM(self.mcfg).to(self.device)
        state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        state.update({n: t.clone() for n, t in self.ema.items()})
        model.load_state_dict(state)
        return model.eval()

    # --- the loop ---------------------------------------------------------------------------------------------
    def run(self, *, max_steps: int, deadline: Callable[[float], bool], log: Callable[[dict], None],
            progress: Callable[[int], float] | None = None) -> int:
        """Train until ``max_steps`` steps (0: no limit) or until ``deadline(seconds_per_step)`` says stop, checked
        at every step on one process and at logging steps under DDP (all ranks must stop at the same step).
        ``progress(steps_done)``, read at the same points, is the share of the run's budget used (0..1): it drives
        the lr_min_ratio cosine (under DDP the ranks take the largest, so their lr stays equal; it then moves
        every log_every steps only).
        Ends early, setting ``interrupted``, on Ctrl-C or SIGTERM (the steps since the last log line are logged),
        and, setting ``diverged``, on a logged loss that is not finite. Returns the number of steps done."""
        t = self.tcfg
        done, t_last, steps_since = 0, time.perf_counter(), 0
        sec_per_step = math.nan
        try:
            while max_steps <= 0 or done < max_steps:
                self.train_step()
                done += 1
                steps_since += 1
                # Step 1 (compilation included) and step EARLY_LOG (the first step time, that the --minutes budget
                # plans the evaluation with) are logged besides every log_every-th step.
                boundary = done in (1, EARLY_LOG) or self.step % t.log_every == 0 or done == max_steps
                if boundary:
                    m = self.pop_metrics(steps_since)          # synchronises with the device
                    now = time.perf_counter()
                    rate = steps_since / (now - t_last)
                    if done > 1:                                # the first step includes compilation
                        sec_per_step = 1.0 / rate
                    log({"step": self.step, **m, "lr": self.lr_used[0], "steps_per_s": rate})
                    t_last, steps_since = now, 0
                    if not math.isfinite(m["loss"]):
                        self.diverged = True
                        break
                stop = False
                if self.world_size == 1 or boundary:
                    stop = deadline(sec_per_step)
                    frac = progress(done) if progress is not None else 0.0
                    if self.world_size > 1:
                        flag = torch.tensor([float(stop), frac], device=self.device, dtype=torch.float64)
                        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
                        stop, frac = bool(flag[0].item()), float(flag[1].item())
                    self.progress = max(self.progress, frac)   # never back: a faster step must not raise the lr
                if stop:
                    break
        except KeyboardInterrupt:        # Ctrl-C or SIGTERM: log the steps trained since the last line, then stop
            self.interrupted = True
        if steps_since:
            m = self.pop_metrics(steps_since)
            log({"step": self.step, **m, "lr": self.lr_used[0],
                 "steps_per_s": steps_since / max(time.perf_counter() - t_last, 1e-9)})
            self.diverged |= not math.isfinite(m["loss"])
        return done
