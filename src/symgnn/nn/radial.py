"""Radial basis expansions of edge lengths."""

from __future__ import annotations

import torch
from torch import nn


class GaussianBasis(nn.Module):
    r"""Gaussians on an even grid: :math:`e_k(r) = \exp(-\gamma (r - \mu_k)^2)`, :math:`\mu_k` from
    ``start`` to ``stop`` in ``num`` steps and :math:`\gamma = 1 / (2\,\Delta\mu^2)` (SchNet's choice)."""

    def __init__(self, start: float = 0.0, stop: float = 5.0, num: int = 32) -> None:
        super().__init__()
        centres = torch.linspace(start, stop, num)
        self.register_buffer("centres", centres)
        spacing = float(centres[1] - centres[0]) if num > 1 else 1.0
        self.gamma = 0.5 / spacing**2
        self.num = num

    def forward(self, distance: torch.Tensor) -> torch.Tensor:
        return torch.exp(-self.gamma * (distance.unsqueeze(-1) - self.centres) ** 2)
