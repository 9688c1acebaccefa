"""Reading and writing TRM checkpoints, safely.

Two formats:
- ours, the Hugging Face layout: a directory with ``config.json`` (TRMConfig fields + format metadata) and
  ``model.safetensors`` (safetensors cannot carry code, so a hostile file can at worst hold wrong numbers);
- official TinyRecursiveModels runs: a ``step_<N>`` file written by ``torch.save(state_dict)`` with ``all_config.yaml``
  beside it. It is read with ``torch.load(weights_only=True)`` on the CPU (no pickled code runs), keys may carry the
  ``_orig_mod.`` (torch.compile) and ``model.`` (loss wrapper) prefixes, and the sizes the YAML lacks (vocab,
  sequence length, puzzle identifiers) are read from tensor shapes.

Every problem becomes a CheckpointError whose message names the file and what is wrong with it.
"""
from __future__ import annotations

import dataclasses
import json
import math
import re
from pathlib import Path
from typing import Any

import torch

from .config import TRMConfig
from .trm import TRM

FORMAT_NAME = "trm_viz"
FORMAT_VERSION = 1
# Official ARC checkpoints are ~1.8 GB (mostly puzzle embeddings); refuse anything far beyond that before reading it.
MAX_CHECKPOINT_BYTES = 4 * 1024**3
# float32 weights above this size are stored as bfloat16 so each file stays under the 16 MB transfer/Space limits.
BF16_ABOVE_BYTES = 15 * 1024**2
# Config sanity bounds, checked before any tensor is allocated (a hostile config.json must not exhaust memory).
LIMITS = {"vocab_size": 4096, "seq_len": 4096, "hidden_size": 4096, "L_layers": 32, "num_heads": 64,
          "num_puzzle_identifiers": 4_000_000, "puzzle_emb_len": 64, "H_cycles": 64, "L_cycles": 64,
          "halt_max_steps": 64, "expansion": 16}
# sequence length of each official task, recognised by its vocabulary size (attention/RoPE models have no
# parameter whose shape reveals the sequence length)
SEQ_LEN_BY_VOCAB = {11: (81, "sudoku"), 6: (900, "maze"), 12: (900, "arc")}


class CheckpointError(ValueError):
    """A checkpoint that cannot be loaded; the message says which file and why."""


# --- ours ---------------------------------------------------------------------------------------------------------
def write_safetensors(tensors: dict[str, torch.Tensor], path: str | Path, metadata: dict[str, str]) -> Path:
    """safetensors' save_file, readable by everyone like the JSON files beside it (it writes mode 0600, awkward for a
    checkpoint meant to be shared or served)."""
    from safetensors.torch import save_file

    save_file(tensors, str(path), metadata=metadata)
    Path(path).chmod(0o644)
    return Path(path)


