"""On-device data augmentation and batch sampling, so the training loop never waits for the host.

Every augmentation is a gather of token positions plus a remapping of token values, done for a whole batch at once
with fresh random symmetries per example (the official datasets store ~1000 augmented copies of each puzzle instead;
drawing the symmetry on the fly gives the same distribution without the memory). Token conventions are the
official encodings, as the task modules produce them:
- Sudoku: 81 tokens, 1 blank, 2..10 digits. Symmetries: digit permutation, band/stack permutations, row/column
  permutations inside them, transpose (the validity-preserving group used by build_sudoku_dataset.py).
- Maze: 30x30 tokens. Symmetries: the 8 dihedral transforms.
- ARC: raw colour grids are drawn onto the 30x30 canvas (or a smaller square one: arc_size) here (pad 0,
  end-of-grid marker 1, colours 2..11): the variant's dihedral transform and colour permutation (fixed per puzzle
  identifier), then a random translation.
"""
from __future__ import annotations

import math

from dataclasses import dataclass

import numpy as np
import torch

from ..tasks.common import dihedral


def _rand_perm(batch: int, n: int, gen: torch.Generator, device) -> torch.Tensor:
    return torch.rand(batch, n, generator=gen, device=device).argsort(-1)


def sudoku_augment(inputs: torch.Tensor, labels: torch.Tensor, gen: torch.Generator):
    """(B, 81) tokens -> the same puzzles under one random validity-preserving symmetry each."""
    B, dev = inputs.shape[0], inputs.device
    digit = _rand_perm(B, 9, gen, dev) + 2                       # token 2+d -> digit[d]
    token_map = torch.cat([torch.arange(2, device=dev).expand(B, 2), digit], dim=1)

    def line_perm():                                              # bands/stacks, then lines inside each
        bands = _rand_perm(B, 3, gen, dev)
        inner = _rand_perm(B * 3, 3, gen, dev).view(B, 3, 3)
        return (bands[:, :, None] * 3 + inner).reshape(B, 9)

    rows, cols = line_perm(), line_perm()
    transpose = torch.rand(B, generator=gen, device=dev) < 0.5
    straight = rows[:, :, None] * 9 + cols[:, None, :]           # out[i, j] = in[rows[i], cols[j]]
    flipped = cols[:, None, :] * 9 + rows[:, :, None]            # out[i, j] = in[cols[j], rows[i]]
    index = torch.where(transpose[:, None, None], flipped, straight).view(B, 81)

    def apply(t: torch.Tensor) -> torch.Tensor:
        return token_map.gather(1, t.gather(1, index))
    return apply(inputs), apply(labels)


def dihedral_index(size: int, device) -> torch.Tensor:
    """(8, size*size) gather indices: position p of transform k reads position index[k, p]."""
    grid = np.arange(size * size).reshape(size, size)
    return torch.from_numpy(np.stack([dihedral(grid, k).reshape(-1) for k in range(8)])).to(device)


def maze_augment(inputs: torch.Tensor, labels: torch.Tensor, gen: torch.Generator, index: torch.Tensor):
    """(B, size^2) tokens -> one random dihedral transform each (``index`` from dihedral_index(size))."""
    k = torch.randint(0, 8, (inputs.shape[0],), generator=gen, device=inputs.device)
    idx = index[k]
    return inputs.gather(1, idx), labels.gather(1, idx)


def swaps_sides(k: torch.Tensor) -> torch.Tensor:
    """Which dihedral transforms k (numbering of tasks.common.dihedral) exchange a grid's height and width."""
    return (k == 1) | (k == 3) | (k == 6) | (k == 7)


def arc_canvas(grid: torch.Tensor, h: torch.Tensor, w: torch.Tensor, k: torch.Tensor, dr: torch.Tensor,
               dc: torch.Tensor, colour_map: torch.Tensor) -> torch.Tensor:
    """Official ARC tokens (B, S*S) of colour grids (B, S, S) (top-left h x w valid; S = 30 or a smaller canvas)
    after dihedral transform k, colour map (B, 10) and placement at row/column offset (dr, dc), with end-of-grid
    markers (1) right of and below the grid where they fit on the canvas, as build_arc_dataset.py draws them."""
    B, dev, S = grid.shape[0], grid.device, grid.shape[-1]
    r = torch.arange(S, device=dev).view(1, S, 1)
    c = torch.arange(S, device=dev).view(1, 1, S)
    hh, ww = h.view(B, 1, 1), w.view(B, 1, 1)
    swap = swaps_sides(k)
    H = torch.where(swap.view(B, 1, 1), ww, hh)
    W = torch.where(swap.view(B, 1, 1), hh, ww)
    i, j = r - dr.view(B, 1, 1), c - dc.view(B, 1, 1)            # coordinates inside the transformed grid
    i, j = torch.broadcast_tensors(i, j)
    # Source cell of output (i, j) for each transform k (numbering of tasks.common.dihedral), picked per example.
    src_i = torch.stack([i, j, hh - 1 - i, hh - 1 - j, i, hh - 1 - i, j, hh - 1 - j])
    src_j = torch.stack([j, ww - 1 - i, ww - 1 - j, i, ww - 1 - j, j, i, ww - 1 - i])
    pick = k.long().view(1, B, 1, 1).expand(1, B, S, S)
    si, sj = src_i.gather(0, pick)[0], src_j.gather(0, pick)[0]
    inside = (i >= 0) & (j >= 0) & (i < H) & (j < W)
    src = (si.clamp(0, S - 1) * S + sj.clamp(0, S - 1)).view(B, -1)
    colours = colour_map.gather(1, grid.view(B, -1).long().gather(1, src)).view(B, S, S)
    eos = ((i == H) & (j >= 0) & (j < W)) | ((j == W) & (i >= 0) & (i < H))  # corner (H, W) stays pad
    tokens = torch.where(inside, colours + 2, torch.where(eos, 1, 0))
    return tokens.view(B, -1)


