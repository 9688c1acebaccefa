"""The model card: card.json accumulates one record per training run (date, device, steps, device-minutes, data,
evaluation), and README.md is rendered from it so the shipped checkpoint always describes its whole history."""
from __future__ import annotations

import datetime as _dt
import math
import platform
from typing import Any

import torch

from ..model.config import TRMConfig
from ..model.history import eval_set_label, evaluation_only, hard_set_label

TASK_TITLES = {"sudoku": "Sudoku (9x9)", "maze": "Maze (30x30, shortest path)", "arc": "ARC-AGI (30x30 canvas)"}
SHOWN_STEPS = (1, 2, 4, 8, 16)
OPTIMIZER_NAMES = {"adam_atan2": "Adam-atan2 (as the official code; sign-SGD for puzzle embeddings)",
                   "adamw": "AdamW (sign-SGD for puzzle embeddings)"}


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    n = torch.get_num_threads()
    return f"CPU ({platform.processor() or platform.machine()}, {n} thread{'s' if n != 1 else ''})"


def new_card(task: str) -> dict[str, Any]:
    return {"task": task, "total_steps": 0, "gpu_minutes": 0.0, "cpu_minutes": 0.0, "runs": []}


def describe_model(card: dict[str, Any], model_config: TRMConfig, params: int) -> None:
    """The architecture the card's README describes: the latest run's (or a grown model's, before it trains)."""
    card["parameters"] = params
    card["model"] = {k: v for k, v in model_config.to_dict().items() if k != "puzzle_names"}


def add_run(card: dict[str, Any], *, device: torch.device, processes: int, steps_start: int, steps_end: int,
            minutes: float, data_info: dict[str, Any], train_config: dict[str, Any], model_config: TRMConfig,
            eval_result: dict[str, Any] | None, last_train: dict[str, Any] | None, params: int,
            ended: str | None = None, no_eval: bool = False) -> dict[str, Any]:
    """Append this run's record and update the totals (in place; returns the card). ``ended``: "interrupted" when
    Ctrl-C or SIGTERM ended it before its budget; ``no_eval``: it was asked not to evaluate (--no-eval)."""
    device_minutes = minutes * processes
    card["task"] = model_config.task
    card["total_steps"] = steps_end
    key = "gpu_minutes" if device.type == "cuda" else "cpu_minutes"
    card[key] = round(card.get(key, 0.0) + device_minutes, 2)
    describe_model(card, model_config, params)
    card["runs"].append({
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "device": device_name(device), "device_type": device.type, "processes": processes,
        "steps_start": steps_start, "steps_end": steps_end, "steps": steps_end - steps_start,
        "wall_minutes": round(minutes, 2), key: round(device_minutes, 2),
        # the recursion depth this run trained and evaluated at: a resume may change it (an --eval-only run does
        # nothing else)
        "H_cycles": model_config.H_cycles, "L_cycles": model_config.L_cycles,
        "data": data_info, "train_config": train_config, "eval": eval_result, "last_train_metrics": last_train,
        **({"ended": ended} if ended else {}), **({"no_eval": True} if no_eval else {}),
    })
    return card


def _data_value(v: Any) -> str:
    """A data setting as card text: a list as "a, b", a dict as "key value, ..." (numbers to 4 significant digits)."""
    if isinstance(v, dict):
        return ", ".join(f"{k} {_data_value(x)}" for k, x in v.items())
    if isinstance(v, list):
        return ", ".join(map(_data_value, v))
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}"


def _eval_cells(held_out: str, ev: dict[str, Any]) -> str:
    """The evaluation-table cells of one held-out set: its name, exact after the shown steps, at halt, ..."""
    by_step = ev.get("exact_by_step") or []
    exact = [_pct(by_step[s - 1]) if len(by_step) >= s else "-" for s in SHOWN_STEPS]
    return (f"{held_out} | " + " | ".join(exact) + f" | {_pct(ev.get('exact_at_halt'))} | "
            f"{_pct((ev.get('cell_acc_by_step') or [None])[-1])} | {_pct(ev.get('halt_accuracy'))} | "
            f"{ev.get('mean_steps', '-')} | {ev.get('n', '-')} |")


def _title(task: str, model: dict[str, Any]) -> str:
    side = math.isqrt(int(model.get("seq_len", 900)))
    if task == "maze" and side != 30:       # a small-canvas maze model (maze_size)
        return f"Maze ({side}x{side}, shortest path)"
    if task == "arc" and side != 30:        # a small-canvas ARC model (arc_size): the tasks whose grids fit it
        return f"ARC-AGI (tasks with grids up to {side}x{side})"
    return TASK_TITLES.get(task, task)