def save_checkpoint(directory: str | Path, model: TRM, dtype: torch.dtype | None = None,
                    extra: dict[str, Any] | None = None) -> Path:
    """Write config.json + model.safetensors. dtype None: float32, or bfloat16 when float32 would exceed 15 MB."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    if dtype is None:
        fp32_bytes = sum(v.numel() * 4 for v in state.values())
        dtype = torch.bfloat16 if fp32_bytes > BF16_ABOVE_BYTES else torch.float32
    state = {k: v.to(dtype).contiguous() if v.is_floating_point() else v.contiguous() for k, v in state.items()}
    write_safetensors(state, directory / "model.safetensors", {"format": FORMAT_NAME})
    cfg = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, "weights_dtype": str(dtype).removeprefix("torch."),
           **model.config.to_dict(), **(extra or {})}
    (directory / "config.json").write_text(json.dumps(cfg, indent=2) + "\n")
    return directory


def _read_config_json(path: Path) -> TRMConfig:
    if not path.is_file():
        raise CheckpointError(f"{path.parent} has no config.json.")
    data = _read_limited(path, 16 * 1024**2)
    try:
        raw = json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError) as e:     # ValueError: bad JSON, UTF-8, or a number of 4,300+ digits
        raise CheckpointError(f"{path.name} is not valid JSON: {one_line(e) or 'nested too deeply'}") from None
    if not isinstance(raw, dict):
        raise CheckpointError(f"{path.name} must hold a JSON object of model settings.")
    return _config_from(raw, path.name)


def _load_ours(directory: Path) -> tuple[dict[str, torch.Tensor], TRMConfig]:
    from safetensors import SafetensorError
    from safetensors.torch import load

    config = _read_config_json(directory / "config.json")
    weights = directory / "model.safetensors"
    if not weights.is_file():
        raise CheckpointError(f"{directory} has config.json but no model.safetensors.")
    try:
        state = load(_read_limited(weights, MAX_CHECKPOINT_BYTES))
    except (SafetensorError, ValueError, RuntimeError, OverflowError, KeyError) as e:
        raise CheckpointError(f"{weights.name} is not a readable safetensors file (truncated or corrupt?): {e}") from None
    return state, config


# --- official -----------------------------------------------------------------------------------------------------
_PREFIXES = ("_orig_mod.", "model.", "inner.")


def strip_official_prefixes(state: dict[str, Any]) -> dict[str, Any]:
    """'_orig_mod.model.inner.L_level...' -> 'L_level...' (each prefix optional, in that order)."""
    out = {}
    for key, value in state.items():
        k = key
        for p in _PREFIXES:
            k = k.removeprefix(p)
        out[k] = value
    return out


# What the official code's configuration sets that the weights' shapes do not show (the paper's values); named in a
# note when a step file comes without its all_config.yaml.
_ASSUMED = {"H_cycles": 3, "L_cycles": 6, "num_heads": 8, "expansion": 4.0}


def _load_official(file: Path, notes: list[str]) -> tuple[dict[str, torch.Tensor], TRMConfig]:
    """An official step file -> (state, config). ``notes`` gets what the user should know about the settings:
    ones assumed without an all_config.yaml, or sizes in it that the weights contradict."""
    import pickle

    raw_bytes_limit = MAX_CHECKPOINT_BYTES
    if file.stat().st_size > raw_bytes_limit:
        raise CheckpointError(f"{file.name} is {file.stat().st_size / 1e9:.1f} GB; the limit is "
                              f"{raw_bytes_limit / 1e9:.0f} GB.")
    _check_archive(file)
    try:
        state = torch.load(file, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:     # torch's text is a page of advice: name only what the file asked for
        wants = re.search(r"GLOBAL ([\w.]+)", str(e))
        raise CheckpointError(f"{file.name} holds more than tensors (refused: loading it could run code"
                              + (f"; it asks for {wants.group(1)}" if wants else "") + ").") from None
    except Exception as e:  # noqa: BLE001 - torch's weights-only unpickler raises almost anything on garbage
        raise CheckpointError(f"{file.name} is not a readable PyTorch checkpoint (truncated or corrupt?): "
                              f"{type(e).__name__}: {one_line(e)}") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{file.name} is not a state dict (a mapping of names to tensors).")
    _check_stored(state, file.name)
    state = strip_official_prefixes(state)
    if any(k.startswith("H_level.") for k in state):
        raise CheckpointError(f"{file.name} is an HRM checkpoint (it has H_level weights); only TRM is supported.")
    for needed in ("embed_tokens.embedding_weight", "lm_head.weight", "q_head.weight"):
        if needed not in state:
            raise CheckpointError(f"{file.name} has no '{needed}': not a TinyRecursiveModels TRM checkpoint.")

    arch: dict[str, Any] = {}
    yaml_path = file.parent / "all_config.yaml"
    if yaml_path.is_file():
        import yaml

        try:
            doc = yaml.safe_load(_read_limited(yaml_path, 1024**2).decode("utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError, RecursionError) as e:
            raise CheckpointError(f"all_config.yaml beside {file.name} is not valid YAML: {e}") from None
        found = doc.get("arch") if isinstance(doc, dict) else None
        if found is not None and not isinstance(found, dict):
            raise CheckpointError(f"all_config.yaml: 'arch' must be a mapping of model settings, not a "
                                  f"{type(found).__name__}.")
        arch = dict(found or {})
    else:
        notes.append(f"No all_config.yaml came with {file.name}: "
                     + ", ".join(f"{k} {v:g}" for k, v in _ASSUMED.items())
                     + " are assumed (the paper's); set H_cycles and L_cycles in Run settings if yours differ.")
    arch = {k: v for k, v in arch.items() if not isinstance(v, (dict, list))}
    if "puzzle_emb_len" in arch and not (isinstance(arch["puzzle_emb_len"], int)
                                         and not isinstance(arch["puzzle_emb_len"], bool)
                                         and 0 <= arch["puzzle_emb_len"] <= LIMITS["puzzle_emb_len"]):
        raise CheckpointError(f"all_config.yaml: puzzle_emb_len = {arch['puzzle_emb_len']!r:.40} is not a whole "
                              f"number from 0 to {LIMITS['puzzle_emb_len']}.")

    # Sizes the YAML lacks, read from tensor shapes (the weights win where the YAML says otherwise).
    vocab, hidden = state["embed_tokens.embedding_weight"].shape
    layers = [int(m.group(1)) for k in state if (m := re.match(r"L_level\.layers\.(\d+)\.", k))]
    if not layers:
        raise CheckpointError(f"{file.name} has no L_level.layers weights: not a TinyRecursiveModels TRM checkpoint.")
    shapes = {"vocab_size": int(vocab), "hidden_size": int(hidden), "L_layers": 1 + max(layers)}
    differ = [f"{k} {arch[k]!r:.20} (the weights: {v})" for k, v in shapes.items() if k in arch and arch[k] != v]
    if differ:
        notes.append("all_config.yaml does not match the weights: " + ", ".join(differ) + "; the weights' sizes "
                     "are used. Is it the file of another run?")
    arch.update(shapes)
    if "puzzle_emb.weights" in state:
        n_ids, ndim = state["puzzle_emb.weights"].shape
        arch.update(num_puzzle_identifiers=int(n_ids), puzzle_emb_ndim=int(ndim))
    else:
        arch["puzzle_emb_ndim"] = 0
    arch["mlp_t"] = "L_level.layers.0.mlp_t.gate_up_proj.weight" in state
    puzzle_len = arch.get("puzzle_emb_len", 16)
    if puzzle_len == 0 and arch["puzzle_emb_ndim"]:
        puzzle_len = -(arch["puzzle_emb_ndim"] // -arch["hidden_size"])
    if arch["puzzle_emb_ndim"] == 0:
        puzzle_len = 0
    if arch["mlp_t"]:
        arch["seq_len"] = int(state["L_level.layers.0.mlp_t.gate_up_proj.weight"].shape[1]) - puzzle_len
    elif "embed_pos.embedding_weight" in state:
        arch["seq_len"] = int(state["embed_pos.embedding_weight"].shape[0]) - puzzle_len
    elif int(vocab) in SEQ_LEN_BY_VOCAB:
        arch["seq_len"] = SEQ_LEN_BY_VOCAB[int(vocab)][0]
    else:
        raise CheckpointError(f"{file.name}: cannot tell the sequence length (vocabulary {vocab} is not one of the "
                              "official tasks' and the model has no position table).")
    if int(vocab) == 11 and arch["seq_len"] != 81:       # a Sudoku vocabulary: always 81 cells
        positions = arch["seq_len"] + puzzle_len
        raise CheckpointError(f"all_config.yaml: puzzle_emb_len {puzzle_len} does not fit the weights: a Sudoku "
                              f"model's {positions} positions are 81 cells + {positions - 81}.")
    if "embed_pos.embedding_weight" in state:
        arch["pos_encodings"] = "learned"
    elif arch["mlp_t"] and "pos_encodings" not in arch:
        arch["pos_encodings"] = "none"
    arch.setdefault("task", SEQ_LEN_BY_VOCAB.get(int(vocab), (0, ""))[1])
    names = file.parent / "identifiers.json"  # the official dataset's id -> name list, when the user put it beside
    if names.is_file() and arch.get("num_puzzle_identifiers"):
        # ~30 bytes a name in the official ARC list: 256 a name bounds what parsing it may cost
        n_ids = arch["num_puzzle_identifiers"]
        if names.stat().st_size > min(256 * 1024**2, 4096 + 256 * n_ids):
            raise CheckpointError(f"identifiers.json ({names.stat().st_size / 1e6:.1f} MB) is far longer than the "
                                  f"names of {n_ids:,} puzzle embeddings: it does not belong to these weights.")
        try:
            arch["puzzle_names"] = [str(n) for n in json.loads(names.read_bytes())]
        except (ValueError, UnicodeDecodeError, TypeError, RecursionError):
            pass   # names are a convenience: without them the app asks for them when an ARC task is run
    return state, _config_from(arch, f"{file.name} + all_config.yaml")


def _check_archive(file: Path) -> None:
    """A torch.save zip archive stores its tensors uncompressed: a compressed entry (torch never writes one) could
    inflate a small upload into gigabytes in memory. Refused before torch reads it; so is an archive whose entries
    add up to more than MAX_CHECKPOINT_BYTES. (A file that is no zip archive is left to torch.load.)"""
    import zipfile

    if not zipfile.is_zipfile(file):
        return
    try:
        with zipfile.ZipFile(file) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise CheckpointError(f"{file.name} is not a readable PyTorch checkpoint (a damaged archive: "
                              f"{one_line(e)}).") from None
    if any(e.compress_type != zipfile.ZIP_STORED for e in entries):
        raise CheckpointError(f"{file.name} holds compressed data, which torch.save never writes: refused (it could "
                              "unpack to far more memory than its size).")
    if sum(e.file_size for e in entries) > MAX_CHECKPOINT_BYTES:
        raise CheckpointError(f"{file.name} unpacks to more than {MAX_CHECKPOINT_BYTES / 1e9:.0f} GB; refused.")


def _check_stored(state: dict[str, torch.Tensor], name: str) -> None:
    """Every tensor's elements must be stored in the file: an expanded view (stride 0) declares a shape far larger
    than its data, and copying it into the model would allocate all of it."""
    total = 0
    for key, t in state.items():
        size = t.numel() * t.element_size()
        if size > t.untyped_storage().nbytes():
            raise CheckpointError(f"{name}: {key} declares {tuple(t.shape)} but stores only "
                                  f"{t.untyped_storage().nbytes():,} bytes of it (an expanded view); refused.")
        total += size
    if total > MAX_CHECKPOINT_BYTES:
        raise CheckpointError(f"{name} declares {total / 1e9:.1f} GB of weights; the limit is "
                              f"{MAX_CHECKPOINT_BYTES / 1e9:.0f} GB.")


# --- common -------------------------------------------------------------------------------------------------------
def one_line(e: BaseException, limit: int = 200) -> str:
    """The first line of an exception's text, cut at a word (torch's messages run to pages): what the checkpoint
    loader, the CLI and the app say of an unexpected failure."""
    first = (str(e).strip().splitlines() or [""])[0]
    return first if len(first) <= limit else first[:limit].rsplit(" ", 1)[0] + " ..."


def _read_limited(path: Path, limit: int) -> bytes:
    size = path.stat().st_size
    if size > limit:
        raise CheckpointError(f"{path.name} is {size / 1e6:.0f} MB; the limit is {limit / 1e6:.0f} MB.")
    return path.read_bytes()


_TYPE_CHECKS = {   # TRMConfig field annotations (strings under `from __future__ import annotations`) -> check
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "float": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v),
    "bool": lambda v: isinstance(v, bool),
    "str": lambda v: isinstance(v, str),
    "list[str]": lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
}


def _config_from(raw: dict[str, Any], source: str) -> TRMConfig:
    """Settings -> TRMConfig, every known field type- and range-checked before anything is allocated."""
    for f in dataclasses.fields(TRMConfig):
        if f.name in raw and not _TYPE_CHECKS[f.type](raw[f.name]):
            raise CheckpointError(f"{source}: {f.name} = {raw[f.name]!r:.60} is not a valid {f.type}.")
    for key, limit in LIMITS.items():
        if key in raw and not 0 <= raw[key] <= limit:
            raise CheckpointError(f"{source}: {key} = {raw[key]!r} is outside 0..{limit}.")
    try:
        return TRMConfig.from_dict(raw)
    except (TypeError, ValueError, ArithmeticError) as e:
        raise CheckpointError(f"{source}: invalid model settings: {e}") from None


def read_config(directory: str | Path) -> TRMConfig:
    """The settings of one of our checkpoint folders without loading its weights (e.g. for UI defaults)."""
    return _read_config_json(Path(directory) / "config.json")


def _check_state(state: dict[str, torch.Tensor], model: TRM, source: str) -> dict[str, torch.Tensor]:
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    problems = []
    if missing:
        problems.append(f"missing {len(missing)} tensors ({', '.join(missing[:4])}{'...' if len(missing) > 4 else ''})")
    if unexpected:
        problems.append(f"unexpected {len(unexpected)} tensors ({', '.join(unexpected[:4])}"
                        f"{'...' if len(unexpected) > 4 else ''})")
    for k in sorted(set(expected) & set(state)):
        if tuple(state[k].shape) != tuple(expected[k].shape):
            problems.append(f"{k} has shape {tuple(state[k].shape)}, the config implies {tuple(expected[k].shape)}")
        elif not state[k].is_floating_point():
            problems.append(f"{k} is {state[k].dtype}, expected floating point")
    if problems:
        more = f"; and {len(problems) - 3} more" if len(problems) > 3 else ""
        raise CheckpointError(f"{source} does not match its config: " + "; ".join(problems[:3]) + more + ".")
    bad = [k for k, v in state.items() if not torch.isfinite(v.float()).all()]
    if bad:
        raise CheckpointError(f"{source} holds NaN or infinite values in {', '.join(bad[:4])}.")
    return {k: v.to(torch.float32) for k, v in state.items()}


def load_checkpoint(path: str | Path) -> tuple[TRM, dict[str, Any]]:
    """Load ours (a directory or its model.safetensors) or an official step_<N> file (or a run directory holding
    one: the highest N is taken). Returns the model in eval mode, float32, on the CPU, and a description (with
    "notes": what the user should know, e.g. settings assumed for a step file without its all_config.yaml)."""
    try:
        return _load_checkpoint(Path(path))
    except CheckpointError:
        raise
    except Exception as e:  # noqa: BLE001 - a file that passed every check yet fails: still one line, not a trace
        raise CheckpointError(f"Could not read the checkpoint at {Path(path).name} ({type(e).__name__}: "
                              f"{one_line(e)}).") from e


def _load_checkpoint(path: Path) -> tuple[TRM, dict[str, Any]]:
    notes: list[str] = []
    if not path.exists():
        raise CheckpointError(f"No checkpoint at {path}.")
    if path.is_file() and path.name == "model.safetensors":
        path = path.parent
    if path.is_dir() and (path / "config.json").is_file():
        state, config = _load_ours(path)
        fmt = FORMAT_NAME
    else:
        if path.is_dir():
            steps = sorted(path.glob("step_*"), key=lambda p: int(m.group(1)) if (m := re.fullmatch(
                r"step_(\d+)", p.name)) else -1)
            steps = [p for p in steps if re.fullmatch(r"step_\d+", p.name)]
            if not steps:
                raise CheckpointError(f"{path} holds neither config.json + model.safetensors nor an official step_N file.")
            path = steps[-1]
        state, config = _load_official(path, notes)
        fmt = "official"
    with torch.device("meta"):  # shapes only: a hostile config must not allocate memory before it is checked
        shape_model = TRM(config)
    try:
        state = _check_state(state, shape_model, path.name)
    except CheckpointError as e:
        assumed = [n for n in notes if n.startswith("No all_config.yaml")]
        if not assumed:
            raise
        raise CheckpointError(f"{e} {assumed[0].split(':')[0]}, so the paper's settings were assumed: put the "
                              "run's all_config.yaml beside it.") from None
    model = TRM(config)
    model.load_state_dict(state)
    model.eval()
    return model, {"path": str(path), "format": fmt, "config": config, "notes": notes}
