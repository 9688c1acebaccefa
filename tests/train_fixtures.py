"""What the training tests share: a tiny Sudoku configuration, a per-module data cache and one torch thread.
Test modules import these names (pytest finds the fixtures in the importing module)."""
from __future__ import annotations

import pytest
import torch

from trm_viz.train.config import build_configs

TINY = {"hidden_size": "32", "L_layers": "1", "H_cycles": "2", "L_cycles": "2", "global_batch_size": "32",
        "expansion": "2", "lr": "3e-3", "lr_warmup_steps": "5", "log_every": "10", "train_size": "256",
        "eval_size": "48"}


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> str:
    return str(tmp_path_factory.mktemp("train_cache"))


@pytest.fixture(autouse=True)
def one_thread():
    """These models are tiny: one thread avoids thread synchronisation, which costs 2-4x on a shared 2-core CPU."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def tiny(cache: str, **more):
    return build_configs("sudoku", {**TINY, "data_dir": cache, **more})