def render_readme(card: dict[str, Any]) -> str:
    task = card.get("task", "")
    model = card.get("model", {})
    runs = card.get("runs", [])
    last = runs[-1] if runs else {}
    tc = last.get("train_config", {})
    data = last.get("data", {})
    variant = "TRM-MLP (MLP over positions)" if model.get("mlp_t") else "TRM-Att (self-attention)"
    lines = [
        f"# Tiny Recursive Model for {_title(task, model)}", "",
        f"A {variant} trained with trm_viz (`python -m trm_viz.train --task {task}`), a re-implementation of "
        "*Less is More: Recursive Reasoning with Tiny Networks* (Jolicoeur-Martineau, 2025). "
        f"Weights are the exponential moving average of the trained weights, at rate min({tc.get('ema_rate', '?')}, "
        "(1 + t) / (10 + t)) after optimizer step t (the official code uses the fixed rate from step 1; warmed up, a "
        "short run's average is not mostly its random initial weights).", "",
        "## Summary", "",
        "| | |", "|---|---|",
        f"| task | {task} |",
        f"| parameters (without puzzle embeddings) | {card.get('parameters', 0):,} |",
        f"| total optimizer steps | {card.get('total_steps', 0):,} |",
        f"| GPU-minutes | {card.get('gpu_minutes', 0):.1f} |",
        f"| CPU-minutes | {card.get('cpu_minutes', 0):.1f} |",
        f"| training runs | {sum(not evaluation_only(r) for r in runs)} |", "",
        "## Architecture", "",
        "| setting | value |", "|---|---|",
    ]
    for key in ("hidden_size", "L_layers", "num_heads", "expansion", "mlp_t", "pos_encodings", "H_cycles",
                "L_cycles", "halt_max_steps", "puzzle_emb_ndim", "puzzle_emb_len", "num_puzzle_identifiers",
                "vocab_size", "seq_len"):
        if key in model:
            lines.append(f"| {key} | {model[key]} |")
    lines += ["", "## Training", "",
              f"Deep supervision: up to {model.get('halt_max_steps', 16)} supervision steps per puzzle, one optimizer "
              "step per supervision step; loss = stablemax cross-entropy + 0.5 x BCE(q_halt, answer exactly right); "
              "a puzzle leaves the batch when q_halt_logit > 0 (exploration: "
              f"{100 * model.get('halt_exploration_prob', 0.1):.0f}% of puzzles get a random minimum of 2-"
              f"{model.get('halt_max_steps', 16)} steps).", "",
              "| setting (last run) | value |", "|---|---|"]
    if tc:   # runs saved before the optimizer was a setting all used AdamW
        lines.append(f"| optimizer | {OPTIMIZER_NAMES.get(tc.get('optimizer', 'adamw'), tc.get('optimizer'))} |")
    for key in ("global_batch_size", "lr", "lr_min_ratio", "lr_warmup_steps", "beta1", "beta2", "weight_decay",
                "puzzle_emb_lr", "puzzle_emb_weight_decay", "ema_rate", "augment", "seed"):
        if key in tc and not (key == "lr_min_ratio" and tc[key] == 1.0):   # 1.0: constant lr, the usual case
            lines.append(f"| {key} | {tc[key]} |")
    lines += ["", "## Data", "", f"- {data.get('source', 'unknown')}",
              f"- training examples: {data.get('train_examples', '?')}, held-out examples: "
              f"{data.get('eval_examples', '?')} (never trained on)"]
    for k, v in data.items():
        if k not in ("source", "train_examples", "eval_examples") and v not in (None, "", [], {}):
            lines.append(f"- {k}: {_data_value(v)}")
    lines += ["", "## Evaluation history (held-out set, EMA weights)", "",
              "Exact accuracy (% of puzzles entirely right) after N supervision steps, at the halting step "
              "(first step with sigmoid(q_halt) > 0.5, else the last), fraction of cells right after the last step, "
              "and halting accuracy (final q_halt > 0 agrees with final exactness).", "",
              "A run of 0 steps only evaluated the weights, e.g. at another recursion depth (T = H_cycles, "
              "n = L_cycles; - : not recorded, the model's).", "",
              "| run | date | device | steps | T, n | held-out set | " + " | ".join(f"exact@{s}" for s in SHOWN_STEPS)
              + " | exact at halt | cells@last | halt acc. | mean halt step | n |",
              "|---" * (11 + len(SHOWN_STEPS)) + "|"]
    for i, run in enumerate(runs, 1):
        ev = run.get("eval") or {}
        depth = f"{run['H_cycles']}, {run['L_cycles']}" if "H_cycles" in run else "-"
        head = (f"| {i} | {run.get('date', '')[:10]} | {run.get('device', '')} | {run.get('steps_end', 0):,} | "
                f"{depth} | ")
        lines.append(head + _eval_cells(eval_set_label(run.get("data") or {}), ev))
        if isinstance(ev.get("hard"), dict):     # Sudoku: the second held-out set, puzzles that need search
            lines.append(head + _eval_cells(hard_set_label(ev["hard"]), ev["hard"]))
    ended = [str(i) for i, run in enumerate(runs, 1) if run.get("ended") == "interrupted"]
    if ended:
        lines += ["", f"Run{'s' * (len(ended) > 1)} {', '.join(ended)} ended early (Ctrl-C or SIGTERM), evaluated and "
                      "saved as it stood."]
    votes = [(i, run["eval"]) for i, run in enumerate(runs, 1) if "pass_at_2" in (run.get("eval") or {})]
    if votes:   # ARC: the paper's metric; Sudoku / maze: the same vote over symmetric copies
        what = ("ARC pass@k: every augmented variant of a test pair's task is run" if task == "arc" else
                "Vote over symmetric copies (test-time augmentation, not in the paper's numbers): each held-out "
                "puzzle is run as several copies transformed by the symmetries training used "
                + ("(digits relabelled; bands, stacks, rows and columns shuffled; transposed)" if task == "sudoku"
                   else "(rotations and mirror images)"))
        lines += ["", what + ", each answer mapped back, equal answers pooled and the k with the most votes (then "
                  "highest mean halting probability) submitted, as the official ARC evaluator. pass@1 is the vote's "
                  "own answer. Both are scored after the last step, as the official evaluation runs every step; "
                  "pass@2@N is the vote after step N (- : not recorded), which shows where it peaks.", "",
                  "| run | pass@1 | pass@2 | " + " | ".join(f"pass@2@{s}" for s in SHOWN_STEPS[:-1])
                  + " | variants voted | n |", "|---" * (5 + len(SHOWN_STEPS) - 1) + "|"]
        for i, ev in votes:
            by_step = ev.get("pass_at_2_by_step") or []
            cells = [_pct(by_step[s - 1]) if len(by_step) >= s else "-" for s in SHOWN_STEPS[:-1]]
            lines.append(f"| {i} | {_pct(ev.get('pass_at_1'))} | {_pct(ev.get('pass_at_2'))} | " + " | ".join(cells)
                         + f" | {ev.get('vote_variants', '-')} | {ev.get('vote_n', ev.get('n', '-'))} |")
    lines += ["", "## Intended use", "",
              "Watching a real TRM refine its answer step by step in the trm_viz app (answer, latent changes, "
              "halting probability), and as a starting point for further training. It is a research/teaching "
              "artefact, not a puzzle solver to rely on: use an exact solver for that.", "",
              "## Limitations", "",
              "- Trained for far fewer steps than the paper (~65k steps for Sudoku at batch 768); the published "
              "numbers (Sudoku-Extreme 87.4%, Maze-Hard 85.3%, ARC-AGI-1 44.6% pass@2) are those of fully trained "
              "models on the paper's datasets.",
              "- Training and held-out puzzles come from this project's generators (ARC: the public tasks), not the "
              "paper's exact datasets, so numbers are not directly comparable with the paper's.",
              "- Exactness is all-or-nothing: a nearly right answer counts as wrong.",
              "- The halting head is trained on training puzzles; on unlike puzzles its confidence can be wrong.",
              *[f"- {note}" for note in card.get("notes", [])], "",   # maintainers' measured notes, kept across runs
              "## Credits", "",
              "Architecture and training recipe: A. Jolicoeur-Martineau, *Less is More: Recursive Reasoning with "
              "Tiny Networks* (2025), code at SamsungSAILMontreal/TinyRecursiveModels (MIT)."
              + (" ARC-AGI tasks by F. Chollet and the ARC Prize Foundation (Apache-2.0)." if task == "arc" else ""),
              ""]
    return "\n".join(lines)
