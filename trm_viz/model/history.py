"""Reading how a checkpoint was trained: its model card (card.json, one record per training run, written by
trm_viz.train) and its metrics log (metrics.jsonl, one line per logging interval plus one per held-out
evaluation). The app shows this history next to the model; the registry uses it to tell a model that solves
puzzles from one still in training.

Both files come from disk and may be hand-edited, truncated or hostile: anything unreadable is skipped (a bad
line of the log, a run without numbers) or makes the whole history None, never an exception. Reads are capped in
size so that a huge file cannot stall the app.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MAX_CARD_BYTES = 4 << 20          # the largest real card is ~15 kB
MAX_METRICS_BYTES = 32 << 20      # ~1,500 lines per 75k steps at log_every 50; far below this


@dataclass
class Evaluation:
    """One held-out evaluation at the end of a training run (EMA weights, all supervision steps)."""
    run: int                      # 1-based run number in the card
    step: int                     # total optimizer steps when it was measured
    exact: float                  # fraction of puzzles exactly right after the last step
    exact_at_halt: float | None
    cells: float | None           # fraction of cells right after the last step
    vote: float | None            # the symmetry / variant vote's pass@1, when measured
    vote_pass2: float | None      # and its pass@2 (ARC's official metric)
    n: int
    held_out: str                 # which held-out set (runs of one card may train and evaluate on different data)
    lr: float | None = None       # the run's learning rate (its peak, after warm-up) ...
    lr_end: float | None = None   # ... and where its lr_min_ratio cosine ended (None: constant)
    depth: str = ""               # "T=4, n=2" on a run that only evaluated (0 steps), often at another depth


@dataclass
class TrainingHistory:
    total_steps: int
    gpu_minutes: float
    cpu_minutes: float
    runs: int                     # training runs (not the evaluation-only ones); devices: theirs
    devices: list[str]
    evaluations: list[Evaluation]
    evaluation_only: int = 0      # runs that only scored the weights (at another depth, say)
    unevaluated: list[int] = field(default_factory=list)    # runs (numbered in card order) that scored nothing
    not_asked: list[int] = field(default_factory=list)      # ... of which these were told not to (--no-eval)
    interrupted: list[int] = field(default_factory=list)    # runs ended early by Ctrl-C or SIGTERM
    # the training log, one point per logging interval: step -> value
    steps: list[int] = field(default_factory=list)
    lm_loss: list[float] = field(default_factory=list)
    cell_acc: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)      # NaN where the log has no learning rate

    @property
    def solved(self) -> float:
        """The best share of held-out puzzles any evaluation solved (alone or by the vote)."""
        return max((max(e.exact, e.vote or 0.0) for e in self.evaluations), default=0.0)

    @property
    def still_training(self) -> bool:
        """Trained, but no evaluation has solved a held-out puzzle yet (or none was run)."""
        return self.runs > 0 and self.solved <= 0.0


def _read_text(path: Path, limit: int) -> str | None:
    try:
        if not path.is_file() or path.stat().st_size > limit:
            return None
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def _number(value: Any) -> float | None:
    """A finite number read from a card or log, else None."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _fraction(value: Any) -> float | None:
    v = _number(value)
    return v if v is not None and 0.0 <= v <= 1.0 else None


def evaluation_only(run: dict[str, Any]) -> bool:
    """A card run of 0 steps (``train --eval-only``): it scored the weights, often at another depth, and trained
    nothing."""
    return run.get("steps") == 0


def eval_set_label(data: dict[str, Any]) -> str:
    """Which held-out set a run was scored on, from the run's data record (the card's "data")."""
    if data.get("blanks"):
        return f"{data['blanks']} blanks"
    if "min_guesses" in data:
        return "minimal puzzles" + (f", >= {data['min_guesses']} guesses" if data["min_guesses"] else "")
    if "min_path" in data:
        return f"path >= {data['min_path']}"
    if "variants_per_task" in data:        # ARC: the test pairs of the trained tasks
        size = data.get("size", 30)
        return f"test pairs of {data.get('tasks', '?')} tasks" + (f" (grids <= {size}x{size})" if size < 30 else "")
    return str(data.get("source", "?"))[:40]


def hard_set_label(hard: dict[str, Any]) -> str:
    """The second held-out Sudoku set of a run's evaluation (its "hard" record): puzzles that need search."""
    return f"minimal puzzles, >= {str(hard.get('min_guesses', '?'))[:6]} guesses"


