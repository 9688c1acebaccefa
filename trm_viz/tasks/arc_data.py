"""ARC task collections on disk (Kaggle layout) and the curated examples shipped in assets/arc/.

Collections are read from the first of: $TRM_VIZ_ARC_DIR (when set, only there), the repository's
assets/arc/data/ (ships ARC-AGI-1 training, which the trainer and CI need), the shared data folder beside the
repository, /work/shared/data/arc. Files are "<prefix>_challenges.json" with test outputs merged in from
"<prefix>_solutions.json" when that file exists (as the official build_arc_dataset.py does).
"""
from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path

from .base import PuzzleError

REPO = Path(__file__).resolve().parents[2]
ASSETS = REPO / "assets" / "arc"
COLLECTIONS = {
    "training": "arc-agi_training",          # ARC-AGI-1, 400 tasks, with test outputs
    "evaluation": "arc-agi_evaluation",      # ARC-AGI-1 public evaluation, 400 (test outputs withheld here)
    "training2": "arc-agi_training2",        # ARC-AGI-2, 1000 tasks, with test outputs
    "evaluation2": "arc-agi_evaluation2",    # ARC-AGI-2 public evaluation, 120 (test outputs withheld here)
    "concept": "arc-agi_concept",            # ConceptARC, where a copy exists
}
# The curated examples: task id -> a short description of what the task asks (all from ARC-AGI-1 training).
CURATED = {
    "007bbfb7": "fractal: copy the shape into itself",
    "00d62c1b": "fill enclosed regions with yellow",
    "0d3d703e": "swap colours by a fixed mapping",
    "1e0a9b12": "let cells fall to the bottom",
    "25ff71a9": "move the shape down one row",
    "3aa6fb7a": "complete each L corner in blue",
    "3c9b0459": "rotate by 180 degrees",
    "4258a5f9": "surround grey cells with blue",
    "6f8cd79b": "draw a light-blue border",
    "a699fb00": "join pairs of blue cells with red",
    "d4f3cd78": "fill the box and let it leak",
    "3631a71a": "repair a symmetric 30x30 pattern",
}


def data_dirs() -> list[Path]:
    if os.environ.get("TRM_VIZ_ARC_DIR"):
        return [Path(os.environ["TRM_VIZ_ARC_DIR"])]
    return [ASSETS / "data", REPO.parent / "shared" / "data" / "arc", Path("/work/shared/data/arc")]


@lru_cache(maxsize=8)
def load_collection(name: str) -> dict[str, dict]:
    """{task_id: {"train": [...], "test": [{"input", "output"?}, ...]}}. Cached: treat the result as read-only."""
    if name not in COLLECTIONS:
        raise PuzzleError(f"Unknown ARC collection {name!r}: choose one of {', '.join(COLLECTIONS)}.")
    prefix = COLLECTIONS[name]
    for folder in data_dirs():
        challenges = folder / f"{prefix}_challenges.json"
        if challenges.is_file():
            break
    else:
        raise PuzzleError(f"ARC collection {name!r} ({prefix}_challenges.json) was not found in "
                          f"{', '.join(map(str, data_dirs()))}; set TRM_VIZ_ARC_DIR to its folder.")
    tasks = _read_json(challenges)
    solutions_file = folder / f"{prefix}_solutions.json"
    if solutions_file.is_file():
        merge_solutions(tasks, _read_json(solutions_file))
    return tasks


def merge_solutions(tasks: dict, solutions: dict) -> None:
    """Put each {task_id: [output, ...]} test output into its task's test pair, in place. PuzzleError when the
    solutions file is not such an object."""
    if not isinstance(solutions, dict) or not all(isinstance(v, list) for v in solutions.values()):
        raise PuzzleError("An ARC solutions file must be a JSON object {task_id: [test output grid, ...]}.")
    for task_id, outputs in solutions.items():
        task = tasks.get(task_id)
        tests = task.get("test", []) if isinstance(task, dict) else []
        for pair, output in zip(tests if isinstance(tests, list) else [], outputs):
            if isinstance(pair, dict):
                pair["output"] = output


def _read_json(path: Path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        raise PuzzleError(f"Could not read {path}: {e}") from None


def find_task(task_id: str, collections: tuple[str, ...] = ("training", "evaluation", "training2", "evaluation2")
              ) -> tuple[str, dict]:
    """(collection name, task) for a task id, searching the collections that exist here in order."""
    for name in collections:
        try:
            tasks = load_collection(name)
        except PuzzleError:
            continue
        if task_id in tasks:
            return name, tasks[task_id]
    raise PuzzleError(f"No ARC task {task_id!r} in the collections available ({', '.join(collections)}).")


def curated_tasks() -> dict[str, dict]:
    """The curated tasks shipped in assets/arc/<task_id>.json (with their test outputs), in CURATED order."""
    return {task_id: _read_json(ASSETS / f"{task_id}.json") for task_id in CURATED}
