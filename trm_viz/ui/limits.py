"""What a shared 2-vCPU host runs: recursion counts up to 16 each (the engine allows more, model.config.ENGINE_LIMITS)
and at most HOSTED_GFLOP of arithmetic per trace (model.cost). A cost bound instead of a fixed T: the 0.1M-parameter
sudoku-tiny thinks at T=16 in well under a second, while the 30x30 TRM-Att at T=6, n=12 would hold a worker for
~3 minutes. The UI sliders, the Run button and the /trace and /vote endpoints all go through hosted_counts; the
Vote button and /vote also through hosted_variants (a vote's copies run together, at most HOSTED_VOTE_GFLOP).
"""
from __future__ import annotations

from typing import Any

from ..model.config import TRMConfig, resolve_counts
from ..model.cost import trace_flops
from ..vote import MAX_VARIANTS

HOSTED_LIMITS = {"steps": 16, "H_cycles": 16, "L_cycles": 16}
MAX_STEPS, MAX_H_CYCLES, MAX_L_CYCLES = HOSTED_LIMITS["steps"], HOSTED_LIMITS["H_cycles"], HOSTED_LIMITS["L_cycles"]
# The 30x30 TRM-Att at its own T=3, n=4 (3,822 GFLOP for 16 steps, ~40 s on 2 cores) is the dearest run allowed.
HOSTED_GFLOP = 4000
# A vote runs all its copies in one batch: the paper Sudoku's 16 at its own T=3, n=6 (6,562 GFLOP) is the dearest.
HOSTED_VOTE_GFLOP = 8000


def whole(value: Any) -> Any:
    """gradio_client and sliders may send 16.0 for 16: accept whole floats, leave anything else for resolve_counts
    to refuse."""
    return int(value) if isinstance(value, float) and value.is_integer() else (value or 0)


def _largest(fits, upto: int) -> int:
    """The largest k in 1..upto with fits(k), or 0 (cost grows with k)."""
    return max((k for k in range(1, upto + 1) if fits(k)), default=0)


def hosted_counts(config: TRMConfig, steps: Any = 0, H_cycles: Any = 0, L_cycles: Any = 0) -> tuple[int, int, int]:
    """(steps, H_cycles, L_cycles) a hosted run uses (0: the model's own), or ValueError saying what fits."""
    steps, T, n = resolve_counts(config, whole(steps), whole(H_cycles), whole(L_cycles), HOSTED_LIMITS)
    gflop = trace_flops(config, steps, T, n) / 1e9
    if gflop <= HOSTED_GFLOP:
        return steps, T, n

    def fits(s: int, t: int, m: int) -> bool:
        return trace_flops(config, s, t, m) / 1e9 <= HOSTED_GFLOP

    largest = {"H_cycles": _largest(lambda t: fits(steps, t, n), T),      # each with the other two as asked
               "L_cycles": _largest(lambda m: fits(steps, T, m), n),
               "steps": _largest(lambda s: fits(s, T, n), steps)}
    options = [f"{name} to {k}" for name, k in largest.items() if k]
    advice = ("lower " + ", or ".join(options) + " (any one is enough)" if options
              else "this model is too large for it at any setting; run it with the CLI (python -m trm_viz trace)")
    raise ValueError(f"{steps} steps at H_cycles {T}, L_cycles {n} would cost {gflop:,.0f} GFLOP with this model, "
                     f"more than the {HOSTED_GFLOP:,} GFLOP this host runs per trace (about a minute on 2 CPU "
                     f"cores): {advice}.")


def hosted_variants(config: TRMConfig, steps: int, H_cycles: int, L_cycles: int, variants: Any) -> Any:
    """``variants`` when a vote over that many copies of a run costs at most HOSTED_VOTE_GFLOP together, else
    ValueError saying how many fit (a count that is not a whole number is left for run_vote to refuse)."""
    if isinstance(variants, bool) or not isinstance(variants, int) or not 1 <= variants <= MAX_VARIANTS:
        return variants                    # (run_vote refuses it, saying the range)
    per_copy = trace_flops(config, steps, H_cycles, L_cycles) / 1e9
    most = min(MAX_VARIANTS, int(HOSTED_VOTE_GFLOP // per_copy))
    if variants <= most:
        return variants
    advice = f"vote over at most {most} variants" if most >= 2 else "lower H_cycles, L_cycles or steps first"
    raise ValueError(f"A vote over {variants} variants at {steps} steps, H_cycles {H_cycles}, L_cycles {L_cycles} "
                     f"would cost {variants * per_copy:,.0f} GFLOP with this model, more than the "
                     f"{HOSTED_VOTE_GFLOP:,} GFLOP this host runs per vote: {advice}.")
