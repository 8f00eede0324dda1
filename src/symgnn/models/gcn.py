"""GCN baseline (Kipf & Welling 2017) without edge features, as in the paper's comparison.

Node inputs are the type embedding alone, as in the released SymGNN code's GCN: the graph carries no
distance or direction, only connectivity within the cutoff, so the model sees species and
coordination. ``use_positions`` adds a linear map of the *absolute* positions (not invariant to
rotations or translations; an option this package once had on by default, not the paper's).
"""

from __future__ import annotations

import torch
from torch import nn
from torch_geometric.data import Data
from torch_geometric.nn import GCNConv

from symgnn.models.registry import register
from symgnn.nn.embedding import AtomEmbedding


@register("gcn")
class GCN(nn.Module):
    r"""Stacked :class:`~torch_geometric.nn.GCNConv` layers with residual connections.

    .. math::
        h^{0}_i = a_{z_i} \Vert W_x x_i, \qquad
        h^{l+1} = h^{l} + \mathrm{ReLU}\big(\hat D^{-1/2} \hat A \hat D^{-1/2} h^{l} \Theta^{l}\big),
        \qquad y_i = \mathrm{MLP}(h^L_i)

    (:math:`\hat A` the adjacency with self-loops; first layer without the residual since the widths
    differ.)

    Args:
        hidden: width (paper: 32).
        num_layers: graph convolutions (paper: 4).
        use_positions: also feed a linear map of the absolute positions (paper's code: no).
        out_dim: outputs per atom.
    """

    uses_graph = True
    #: Not predicted block by block (symgnn.data.blocks): its degree normalisation reaches one neighbour
    #: shell past its layers (and ``use_positions`` reads absolute positions, which a block's images change).
    blockwise = False

    def __init__(self, *, hidden: int = 32, num_layers: int = 4, use_positions: bool = False, out_dim: int = 1) -> None:
        super().__init__()
        self.embedding = AtomEmbedding(hidden)
        self.position_proj = nn.Linear(3, hidden) if use_positions else None
        in_dim = 2 * hidden if use_positions else hidden
        self.convs = nn.ModuleList(GCNConv(in_dim if k == 0 else hidden, hidden) for k in range(num_layers))
        self.head = nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, out_dim))

    def forward(self, data: Data) -> torch.Tensor:
        h = self.embedding(data.z)
        if self.position_proj is not None:
            h = torch.cat([h, self.position_proj(data.pos)], dim=-1)
        for k, conv in enumerate(self.convs):
            update = torch.relu(conv(h, data.edge_index))
            h = update if k == 0 else h + update
        return self.head(h)
