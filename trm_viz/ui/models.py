"""Which trained model answers for each task: the shipped checkpoints (checkpoints/<task>/ and
checkpoints/<task>-<variant>/, discovered on disk, loaded on first use and cached, thread-safe; a session may pick
one of several for a task) and checkpoints a user brings (uploaded files, or a local path when the host allows it).

Loading never runs code from a file: ours is safetensors, official step_N files go through torch weights_only
(trm_viz.model.checkpoints). Every failure is a CheckpointError whose message is shown in the UI as is.
"""
from __future__ import annotations

import os
import re
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
from ..model.history import TrainingHistory, read_history
from ..model.trm import TRM
from ..tasks import TASK_NAMES, Task, get_task

REPO = Path(__file__).resolve().parents[2]
CHECKPOINTS_ENV = "TRM_VIZ_CHECKPOINTS"       # a directory of <task>/ folders; default: the repository's checkpoints/
LOCAL_PATHS_ENV = "TRM_VIZ_LOCAL_PATHS"        # "1": the UI may load a checkpoint from a path on the server
# Files a user may upload as one checkpoint: ours (config.json + model.safetensors, optionally card.json and
# metrics.jsonl: the training history) or an official run (step_N + all_config.yaml, optionally identifiers.json
# with the ARC task names).
UPLOAD_NAMES = ("config.json", "model.safetensors", "card.json", "metrics.jsonl", "all_config.yaml",
                "identifiers.json")
# The rest of a folder `python -m trm_viz.train` writes: uploaded with the others, they are left out (the model card
# is read from card.json; the training state is for --resume).
TRAINER_ONLY = ("README.md", "train.log", "train_state.safetensors", "puzzle_emb.safetensors", "bench.log")
# User checkpoints kept in memory at once, across all visitors: at most this many, and at most this many bytes of
# weights (an official ARC file is ~1.8 GB, nearly all puzzle embeddings); the newest is always kept. A visitor
# whose checkpoint was let go is told so (UNLOADED), never silently given a shipped model instead.
MAX_USER_MODELS = 4
MAX_USER_BYTES = 4 * 1024**3
UNLOADED = ("Your checkpoint was unloaded to free memory for other visitors' checkpoints: load it again, or press "
            "'Back to the shipped models'.")


class NoModel(CheckpointError):
    """No checkpoint for this task: the editor, examples, validation and solver still work."""


@dataclass
class LoadedModel:
    model: TRM
    info: dict[str, Any]
    label: str                      # shown in the UI, e.g. "shipped Sudoku model (checkpoints/sudoku)"
    history: TrainingHistory | None = None     # how it was trained (a user's checkpoint with its card.json)

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


def still_training(folder: Path) -> str | None:
    """A short note when the folder's model card shows a model that solves none of its held-out puzzles yet, e.g. a
    paper-size run a few GPU sessions into its training; None otherwise, and for folders without a readable card
    (a user's checkpoint, a hand-made one): those are taken as they are."""
    history = read_history(folder, with_metrics=False)
    if history is None or not history.still_training:
        return None
    return f"still training ({history.total_steps:,} steps so far; solves none of its held-out puzzles yet)"


def describe(loaded: LoadedModel) -> str:
    cfg = loaded.config
    n = loaded.model.num_parameters()
    kind = "MLP-T" if cfg.mlp_t else "attention"
    canvas = ""
    if cfg.task in ("maze", "arc"):                         # the task module owns the canvas of a sequence length
        h, w = get_task(cfg.task, cfg.seq_len).canvas_shape
        canvas = f", {'mazes' if cfg.task == 'maze' else 'ARC grids'} up to {h}x{w}"
    layers = f"{cfg.L_layers} layer{'s' if cfg.L_layers != 1 else ''}"
    return (f"{loaded.label}: {n / 1e6:.1f}M parameters ({kind}), hidden {cfg.hidden_size}, {layers}, "
            f"H_cycles {cfg.H_cycles}, L_cycles {cfg.L_cycles}, up to {cfg.halt_max_steps} steps{canvas}.")


