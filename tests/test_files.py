"""The files the app writes for visitors live under one folder of Gradio's cache and go an hour later (a long-lived
Space measured 245 MB after 520 runs when Gradio's delete_cache alone was trusted with them)."""
from __future__ import annotations

import os
import time

import numpy as np
from PIL import Image

from trm_viz.ui import files


def _age(path, seconds: float) -> None:
    t = time.time() - seconds
    os.utime(path, (t, t))


def test_pictures_are_files_of_the_app_named_by_content(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))
    img = Image.fromarray(np.full((8, 8, 3), 200, np.uint8))
    first = files.picture_file(img)
    assert first.startswith(str(tmp_path / "trm_viz" / "pictures")) and first.endswith(".webp")
    _age(first, 3000)
    assert files.picture_file(img) == first and time.time() - os.stat(first).st_mtime < 60    # reused, touched
    assert Image.open(first).size == (8, 8)


def test_the_sweep_deletes_what_is_an_hour_old_and_the_folders_it_empties(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))
    old_export = files.export_dir() / "trm-sudoku-x.json"
    old_export.write_text("{}")
    new_export = files.export_dir() / "trm-sudoku-y.json"
    new_export.write_text("{}")
    picture = files.picture_file(Image.new("RGB", (4, 4)))
    _age(old_export, 4000)
    _age(picture, 4000)
    gradio_left = tmp_path / "0123abcd"          # a folder Gradio's delete_cache emptied an hour ago
    gradio_left.mkdir()
    gradio_kept = tmp_path / "4567ef"            # one still holding a file of Gradio's: not the app's to delete
    gradio_kept.mkdir()
    (gradio_kept / "image.webp").write_bytes(b"x")
    for d in (gradio_left, gradio_kept):
        _age(d, 4000)
    _age(gradio_kept / "image.webp", 4000)
    assert files.sweep() == 2
    assert not old_export.exists() and not os.path.exists(picture) and new_export.exists()
    assert not gradio_left.exists() and (gradio_kept / "image.webp").exists()
    assert not old_export.parent.exists() and new_export.parent.exists()     # the export's folder, emptied, too
    fresh = files.export_dir()                   # an empty folder just made for a file about to be written stays
    files.sweep()
    assert fresh.is_dir()


def test_a_steps_pictures_go_out_as_the_apps_files(tmp_path, monkeypatch):
    """The latents and inner-recursion pictures carry per-step alt text, which makes Gradio copy their components
    per session and lose track of the files they save: so the app hands over files of its own."""
    from test_viz import SUDOKU, hand_built_trace   # pytest puts tests/ on sys.path

    from trm_viz.ui.views import step_images

    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))
    puzzle = SUDOKU.examples()["Easy 1 (Wikipedia example)"]
    sol = SUDOKU.solve(puzzle)
    trace = hand_built_trace(SUDOKU, puzzle, [sol.copy(), sol.copy()], [0.2, 0.9], sol)
    updates = step_images(trace, 2)
    assert len(updates) == 5 and all(u["value"].startswith(str(tmp_path / "trm_viz")) for u in updates)
    assert updates[0]["alt_text"].startswith("z_H change at step 2")
