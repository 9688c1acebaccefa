"""What `python -m trm_viz.train` checks before it generates data or trains: its settings file, the output folder,
the device, and what a resumed run's weights fix. Each problem is a ValueError with one line that says what to do;
the command prints it without a traceback."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch

from ..model.config import TRMConfig
from .state import ResumeState

# The files a run writes (state.py), and the benchmark's log scripts/gpu_session.sh leaves beside them: a folder
# holding only these is a run's, and a new run may write into it.
RUN_FILES = {"config.json", "model.safetensors", "train_state.safetensors", "puzzle_emb.safetensors", "card.json",
             "README.md", "metrics.jsonl", "train.log", "bench.log"}

# The settings a resumed run's weights fix (their shapes, or what the weights mean); the recursion depth (H_cycles,
# L_cycles) and the halting settings may change from run to run.
ARCHITECTURE = ("hidden_size", "num_heads", "expansion", "L_layers", "mlp_t", "pos_encodings", "puzzle_emb_ndim",
                "puzzle_emb_len", "seq_len")


def read_config_file(path: str) -> dict:
    """--config: a JSON object of KEY: VALUE overrides."""
    try:
        overrides = json.loads(Path(path).read_text(encoding="utf-8"))
    except IsADirectoryError:
        raise ValueError(f"--config {path} is a folder; it wants a JSON file of settings") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ValueError(f"--config {path} cannot be read ({getattr(e, 'strerror', None) or e})") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"--config {path} is not valid JSON (line {e.lineno}: {e.msg})") from None
    if not isinstance(overrides, dict):
        raise ValueError(f"--config {path} must hold a JSON object like {{\"hidden_size\": 128}}")
    return overrides


def check_device(name: str | None) -> None:
    """--device: a name torch knows, of a device this machine has (before the data is generated, not after)."""
    if name is None:
        return
    try:
        dev = torch.device(name)
    except RuntimeError:
        raise ValueError(f"--device {name}: not a device name; use cuda, cuda:N or cpu") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"--device {name}: this machine has no CUDA GPU that torch can use; use --device cpu "
                         "(or leave --device out)")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise ValueError(f"--device {name}: this machine has {torch.cuda.device_count()} CUDA GPU(s)")
    if dev.type not in ("cuda", "cpu"):
        raise ValueError(f"--device {name}: trm_viz trains on cuda or cpu")


def check_out_folder(out: Path, resume_dir: str | None) -> None:
    """--out may be new, empty, the resumed run's own folder, or a folder of the run's files without a training
    state (a run that stopped before saving): never another run (its weights and card would be replaced) or a
    folder of someone's other files (a README.md there would become the model card)."""
    same = resume_dir is not None and out.resolve() == Path(resume_dir).resolve()
    if same or not out.is_dir():
        return
    if (out / "train_state.safetensors").exists():
        hint = f"--resume {out} to continue it" if resume_dir is None else f"--resume {out} --out {out} to continue it"
        raise ValueError(f"--out {out} already holds a training run: pass {hint}, or another --out")
    others = sorted(p.name for p in out.iterdir() if p.name not in RUN_FILES and not p.name.startswith("."))
    if others or ((out / "README.md").exists() and not (out / "card.json").exists()):
        shown = ", ".join((others or ["README.md"])[:4]) + (", ..." if len(others) > 4 else "")
        raise ValueError(f"--out {out} holds other files ({shown}); a run writes its weights, logs and a README.md "
                         "model card there: choose a new or empty folder")


def check_writable(out: Path) -> None:
    """Fail before generating data and training, not at the end, when --out cannot take the run's files."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise ValueError(f"--out {out} is not a writable folder ({e.strerror or e})") from None


def check_same_architecture(saved: TRMConfig, wanted: TRMConfig, folder: str) -> None:
    changed = [f"{k} {getattr(saved, k)} -> {getattr(wanted, k)}" for k in ARCHITECTURE
               if getattr(saved, k) != getattr(wanted, k)]
    if changed:
        raise ValueError(f"--resume {folder}: its weights fix the architecture, and these settings would change it: "
                         f"{', '.join(changed)} (seq_len follows maze_size / arc_size). Start a new run with another "
                         "--out instead")


def training_depth(resume: ResumeState, overrides: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """The recursion depth a resumed run trains at, and a line to log about it. An --eval-only run records the depth
    it scored in the folder's config (the app runs the model that way), but training goes on at the depth of the
    last run that trained, for each of H_cycles and L_cycles that --set does not give. Old cards may not record that
    depth: then a warning."""
    saved = {k: getattr(resume.model_config, k) for k in ("H_cycles", "L_cycles") if k not in overrides}
    runs = (resume.card or {}).get("runs", [])
    trained = [i for i, r in enumerate(runs) if r.get("steps", 0) > 0]
    if not saved or not trained or not any(r.get("steps", 0) == 0 for r in runs[trained[-1]:]):
        return {}, None       # no --eval-only run since the last training: the saved depth is the trained one
    last = runs[trained[-1]]
    if any(last.get(k) is None for k in saved):
        return {}, (f"warning: an --eval-only run set this folder's depth ({_depth(saved)}), and its card does not "
                    "record the depth the model trained at: training goes on at the saved depth; --set "
                    "H_cycles=N --set L_cycles=N chooses")
    depth = {k: last[k] for k in saved}
    if depth == saved:
        return {}, None
    return depth, (f"training at the depth of the last training run ({_depth(depth)}), not at the --eval-only run's "
                   f"({_depth(saved)}) in config.json; --set H_cycles=N --set L_cycles=N chooses another")


def _depth(d: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in d.items())
