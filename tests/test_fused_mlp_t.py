"""The fused MLP over positions (trm_viz/model/fused_mlp_t.py) computes what TRM-MLP's plain SwiGLU over positions
computes. Its kernel runs here in Triton's CPU interpreter (float32 matmuls: the interpreter mishandles bfloat16
ones); the benchmark checks the bfloat16 kernel on a GPU (`--modes net,net+fused` prints the agreement)."""
from __future__ import annotations

import pytest
import torch

pytest.importorskip("triton")

from trm_viz.model import fused_mlp_t  # noqa: E402
from trm_viz.model import layers  # noqa: E402
from trm_viz.model.config import TRMConfig  # noqa: E402


@pytest.fixture
def kernel(monkeypatch):
    monkeypatch.setenv("TRITON_INTERPRET", "1")
    monkeypatch.setattr(fused_mlp_t, "_kernel", None)
    yield fused_mlp_t.make_kernel()


def test_fused_kernel_matches_the_plain_swiglu_over_positions(kernel):
    torch.manual_seed(0)
    S, D = 97, 40                                   # the paper Sudoku's 81 cells + 16 puzzle-embedding positions
    mlp = layers.SwiGLU(S, 4.0)
    w_gu, w_down = mlp.gate_up_proj.weight, mlp.down_proj.weight
    for h in (torch.randn(2, S, D), torch.randn(2, D, S).transpose(1, 2)):      # contiguous, and a transposed view
        want = mlp(h.transpose(1, 2)).detach()
        got = fused_mlp_t.launch(h, w_gu, w_down, torch.float32, kernel=kernel).transpose(1, 2)
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
        got16 = fused_mlp_t.launch(h, w_gu, w_down, torch.bfloat16, kernel=kernel, dot_dtype=torch.float32)
        assert got16.dtype == torch.bfloat16
        torch.testing.assert_close(got16.transpose(1, 2).float(), want, rtol=2e-2, atol=2e-2)
    with pytest.raises(ValueError, match="unexpected weights"):
        fused_mlp_t.launch(torch.randn(2, S, D), w_gu[:, :50], w_down, torch.float32, kernel=kernel)


def test_it_applies_only_to_cuda_calls_without_gradient():
    try:
        fused_mlp_t.set_enabled(True)
        assert fused_mlp_t._enabled and not fused_mlp_t.use_fused(torch.zeros(1, 2, 3))   # CPU tensors never
    finally:
        fused_mlp_t.set_enabled(False)
    assert not fused_mlp_t._enabled


def test_a_block_using_it_traces_under_torch_compile(kernel, monkeypatch):
    """The net compile mode wraps the blocks: the fused op must pass through torch.compile's tracing (here on
    the CPU with the interpreter standing in for the GPU kernel) and give the plain block's values."""
    torch.manual_seed(1)
    cfg = TRMConfig(hidden_size=32, num_heads=2, L_layers=1, mlp_t=True, pos_encodings="none", vocab_size=11,
                    seq_len=81, puzzle_emb_ndim=32, task="sudoku")
    block = layers.Block(cfg)
    h = torch.randn(2, cfg.total_len, 32)
    with torch.no_grad():
        plain = block(h)
        monkeypatch.setattr(fused_mlp_t, "_enabled", True)
        fused_mlp_t._load()
        monkeypatch.setattr(layers, "use_fused", lambda x: not torch.is_grad_enabled())
        eager = block(h)
        compiled = torch.compile(block, backend="eager", fullgraph=True)(h)
    torch.testing.assert_close(eager, plain, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(compiled, plain, rtol=1e-5, atol=1e-5)
