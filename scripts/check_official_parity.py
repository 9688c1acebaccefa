"""Check that trm_viz reproduces the official TinyRecursiveModels forward pass, through our official-checkpoint loader.

Usage: python scripts/check_official_parity.py PATH_TO_OFFICIAL_CLONE   (needs: pip install einops pydantic)

For each architecture (TRM-MLP Sudoku, attention + RoPE maze, attention + learned positions ARC-like) it builds the
official model in float32 with random weights (q_head and puzzle embeddings randomised too, since their official
zero init would make the comparison trivial), saves its state dict the way pretrain.py does (step_<N> +
all_config.yaml, compiled-model key prefixes), loads that file with trm_viz.model.checkpoints.load_checkpoint and
compares logits and halting probabilities for 16 supervision steps. The official code is only imported from the
path you give; nothing of it is part of trm_viz.
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import torch
import yaml

ARCHS = {
    "sudoku-mlp": dict(seq_len=81, vocab_size=11, num_puzzle_identifiers=1, mlp_t=True, pos_encodings="none",
                       H_cycles=3, L_cycles=6),
    "maze-att-rope": dict(seq_len=900, vocab_size=6, num_puzzle_identifiers=1, mlp_t=False, pos_encodings="rope",
                          H_cycles=3, L_cycles=4),
    "arc-att-learned": dict(seq_len=900, vocab_size=12, num_puzzle_identifiers=7, mlp_t=False,
                            pos_encodings="learned", H_cycles=2, L_cycles=2),
}
TOL = 2e-4  # max abs difference allowed on logits and halting probabilities in float32


def main(official_root: str, hidden: int = 128, steps: int = 16) -> int:
    sys.path.insert(0, official_root)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere in the repo
    from models.recursive_reasoning.trm import TinyRecursiveReasoningModel_ACTV1  # noqa: E402

    from trm_viz.model.checkpoints import load_checkpoint

    torch.manual_seed(0)
    worst = 0.0
    for name, arch in ARCHS.items():
        cfg = dict(batch_size=2, H_layers=0, L_layers=2, hidden_size=hidden, expansion=4, num_heads=4,
                   puzzle_emb_ndim=hidden, halt_max_steps=steps, halt_exploration_prob=0.1,
                   forward_dtype="float32", puzzle_emb_len=16, **arch)
        official = TinyRecursiveReasoningModel_ACTV1(cfg).eval()
        with torch.no_grad():
            official.inner.q_head.weight.normal_(0, 0.05)
            official.inner.puzzle_emb.weights.normal_(0, 0.5)
        state = {f"_orig_mod.model.{k}": v for k, v in official.state_dict().items()}
        with tempfile.TemporaryDirectory() as tmp:
            torch.save(state, Path(tmp) / "step_1234")
            yaml_arch = {k: v for k, v in cfg.items() if k not in ("seq_len", "vocab_size", "num_puzzle_identifiers",
                                                                     "batch_size")}
            (Path(tmp) / "all_config.yaml").write_text(yaml.safe_dump({"arch": yaml_arch}))
            ours, info = load_checkpoint(tmp)

        B = 2
        inputs = torch.randint(1, arch["vocab_size"], (B, arch["seq_len"]))
        ids = torch.randint(0, arch["num_puzzle_identifiers"], (B,))
        batch = {"inputs": inputs, "puzzle_identifiers": ids}
        with torch.no_grad():
            carry = official.inner.reset_carry(torch.ones(B, dtype=torch.bool), official.inner.empty_carry(B))
            x = ours.input_embeddings(inputs, ids)
            z_H, z_L = ours.initial_latents(B)
            for step in range(1, steps + 1):
                carry, logits_ref, (q_ref, _) = official.inner(carry, batch)
                z_H, z_L, logits, q = ours.supervision_step(z_H, z_L, x)
                d_logits = (logits - logits_ref).abs().max().item()
                d_q = (torch.sigmoid(q) - torch.sigmoid(q_ref)).abs().max().item()
                worst = max(worst, d_logits, d_q)
        print(f"{name:16s} loaded as {info['format']}: max |logit diff| {d_logits:.2e}, max |q_halt prob diff| "
              f"{d_q:.2e} at step {steps} (hidden {hidden})")
    ok = worst <= TOL
    print(f"worst difference over all steps {worst:.2e}: {'PASS' if ok else 'FAIL'} (tolerance {TOL})")
    return 0 if ok else 1


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
