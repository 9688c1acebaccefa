"""Saving and resuming a training run as a small folder (at most 8 files, each under 16 MB):

    config.json, model.safetensors   EMA weights for inference (trm_viz.model.checkpoints format)
    train_state.safetensors          raw weights + step counter + training config, to resume from
    puzzle_emb.safetensors           only when the puzzle-embedding table is too large to sit in the files above (ARC)
    card.json, README.md             the model card (history of every run) and its rendering
    metrics.jsonl, train.log         the logs of all runs so far

Optimizer moments are deliberately not saved: with betas (0.9, 0.95) Adam re-estimates them within ~20 steps, so
a resumed run only needs a short learning-rate re-warm-up (TrainConfig.lr_rewarmup_steps), and the folder stays
small. Weights are stored in float32 when that fits in ~15 MB, bfloat16 otherwise (the dtype is recorded); a resume
from bfloat16 weights starts from weights rounded to 3 significant digits, a perturbation smaller than a few dozen
optimizer steps.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

from ..model.checkpoints import BF16_ABOVE_BYTES, load_checkpoint, save_checkpoint, write_safetensors
from ..model.config import TRMConfig
from ..model.trm import TRM
from ..tasks.arc_aug import SEPARATOR as ARC_SEPARATOR

FILE_LIMIT = 16 * 1024**2
PUZZLE_KEY = "puzzle_emb.weights"
STATE_FORMAT = "trm_viz-train-state"


@dataclass
class ResumeState:
    model_config: TRMConfig
    train_config: dict[str, Any]
    raw_state: dict[str, torch.Tensor]
    ema_state: dict[str, torch.Tensor]
    step: int
    card: dict[str, Any]
    logs: dict[str, str]                       # previous metrics.jsonl / train.log text


def _storage_dtype(tensors: dict[str, torch.Tensor]) -> torch.dtype:
    fp32 = sum(t.numel() * 4 for t in tensors.values() if t.is_floating_point())
    return torch.bfloat16 if fp32 > BF16_ABOVE_BYTES else torch.float32


def _cast(tensors: dict[str, torch.Tensor], dtype: torch.dtype) -> dict[str, torch.Tensor]:
    return {k: (v.detach().to("cpu", dtype) if v.is_floating_point() else v.detach().cpu()).contiguous()
            for k, v in tensors.items()}


def _nbytes(tensors: dict[str, torch.Tensor], dtype: torch.dtype) -> int:
    return sum(t.numel() * (2 if dtype == torch.bfloat16 else 4) for t in tensors.values())


def _identity_rows(config: TRMConfig) -> list[int]:
    """ARC: the blank identifier and each task's un-augmented variant (names without the '|||' separator)."""
    return [i for i, name in enumerate(config.puzzle_names) if ARC_SEPARATOR not in name]


def inference_model(ema_model: TRM) -> tuple[TRM, bool]:
    """The model to ship: the EMA model, or (when its puzzle-embedding table would push model.safetensors past
    ~15 MB even in bfloat16) a copy keeping only the identity-variant rows, which is all inference needs."""
    cfg = ema_model.config
    state = ema_model.state_dict()
    if PUZZLE_KEY not in state or _nbytes(state, torch.bfloat16) <= BF16_ABOVE_BYTES or not cfg.puzzle_names:
        return ema_model, False
    rows = _identity_rows(cfg)
    small_cfg = cfg.replace(num_puzzle_identifiers=len(rows), puzzle_names=[cfg.puzzle_names[i] for i in rows])
    small = TRM(small_cfg)
    state = dict(state)
    state[PUZZLE_KEY] = state[PUZZLE_KEY][torch.tensor(rows, device=state[PUZZLE_KEY].device)]
    small.load_state_dict({k: v.cpu() for k, v in state.items()})
    if _nbytes(small.state_dict(), torch.bfloat16) > BF16_ABOVE_BYTES:
        raise ValueError("the model is too large to ship within 16 MB even in bfloat16; use a smaller hidden_size")
    return small, True


