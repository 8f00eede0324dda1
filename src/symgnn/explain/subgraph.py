"""The receptive field of one atom: the k-hop computation subgraph of a k-layer model.

With ``k`` rounds of message passing, atom ``t``'s output depends on the edges ``j -> i`` whose
receiving atom ``i`` is at most ``k - 1`` hops from ``t``, and on the atoms at the ends of those
edges (at most ``k`` hops away). Cutting the periodic graph down to exactly these edges
(PyG's :func:`~torch_geometric.utils.k_hop_subgraph` with ``directed=True``) leaves the target's
prediction unchanged for any model whose layers only pass messages along edges, while the
explainer's work drops from the whole sample (about 260,000 edges for 8,000 atoms) to about 30,000
edges for a 4-layer model at 5 Å. :func:`check_exact` verifies this on the actual model.

Periodic images are handled by the graph: every edge carries ``edge_vec`` (the vector to the right
image), so the subgraph needs no cell arithmetic. For figures and statistics the atoms get
*unwrapped* coordinates around the target (``offsets``), accumulated along edge vectors outwards
from the target, so an atom across the box boundary sits where the model sees it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch_geometric.data import Batch, Data
from torch_geometric.utils import k_hop_subgraph

# Per-node and per-edge fields copied into the subgraph (when the full graph has them).
_NODE_FIELDS = ("z", "pos", "y", "descriptors")
_EDGE_FIELDS = ("edge_vec", "edge_shift")


@dataclass
class ReceptiveField:
    """One atom's computation subgraph.

    Attributes:
        atom: index of the target atom in the full structure.
        data: the subgraph (nodes relabelled ``0..n-1``), ready for ``model(data)``.
        nodes: full-structure index of each subgraph node, (n,).
        edges: full-graph index of each subgraph edge, (e,).
        center: index of the target within the subgraph.
        offsets: unwrapped position of each node relative to the target (Å), (n, 3).
        hops: graph distance of each node from the target, (n,).
    """

    atom: int
    data: Data
    nodes: np.ndarray
    edges: np.ndarray
    center: int
    offsets: np.ndarray
    hops: np.ndarray

    @property
    def num_edges(self) -> int:
        return int(self.data.edge_index.shape[1])

    @property
    def distances(self) -> np.ndarray:
        """Distance of every node from the target (Å)."""
        return np.linalg.norm(self.offsets, axis=1)


def receptive_field(data: Data, atom: int, hops: int) -> ReceptiveField:
    """The ``hops``-layer receptive field of ``atom`` in the full graph ``data``."""
    if not 0 <= atom < data.num_nodes:
        raise IndexError(f"atom {atom} outside 0..{data.num_nodes - 1}")
    subset, edge_index, mapping, edge_keep = k_hop_subgraph(
        int(atom), hops, data.edge_index, relabel_nodes=True, num_nodes=data.num_nodes, directed=True
    )
    edge_ids = edge_keep.nonzero().view(-1)
    sub = Data(edge_index=edge_index, num_nodes=int(subset.numel()))
    for key in _NODE_FIELDS:
        if key in data and data[key] is not None:
            sub[key] = data[key][subset]
    for key in _EDGE_FIELDS:
        if key in data:
            sub[key] = data[key][edge_ids]
    for key in ("cell", "pbc"):
        if key in data:
            sub[key] = data[key]
    sub.cutoff = getattr(data, "cutoff", None)
    center = int(mapping[0])
    offsets, hop = _unwrap(edge_index.numpy(), sub.edge_vec.double().numpy(), center, int(subset.numel()), hops)
    return ReceptiveField(int(atom), sub, subset.numpy(), edge_ids.numpy(), center, offsets, hop)


def saturation_hops(data: Data, atoms: Sequence[int]) -> int:
    """The fewest hops at which the receptive field of each of ``atoms`` holds everything its atom is
    connected to: one more than the farthest graph distance from any of them (the edges into the
    farthest atoms join the field one hop after those atoms). More hops give the same fields, so a
    larger request is only work; one breadth-first search per atom, over the whole graph."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import shortest_path

    source, target = data.edge_index.cpu().numpy()
    n = data.num_nodes
    towards = coo_matrix((np.ones(len(source)), (target, source)), shape=(n, n)).tocsr()  # receiver -> sender
    farthest = 0
    atoms = np.asarray(atoms, dtype=np.int64)
    for start in range(0, len(atoms), 256):  # bounds the (atoms, n) distance table
        distances = shortest_path(towards, directed=True, unweighted=True, indices=atoms[start:start + 256])
        farthest = max(farthest, int(distances[np.isfinite(distances)].max()))
    return farthest + 1


def _unwrap(edge_index: np.ndarray, edge_vec: np.ndarray, center: int, n: int, hops: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions relative to ``center`` reached along edges (``edge_vec`` points from the receiving
    atom to the sender's image), breadth first, and the hop count of each node."""
    source, target = edge_index
    offsets = np.full((n, 3), np.nan)
    hop = np.full(n, -1, dtype=np.int64)
    offsets[center], hop[center] = 0.0, 0
    for level in range(1, hops + 1):
        frontier = (hop[target] == level - 1) & (hop[source] < 0)
        if not frontier.any():
            break
        # The first edge reaching each new node fixes its image.
        new, first = np.unique(source[frontier], return_index=True)
        edges = np.flatnonzero(frontier)[first]
        offsets[new] = offsets[target[edges]] + edge_vec[edges]
        hop[new] = level
    return offsets, hop


def batch_fields(
    fields: list[ReceptiveField], device: torch.device | str | None = None
) -> tuple[Batch, torch.Tensor, torch.Tensor]:
    """Disjoint union of receptive fields: the batch, the index of each target in it, and for every
    batch edge the position of its field in ``fields`` (all three on ``device``, default the CPU)."""
    batch = Batch.from_data_list([f.data for f in fields])
    starts = batch.ptr[:-1]
    centers = starts + torch.tensor([f.center for f in fields])
    edge_group = torch.repeat_interleave(torch.arange(len(fields)), torch.tensor([f.num_edges for f in fields]))
    if device is not None:
        batch, centers, edge_group = batch.to(device), centers.to(device), edge_group.to(device)
    return batch, centers, edge_group
