"""The TRM network against an independent re-statement of the recursion, and both checkpoint formats.

These tests check arithmetic, so small models with random weights are what they need: no output of them is shown
to anyone. (The official forward pass itself is compared by scripts/check_official_parity.py against a clone of
the official repository: bit-identical in float32.)
"""
from __future__ import annotations

import json
import math
import pickle

import pytest
import torch
import yaml

from trm_viz.model.checkpoints import CheckpointError, load_checkpoint, save_checkpoint
from trm_viz.model.config import TRMConfig
from trm_viz.model.trm import TRM

SMALL = dict(hidden_size=64, num_heads=4, L_layers=2, H_cycles=2, L_cycles=2, puzzle_emb_ndim=64,
             vocab_size=11, seq_len=81, task="sudoku")


def randomised(config: TRMConfig, seed: int = 0) -> TRM:
    """A model whose halting head and puzzle embedding are not at their trivial zero init."""
    torch.manual_seed(seed)
    model = TRM(config).eval()
    with torch.no_grad():
        model.q_head.weight.normal_(0, 0.1)
        if config.puzzle_emb_ndim:
            model.puzzle_emb.weights.normal_(0, 0.5)
    return model


def reference_run(sd: dict, cfg: TRMConfig, inputs, ids, steps: int):
    """TRM written out from the paper with plain tensor algebra, reading weights by their official names."""
    D, eps = cfg.hidden_size, cfg.rms_norm_eps
    P = (cfg.puzzle_emb_len or math.ceil(cfg.puzzle_emb_ndim / D)) if cfg.puzzle_emb_ndim else 0

    def norm(x):
        return x / torch.sqrt((x * x).mean(-1, keepdim=True) + eps)

    def swiglu(x, pre):
        gu = x @ sd[pre + "gate_up_proj.weight"].T
        g, u = gu[..., : gu.shape[-1] // 2], gu[..., gu.shape[-1] // 2:]
        return (g * torch.sigmoid(g) * u) @ sd[pre + "down_proj.weight"].T

    def rope(t):  # t: (B, S, heads, hd); pairs (i, i + hd/2) rotated by position * theta^(-2i/hd)
        hd = t.shape[-1]
        pos = torch.arange(t.shape[1], dtype=torch.float64)[:, None]
        ang = pos * cfg.rope_theta ** (-torch.arange(0, hd, 2, dtype=torch.float64) / hd)
        c = torch.complex(t[..., : hd // 2].double(), t[..., hd // 2:].double())
        c = c * torch.polar(torch.ones_like(ang), ang)[None, :, None, :]
        return torch.cat((c.real, c.imag), -1).float()

    def attention(x, pre):
        B, S, _ = x.shape
        h, hd = cfg.num_heads, D // cfg.num_heads
        q, k, v = (x @ sd[pre + "qkv_proj.weight"].T).view(B, S, 3, h, hd).unbind(2)
        if cfg.pos_encodings == "rope":
            q, k = rope(q), rope(k)
        w = torch.softmax(torch.einsum("bqhd,bkhd->bhqk", q, k) / math.sqrt(hd), -1)
        return torch.einsum("bhqk,bkhd->bqhd", w, v).reshape(B, S, D) @ sd[pre + "o_proj.weight"].T

    def net(h, injection):
        h = h + injection
        for i in range(cfg.L_layers):
            pre = f"L_level.layers.{i}."
            if cfg.mlp_t:  # mix positions: the MLP and its norm act along the sequence axis
                t = h.transpose(1, 2)
                h = norm(t + swiglu(t, pre + "mlp_t.")).transpose(1, 2)
            else:
                h = norm(h + attention(h, pre + "self_attn."))
            h = norm(h + swiglu(h, pre + "mlp."))
        return h

    x = sd["embed_tokens.embedding_weight"][inputs]
    if P:
        pe = sd["puzzle_emb.weights"][ids]
        pe = torch.cat([pe, pe.new_zeros(pe.shape[0], P * D - pe.shape[1])], -1).view(-1, P, D)
        x = torch.cat([pe, x], 1)
    if cfg.pos_encodings == "learned":
        x = (x + sd["embed_pos.embedding_weight"]) / math.sqrt(2)
    x = x * math.sqrt(D)
    z_H = sd["H_init"].expand_as(x)
    z_L = sd["L_init"].expand_as(x)
    out = []
    for _ in range(steps):
        for _ in range(cfg.H_cycles):
            for _ in range(cfg.L_cycles):
                z_L = net(z_L, z_H + x)
            z_H = net(z_H, z_L)
        logits = z_H[:, P:] @ sd["lm_head.weight"].T
        q_halt = (z_H[:, 0] @ sd["q_head.weight"].T + sd["q_head.bias"])[:, 0]
        out.append((logits, torch.sigmoid(q_halt), z_H, z_L))
    return out


@pytest.mark.parametrize("variant", [dict(mlp_t=True, pos_encodings="none"), dict(pos_encodings="rope"),
                                     dict(pos_encodings="learned", puzzle_emb_len=0, num_puzzle_identifiers=3)])
def test_recursion_matches_independent_restatement(variant):
    cfg = TRMConfig(**{**SMALL, **variant})
    model = randomised(cfg)
    inputs = torch.randint(0, cfg.vocab_size, (2, cfg.seq_len))
    ids = torch.tensor([0, cfg.num_puzzle_identifiers - 1])
    sd = {k: v.float() for k, v in model.state_dict().items()}
    expected = reference_run(sd, cfg, inputs, ids, steps=4)
    with torch.no_grad():
        x = model.input_embeddings(inputs, ids)
        z_H, z_L = model.initial_latents(2)
        for logits_ref, q_ref, z_H_ref, z_L_ref in expected:
            z_H, z_L, logits, q = model.supervision_step(z_H, z_L, x)
            # float32 with a different operation order: ~1e-5 apart after one step. Random weights amplify such
            # rounding ~5x per step (on some CPUs past 1e-3 by step 4), so every step starts again from the
            # reference's latents: each step is checked tightly and a wrong recursion still fails at once.
            assert torch.allclose(logits, logits_ref, atol=1e-3, rtol=1e-4)
            assert torch.allclose(torch.sigmoid(q), q_ref, atol=1e-4)
            assert torch.allclose(z_H, z_H_ref, atol=1e-3) and torch.allclose(z_L, z_L_ref, atol=1e-3)
            z_H, z_L = z_H_ref, z_L_ref


def test_inference_counts_change_the_computation():
    """H_cycles / L_cycles are inference-time arguments: fewer cycles give a different (cheaper) answer state."""
    model = randomised(TRMConfig(**SMALL))
    inputs = torch.randint(0, 11, (1, 81))
    x = model.input_embeddings(inputs, torch.zeros(1, dtype=torch.long))
    calls = []
    with torch.no_grad():
        z_H, z_L = model.initial_latents(1)
        full = model.supervision_step(z_H, z_L, x, on_update=lambda *a: calls.append(a[0]))[2]
        assert calls == ["L", "L", "H", "L", "L", "H"]  # T=2 cycles of n=2 z_L updates then one z_H update
        calls.clear()
        short = model.supervision_step(z_H, z_L, x, H_cycles=1, L_cycles=1, on_update=lambda *a: calls.append(a[0]))[2]
        assert calls == ["L", "H"]
    assert not torch.allclose(full, short)


def _outputs(model, seed=1):
    g = torch.Generator().manual_seed(seed)
    inputs = torch.randint(0, model.config.vocab_size, (2, model.config.seq_len), generator=g)
    with torch.no_grad():
        return model(inputs, torch.zeros(2, dtype=torch.long), steps=3)


def test_our_format_round_trip(tmp_path):
    model = randomised(TRMConfig(**SMALL))
    save_checkpoint(tmp_path / "ck", model, dtype=torch.float32)
    loaded, info = load_checkpoint(tmp_path / "ck")
    assert info["format"] == "trm_viz" and loaded.config == model.config
    for a, b in zip(_outputs(model), _outputs(loaded)):
        assert torch.equal(a, b)
    # bfloat16 storage (used above 15 MB) loads back as float32 within bf16 rounding
    save_checkpoint(tmp_path / "bf", model, dtype=torch.bfloat16)
    assert (tmp_path / "bf" / "model.safetensors").stat().st_size < (tmp_path / "ck" / "model.safetensors").stat().st_size * 0.6
    loaded16, _ = load_checkpoint(tmp_path / "bf" / "model.safetensors")
    assert loaded16.lm_head.weight.dtype == torch.float32
    assert torch.allclose(loaded16.lm_head.weight, model.lm_head.weight, atol=1e-2)


@pytest.mark.parametrize("prefix", ["_orig_mod.model.inner.", "model.inner.", "inner.", ""])
def test_official_format_round_trip(tmp_path, prefix):
    cfg = TRMConfig(**{**SMALL, "mlp_t": True, "pos_encodings": "none"})
    model = randomised(cfg)
    sd = {prefix + k: v.to(torch.bfloat16) if k in ("H_init", "L_init") else v for k, v in model.state_dict().items()}
    torch.save(sd, tmp_path / "step_500")
    torch.save(sd, tmp_path / "step_1000")
    arch = {"name": "recursive_reasoning.trm@TinyRecursiveReasoningModel_ACTV1", "loss": {"name": "x"},
            "H_cycles": 2, "L_cycles": 2, "L_layers": 2, "H_layers": 0, "hidden_size": 64, "num_heads": 4,
            "expansion": 4, "puzzle_emb_ndim": 64, "pos_encodings": "none", "mlp_t": True, "puzzle_emb_len": 16,
            "halt_max_steps": 16, "halt_exploration_prob": 0.1, "forward_dtype": "bfloat16"}
    (tmp_path / "all_config.yaml").write_text(yaml.safe_dump({"arch": arch, "lr": 1e-4}))
    loaded, info = load_checkpoint(tmp_path)  # a run directory: the highest step is taken
    assert info["format"] == "official" and info["path"].endswith("step_1000")
    assert loaded.config.vocab_size == 11 and loaded.config.seq_len == 81 and loaded.config.mlp_t
    assert loaded.config.task == "sudoku"
    ref = randomised(cfg)
    ref.load_state_dict({k: v.float() for k, v in model.state_dict().items()})
    ref.H_init.copy_(model.H_init.to(torch.bfloat16).float())
    ref.L_init.copy_(model.L_init.to(torch.bfloat16).float())
    for a, b in zip(_outputs(ref), _outputs(loaded)):
        assert torch.equal(a, b)



def test_official_settings_the_weights_contradict_or_lack(tmp_path):
    """A step file's all_config.yaml is checked against the weights: a broken arch or puzzle_emb_len is one clear
    line, a Sudoku model's positions must hold 81 cells, an identifiers.json longer than the embedding table is
    refused (Run would index outside it); sizes that differ, or no yaml at all, load with a note saying so."""
    model = randomised(TRMConfig(**{**SMALL, "mlp_t": True, "pos_encodings": "none"}))
    torch.save(model.state_dict(), tmp_path / "step_7")
    arch = {"H_cycles": 2, "L_cycles": 2, "hidden_size": 64, "num_heads": 4, "expansion": 4, "puzzle_emb_ndim": 64,
            "pos_encodings": "none", "mlp_t": True, "puzzle_emb_len": 16}

    def load_with(**changes):
        (tmp_path / "all_config.yaml").write_text(yaml.safe_dump({"arch": {**arch, **changes}}))
        return load_checkpoint(tmp_path / "step_7")

    for bad, message in ((dict(puzzle_emb_len=None), "puzzle_emb_len = None is not a whole number"),
                         (dict(puzzle_emb_len=8), "puzzle_emb_len 8 does not fit the weights: a Sudoku model's 97 "
                                                  "positions are 81 cells \+ 16")):
        with pytest.raises(CheckpointError, match=message):
            load_with(**bad)
    (tmp_path / "all_config.yaml").write_text(yaml.safe_dump({"arch": ["H_cycles", 2]}))
    with pytest.raises(CheckpointError, match="'arch' must be a mapping"):
        load_checkpoint(tmp_path / "step_7")

    _, info = load_with(hidden_size=256, L_layers=4)
    assert info["notes"] == ["all_config.yaml does not match the weights: hidden_size 256 (the weights: 64), "
                             "L_layers 4 (the weights: 2); the weights' sizes are used. Is it the file of another run?"]
    (tmp_path / "identifiers.json").write_text(json.dumps(["<blank>"] + [f"task{k}" for k in range(40)]))
    with pytest.raises(CheckpointError, match="41 puzzle names for 1 puzzle embedding: the names list"):
        load_with()
    (tmp_path / "identifiers.json").unlink()
    (tmp_path / "all_config.yaml").unlink()
    loaded, info = load_checkpoint(tmp_path / "step_7")
    assert loaded.config.L_cycles == 6 and info["notes"][0].startswith(
        "No all_config.yaml came with step_7: H_cycles 3, L_cycles 6, num_heads 8, expansion 4 are assumed")
    # weights the assumed settings do not fit: the refusal says they were assumed, and what would fix it
    other = randomised(TRMConfig(**{**SMALL, "mlp_t": True, "pos_encodings": "none", "expansion": 2}))
    torch.save(other.state_dict(), tmp_path / "step_7")
    with pytest.raises(CheckpointError, match="does not match its config: .* No all_config.yaml came with step_7, "
                                              "so the paper's settings were assumed: put the run's all_config.yaml"):
        load_checkpoint(tmp_path / "step_7")


class _Evil:
    def __reduce__(self):
        import os

        return (os.system, ("touch /tmp/trm_viz_pwned",))


def test_hostile_and_broken_checkpoints_give_clear_errors(tmp_path):
    import os

    model = randomised(TRMConfig(**SMALL))
    good = tmp_path / "good"
    save_checkpoint(good, model)

    evil = tmp_path / "evil"
    evil.mkdir()
    with open(evil / "step_1", "wb") as f:
        pickle.dump({"lm_head.weight": _Evil()}, f)
    if os.path.exists("/tmp/trm_viz_pwned"):
        os.remove("/tmp/trm_viz_pwned")
    with pytest.raises(CheckpointError, match="could run code") as refused:
        load_checkpoint(evil / "step_1")
    assert not os.path.exists("/tmp/trm_viz_pwned")
    assert "\n" not in str(refused.value) and "PyTorch 2.6" not in str(refused.value)    # one line, not torch's page

    trunc = tmp_path / "trunc"
    trunc.mkdir()
    (trunc / "config.json").write_bytes((good / "config.json").read_bytes())
    (trunc / "model.safetensors").write_bytes((good / "model.safetensors").read_bytes()[:5000])
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        load_checkpoint(trunc)

    mism = tmp_path / "mism"
    mism.mkdir()
    cfg = dict(__import__("json").loads((good / "config.json").read_text()), hidden_size=128)
    (mism / "config.json").write_text(__import__("json").dumps(cfg))
    (mism / "model.safetensors").write_bytes((good / "model.safetensors").read_bytes())
    with pytest.raises(CheckpointError, match=r"does not match its config: H_init has shape \(64,\), the config implies \(128,\)"):
        load_checkpoint(mism)

    huge = tmp_path / "huge"
    huge.mkdir()
    (huge / "config.json").write_text(__import__("json").dumps(dict(cfg, hidden_size=10**9)))
    (huge / "model.safetensors").write_bytes(b"")
    with pytest.raises(CheckpointError, match="hidden_size = 1000000000 is outside"):
        load_checkpoint(huge)

    (tmp_path / "notjson").mkdir()
    (tmp_path / "notjson" / "config.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        load_checkpoint(tmp_path / "notjson")

    with pytest.raises(CheckpointError, match="No checkpoint at"):
        load_checkpoint(tmp_path / "missing")

    nan = tmp_path / "nan"
    bad = randomised(TRMConfig(**SMALL))
    with torch.no_grad():
        bad.lm_head.weight[0, 0] = float("nan")
    save_checkpoint(nan, bad)
    with pytest.raises(CheckpointError, match="NaN"):
        load_checkpoint(nan)

    hrm = tmp_path / "hrm"
    hrm.mkdir()
    torch.save({"model.inner.H_level.layers.0.mlp.down_proj.weight": torch.zeros(2, 2),
                "model.inner.embed_tokens.embedding_weight": torch.zeros(11, 2)}, hrm / "step_3")
    with pytest.raises(CheckpointError, match="HRM"):
        load_checkpoint(hrm / "step_3")


def test_a_small_file_that_would_unpack_to_gigabytes_is_refused_before_it_does(tmp_path):
    """An expanded view (stride 0) stores one value yet declares a (4M, 256) table; a compressed archive entry (torch
    never writes one) inflates a small upload: both reached 8.8 and 2.9 GB of server memory before this check."""
    import zipfile

    model = randomised(TRMConfig(**{**SMALL, "mlp_t": True, "pos_encodings": "none"}))
    state = model.state_dict()
    (tmp_path / "a").mkdir()
    torch.save({**state, "puzzle_emb.weights": torch.zeros(1, 1).expand(4_000_000, 64)}, tmp_path / "a" / "step_1")
    with pytest.raises(CheckpointError, match=r"puzzle_emb.weights declares \(4000000, 64\) but stores only 4 bytes"):
        load_checkpoint(tmp_path / "a" / "step_1")
    (tmp_path / "b").mkdir()
    torch.save(state, tmp_path / "plain")
    with zipfile.ZipFile(tmp_path / "plain") as src, zipfile.ZipFile(tmp_path / "b" / "step_1", "w",
                                                                     zipfile.ZIP_DEFLATED) as out:
        for item in src.infolist():
            out.writestr(item.filename, src.read(item))
    with pytest.raises(CheckpointError, match="holds compressed data, which torch.save never writes"):
        load_checkpoint(tmp_path / "b" / "step_1")
    # an identifiers.json far longer than its embedding table could name is not parsed
    (tmp_path / "plain").rename(tmp_path / "b" / "step_1")
    (tmp_path / "b" / "identifiers.json").write_text(json.dumps([0] * 100_000))
    with pytest.raises(CheckpointError, match=r"identifiers.json \(0.3 MB\) is far longer than the names of 1 "):
        load_checkpoint(tmp_path / "b" / "step_1")


@pytest.mark.parametrize("change,message", [
    ({"task": "bogus"}, "task must be sudoku, maze or arc"),
    ({"hidden_size": 12, "num_heads": 4}, "RoPE rotates pairs of numbers: each of the 4 heads needs an even size"),
    ({"puzzle_emb_ndim": 64 * 17}, "puzzle_emb_ndim 1088 does not fit 16 positions of hidden_size 64"),
    ({"hidden_size": 64.0}, "hidden_size = 64.0 is not a valid int"),
    ({"num_heads": 0}, "num_heads must be >= 1"),
    ({"rms_norm_eps": "x"}, "rms_norm_eps = 'x' is not a valid float"),
    ({"mlp_t": "yes"}, "mlp_t = 'yes' is not a valid bool"),
    ({"puzzle_names": [1, 2]}, "puzzle_names"),
    ({"pos_encodings": "alibi"}, "pos_encodings must be rope, learned or none"),
])
def test_config_values_are_type_checked(tmp_path, change, message):
    good = tmp_path / "good"
    save_checkpoint(good, randomised(TRMConfig(**SMALL)))
    cfg = dict(__import__("json").loads((good / "config.json").read_text()), **change)
    (good / "config.json").write_text(__import__("json").dumps(cfg))
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(good)


def test_nested_config_and_layerless_official_file(tmp_path):
    (tmp_path / "deep").mkdir()
    (tmp_path / "deep" / "config.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(CheckpointError, match="not valid JSON"):
        load_checkpoint(tmp_path / "deep")
    torch.save({"embed_tokens.embedding_weight": torch.zeros(11, 8), "lm_head.weight": torch.zeros(11, 8),
                "q_head.weight": torch.zeros(2, 8)}, tmp_path / "step_1")
    with pytest.raises(CheckpointError, match="no L_level.layers"):
        load_checkpoint(tmp_path / "step_1")


def test_recursion_counts_are_checked_once_for_everyone():
    from trm_viz.model.config import resolve_counts

    cfg = TRMConfig(**SMALL)
    assert resolve_counts(cfg) == (16, 2, 2) and resolve_counts(cfg, 0, 0, 0) == (16, 2, 2)
    assert resolve_counts(cfg, 3, 1, 5) == (3, 1, 5)
    for bad in ({"steps": -3}, {"steps": 100_000}, {"H_cycles": -2}, {"L_cycles": 2.5}, {"steps": True}):
        with pytest.raises(ValueError, match="must be a whole number from 1 to"):
            resolve_counts(cfg, **bad)
    with pytest.raises(ValueError, match="from 1 to 16"):          # a host's stricter limits
        resolve_counts(cfg, 20, limits={"steps": 16, "H_cycles": 6, "L_cycles": 12})
    deep = TRMConfig(**{**SMALL, "H_cycles": 32})                  # trained deeper than the engine's limit of 16:
    assert resolve_counts(deep) == (16, 32, 2)                     # it runs at its own depth by default
    with pytest.raises(ValueError, match="from 1 to 32"):
        resolve_counts(deep, H_cycles=33)


def test_settings_that_would_make_every_norm_nan_are_refused():
    for bad in ({"rms_norm_eps": -1.0}, {"rms_norm_eps": 0.0}, {"rope_theta": -5.0}, {"expansion": 0.0},
                {"halt_exploration_prob": 2.0}):
        with pytest.raises(ValueError, match="must be"):
            TRMConfig(**{**SMALL, **bad})


def test_weights_that_overflow_are_named_not_a_crash():
    """A diverged run's weights can be finite yet overflow in the first step: the trace says so in one line (it
    crashed in an SVD of the NaN latents)."""
    from trm_viz.tasks import get_task
    from trm_viz.trace import run

    model = TRM(TRMConfig(**SMALL))
    model.load_state_dict({k: v * 1e30 for k, v in model.state_dict().items()})
    puzzle = get_task("sudoku").parse("1" + "." * 80)
    with pytest.raises(CheckpointError, match="became NaN or infinite at step 1"):
        run(model, puzzle, steps=2)