@dataclass
class DeviceData:
    """One split resident on the training device. Sudoku/maze: tokens. ARC: raw grids + shapes + variant tables."""
    inputs: torch.Tensor                     # (N, L) tokens, or (N, S, S) ARC colour grids (S: the canvas side)
    labels: torch.Tensor
    puzzle_identifiers: torch.Tensor         # (N,) sudoku/maze: 0; ARC: the task's identity-variant identifier
    shapes: torch.Tensor | None = None       # ARC (N, 4): input h, w, output h, w
    variant_dihedral: torch.Tensor | None = None   # ARC (num_identifiers,) dihedral transform of each identifier
    variant_colours: torch.Tensor | None = None    # ARC (num_identifiers, 10) colour map of each identifier
    arc_variants: int = 1

    def __len__(self) -> int:
        return int(self.inputs.shape[0])


class BatchSampler:
    """Draws random examples (with replacement) from a DeviceData and augments them, all on the device."""

    def __init__(self, task: str, data: DeviceData, augment: bool, seed: int):
        self.task, self.data, self.augment = task, data, augment
        self.device = data.inputs.device
        self.gen = torch.Generator(device=self.device)
        self.gen.manual_seed(seed)
        # Maze canvases are square (30x30, or the smaller side of a small-maze model): side from the token count.
        self.index = dihedral_index(math.isqrt(data.inputs.shape[1]), self.device) if task == "maze" else None

    def sample(self, batch: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(inputs (B, L), labels (B, L), puzzle_identifiers (B,)), all int64 on the device."""
        d = self.data
        pick = torch.randint(0, len(d), (batch,), generator=self.gen, device=self.device)
        if self.task == "arc":
            return self._arc(pick)
        inputs, labels = d.inputs[pick].long(), d.labels[pick].long()
        if self.augment and self.task == "sudoku":
            inputs, labels = sudoku_augment(inputs, labels, self.gen)
        elif self.augment and self.task == "maze":
            inputs, labels = maze_augment(inputs, labels, self.gen, self.index)
        return inputs, labels, d.puzzle_identifiers[pick].long()

    def _arc(self, pick: torch.Tensor):
        d, B, dev = self.data, pick.shape[0], self.device
        ids = d.puzzle_identifiers[pick].long()
        if self.augment and d.arc_variants > 1:
            # Identifiers of one task are consecutive: identity variant first, then its augmented variants.
            ids = ids + torch.randint(0, d.arc_variants, (B,), generator=self.gen, device=dev)
        k, cmap = d.variant_dihedral[ids].long(), d.variant_colours[ids].long()
        shapes = d.shapes[pick].long()
        zero = torch.zeros(B, dtype=torch.long, device=dev)
        if self.augment:
            # Translation: a random offset that keeps both grids on the canvas (shared by input and output).
            swap = swaps_sides(k)
            hmax = torch.maximum(shapes[:, 0], shapes[:, 2])
            wmax = torch.maximum(shapes[:, 1], shapes[:, 3])
            hmax, wmax = torch.where(swap, wmax, hmax), torch.where(swap, hmax, wmax)
            u = torch.rand(2, B, generator=self.gen, device=dev)
            # The official build leaves one example of each puzzle at offset (0, 0), the placement inference uses;
            # here a quarter of the draws stay there.
            still = torch.rand(B, generator=self.gen, device=dev) < 0.25
            S = d.inputs.shape[-1]
            dr = torch.where(still, 0, (u[0] * (S - hmax + 1)).long())
            dc = torch.where(still, 0, (u[1] * (S - wmax + 1)).long())
        else:
            dr = dc = zero
        inputs = arc_canvas(d.inputs[pick], shapes[:, 0], shapes[:, 1], k, dr, dc, cmap)
        labels = arc_canvas(d.labels[pick], shapes[:, 2], shapes[:, 3], k, dr, dc, cmap)
        return inputs, labels, ids


def split_tokens(task: str, data: DeviceData) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A whole split as model tokens, without augmentation (evaluation): (inputs, labels, puzzle_identifiers)."""
    if task != "arc":
        return data.inputs.long(), data.labels.long(), data.puzzle_identifiers.long()
    return BatchSampler(task, data, augment=False, seed=0)._arc(torch.arange(len(data), device=data.inputs.device))
