"""Species embedding."""

from __future__ import annotations

import torch
from torch import nn


class AtomEmbedding(nn.Module):
    """Learned vector per chemical element, indexed by atomic number (1..118).

    Indexing by atomic number rather than by a dataset-specific type index keeps a trained model
    meaningful on any structure file: Cu is Cu whatever type number a LAMMPS dump gave it.
    """

    def __init__(self, dim: int, max_z: int = 119) -> None:
        super().__init__()
        self.embedding = nn.Embedding(max_z, dim)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.embedding(z)
