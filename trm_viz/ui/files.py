"""The files the app writes for visitors (trace JSON, GIFs, the run's pictures), all under one folder of Gradio's
cache, and the sweep that deletes them an hour later (housekeeping.py runs it every ten minutes).

Why not leave it to Gradio's delete_cache: it deletes only files its components recorded, and a component that
received a property update (the pictures' per-step alt text) becomes a per-session copy whose files nobody records;
a Space then gains ~0.4 MB a run for good (measured: 245 MB after 520 runs, 5,316 folders, most of them empty).
So the app writes its files itself, under get_upload_folder()/trm_viz/ (a file already in the cache is served as
it is), and sweeps that folder, plus the empty folders Gradio's own deletions leave at the cache root.
"""
from __future__ import annotations

import hashlib
import math
import os
import time
import uuid
from pathlib import Path
from typing import Callable

from gradio.processing_utils import encode_pil_to_bytes
from gradio.utils import get_upload_folder
from PIL import Image

MAX_AGE_S = 3600          # a file lives an hour: long enough to view a run and download its exports


def app_folder() -> Path:
    return Path(get_upload_folder()) / "trm_viz"


def export_dir() -> Path:
    """A fresh folder for one export (its file keeps a readable name: trm-sudoku-Hard-2.json)."""
    folder = app_folder() / uuid.uuid4().hex
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def picture_file(img: Image.Image, fresh: bool = False) -> str:
    """The picture as a WebP file (Gradio's own encoding of a PIL picture), named by its content: a picture shown
    again reuses its file. ``fresh``: under a new name, which a browser fetches again (one whose fetch failed, the
    file having been swept, keeps showing the broken picture for that name)."""
    data = encode_pil_to_bytes(img, "webp")
    name = hashlib.sha256(data).hexdigest()[:32] + (f"-{uuid.uuid4().hex[:8]}" if fresh else "")
    path = app_folder() / "pictures" / f"{name}.webp"
    return keep_or_write(path, lambda: data)       # (the sweep never removes pictures/ itself)


def keep_or_write(path: Path, data: Callable[[], bytes]) -> str:
    """A file shown again is touched, so that the sweep counts its hour from now; a new (or swept) one is written,
    under a temporary name first: a half-written file is never served."""
    try:
        os.utime(path)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
        tmp.write_bytes(data())
        os.replace(tmp, path)
    return str(path)


def touch_or_missing(paths: list) -> bool:
    """Touch files shown again (the sweep counts their hour from now, as keep_or_write does); True when any of them
    is gone (swept), so that the caller writes them again."""
    missing = False
    for path in paths:
        try:
            os.utime(path)
        except (OSError, TypeError):      # TypeError: no file recorded (None)
            missing = True
    return missing


def sweep(max_age_s: float = MAX_AGE_S, now: float | None = None) -> int:
    """Delete the app's files older than ``max_age_s`` and the folders that leaves empty; also empty folders that
    old at the cache root (Gradio deletes files, never their folders). Returns how many files it deleted."""
    cutoff = (now or time.time()) - max_age_s
    removed = 0
    root = app_folder()
    if root.is_dir():
        for dirpath, dirnames, filenames in os.walk(root, topdown=False):
            emptied = False
            for name in filenames:
                path = Path(dirpath) / name
                try:
                    if path.stat().st_mtime < cutoff:
                        path.unlink()
                        removed += 1
                        emptied = True
                except OSError:
                    pass          # gone already, or another process's
            if Path(dirpath) not in (root, root / "pictures"):     # pictures/ is written into all the time
                # A folder whose hour-old files went now goes too (deleting them made it look new: it would have
                # stayed another hour); an empty folder found otherwise must be an hour old itself.
                _remove_if_empty(Path(dirpath), math.inf if emptied else cutoff)
    cache = Path(get_upload_folder())
    if cache.is_dir():
        for entry in cache.iterdir():
            if entry.is_dir() and entry != root:
                _remove_if_empty(entry, cutoff)
    return removed


def _remove_if_empty(folder: Path, cutoff: float) -> None:
    """rmdir an empty folder last changed before ``cutoff`` (never one that was just made for a file about to be
    written)."""
    try:
        if folder.stat().st_mtime < cutoff and not any(folder.iterdir()):
            folder.rmdir()
    except OSError:
        pass
