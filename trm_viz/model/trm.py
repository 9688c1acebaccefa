"""The Tiny Recursive Model (Jolicoeur-Martineau, 2025), exposed in small pieces so that the trace can watch every
inner update and the trainer can run deep supervision with the same code.

One supervision step, as in the paper (x = input embedding, y = z_H the answer state, z = z_L the reasoning latent):

    repeat T = H_cycles times:                      # all but the last without gradient when training
        repeat n = L_cycles times: z_L = net(z_L, z_H + x)
        z_H = net(z_H, z_L)
    logits = lm_head(z_H)[puzzle positions dropped];  q_halt_logit = q_head(z_H[:, 0])[0]

z_H and z_L are carried (detached) into the next supervision step, starting from H_init / L_init: fixed random
vectors (buffers saved with the weights, never trained), as in the official code.
"""
from __future__ import annotations

import math
from typing import Callable

import torch
from torch import nn

from .config import TRMConfig
from .layers import Embedding, Linear, PuzzleEmbedding, ReasoningModule, rope_cos_sin, trunc_normal_

# on_update(kind, cycle, index, z): kind "L" (z_L after its index-th update of cycle) or "H" (z_H after cycle).
UpdateHook = Callable[[str, int, int, torch.Tensor], None]


class TRM(nn.Module):
    def __init__(self, config: TRMConfig):
        super().__init__()
        self.config = config
        D = config.hidden_size
        self.embed_scale = math.sqrt(D)
        self.puzzle_emb_len = config.total_puzzle_emb_len

        self.embed_tokens = Embedding(config.vocab_size, D, init_std=1.0 / self.embed_scale)
        self.lm_head = Linear(D, config.vocab_size)
        self.q_head = Linear(D, 2, bias=True)  # [halt, continue]; only halt is used (no_ACT_continue)
        if config.puzzle_emb_ndim > 0:
            self.puzzle_emb = PuzzleEmbedding(config.num_puzzle_identifiers, config.puzzle_emb_ndim)
        if config.pos_encodings == "learned":
            self.embed_pos = Embedding(config.total_len, D, init_std=1.0 / self.embed_scale)
        if config.pos_encodings == "rope":
            cos, sin = rope_cos_sin(D // config.num_heads, config.total_len, config.rope_theta)
            self.register_buffer("rope_cos", cos, persistent=False)
            self.register_buffer("rope_sin", sin, persistent=False)

        self.L_level = ReasoningModule(config)
        self.register_buffer("H_init", trunc_normal_(torch.empty(D), 1.0))
        self.register_buffer("L_init", trunc_normal_(torch.empty(D), 1.0))

        # Start the halting head at "almost never halt" (sigmoid(-5) ~ 0.007), as the official code does, for faster
        # learning while the answers are still bad (bootstrapping).
        with torch.no_grad():
            self.q_head.weight.zero_()
            self.q_head.bias.fill_(-5.0)

    @property
    def dtype(self) -> torch.dtype:
        return self.lm_head.weight.dtype

    def cos_sin(self):
        return (self.rope_cos, self.rope_sin) if self.config.pos_encodings == "rope" else None

    # --- pieces of the recursion --------------------------------------------------------------------------------
    def input_embeddings(self, inputs: torch.Tensor, puzzle_identifiers: torch.Tensor) -> torch.Tensor:
        """x: (B, puzzle_emb_len + seq_len, D) from tokens (B, seq_len) and identifiers (B,)."""
        D = self.config.hidden_size
        emb = self.embed_tokens(inputs.long()).to(self.dtype)
        if self.puzzle_emb_len:
            p = self.puzzle_emb(puzzle_identifiers.long()).to(emb.dtype)
            pad = self.puzzle_emb_len * D - p.shape[-1]
            if pad > 0:
                p = torch.nn.functional.pad(p, (0, pad))
            emb = torch.cat((p.view(-1, self.puzzle_emb_len, D), emb), dim=-2)
        if self.config.pos_encodings == "learned":
            emb = 0.707106781 * (emb + self.embed_pos.embedding_weight.to(emb.dtype))  # keep the variance at 1
        return self.embed_scale * emb

    def initial_latents(self, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
        shape = (batch_size, self.config.total_len, self.config.hidden_size)
        return self.H_init.to(self.dtype).expand(shape), self.L_init.to(self.dtype).expand(shape)

    def L_update(self, z_L: torch.Tensor, z_H: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Reasoning: refine z_L from the current answer z_H and the question x."""
        return self.L_level(z_L, z_H + x, self.cos_sin())

    def H_update(self, z_H: torch.Tensor, z_L: torch.Tensor) -> torch.Tensor:
        """Answer: refine z_H from the reasoning z_L (x is deliberately absent: the same net tells the two apart)."""
        return self.L_level(z_H, z_L, self.cos_sin())

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Token logits (B, seq_len, vocab) of a latent, puzzle-embedding positions dropped."""
        return self.lm_head(z)[:, self.puzzle_emb_len:]

    def q_halt_logit(self, z_H: torch.Tensor) -> torch.Tensor:
        """(B,) float32 halting logit, read from the first position."""
        return self.q_head(z_H[:, 0]).float()[..., 0]

    # --- one supervision step -----------------------------------------------------------------------------------
    def latent_recursion(self, z_H, z_L, x, n: int, cycle: int, on_update: UpdateHook | None = None):
        for i in range(n):
            z_L = self.L_update(z_L, z_H, x)
            if on_update is not None:
                on_update("L", cycle, i, z_L)
        z_H = self.H_update(z_H, z_L)
        if on_update is not None:
            on_update("H", cycle, n, z_H)
        return z_H, z_L

    def supervision_step(self, z_H, z_L, x, H_cycles: int | None = None, L_cycles: int | None = None,
                         on_update: UpdateHook | None = None):
        """One of the (up to 16) refinement steps. Only the last H cycle carries gradient (when grad is enabled),
        the paper's "T-1 cycles without gradient". Returns the detached carry, the logits and q_halt_logit."""
        T = H_cycles or self.config.H_cycles
        n = L_cycles or self.config.L_cycles
        with torch.no_grad():
            for c in range(T - 1):
                z_H, z_L = self.latent_recursion(z_H, z_L, x, n, c, on_update)
        z_H, z_L = self.latent_recursion(z_H, z_L, x, n, T - 1, on_update)
        return z_H.detach(), z_L.detach(), self.decode(z_H), self.q_halt_logit(z_H)

    def forward(self, inputs: torch.Tensor, puzzle_identifiers: torch.Tensor, steps: int | None = None):
        """Run ``steps`` supervision steps from the initial state; returns the last logits and q_halt logits."""
        x = self.input_embeddings(inputs, puzzle_identifiers)
        z_H, z_L = self.initial_latents(inputs.shape[0])
        for _ in range(steps or self.config.halt_max_steps):
            z_H, z_L, logits, q_halt = self.supervision_step(z_H, z_L, x)
        return logits, q_halt

    def num_parameters(self, include_puzzle_emb: bool = False) -> int:
        return sum(p.numel() for n, p in self.named_parameters() if include_puzzle_emb or not n.startswith("puzzle_emb"))
