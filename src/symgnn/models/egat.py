"""The SymGNN network on edge lengths: exactly invariant, no symmetrisation needed.

* ``egat_length``: the paper's "EGAT with edge length" baseline; blind to bond angles.
* ``egat_desc``: the same, with per-atom structure descriptors (radial densities, Steinhardt q_l,
  coarse-grained) joining the atom embedding, so bond angles and medium-range order enter through
  them. (The shipped models are ``painn_desc`` ensembles.)
"""

from __future__ import annotations

from typing import Any

import torch
from torch_geometric.data import Data

from symgnn.models.registry import register
from symgnn.nn.egat_backbone import EGATNetwork, edge_mask_of


@register("egat_length")
class EGATLength(EGATNetwork):
    """The SymGNN network fed edge lengths only. Arguments as :class:`symgnn.models.symgnn.SymGNN`
    less the draws and the edge input."""

    supports_edge_mask = True

    def __init__(
        self, width: int = 32, heads: list[int] | tuple[int, ...] = (8, 4, 2, 1), dropout: float = 0.25,
        decoder_layers: int = 4, out_dim: int = 1, descriptors: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(1, width, heads, dropout, decoder_layers, out_dim, descriptors)

    def forward(self, data: Data, edge_weight: torch.Tensor | None = None) -> torch.Tensor:
        lengths = data.edge_vec.norm(dim=-1, keepdim=True)
        return self.propagate(self.encode_atoms(data), lengths, data.edge_index, edge_mask_of(data, edge_weight))


@register("egat_desc")
class EGATDescriptors(EGATLength):
    """``egat_length`` with the structure descriptors of :mod:`symgnn.descriptors` as atom inputs."""

    def __init__(self, **hparams) -> None:
        super().__init__(**{"descriptors": {}, **hparams})
