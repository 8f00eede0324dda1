r"""E(n)-equivariant graph neural network (Satorras, Hoogeboom & Welling, ICML 2021) as a per-atom
regressor on the periodic graph.

Coordinates are never used absolutely. Each layer carries a per-atom displacement :math:`\Delta_i`
(zero at the input) and forms the current vector from ``i`` to the periodic image of ``j`` as

.. math:: r_{ij} = \underbrace{x_j + s_{ij} - x_i}_{\texttt{edge\_vec}} + \Delta_j - \Delta_i,

which is what EGNN's :math:`x_j - x_i` becomes when :math:`x_j` is replaced by the image
:math:`x_j + s_{ij}` (``edge_shift``) and every image moves with its atom. Outputs come from the
invariant features :math:`h`, so they are invariant to rotations, reflections and translations.
"""

from __future__ import annotations

import torch
from torch import nn
from torch_geometric.data import Data
from torch_geometric.utils import scatter

from symgnn.models.registry import register
from symgnn.nn.cutoff import CosineCutoff
from symgnn.nn.embedding import AtomEmbedding
from symgnn.nn.mlp import mlp


class EGNNLayer(nn.Module):
    r"""One EGNN layer (equations 3–6 of Satorras et al.) with periodic edge vectors.

    .. math::
        m_{ij} &= \phi_e\big(h_i, h_j, \lVert r_{ij} \rVert^2\big)\, f_c(\lVert r^0_{ij} \rVert) \\
        \Delta'_i &= \Delta_i - \frac{1}{|\mathcal N(i)|} \sum_{j} r_{ij}\, \phi_x(m_{ij}) \\
        h'_i &= h_i + \phi_h\Big(h_i, \sum_{j} m_{ij}\Big)

    (:math:`x_i - x_j = -r_{ij}`; the mean over neighbours is EGNN's normalisation :math:`C`, and the
    cosine cutoff :math:`f_c` of the input length keeps messages smooth as atoms cross the cutoff. The
    sum of messages is divided by the square root of the mean neighbour count, see :class:`EGNN`.)
    """

    def __init__(self, hidden: int, update_coords: bool = True, avg_neighbours: float = 1.0) -> None:
        super().__init__()
        self.avg_neighbours = avg_neighbours
        # phi_e's first linear map on [h_i, h_j, |r|^2], split per input so the node terms are
        # computed per atom (N x D) and gathered, instead of per edge (E x 3D).
        self.edge_in_target = nn.Linear(hidden, hidden)
        self.edge_in_source = nn.Linear(hidden, hidden, bias=False)
        self.edge_in_length = nn.Linear(1, hidden, bias=False)
        self.edge_mlp = nn.Sequential(nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU())
        self.node_mlp = mlp(2 * hidden, hidden, hidden)
        self.coord_mlp = mlp(hidden, hidden, 1) if update_coords else None

    def forward(
        self, h: torch.Tensor, delta: torch.Tensor, edge_index: torch.Tensor, edge_vec: torch.Tensor,
        envelope: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        source, target = edge_index
        r = edge_vec + delta[source] - delta[target]
        squared = (r * r).sum(-1, keepdim=True)
        pre = self.edge_in_target(h)[target] + self.edge_in_source(h)[source] + self.edge_in_length(squared)
        m = self.edge_mlp(pre) * envelope.unsqueeze(-1)
        if self.coord_mlp is not None:
            delta = delta - scatter(r * self.coord_mlp(m), target, dim=0, dim_size=h.shape[0], reduce="mean")
        aggregated = scatter(m, target, dim=0, dim_size=h.shape[0], reduce="sum") / self.avg_neighbours**0.5
        h = h + self.node_mlp(torch.cat([h, aggregated], dim=-1))
        return h, delta


@register("egnn")
class EGNN(nn.Module):
    """EGNN node regressor: type embedding → EGNN layers → MLP on the invariant features.

    The last layer does not update coordinates (nothing downstream would read them).

    Args:
        hidden: width (paper's comparison: 32).
        num_layers: EGNN layers (4).
        cutoff: radius of the cosine envelope on messages (Å); edges beyond it are ignored.
        avg_neighbours: the sum of messages is divided by its square root (32: the glass's mean at
            5 Å), so the first outputs and gradients do not grow with the coordination (with plain sums
            the model stalled near the per-species mean in the benchmark).
        out_dim: outputs per atom.
    """

    uses_graph = True

    def __init__(
        self, *, hidden: int = 32, num_layers: int = 4, cutoff: float = 5.0, avg_neighbours: float = 32.0, out_dim: int = 1
    ) -> None:
        super().__init__()
        self.embedding = AtomEmbedding(hidden)
        self.envelope = CosineCutoff(cutoff)
        self.layers = nn.ModuleList(EGNNLayer(hidden, update_coords=k < num_layers - 1, avg_neighbours=avg_neighbours) for k in range(num_layers))
        self.head = mlp(hidden, hidden, out_dim)

    def forward(self, data: Data) -> torch.Tensor:
        h = self.embedding(data.z)
        delta = torch.zeros_like(data.pos)
        envelope = self.envelope(data.edge_vec.norm(dim=-1))
        for layer in self.layers:
            h, delta = layer(h, delta, data.edge_index, data.edge_vec, envelope)
        return self.head(h)