class ModelRegistry:
    """The shipped checkpoints: ``root/<task>/`` and ``root/<task>-<variant>/`` folders (config.json + weights),
    found once per registry. A task may have several (e.g. the paper-size sudoku/ beside sudoku-tiny/); a session
    picks one by folder name, and None means the task's default, its first choice. Models load on first use, once,
    even when several sessions ask at the same time."""

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root) if root is not None else checkpoints_dir()
        self._models: dict[str, LoadedModel] = {}              # by folder name
        self._found: dict[str, dict[str, TRMConfig | None]] = {}   # task -> folder name -> config (None: unreadable)
        self._training: dict[str, str] = {}                         # folder name -> still_training() note
        self._locks = {task: threading.Lock() for task in TASK_NAMES}

    def _discover(self, task: str) -> dict[str, TRMConfig | None]:
        """<task>/ first, then <task>-*/ sorted, except that models still in training (their card shows no held-out
        puzzle solved yet) come last: the default is a model that solves puzzles. A folder whose config names another
        task is not offered. One whose config.json is unreadable is kept: Run then says what is wrong with it
        instead of the model vanishing."""
        if task not in self._found:
            found: dict[str, TRMConfig | None] = {}
            for folder in [self.root / task, *sorted(self.root.glob(f"{task}-*"))]:
                if not (folder / "config.json").is_file():
                    continue
                try:
                    cfg: TRMConfig | None = read_config(folder)
                except (OSError, CheckpointError):
                    cfg = None
                if cfg is None or cfg.task in (task, ""):
                    found[folder.name] = cfg
                    if (note := still_training(folder)) is not None:
                        self._training[folder.name] = note
            found = dict(sorted(found.items(), key=lambda kv: kv[0] in self._training))   # stable: ready first
            self._found[task] = found       # a racing thread computes the same dict; either one may stay
        return self._found[task]

    def choices(self, task: str) -> list[str]:
        """Folder names of the task's shipped checkpoints, the default first (empty when none is shipped)."""
        return list(self._discover(task))

    def menu(self, task: str) -> list[tuple[str, str]]:
        """(label, folder name) pairs for the "Shipped model" menu: a model still in training says so."""
        return [(f"{n}: {note}" if (note := self._training.get(n)) else n, n) for n in self.choices(task)]

    def training_note(self, task: str, name: str | None = None) -> str | None:
        """The still_training() note of the chosen shipped model, None when it solves puzzles (or has no card)."""
        name = self._name(task, name)
        return None if name is None else self._training.get(name)

    def _name(self, task: str, name: str | None) -> str | None:
        """The folder ``name`` stands for: the default when None or empty; None when there is no such choice."""
        found = self._discover(task)
        if not name:
            return next(iter(found), None)
        return name if name in found else None

    def path(self, task: str, name: str | None = None) -> Path | None:
        """The folder of the chosen checkpoint (default: checkpoints/<task>/ when it exists, else the first
        checkpoints/<task>-<variant>/, e.g. sudoku-tiny); None when there is none."""
        name = self._name(task, name)
        return None if name is None else self.root / name

    def available(self) -> list[str]:
        return [t for t in TASK_NAMES if self.choices(t)]

    def config(self, task: str, name: str | None = None) -> TRMConfig | None:
        """The chosen model's settings without loading its weights (slider defaults); None if there is none
        or its config.json is unreadable (Run then reports why)."""
        name = self._name(task, name)
        if name is None:
            return None
        if name in self._models:
            return self._models[name].config
        return self._discover(task)[name]

    def loaded(self, task: str, name: str | None = None) -> LoadedModel | None:
        """The chosen model if it is already in memory (never loads)."""
        name = self._name(task, name)
        return None if name is None else self._models.get(name)

    def get(self, task: str, name: str | None = None) -> LoadedModel:
        folder_name = self._name(task, name)
        if folder_name is None and name and self.choices(task):
            # a choice from a menu of an earlier start, or a name typed by hand: never a path to follow
            raise NoModel(f"There is no shipped {task} model called {name!r}; the shipped ones are "
                          f"{', '.join(self.choices(task))}.")
        if folder_name is None:
            raise NoModel(f"No trained {task} model is shipped yet; you can still edit, upload, check and solve "
                          f"{task} puzzles here, or load your own checkpoint under 'Use your own checkpoint'.")
        if folder_name in self._models:
            return self._models[folder_name]
        folder = self.root / folder_name
        with self._locks[task]:
            if folder_name not in self._models:
                model, info = load_checkpoint(folder)
                if model.config.task and model.config.task != task:
                    raise CheckpointError(f"{folder} holds a model for {model.config.task}, not for {task}.")
                rel = folder.relative_to(REPO) if folder.is_relative_to(REPO) else folder
                self._models[folder_name] = LoadedModel(model, info, f"shipped {task} model ({rel})")
        return self._models[folder_name]

    def preload(self) -> None:
        """Load every shipped model, defaults first (a background thread at start-up: the first Run, and the first
        after a switch of model, then starts at once)."""
        defaults = [(t, names[0]) for t in TASK_NAMES if (names := self.choices(t))]
        others = [(t, name) for t in TASK_NAMES for name in self.choices(t)[1:]]
        for task, name in defaults + others:
            try:
                self.get(task, name)
            except CheckpointError:
                pass    # reported when someone runs that model


