"""The network SymGNN symmetrises: node and edge encoders, EGAT message passing, an MLP decoder.

Sizes follow the paper's released configuration (width 32, heads 8, 4, 2, 1, dropout 0.25, batch
norm, a PReLU decoder of four hidden layers). The SymGNN family (:mod:`symgnn.models.symgnn`,
:mod:`symgnn.models.symgnn_edgewise`, :mod:`symgnn.models.egat`) differ only in what reaches the edge
encoder and how often the network runs.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch_geometric.data import Data

from symgnn.nn.descriptor_input import DescriptorInput
from symgnn.nn.egat_conv import EGATConv
from symgnn.nn.embedding import AtomEmbedding

#: What the edge encoder can read of each edge vector, and its input width.
EDGE_INPUT_WIDTH = {"vector": 3, "vector+length": 4, "direction+length": 4, "length": 1}


def encoder(in_dim: int, width: int) -> nn.Sequential:
    """Linear → BN → ReLU → Linear → BN → ReLU, the paper's node and edge encoders."""
    return nn.Sequential(
        nn.Linear(in_dim, width), nn.BatchNorm1d(width), nn.ReLU(),
        nn.Linear(width, width), nn.BatchNorm1d(width), nn.ReLU(),
    )


def decoder(width: int, out_dim: int, hidden_layers: int) -> nn.Sequential:
    """``hidden_layers`` × (Linear → BN → PReLU), then a linear map to ``out_dim``."""
    layers: list[nn.Module] = []
    for _ in range(hidden_layers):
        layers += [nn.Linear(width, width), nn.BatchNorm1d(width), nn.PReLU()]
    layers.append(nn.Linear(width, out_dim))
    return nn.Sequential(*layers)


def edge_input_features(vectors: torch.Tensor, edge_input: str) -> torch.Tensor:
    """What the edge encoder reads of each edge vector: the vector; the vector and its length; the
    unit vector and the length (the direction then varies on the scale of the length's spread rather
    than the cutoff's, so it does not drown the length at the start of training); or the length."""
    if edge_input == "vector":
        return vectors
    length = vectors.norm(dim=-1, keepdim=True)
    if edge_input == "length":
        return length
    direction = vectors / length.clamp_min(1e-9) if edge_input == "direction+length" else vectors
    return torch.cat([direction, length], dim=-1)


def check_edge_input(edge_input: str) -> None:
    if edge_input not in EDGE_INPUT_WIDTH:
        raise ValueError(f"edge_input must be one of {', '.join(EDGE_INPUT_WIDTH)}, got {edge_input!r}")


class EGATBlock(nn.Module):
    """One EGAT block: attention → (concatenate heads | mean on the last layer) → BN → project → skip.

    The last layer's updated edge features would feed nothing, so it keeps the edges as they are.
    """

    def __init__(self, width: int, heads: int, last: bool) -> None:
        super().__init__()
        self.conv = EGATConv(width, width, width, width, heads)
        self.last = last
        merged = width if last else width * heads
        self.node_norm, self.node_out = nn.BatchNorm1d(merged), nn.Linear(merged, width)
        if not last:
            self.edge_norm, self.edge_out = nn.BatchNorm1d(merged), nn.Linear(merged, width)

    def forward(self, h, f, edge_index, edge_weight=None):
        h_new, f_new = self.conv(h, f, edge_index, edge_weight)
        if self.last:
            return h + self.node_out(self.node_norm(h_new.mean(1))), f
        h_new = self.node_out(self.node_norm(h_new.flatten(1)))
        f_new = self.edge_out(self.edge_norm(f_new.flatten(1)))
        return h + h_new, f + f_new


class EGATNetwork(nn.Module):
    """Atom encoder (+ optional structure descriptors), edge encoder, EGAT blocks and decoder.

    Split in two so a caller that runs the network several times on transformed edges (SymGNN) encodes
    the atoms once: :meth:`encode_atoms` depends on species and descriptors only, :meth:`propagate`
    on the edge features.

    Args:
        edge_dim: width of the edge encoder's input (3 for vectors, 4 with the length, 1 for lengths).
        descriptors: if set (a mapping of :class:`~symgnn.descriptors.DescriptorConfig` settings, ``{}``
            for the defaults), per-atom structure descriptors join the atom embedding.
    """

    def __init__(
        self, edge_dim: int, width: int = 32, heads: list[int] | tuple[int, ...] = (8, 4, 2, 1), dropout: float = 0.25,
        decoder_layers: int = 4, out_dim: int = 1, descriptors: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.atom_embedding = AtomEmbedding(width)
        self.descriptors = None if descriptors is None else DescriptorInput(descriptors)
        if self.descriptors is not None:
            self.descriptor_encoder = encoder(self.descriptors.num_features, width)
        self.node_encoder = encoder(width, width)
        self.edge_encoder = encoder(edge_dim, width)
        self.layers = nn.ModuleList(EGATBlock(width, h, last=(i == len(heads) - 1)) for i, h in enumerate(heads))
        self.dropout = nn.Dropout(dropout)
        self.decoder = decoder(width, out_dim, decoder_layers)

    def encode_atoms(self, data: Data) -> torch.Tensor:
        x = self.atom_embedding(data.z)
        if self.descriptors is not None:
            x = x + self.descriptor_encoder(self.descriptors(data))
        return self.node_encoder(x)

    def propagate(
        self, h: torch.Tensor, edge_features: torch.Tensor, edge_index: torch.Tensor,
        edge_weight: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Message passing from encoded atoms ``h`` and the edge encoder's input ``edge_features`` to
        the decoded output."""
        f = self.edge_encoder(edge_features)
        for layer in self.layers:
            h, f = layer(h, f, edge_index, edge_weight)
            h, f = self.dropout(h), self.dropout(f)
        return self.decoder(h)


def edge_mask_of(data: Data, edge_weight: torch.Tensor | None) -> torch.Tensor | None:
    """The explanation hook (:mod:`symgnn.explain`): a soft mask on every edge's messages."""
    return getattr(data, "edge_mask", None) if edge_weight is None else edge_weight
