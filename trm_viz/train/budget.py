"""A run's wall-clock budget (--minutes) and step budget (--max-steps): when to stop training so that the held-out
evaluation, the vote and saving still fit, and how far through its budget a run is (the lr_min_ratio cosine and the
log's progress bar read that).

The evaluation runs eagerly, forward only, all halt_max_steps steps: it is estimated from the measured training step
(a forward is ~T(n+1) of the T(n+1) + 2(n+1) net calls a training step costs, backward counted twice).
"""
from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Callable

from ..model.config import TRMConfig
from .config import TrainConfig

if TYPE_CHECKING:
    from .loop import Trainer

SAVE_RESERVE_S = 8.0       # writing the folder + building the EMA copy (~1 s measured) with a margin


def budget_share(done: int, max_steps: int, elapsed_s: float, train_left_s: float) -> float:
    """Share of a run's training budget used, 0..1 (it drives the lr_min_ratio cosine): of max_steps, or of the
    training time (elapsed + what the --minutes budget leaves for training once evaluation and saving are set
    aside; inf: no time budget), the larger when both apply; 0 when the run has no budget."""
    shares = [done / max_steps] if max_steps > 0 else []
    if math.isfinite(train_left_s):
        shares.append(elapsed_s / max(elapsed_s + max(train_left_s, 0.0), 1e-9))
    return min(1.0, max(shares, default=0.0))


def fit_evaluation(left_s: float, plain_s: float, vote_s: float) -> tuple[bool, list[str]]:
    """Whether the end-of-run vote keeps its place in a --minutes budget with ``left_s`` seconds left (the plain
    held-out evaluation is estimated at ``plain_s``, the vote at ``vote_s``), and what to tell the user. A vote that
    would take over half of what is left is skipped for this run: a short CPU run would otherwise train nothing
    (16 copies of every held-out puzzle, 16 steps each)."""
    keep, said = True, []
    if vote_s and plain_s + vote_s > left_s / 2:
        keep = False
        said.append(f"budget: the vote over variants (~{vote_s:.0f} s) would take over half of the {left_s:.0f} s "
                    "left, so this run skips it (--set vote_variants=0 skips it always; more --minutes keeps it)")
    if plain_s > left_s:
        said.append(f"budget: the held-out evaluation alone (~{plain_s:.0f} s) does not fit the {left_s:.0f} s left, "
                    "so the run will end late: lower --eval-size or raise --minutes")
    return keep, said


def cpu_step_seconds(flops: float) -> float:
    """Roughly how long a training step of ``flops`` takes on this CPU: the speed of a float32 matmul measured here
    (~0.1 s), at 40% of it, as a step reached on a 2-core AMD EPYC (32.8 TFLOP in 441 s: 74 GFLOP/s)."""
    import torch

    a = torch.randn(1024, 1024)
    a @ a                                   # warm-up
    t = time.perf_counter()
    for _ in range(4):
        a @ a
    speed = 4 * 2 * 1024 ** 3 / max(time.perf_counter() - t, 1e-6)
    return flops / (0.4 * speed)


def first_step_warning(flops: float, left_s: float, minutes: float) -> str | None:
    """What to say before a CPU run whose first step alone would outlast its --minutes budget (a paper-size
    configuration: 7 minutes a step on 2 cores), which --minutes cannot stop: it is checked between steps."""
    est = cpu_step_seconds(flops)
    if est <= left_s:
        return None
    return (f"budget: one training step of this configuration is {flops / 1e12:.1f} TFLOP, about {est:.0f} s on this "
            f"CPU, more than the {left_s:.0f} s left of --minutes {minutes:g}: --minutes is checked between steps, "
            "so this run will end late, and so will its evaluation. A GPU fits it, or a smaller configuration on a "
            "CPU (README: 'How the shipped small models were trained').")


class Budget:
    """The deadline and progress callbacks of Trainer.run for one run that started at ``t0`` (time.time()):
    ``n_eval`` / ``n_hard`` held-out puzzles evaluated ``eval_bs`` at a time at its end, and a vote over
    ``vote_rows`` times the plain evaluation's rows (0: none). ``say`` logs a line."""

    def __init__(self, tcfg: TrainConfig, mcfg: TRMConfig, t0: float, *, eval_bs: int, n_eval: int, n_hard: int,
                 vote_rows: float, say: Callable[[str], None]):
        self.tcfg, self.mcfg, self.t0, self.say = tcfg, mcfg, t0, say
        self.eval_bs, self.n_eval, self.n_hard, self.vote_rows = eval_bs, n_eval, n_hard, vote_rows
        calls = mcfg.H_cycles * (mcfg.L_cycles + 1)
        self.fwd_share = calls / (calls + 2 * (mcfg.L_cycles + 1))
        self.train_left = math.inf     # seconds of the budget left for training, as the last deadline() estimated
        self.vote = True               # the vote may be dropped to fit --minutes (said once, in the log)
        self._told = False
        self.t_train = time.time()     # when training began (start() sets it)
        self.trainer: Trainer | None = None

    def start(self, trainer: Trainer) -> None:
        """Training begins now, with ``trainer`` (its step time is measured; its compile mode read at each call:
        a compile that fails falls back to eager)."""
        self.t_train, self.trainer = time.time(), trainer

    def _plain_eval_s(self, n: int, sec_per_step: float) -> float:
        compiled = self.trainer is not None and self.trainer.compile != "off"
        batch = self.trainer.batch if self.trainer is not None else self.tcfg.global_batch_size
        eager_factor = 3.0 if compiled else 1.0        # the evaluation runs eagerly: slower than a compiled step
        return (math.ceil(n / self.eval_bs) * self.mcfg.halt_max_steps * sec_per_step * self.fwd_share
                * eager_factor * min(self.eval_bs, max(n, 1)) / batch)

    def deadline(self, sec_per_step: float) -> bool:
        """Whether to stop now: what is left of --minutes no longer holds two more steps besides the evaluation,
        the vote and saving. The first measured step time also decides whether the vote fits (said in the log)."""
        if self.tcfg.minutes <= 0:
            return False
        left = self.tcfg.minutes * 60 - (time.time() - self.t0)
        if math.isnan(sec_per_step):
            return left < SAVE_RESERVE_S + 30
        plain = self._plain_eval_s(self.n_eval, sec_per_step) + (
            self._plain_eval_s(self.n_hard, sec_per_step) if self.n_hard else 0.0)
        vote = self._plain_eval_s(self.n_eval, sec_per_step) * self.vote_rows if self.vote else 0.0
        if not self._told:
            self._told = True
            self.vote, said = fit_evaluation(left - SAVE_RESERVE_S, plain, vote)
            vote = vote if self.vote else 0.0
            for line in said:
                self.say(line)
        self.train_left = left - plain - vote - SAVE_RESERVE_S
        return self.train_left < 2 * sec_per_step

    def progress(self, done: int) -> float:
        """The share of the budget used after ``done`` steps of this run (budget_share)."""
        return budget_share(done, self.tcfg.max_steps, time.time() - self.t_train, self.train_left)
