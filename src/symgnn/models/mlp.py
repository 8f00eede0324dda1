"""Per-atom MLP baseline: no graph, the prediction depends on the atom's own type only.

The paper's MLP baseline (arXiv:2401.08627, Table 1) sees the atom type (and, in the released code,
the absolute position). With types alone it can only learn the mean barrier per species, which is
the floor every structural model must beat.
"""

from __future__ import annotations

import torch
from torch import nn
from torch_geometric.data import Data

from symgnn.models.registry import register
from symgnn.nn.embedding import AtomEmbedding
from symgnn.nn.mlp import mlp


@register("mlp")
class AtomMLP(nn.Module):
    r""":math:`y_i = \mathrm{MLP}\big(a_{z_i} \,\Vert\, W x_i\big)`, the second term only with
    ``use_positions`` (absolute Cartesian positions: neither translation- nor rotation-invariant,
    reproduced for comparison with the paper's code only).

    Args:
        hidden: width of the embedding and hidden layers.
        num_layers: linear layers in the MLP.
        use_positions: also feed a linear map of the absolute positions.
        out_dim: outputs per atom.
    """

    uses_graph = False

    def __init__(self, *, hidden: int = 32, num_layers: int = 3, use_positions: bool = False, out_dim: int = 1) -> None:
        super().__init__()
        self.use_positions = use_positions
        self.embedding = AtomEmbedding(hidden)
        self.position_proj = nn.Linear(3, hidden) if use_positions else None
        in_dim = 2 * hidden if use_positions else hidden
        self.mlp = mlp(in_dim, hidden, out_dim, num_layers=num_layers)

    def forward(self, data: Data) -> torch.Tensor:
        h = self.embedding(data.z)
        if self.position_proj is not None:
            h = torch.cat([h, self.position_proj(data.pos)], dim=-1)
        return self.mlp(h)
