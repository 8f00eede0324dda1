"""Embedding of unordered species pairs (the edge "type" of MGCN)."""

from __future__ import annotations

import torch
from torch import nn


class PairEmbedding(nn.Module):
    r"""Learned vector per unordered pair of elements, symmetric by construction.

    .. math::
        e_{ab} = W\,(u_a \odot u_b) + c

    with :math:`u_a` a learned vector per element. The element-wise product is symmetric in
    :math:`(a, b)`, and the linear map makes every component an arbitrary symmetric function of the
    pair (a factorised pair table), at ``max_z · dim + dim²`` parameters instead of a
    ``max_z²/2``-row lookup table that would be almost entirely unused.
    """

    def __init__(self, dim: int, max_z: int = 119) -> None:
        super().__init__()
        self.element = nn.Embedding(max_z, dim)
        self.mix = nn.Linear(dim, dim)

    def forward(self, z_a: torch.Tensor, z_b: torch.Tensor) -> torch.Tensor:
        return self.mix(self.element(z_a) * self.element(z_b))