def _positive(value: Any) -> float | None:
    v = _number(value)
    return v if v is not None and v > 0 else None


def _run_lr(run: dict) -> tuple[float | None, float | None]:
    """A run's learning rate and, when it annealed (lr_min_ratio < 1), the one it ended at."""
    tc = run.get("train_config")
    if not isinstance(tc, dict):
        return None, None
    lr, ratio = _positive(tc.get("lr")), _fraction(tc.get("lr_min_ratio", 1.0))
    return lr, (lr * ratio if lr is not None and ratio is not None and ratio < 1.0 else None)


def _evaluations(run_no: int, run: dict) -> list[Evaluation]:
    """A run's held-out evaluations: its held-out set's, then (Sudoku, when measured) the hard set's."""
    ev = run.get("eval")
    if not isinstance(ev, dict):
        return []
    evaluated = evaluation_only(run)
    lr, lr_end = (None, None) if evaluated else _run_lr(run)
    depth = f"T={run['H_cycles']}, n={run['L_cycles']}" if evaluated and "H_cycles" in run else ""

    def one(r: Any, held_out: str, with_vote: bool) -> Evaluation | None:
        if not isinstance(r, dict) or not isinstance(r.get("exact_by_step"), list) or not r["exact_by_step"]:
            return None
        exact, cells = _fraction(r["exact_by_step"][-1]), r.get("cell_acc_by_step")
        if exact is None:
            return None
        return Evaluation(run=run_no, step=int(run.get("steps_end") or 0), exact=exact,
                          exact_at_halt=_fraction(r.get("exact_at_halt")),
                          cells=_fraction(cells[-1]) if isinstance(cells, list) and cells else None,
                          vote=_fraction(r.get("pass_at_1")) if with_vote else None,
                          vote_pass2=_fraction(r.get("pass_at_2")) if with_vote else None,
                          n=int(r.get("n") or 0), held_out=held_out, lr=lr, lr_end=lr_end, depth=depth)

    main = one(ev, eval_set_label(run["data"]) if isinstance(run.get("data"), dict) else "?", True)
    hard = one(ev.get("hard"), hard_set_label(ev["hard"]), False) if isinstance(ev.get("hard"), dict) else None
    return [] if main is None else [main] + ([hard] if hard is not None else [])


def _read_metrics(folder: Path, history: TrainingHistory) -> None:
    text = _read_text(folder / "metrics.jsonl", MAX_METRICS_BYTES)
    for line in (text or "").splitlines():
        try:
            row = json.loads(line)
            step, loss, acc = int(row["step"]), float(row["lm_loss"]), float(row["cell_acc"])
        except (ValueError, TypeError, KeyError):
            continue                                   # an evaluation line, or a broken one
        if math.isfinite(loss) and math.isfinite(acc):
            history.steps.append(step)
            history.lm_loss.append(loss)
            history.cell_acc.append(acc)
            lr = _positive(row.get("lr"))
            history.lr.append(math.nan if lr is None else lr)


def read_history(folder: str | Path, with_metrics: bool = True) -> TrainingHistory | None:
    """The training history of a checkpoint folder; None when it has no readable card (a user's checkpoint, an
    official one, a hand-made one)."""
    folder = Path(folder)
    text = _read_text(folder / "card.json", MAX_CARD_BYTES)
    if text is None:
        return None
    try:
        card = json.loads(text)
        runs = [r for r in card["runs"] if isinstance(r, dict)]
        trained = [r for r in runs if not evaluation_only(r)]
        history = TrainingHistory(
            total_steps=int(card["total_steps"]), gpu_minutes=float(card.get("gpu_minutes") or 0.0),
            cpu_minutes=float(card.get("cpu_minutes") or 0.0), runs=len(trained),
            # (cards written before 2026-11-27 said "1 threads")
            devices=sorted({str(r.get("device")).replace(" 1 threads)", " 1 thread)") for r in trained
                            if r.get("device")}),
            evaluations=[e for i, r in enumerate(runs, 1) for e in _evaluations(i, r)],
            evaluation_only=len(runs) - len(trained))
        scored = {e.run for e in history.evaluations}
        history.unevaluated = [i for i in range(1, len(runs) + 1) if i not in scored]
        history.not_asked = [i for i in history.unevaluated if runs[i - 1].get("no_eval")]
        history.interrupted = [i for i, r in enumerate(runs, 1) if r.get("ended") == "interrupted"]
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
        return None
    if with_metrics:
        _read_metrics(folder, history)
    return history
