"""What a recorded run holds of z_H and z_L, and what the views read of it, against the model replayed by hand on the
shipped sudoku-tiny checkpoint: each latent's own per-cell move, the colours in step 1's basis, and each step's own
confidence and moves in the viewer's cells (a swap of z_H and z_L, or a step read one late, passed every test)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from trm_viz import trace as trace_mod
from trm_viz.model.checkpoints import load_checkpoint
from trm_viz.tasks import get_task
from trm_viz.viz import cells

CKPT = Path(__file__).resolve().parents[1] / "checkpoints" / "sudoku-tiny"
SUDOKU = get_task("sudoku")
WARM_UP = SUDOKU.examples()["Warm-up 2 (40 blanks)"]


@pytest.fixture(scope="module")
def model():
    return load_checkpoint(CKPT)[0]


@pytest.fixture(scope="module")
def recorded(model):
    return trace_mod.run(model, WARM_UP, steps=3)


def test_each_latents_move_and_colours_are_its_own(model, recorded):
    """z_H_delta / z_L_delta: how far that latent moved in the step, per cell; z_H_proj: the state in the basis
    chosen at step 1 (the colours keep their meaning across steps)."""
    P = model.puzzle_emb_len
    with torch.inference_mode():
        x = model.input_embeddings(torch.as_tensor(recorded.input_tokens)[None], torch.tensor([0]))
        z, basis = model.initial_latents(1), None
        for i in range(3):
            new = model.supervision_step(*z, x)[:2]
            for k, (old_z, new_z) in enumerate(zip(z, new)):
                moved = (new_z - old_z)[0, P:].norm(dim=-1).reshape(9, 9).numpy()
                np.testing.assert_allclose((recorded.z_H_delta, recorded.z_L_delta)[k][i], moved, rtol=1e-4,
                                           atol=1e-5)
            if basis is None:
                basis = trace_mod._pca_basis(new[0][0, P:].float())
            np.testing.assert_allclose(recorded.z_H_proj[i], (new[0][0, P:].float() @ basis).reshape(9, 9, 3).numpy(),
                                       rtol=1e-4, atol=1e-4)
            z = new


def test_each_step_shows_its_own_confidence_and_moves(recorded):
    for k in (1, 2, 3):
        c = cells.step_cells(recorded, k)
        assert np.array_equal(c.confidence, recorded.confidence[k - 1])
        assert np.array_equal(c.z_H_delta, recorded.z_H_delta[k - 1])
        assert np.array_equal(c.z_L_delta, recorded.z_L_delta[k - 1])
    with pytest.raises(ValueError, match="steps 1 to 3"):
        cells.step_cells(recorded, 0)                    # not the last step by Python's -1