def save_run(out: str | Path, raw_model: TRM, ema_model: TRM, train_config: dict[str, Any], step: int,
             card: dict[str, Any], readme: str) -> list[Path]:
    """Write the weights, state and card files (the logs are written by the logger as the run goes)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ship, trimmed = inference_model(ema_model)
    save_checkpoint(out, ship, extra={"weights": "ema", "step": step, "trimmed_puzzle_emb": trimmed,
                                      "train": train_config})

    raw = {k: v for k, v in raw_model.state_dict().items()}
    puzzle = {PUZZLE_KEY: raw.pop(PUZZLE_KEY)} if PUZZLE_KEY in raw else {}
    dtype = _storage_dtype({**raw, **puzzle})
    separate = bool(puzzle) and _nbytes({**raw, **puzzle}, dtype) > BF16_ABOVE_BYTES
    if puzzle and not separate:
        raw.update(puzzle)
    meta = {"format": STATE_FORMAT, "step": str(step), "dtype": str(dtype).removeprefix("torch."),
            "model_config": json.dumps(raw_model.config.to_dict()), "train_config": json.dumps(train_config)}
    write_safetensors(_cast(raw, dtype), out / "train_state.safetensors", meta)
    written = [out / "config.json", out / "model.safetensors", out / "train_state.safetensors"]
    if separate:
        if _nbytes(puzzle, torch.bfloat16) > BF16_ABOVE_BYTES:
            raise ValueError(f"the puzzle-embedding table ({tuple(puzzle[PUZZLE_KEY].shape)}) exceeds 16 MB even in "
                             "bfloat16; use fewer arc_variants")
        write_safetensors(_cast(puzzle, torch.bfloat16), out / "puzzle_emb.safetensors", {"format": STATE_FORMAT})
        written.append(out / "puzzle_emb.safetensors")
    elif (out / "puzzle_emb.safetensors").exists():
        (out / "puzzle_emb.safetensors").unlink()
    (out / "card.json").write_text(json.dumps(card, indent=1) + "\n")
    (out / "README.md").write_text(readme)
    written += [out / "card.json", out / "README.md"]
    for p in written:
        if p.stat().st_size > FILE_LIMIT:
            raise ValueError(f"{p.name} is {p.stat().st_size / 2**20:.1f} MB, over the 16 MB limit")
    return written


def load_run(directory: str | Path) -> ResumeState:
    """Read a folder written by save_run, to continue training from it. Any problem (no such folder, missing or
    damaged files) is a ValueError whose message names the folder."""
    d = Path(directory)
    if not d.is_dir():
        raise ValueError(f"{d} is not a folder (--resume wants the folder an earlier run wrote with --out)")
    state_file = d / "train_state.safetensors"
    if not state_file.is_file():
        raise ValueError(f"{d} has no train_state.safetensors: it is not a resumable training run")
    try:
        return _read_run(d, state_file)
    except (SafetensorError, OSError, KeyError, TypeError, ValueError) as e:
        detail = str(e) if isinstance(e, ValueError) else f"{type(e).__name__}: {e}"
        raise ValueError(f"cannot resume from {d}: {detail}") from None


def _read_run(d: Path, state_file: Path) -> ResumeState:
    from safetensors import safe_open
    with safe_open(str(state_file), framework="pt") as f:
        meta = f.metadata() or {}
    if meta.get("format") != STATE_FORMAT:
        raise ValueError(f"{state_file} is not a {STATE_FORMAT} file")
    raw = {k: v.float() for k, v in load_file(str(state_file)).items()}
    if (d / "puzzle_emb.safetensors").is_file():
        raw.update({k: v.float() for k, v in load_file(str(d / "puzzle_emb.safetensors")).items()})
    model_config = TRMConfig.from_dict(json.loads(meta["model_config"]))
    ema_model, _ = load_checkpoint(d)
    ema = {k: v for k, v in ema_model.state_dict().items() if not k.startswith("puzzle_emb.")}
    try:
        card = json.loads((d / "card.json").read_text()) if (d / "card.json").is_file() else {}
    except json.JSONDecodeError as e:
        raise ValueError(f"its card.json is not valid JSON (line {e.lineno}: {e.msg})") from None
    step = int(meta["step"])
    bad = [k for k, v in raw.items() if not torch.isfinite(v).all()]
    if bad:
        raise ValueError(f"its training state holds NaN or infinite weights ({bad[0]}{', ...' if len(bad) > 1 else ''}"
                         "): a diverged run; resume from an earlier folder")
    logs = {name: (d / name).read_text() for name in ("metrics.jsonl", "train.log") if (d / name).is_file()}
    if "metrics.jsonl" in logs:
        logs["metrics.jsonl"] = metrics_upto(logs["metrics.jsonl"], step)
    return ResumeState(model_config, json.loads(meta["train_config"]), raw, ema, step, card, logs)


def metrics_upto(text: str, step: int) -> str:
    """The metrics log without the lines past ``step``: a run that stopped without saving (a crash, kill -9) wrote
    them, and the resumed run trains those steps again (a plot of the log would step backwards)."""
    def keep(line: str) -> bool:
        try:
            return int(json.loads(line).get("step", 0)) <= step
        except (ValueError, AttributeError, TypeError):
            return True
    return "".join(line for line in text.splitlines(keepends=True) if keep(line))
