"""SchNet (Schütt et al. 2017) assembled from PyTorch Geometric's blocks, on the periodic graph.

PyG's :class:`~torch_geometric.nn.models.SchNet` builds its own (non-periodic) radius graph and
pools to one value per graph; here the same interaction blocks read the lengths of our periodic
``edge_vec`` and the output stays per atom.
"""

from __future__ import annotations

import torch
from torch import nn
from torch_geometric.data import Data
from torch_geometric.nn.models.schnet import GaussianSmearing, InteractionBlock, ShiftedSoftplus

from symgnn.models.registry import register
from symgnn.nn.embedding import AtomEmbedding


@register("schnet")
class SchNet(nn.Module):
    r"""Continuous-filter convolutions on interatomic distances.

    .. math::
        h^{l+1}_i = h^l_i + W_2\,\mathrm{ssp}\Big(W_1' \sum_{j} (W_1 h^l_j) \odot
            \phi^l\big(e(d_{ij})\big)\, f_c(d_{ij})\Big), \qquad
        y_i = W_4\, \mathrm{ssp}(W_3 h^L_i)

    with :math:`e` the Gaussian expansion of the distance, :math:`\phi^l` the filter network,
    :math:`f_c` the cosine cutoff and ssp the shifted softplus (PyG's ``InteractionBlock``).

    Args:
        hidden: atom feature width (64).
        num_filters: filter width (defaults to ``hidden``).
        num_interactions: interaction blocks (4).
        num_gaussians: radial basis size (50).
        cutoff: Å (5); edges of the graph beyond it carry no message.
        out_dim: outputs per atom.
    """

    uses_graph = True

    def __init__(
        self, *, hidden: int = 64, num_filters: int | None = None, num_interactions: int = 4,
        num_gaussians: int = 50, cutoff: float = 5.0, out_dim: int = 1,
    ) -> None:
        super().__init__()
        self.cutoff = float(cutoff)
        self.embedding = AtomEmbedding(hidden)
        self.distance_expansion = GaussianSmearing(0.0, cutoff, num_gaussians)
        self.interactions = nn.ModuleList(
            InteractionBlock(hidden, num_gaussians, num_filters or hidden, cutoff) for _ in range(num_interactions)
        )
        self.head = nn.Sequential(nn.Linear(hidden, hidden // 2), ShiftedSoftplus(), nn.Linear(hidden // 2, out_dim))

    def forward(self, data: Data) -> torch.Tensor:
        # PyG's cosine envelope is periodic in the distance: edges beyond the cutoff are clamped onto
        # it, where the envelope is zero, so they carry nothing. They stay in the graph (not filtered
        # out) so that edge masks keep their alignment with data.edge_index (explanations).
        distance = data.edge_vec.norm(dim=-1).clamp(max=self.cutoff)
        rbf = self.distance_expansion(distance)
        h = self.embedding(data.z)
        for interaction in self.interactions:
            h = h + interaction(h, data.edge_index, distance, rbf)
        return self.head(h)
