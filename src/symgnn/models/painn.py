r"""PaiNN (Schütt, Unke & Gastegger 2021): equivariant message passing that keeps bond angles exactly.

Each atom carries invariant scalars :math:`s_i \in \mathbb R^F` and equivariant vectors
:math:`\vec v_i \in \mathbb R^{3 \times F}` (zero at the start). A layer is a message then an update:

.. math::
    (\phi^{ss}, \phi^{vv}, \phi^{vs})_{ij} &= \phi(s_j) \odot W(e(r_{ij}))\, f_c(r_{ij}) \\
    s_i &\mathrel{+}= \sum_j \phi^{ss}_{ij}, \qquad
    \vec v_i \mathrel{+}= \sum_j \phi^{vv}_{ij}\, \vec v_j + \phi^{vs}_{ij}\, \hat r_{ij} \\
    (a^{vv}, a^{sv}, a^{ss})_i &= \psi\big(s_i, \lVert V \vec v_i \rVert\big) \\
    \vec v_i &\mathrel{+}= a^{vv}_i\, U \vec v_i, \qquad
    s_i \mathrel{+}= a^{ss}_i + a^{sv}_i\, \langle U \vec v_i, V \vec v_i \rangle

with :math:`e` a Gaussian expansion of the length, :math:`f_c` the cosine cutoff and
:math:`\hat r_{ij}` the unit edge vector. Vectors enter only through linear maps, norms and inner
products, so the scalars (and the prediction read from them) are invariant under rotations *and*
reflections exactly, while the inner products carry bond angles — what the symmetrised edge encoder
of SymGNN can only keep approximately.

CPU cost is dominated by per-edge work (~260k edges per 8,000-atom sample), so the radial filters
:math:`W(e(r_{ij}))` of all layers are computed in one matrix product (``shared_filters=True`` uses a
single filter for every layer, which halves the per-edge parameters; both are available).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch_geometric.data import Data
from torch_geometric.utils import scatter

from symgnn.models.registry import register
from symgnn.nn.cutoff import CosineCutoff
from symgnn.nn.descriptor_input import DescriptorInput
from symgnn.nn.embedding import AtomEmbedding
from symgnn.nn.mlp import mlp
from symgnn.nn.radial import GaussianBasis


class PaiNNMessage(nn.Module):
    """The message half of a PaiNN layer: gathers neighbours' scalars and vectors along edges."""

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.hidden = hidden
        self.context = mlp(hidden, hidden, 3 * hidden)

    def forward(
        self, s: torch.Tensor, v: torch.Tensor, filters: torch.Tensor, unit: torch.Tensor, edge_index: torch.Tensor,
        first: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``first``: ``v`` is still all zeros (the first layer), so gathering it along edges is skipped
        (decided by position, not by looking at ``v``: no device sync, no graph break when compiled)."""
        source, target = edge_index
        x = self.context(s)[source] * filters
        ss, vv, vs = torch.split(x, self.hidden, dim=-1)
        dv = vs.unsqueeze(1) * unit.unsqueeze(-1)
        if not first:
            dv = dv + vv.unsqueeze(1) * v[source]
        n = s.shape[0]
        return s + scatter(ss, target, dim=0, dim_size=n), v + scatter(dv, target, dim=0, dim_size=n)


class PaiNNUpdate(nn.Module):
    """The update half: mixes each atom's vector channels and exchanges scalar/vector information."""

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.hidden = hidden
        self.U = nn.Linear(hidden, hidden, bias=False)
        self.V = nn.Linear(hidden, hidden, bias=False)
        self.gate = mlp(2 * hidden, hidden, 3 * hidden)

    def forward(self, s: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        uv, vv = self.U(v), self.V(v)
        norm = torch.sqrt((vv**2).sum(dim=1) + 1e-8)
        a_vv, a_sv, a_ss = torch.split(self.gate(torch.cat([s, norm], dim=-1)), self.hidden, dim=-1)
        return s + a_ss + a_sv * (uv * vv).sum(dim=1), v + a_vv.unsqueeze(1) * uv


@register("painn")
class PaiNN(nn.Module):
    """PaiNN node regressor on the periodic graph (exactly O(3)-invariant outputs).

    Args:
        hidden: scalar/vector channels per atom (F).
        num_layers: message+update layers; the receptive field is ``num_layers * cutoff``.
        num_rbf: Gaussians in the radial basis.
        cutoff: Å; longer edges of the graph are dropped.
        shared_filters: one radial filter for all layers (cheaper) instead of one per layer.
        descriptors: if set (a mapping of :class:`~symgnn.descriptors.DescriptorConfig`
            settings, ``{}`` for the defaults), per-atom structure descriptors are added to the
            initial scalars (:class:`~symgnn.nn.descriptor_input.DescriptorInput`).
        out_dim: outputs per atom (barrier first, then auxiliary targets).
        dropout: dropout rate in the hidden layers of the descriptor encoder and of the output head
            (training only; a regulariser, 0 turns it off).
    """

    uses_graph = True
    #: Reads ``data.edge_mask`` (E,) and scales every message of each edge by it (see symgnn.explain).
    supports_edge_mask = True

    def __init__(
        self,
        *,
        hidden: int = 64,
        num_layers: int = 3,
        num_rbf: int = 20,
        cutoff: float = 5.0,
        shared_filters: bool = False,
        descriptors: dict[str, Any] | None = None,
        out_dim: int = 1,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.hidden, self.num_layers, self.cutoff = hidden, num_layers, float(cutoff)
        self.shared_filters = shared_filters
        self.embedding = AtomEmbedding(hidden)
        self.descriptors = None if descriptors is None else DescriptorInput(descriptors)
        if self.descriptors is not None:
            self.descriptor_encoder = mlp(self.descriptors.num_features, hidden, hidden, dropout=dropout)
        self.radial = GaussianBasis(0.0, cutoff, num_rbf)
        self.envelope = CosineCutoff(cutoff)
        self.filters = nn.Linear(num_rbf, 3 * hidden * (1 if shared_filters else num_layers))
        self.messages = nn.ModuleList(PaiNNMessage(hidden) for _ in range(num_layers))
        self.updates = nn.ModuleList(PaiNNUpdate(hidden) for _ in range(num_layers))
        self.head = mlp(hidden, hidden, out_dim, dropout=dropout)

    def forward(self, data: Data) -> torch.Tensor:
        edge_index, edge_vec = data.edge_index, data.edge_vec
        length = edge_vec.norm(dim=-1)
        inside = length < self.cutoff
        # Edges beyond the cutoff (a wider graph, or atoms moved by training noise) get weight 0 from
        # the envelope, so dropping them only saves work; a compiled step keeps them rather than
        # branching on the data.
        dropped = not torch.compiler.is_compiling() and not bool(inside.all())
        if dropped:
            edge_index, edge_vec, length = edge_index[:, inside], edge_vec[inside], length[inside]
        weight = self.envelope(length)
        edge_mask = getattr(data, "edge_mask", None)
        if edge_mask is not None:  # explanation hook: a soft mask on every edge's message
            weight = weight * (edge_mask[inside] if dropped else edge_mask)
        filters = self.filters(self.radial(length)) * weight.unsqueeze(-1)
        per_layer = [filters] * self.num_layers if self.shared_filters else torch.split(filters, 3 * self.hidden, dim=-1)
        # Unit vectors point from the receiving atom i to the neighbour j.
        unit = edge_vec / length.clamp_min(1e-9).unsqueeze(-1)
        s = self.embedding(data.z)
        if self.descriptors is not None:
            s = s + self.descriptor_encoder(self.descriptors(data))
        v = s.new_zeros(s.shape[0], 3, self.hidden)
        for layer, (message, update, layer_filters) in enumerate(zip(self.messages, self.updates, per_layer)):
            s, v = message(s, v, layer_filters, unit, edge_index, first=layer == 0)
            s, v = update(s, v)
        return self.head(s)


@register("painn_desc")
class PaiNNDescriptors(PaiNN):
    """PaiNN with per-atom structure descriptors (radial densities, Steinhardt q_l, coarse-grained)
    in its initial scalars, sized for CPU: 32 channels, 2 layers (receptive field 10 Å, plus the
    descriptors' 6 Å coarse-graining). The shipped ``cuzr64`` model."""

    def __init__(self, **hparams) -> None:
        super().__init__(**{"hidden": 32, "num_layers": 2, "descriptors": {}, **hparams})
