"""Smooth cutoff envelopes."""

from __future__ import annotations

import math

import torch
from torch import nn


class CosineCutoff(nn.Module):
    r""":math:`f(r) = \tfrac12 (\cos(\pi r / r_c) + 1)` for :math:`r < r_c`, else 0: brings every edge's
    contribution smoothly to zero at the cutoff so predictions do not jump when an atom crosses it."""

    def __init__(self, cutoff: float) -> None:
        super().__init__()
        self.cutoff = float(cutoff)

    def forward(self, distance: torch.Tensor) -> torch.Tensor:
        inside = (distance < self.cutoff).to(distance.dtype)
        return 0.5 * (torch.cos(distance * math.pi / self.cutoff) + 1.0) * inside
