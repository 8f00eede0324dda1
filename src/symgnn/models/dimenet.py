r"""DimeNet++ (Gasteiger et al., 2020) from PyTorch Geometric's blocks, per atom, on the periodic graph.

DimeNet++ passes messages between *edges*: the message of edge :math:`j \to i` is updated from every
edge :math:`k \to j` through a joint basis of the distance :math:`d_{kj}` and the angle
:math:`\theta_{kji}` at :math:`j`. It reads bond angles and is exactly invariant to rotations and
reflections. The SymGNN paper lists it as the model it could not train ("> 2 days").

PyG's :class:`~torch_geometric.nn.models.DimeNetPlusPlus` builds a non-periodic radius graph and sums
its atoms into one value per molecule; here its blocks (embedding, Bessel and spherical bases,
interaction and output blocks) read our periodic ``edge_vec`` and the output stays per atom.
Triplets come from :func:`periodic_triplets` (PyG's own needs ``torch_sparse`` and compares atom
indices, which cannot tell periodic images apart).
"""

from __future__ import annotations

import torch
from torch import nn
from torch_geometric.data import Data
from torch_geometric.nn.models import DimeNetPlusPlus as PygDimeNetPlusPlus

from symgnn.models.registry import register


def periodic_triplets(edge_index: torch.Tensor, edge_vec: torch.Tensor, num_nodes: int) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Edge pairs :math:`(k \to j, j \to i)` that share the middle atom :math:`j`, as two edge-index
    tensors ``(idx_kj, idx_ji)``, without the pair that walks back to the *same image* of :math:`i`
    (:math:`r_{kj} + r_{ji} = 0`; another image of atom :math:`i` is a real third atom).

    ``edge_index[0]`` is the source, ``edge_index[1]`` the target; ``edge_vec[e]`` points from the target
    to the source's image (the package's convention, :mod:`symgnn.graph`).
    """
    source, target = edge_index
    order = torch.argsort(target, stable=True)  # edges grouped by the atom they point into
    counts = torch.bincount(target, minlength=num_nodes)
    first = torch.cumsum(counts, 0) - counts
    per_edge = counts[source]  # for edge j -> i: the edges k -> j
    idx_ji = torch.repeat_interleave(torch.arange(source.numel(), device=source.device), per_edge)
    start = torch.repeat_interleave(first[source], per_edge)
    offset = torch.arange(idx_ji.numel(), device=source.device) - torch.repeat_interleave(
        torch.cumsum(per_edge, 0) - per_edge, per_edge
    )
    idx_kj = order[start + offset]
    keep = (edge_vec[idx_kj] + edge_vec[idx_ji]).norm(dim=-1) > 1e-6
    return idx_kj[keep], idx_ji[keep]


@register("dimenet")
class DimeNetPlusPlus(nn.Module):
    r"""DimeNet++ node regressor.

    .. math::
        m^{l+1}_{ji} = f_{\text{int}}\Big(m^l_{ji},\; \sum_{k \ne i} m^l_{kj} \odot
            a_{\text{SBF}}(d_{kj}, \theta_{kji}) \odot e_{\text{RBF}}(d_{ji})\Big), \qquad
        y_i = \sum_{l=0}^{L} f^{l}_{\text{out}}\Big(\sum_{j} m^l_{ji} \odot e_{\text{RBF}}(d_{ji})\Big)

    Args:
        hidden: edge-message width (the paper's baselines use 32).
        num_blocks: interaction blocks (4, as SymGNN's layers).
        int_emb_size, basis_emb_size, out_emb_channels: DimeNet++'s bottleneck widths.
        num_spherical, num_radial: sizes of the angular and radial bases.
        cutoff: Å, the radius of the bases' envelope (the graph's).
        out_dim: outputs per atom.
    """

    uses_graph = True

    def __init__(
        self, *, hidden: int = 32, num_blocks: int = 4, int_emb_size: int = 16, basis_emb_size: int = 8,
        out_emb_channels: int = 64, num_spherical: int = 7, num_radial: int = 6, cutoff: float = 5.0,
        out_dim: int = 1,
    ) -> None:
        super().__init__()
        self.cutoff = cutoff
        self.net = PygDimeNetPlusPlus(
            hidden_channels=hidden, out_channels=out_dim, num_blocks=num_blocks, int_emb_size=int_emb_size,
            basis_emb_size=basis_emb_size, out_emb_channels=out_emb_channels, num_spherical=num_spherical,
            num_radial=num_radial, cutoff=cutoff,
        )
        self.num_hops = num_blocks + 1  # the embedding reads one shell, each interaction one more

    def forward(self, data: Data) -> torch.Tensor:
        net, num_nodes = self.net, data.num_nodes
        source, target = data.edge_index
        idx_kj, idx_ji = periodic_triplets(data.edge_index, data.edge_vec, num_nodes)
        vec_ji, vec_kj = data.edge_vec[idx_ji], data.edge_vec[idx_kj]
        angle = torch.atan2(torch.cross(vec_ji, vec_kj, dim=1).norm(dim=-1), (vec_ji * vec_kj).sum(-1))
        rbf = net.rbf(data.edge_vec.norm(dim=-1))
        sbf = net.sbf(data.edge_vec.norm(dim=-1), angle, idx_kj)
        x = net.emb(data.z, rbf, target, source)
        out = net.output_blocks[0](x, rbf, target, num_nodes=num_nodes)
        for interaction, output in zip(net.interaction_blocks, net.output_blocks[1:]):
            x = interaction(x, rbf, sbf, idx_kj, idx_ji)
            out = out + output(x, rbf, target, num_nodes=num_nodes)
        return out
