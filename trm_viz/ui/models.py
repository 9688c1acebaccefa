"""Which trained model answers for each task: the shipped checkpoints (checkpoints/<task>/, discovered on disk,
loaded on first use and cached, thread-safe) and checkpoints a user brings (uploaded files, or a local path when
the host allows it).

Loading never runs code from a file: ours is safetensors, official step_N files go through torch weights_only
(trm_viz.model.checkpoints). Every failure is a CheckpointError whose message is shown in the UI as is.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..model.checkpoints import CheckpointError, load_checkpoint, read_config
from ..model.config import TRMConfig
from ..model.trm import TRM
from ..tasks import TASK_NAMES
from ..tasks.arc_aug import SEPARATOR as ARC_SEPARATOR   # "<task_id>|||t<k>|||<colours>" = an augmented variant

REPO = Path(__file__).resolve().parents[2]
CHECKPOINTS_ENV = "TRM_VIZ_CHECKPOINTS"       # a directory of <task>/ folders; default: the repository's checkpoints/
LOCAL_PATHS_ENV = "TRM_VIZ_LOCAL_PATHS"        # "1": the UI may load a checkpoint from a path on the server
# Files a user may upload as one checkpoint: ours (config.json + model.safetensors) or an official run
# (step_<N> + all_config.yaml, optionally identifiers.json with the ARC task names).
UPLOAD_NAMES = ("config.json", "model.safetensors", "all_config.yaml", "identifiers.json")
MAX_USER_MODELS = 2                            # user checkpoints kept in memory at once (ARC ones can be GBs)


class NoModel(CheckpointError):
    """No checkpoint for this task: the editor, examples, validation and solver still work."""


@dataclass
class LoadedModel:
    model: TRM
    info: dict[str, Any]
    label: str                      # shown in the UI, e.g. "shipped Sudoku model (checkpoints/sudoku)"

    @property
    def config(self) -> TRMConfig:
        return self.model.config

    @property
    def task(self) -> str:
        return self.model.config.task


def checkpoints_dir() -> Path:
    return Path(os.environ.get(CHECKPOINTS_ENV) or REPO / "checkpoints")


def local_paths_allowed() -> bool:
    return os.environ.get(LOCAL_PATHS_ENV, "") == "1"


def known_arc_tasks(config: TRMConfig) -> list[str]:
    """ARC task ids whose own (un-augmented) puzzle embedding the model has, in identifier order."""
    return [n for n in config.puzzle_names if n and ARC_SEPARATOR not in n and not n.startswith("<")]


def describe(loaded: LoadedModel) -> str:
    cfg = loaded.config
    n = loaded.model.num_parameters()
    kind = "MLP-T" if cfg.mlp_t else "attention"
    return (f"{loaded.label}: {n / 1e6:.1f}M parameters ({kind}), hidden {cfg.hidden_size}, {cfg.L_layers} layers, "
            f"H_cycles {cfg.H_cycles}, L_cycles {cfg.L_cycles}, up to {cfg.halt_max_steps} steps.")


class ModelRegistry:
    """The shipped checkpoints: ``root/<task>/config.json`` (+ weights). Models load on first use, once, even when
    several sessions ask at the same time."""

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root) if root is not None else checkpoints_dir()
        self._models: dict[str, LoadedModel] = {}
        self._locks = {task: threading.Lock() for task in TASK_NAMES}

    def path(self, task: str) -> Path | None:
        """checkpoints/<task>/ when it exists, else the first checkpoints/<task>-<variant>/ (e.g. sudoku-tiny)."""
        for folder in [self.root / task, *sorted(self.root.glob(f"{task}-*"))]:
            if (folder / "config.json").is_file():
                return folder
        return None

    def available(self) -> list[str]:
        return [t for t in TASK_NAMES if self.path(t) is not None]

    def config(self, task: str) -> TRMConfig | None:
        """The shipped model's settings without loading its weights (slider defaults); None if there is none
        or its config.json is unreadable (Run then reports why)."""
        if task in self._models:
            return self._models[task].config
        folder = self.path(task)
        if folder is None:
            return None
        try:
            return read_config(folder)
        except (OSError, CheckpointError):
            return None

    def loaded(self, task: str) -> LoadedModel | None:
        """The model if it is already in memory (never loads)."""
        return self._models.get(task)

    def get(self, task: str) -> LoadedModel:
        if task in self._models:
            return self._models[task]
        folder = self.path(task)
        if folder is None:
            raise NoModel(f"No trained {task} model is shipped yet; you can still edit, upload, check and solve "
                          f"{task} puzzles here, or load your own checkpoint under 'Use your own checkpoint'.")
        with self._locks[task]:
            if task not in self._models:
                model, info = load_checkpoint(folder)
                if model.config.task and model.config.task != task:
                    raise CheckpointError(f"{folder} holds a {model.config.task} model, not a {task} one.")
                rel = folder.relative_to(REPO) if folder.is_relative_to(REPO) else folder
                self._models[task] = LoadedModel(model, info, f"shipped {task} model ({rel})")
        return self._models[task]

    def preload(self) -> None:
        """Load every shipped model (a background thread at start-up: the first Run then starts at once)."""
        for task in self.available():
            try:
                self.get(task)
            except CheckpointError:
                pass    # reported when someone runs that task


# --- checkpoints users bring -----------------------------------------------------------------------------------
_user_models: OrderedDict[str, LoadedModel] = OrderedDict()
_user_lock = threading.Lock()


def _remember(loaded: LoadedModel) -> str:
    key = uuid.uuid4().hex
    with _user_lock:
        _user_models[key] = loaded
        while len(_user_models) > MAX_USER_MODELS:
            _user_models.popitem(last=False)
    return key


def user_model(key: str | None) -> LoadedModel | None:
    """The user checkpoint a session loaded, or None when it has none (or it was evicted to save memory)."""
    if not key:
        return None
    with _user_lock:
        loaded = _user_models.get(key)
        if loaded is not None:
            _user_models.move_to_end(key)
        return loaded


def _upload_name(path: Path) -> str:
    name = path.name
    if name in UPLOAD_NAMES or (name.startswith("step_") and name[5:].isdigit()):
        return name
    raise CheckpointError(f"Unexpected file {name!r}: upload config.json + model.safetensors (this app's format) or "
                          "an official step_<N> file with its all_config.yaml (and identifiers.json for ARC).")


def load_uploaded(paths: list[str]) -> tuple[str, LoadedModel]:
    """Uploaded files (each lands in its own temporary folder) -> one folder with their original names -> a model.
    Returns the key the session keeps."""
    if not paths:
        raise CheckpointError("Choose the checkpoint files first (config.json + model.safetensors, or step_<N> + "
                              "all_config.yaml).")
    files = [Path(p) for p in paths]
    names = [_upload_name(f) for f in files]
    if len(set(names)) != len(names):
        raise CheckpointError("The same file name was uploaded twice: " + ", ".join(sorted(names)) + ".")
    steps = [n for n in names if n.startswith("step_")]
    if not steps and not {"config.json", "model.safetensors"} <= set(names):
        raise CheckpointError("Upload both config.json and model.safetensors (or an official step_<N> with "
                              "all_config.yaml).")
    if len(steps) > 1:
        raise CheckpointError(f"Upload one official step file, not {len(steps)}.")
    with tempfile.TemporaryDirectory(prefix="trm_viz_ckpt_") as tmp:
        for f, name in zip(files, names):
            try:   # a hard link costs nothing for a GB file; copy when the upload is on another file system
                os.link(f, Path(tmp) / name)
            except OSError:
                shutil.copyfile(f, Path(tmp) / name)
        target = Path(tmp) / steps[0] if steps else Path(tmp)
        model, info = load_checkpoint(target)
    label = f"your checkpoint ({', '.join(sorted(names))})"
    loaded = LoadedModel(model, {**info, "path": label}, label)
    return _remember(loaded), loaded


def load_local(path: str) -> tuple[str, LoadedModel]:
    """A checkpoint directory or file on the server, only where the host allowed it (TRM_VIZ_LOCAL_PATHS=1):
    on a public server a path field would let visitors probe the file system."""
    if not local_paths_allowed():
        raise CheckpointError(f"Loading from a server path is switched off here; upload the files instead "
                              f"(a local install can allow paths with {LOCAL_PATHS_ENV}=1).")
    path = path.strip()
    if not path:
        raise CheckpointError("Type the checkpoint's folder or file path first.")
    model, info = load_checkpoint(Path(path).expanduser())
    loaded = LoadedModel(model, info, f"your checkpoint ({path})")
    return _remember(loaded), loaded


# --- which model a session uses ----------------------------------------------------------------------------------
def active_model(registry: ModelRegistry, task: str, user_key: str | None) -> LoadedModel:
    """The session's own checkpoint when it is a model for ``task``, else the shipped one (NoModel if none)."""
    user = user_model(user_key)
    if user is not None and user.task in (task, ""):
        return user
    return registry.get(task)


def active_config(registry: ModelRegistry, task: str, user_key: str | None) -> TRMConfig | None:
    user = user_model(user_key)
    if user is not None and user.task in (task, ""):
        return user.config
    return registry.config(task)


def model_line(registry: ModelRegistry, task: str, user_key: str | None) -> str:
    """One line saying which model Run will use for ``task`` (or that there is none)."""
    user = user_model(user_key)
    if user is not None and user.task in (task, ""):
        return "**Model:** " + describe(user)
    folder = registry.path(task)
    if folder is None:
        return (f"**No trained {task} model is shipped yet.** You can still edit, upload, check and solve {task} "
                "puzzles, or load your own checkpoint below.")
    if registry.loaded(task) is not None:
        return "**Model:** " + describe(registry.loaded(task))
    return f"**Model:** shipped {task} model ({folder.name}/), loaded on first run."