# --- checkpoints users bring -----------------------------------------------------------------------------------
_user_models: OrderedDict[str, LoadedModel] = OrderedDict()
_unloaded: OrderedDict[str, str] = OrderedDict()      # key -> task of a checkpoint let go to free memory
_user_lock = threading.Lock()


def _weight_bytes(loaded: LoadedModel) -> int:
    return sum(t.numel() * t.element_size() for t in loaded.model.state_dict().values())


def _remember(loaded: LoadedModel, replaces: str | None = None) -> str:
    """Keep a loaded user checkpoint; ``replaces``: the session's previous one, freed first (it must not make
    room by pushing out another visitor's)."""
    key = uuid.uuid4().hex
    with _user_lock:
        _user_models.pop(replaces or "", None)
        _unloaded.pop(replaces or "", None)
        _user_models[key] = loaded
        while len(_user_models) > 1 and (len(_user_models) > MAX_USER_MODELS or sum(
                _weight_bytes(m) for m in _user_models.values()) > MAX_USER_BYTES):
            old, model = _user_models.popitem(last=False)
            _unloaded[old] = model.task
            while len(_unloaded) > 10_000:
                _unloaded.popitem(last=False)
    return key


def forget_user_model(key: str | None) -> None:
    """A session is done with its checkpoint (it loaded another, or went back to the shipped models): free it."""
    with _user_lock:
        _user_models.pop(key or "", None)
        _unloaded.pop(key or "", None)


def was_unloaded(task: str, user_key: str | None) -> bool:
    """The session's own checkpoint for ``task`` was let go to free memory (Run must say so, not use another)."""
    with _user_lock:
        return bool(user_key) and _unloaded.get(user_key) in (task, "")


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
    """The name a file is loaded under: its own, or "step_N" for an official step file (also when it was renamed
    step_N.pt or step_N.pth, as people often do)."""
    name = path.name
    if name in UPLOAD_NAMES:
        return name
    if m := re.fullmatch(r"(step_\d+)(\.pth?)?", name):
        return m.group(1)
    raise CheckpointError(f"Unexpected file {name!r}: upload config.json + model.safetensors (this app's format; "
                          "card.json and metrics.jsonl too for its training history) or an official step_N file "
                          "with its all_config.yaml (and identifiers.json for ARC).")


def load_uploaded(paths: list[str], replaces: str | None = None) -> tuple[str, LoadedModel]:
    """Uploaded files (each lands in its own temporary folder) -> one folder with their original names -> a model.
    Returns the key the session keeps (``replaces``: the key of the session's previous checkpoint, freed once this
    one has loaded)."""
    if not paths:
        raise CheckpointError("Choose the checkpoint files first (config.json + model.safetensors, or step_N + "
                              "all_config.yaml).")
    files = [Path(p) for p in paths if Path(p).name not in TRAINER_ONLY]
    if not files:
        raise CheckpointError("Those files are the training run's own (its log, state and card text); add its "
                              "config.json and model.safetensors.")
    names = [_upload_name(f) for f in files]
    if len(set(names)) != len(names):
        raise CheckpointError("The same file name was uploaded twice: " + ", ".join(sorted(names)) + ".")
    steps = [n for n in names if n.startswith("step_")]
    if not steps and not {"config.json", "model.safetensors"} <= set(names):
        raise CheckpointError("Upload both config.json and model.safetensors (or an official step_N with "
                              "all_config.yaml).")
    if len(steps) > 1:
        raise CheckpointError(f"Upload one official step file, not {len(steps)}.")
    if steps and {"config.json", "model.safetensors"} & set(names):     # two checkpoints: which did they mean?
        raise CheckpointError(f"Upload one checkpoint: {steps[0]} (an official run's) or config.json + "
                              "model.safetensors (this app's), not both.")
    with tempfile.TemporaryDirectory(prefix="trm_viz_ckpt_") as tmp:
        for f, name in zip(files, names):
            try:   # a hard link costs nothing for a GB file; copy when the upload is on another file system
                os.link(f, Path(tmp) / name)
            except OSError:
                shutil.copyfile(f, Path(tmp) / name)
        target = Path(tmp) / steps[0] if steps else Path(tmp)
        try:
            model, info = load_checkpoint(target)
        except CheckpointError as e:       # name the files, not the server's temporary folder
            text = str(e).replace(f"{tmp}/", "").replace(tmp, "your checkpoint")
            text = text.replace(Path(tmp).name, "your checkpoint")
            raise CheckpointError(re.sub(r"^your", "Your", text)) from None
        history = read_history(tmp)
    label = f"your checkpoint ({', '.join(sorted(names))})"
    loaded = LoadedModel(model, {**info, "path": label}, label, history)
    return _remember(loaded, replaces), loaded


def load_local(path: str, replaces: str | None = None) -> tuple[str, LoadedModel]:
    """A checkpoint directory or file on the server, only where the host allowed it (TRM_VIZ_LOCAL_PATHS=1):
    on a public server a path field would let visitors probe the file system."""
    if not local_paths_allowed():
        raise CheckpointError(f"Loading from a server path is switched off here; upload the files instead "
                              f"(a local install can allow paths with {LOCAL_PATHS_ENV}=1).")
    path = path.strip()
    if not path:
        raise CheckpointError("Type the checkpoint's folder or file path first.")
    target = Path(path).expanduser()
    model, info = load_checkpoint(target)
    loaded = LoadedModel(model, info, f"your checkpoint ({path})",
                         read_history(target if target.is_dir() else target.parent))
    return _remember(loaded, replaces), loaded


# --- which model a session uses ----------------------------------------------------------------------------------
# ``shipped`` is the session's pick among the task's shipped checkpoints (a folder name; None: the default).
def own_model_for(task: str, user_key: str | None) -> LoadedModel | None:
    """The session's own checkpoint when it is a model for ``task`` (it takes precedence over the shipped ones)."""
    user = user_model(user_key)
    return user if user is not None and user.task in (task, "") else None


def active_model(registry: ModelRegistry, task: str, user_key: str | None, shipped: str | None = None) -> LoadedModel:
    """The session's own checkpoint when it is a model for ``task``, else the chosen shipped one (NoModel if none).
    A CheckpointError (UNLOADED) when the session's checkpoint for ``task`` was let go to free memory."""
    if was_unloaded(task, user_key):
        raise CheckpointError(UNLOADED)
    return own_model_for(task, user_key) or registry.get(task, shipped)


def model_id(registry: ModelRegistry, task: str, user_key: str | None, shipped: str | None = None) -> tuple:
    """Which model Run uses for ``task``, as a value to compare without loading it: the session's own checkpoint
    (its key), else the shipped folder picked (or the task's default)."""
    if own_model_for(task, user_key) is not None or was_unloaded(task, user_key):
        return (user_key, None)
    return (None, shipped or next(iter(registry.choices(task)), None))


def active_config(registry: ModelRegistry, task: str, user_key: str | None,
                  shipped: str | None = None) -> TRMConfig | None:
    user = own_model_for(task, user_key)
    return user.config if user is not None else registry.config(task, shipped)


def active_task(registry: ModelRegistry, task: str, user_key: str | None, shipped: str | None = None) -> Task:
    """The task as the session's model reads it (a maze model's canvas may be smaller than 30x30); the default
    task when there is no model."""
    cfg = active_config(registry, task, user_key, shipped)
    return get_task(task, cfg.seq_len if cfg is not None else None)


def model_line(registry: ModelRegistry, task: str, user_key: str | None, shipped: str | None = None) -> str:
    """One line saying which model Run will use for ``task`` (or that there is none)."""
    user = own_model_for(task, user_key)
    if user is not None:
        return "**Model:** " + describe(user)
    if was_unloaded(task, user_key):
        return "**Model:** " + UNLOADED
    folder = registry.path(task, shipped)
    if folder is None:
        return (f"**No trained {task} model is shipped yet.** You can still edit, upload, check and solve {task} "
                "puzzles, or load your own checkpoint below.")
    loaded = registry.loaded(task, shipped)
    line = ("**Model:** " + describe(loaded) if loaded is not None
            else f"**Model:** shipped {task} model ({folder.name}/), loaded on first run.")
    if (note := registry.training_note(task, shipped)) is not None:
        line += (f" **This model is {note}:** its steps show a network learning, not one that solves; "
                 "the card in its folder has the training so far.")
    return line
