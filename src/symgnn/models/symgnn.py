"""SymGNN (Li et al., ICML 2024, arXiv:2401.08627) and the paper's ablations of it.

Architecture: atom-type encoder → edge encoder over sampled rotations/reflections
(:class:`~symgnn.nn.symmetrisation.EdgeSymmetriser`) → 4 EGAT layers with heads 8, 4, 2, 1 that update
node and edge features, each with batch norm, a projection back to the width and a skip connection
→ MLP decoder to one value per atom. Sizes follow the paper's released configuration (width 32,
dropout 0.25, batch norm, PReLU decoder of four hidden layers).

Registered variants:

* ``symgnn``: as in the paper.
* ``symgnn_nosym``: no symmetrisation, the raw edge vector is encoded once (not invariant).
* ``symgnn_aug``: as ``symgnn_nosym``, but training inputs are randomly rotated/reflected
  (data augmentation, the paper's other route to approximate invariance).
* ``egat_length``: the backbone fed edge lengths only (exactly invariant, no angular input).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch_geometric.data import Data

from symgnn.models.registry import register
from symgnn.nn.descriptor_input import DescriptorInput
from symgnn.nn.egat_conv import EGATConv
from symgnn.nn.embedding import AtomEmbedding
from symgnn.nn.rotations import random_orthogonal
from symgnn.nn.symmetrisation import EdgeSymmetriser


def _encoder(in_dim: int, width: int) -> nn.Sequential:
    """Linear → BN → ReLU → Linear → BN → ReLU, the paper's node and edge encoders."""
    return nn.Sequential(
        nn.Linear(in_dim, width), nn.BatchNorm1d(width), nn.ReLU(),
        nn.Linear(width, width), nn.BatchNorm1d(width), nn.ReLU(),
    )


def _decoder(width: int, out_dim: int, hidden_layers: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for _ in range(hidden_layers):
        layers += [nn.Linear(width, width), nn.BatchNorm1d(width), nn.PReLU()]
    layers.append(nn.Linear(width, out_dim))
    return nn.Sequential(*layers)


class SymGNNLayer(nn.Module):
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


@register("symgnn")
class SymGNN(nn.Module):
    """SymGNN: symmetrised edge encoding + EGAT message passing + MLP decoder (see module docstring).

    Args:
        width: node and edge feature width (paper: 32).
        heads: attention heads per layer; its length is the number of layers (paper: 8, 4, 2, 1).
        num_draws: K, rotations and K reflections per training forward pass.
        eval_draws: draws used in evaluation (fixed seed, deterministic); defaults to ``num_draws``.
        dropout: dropout on node and edge features after each layer (paper: 0.25).
        decoder_layers: hidden layers of the decoder (paper: 4).
        out_dim: outputs per atom (1 = barrier; more for auxiliary targets).
        edge_input: ``"vector"`` (3 components, the paper's), ``"vector+length"`` (the components and
            the invariant length, which the encoder otherwise has to learn from rotated components),
            or ``"length"`` (1 value, exactly invariant).
        symmetrise: encode vectors over sampled O(3) transforms (True) or raw (False).
        augment: rotate/reflect edge vectors at random in training (data augmentation).
        descriptors: if set (a mapping of :class:`~symgnn.descriptors.DescriptorConfig`
            settings, ``{}`` for the defaults), per-atom structure descriptors join the atom
            embedding (:class:`~symgnn.nn.descriptor_input.DescriptorInput`).
        vector_gate: if set, a learned scale on the symmetrised vector components, initialised to
            this value (0 starts the model from the invariant length alone with "vector+length");
            needs ``symmetrise`` and edge vectors.
    """

    #: Reads ``data.edge_mask`` (E,) and scales every message of each edge by it (see symgnn.explain).
    supports_edge_mask = True

    def __init__(
        self,
        width: int = 32,
        heads: list[int] | tuple[int, ...] = (8, 4, 2, 1),
        num_draws: int = 2,
        eval_draws: int | None = None,
        dropout: float = 0.25,
        decoder_layers: int = 4,
        out_dim: int = 1,
        edge_input: str = "vector",
        symmetrise: bool = True,
        augment: bool = False,
        vector_gate: float | None = None,
        descriptors: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        if edge_input not in ("vector", "vector+length", "length"):
            raise ValueError(f"edge_input must be 'vector', 'vector+length' or 'length', got {edge_input!r}")
        if vector_gate is not None and not (symmetrise and edge_input != "length"):
            raise ValueError("vector_gate scales symmetrised edge vectors: it needs symmetrise and edge_input "
                             "'vector' or 'vector+length'")
        self.edge_input, self.symmetrise, self.augment = edge_input, symmetrise, augment
        self.atom_embedding = AtomEmbedding(width)
        self.descriptors = None if descriptors is None else DescriptorInput(descriptors)
        if self.descriptors is not None:
            self.descriptor_encoder = _encoder(self.descriptors.num_features, width)
        self.node_encoder = _encoder(width, width)
        edge_encoder = _encoder({"vector": 3, "vector+length": 4, "length": 1}[edge_input], width)
        if symmetrise and edge_input != "length":
            self.edge_encoder: nn.Module = EdgeSymmetriser(
                edge_encoder, num_draws, eval_draws, append_length=edge_input == "vector+length", vector_gate=vector_gate
            )
        else:
            self.edge_encoder = edge_encoder
        self.layers = nn.ModuleList(
            SymGNNLayer(width, h, last=(i == len(heads) - 1)) for i, h in enumerate(heads)
        )
        self.dropout = nn.Dropout(dropout)
        self.decoder = _decoder(width, out_dim, decoder_layers)

    def edge_features(self, data: Data) -> torch.Tensor:
        """The encoder's input per edge: the vector (possibly augmented) or its length."""
        vectors = data.edge_vec
        if self.edge_input == "length":
            return vectors.norm(dim=-1, keepdim=True)
        if self.augment and self.training:
            vectors = vectors @ random_orthogonal(1)[0].to(vectors).T
        if self.edge_input == "vector+length" and not isinstance(self.edge_encoder, EdgeSymmetriser):
            return torch.cat([vectors, vectors.norm(dim=-1, keepdim=True)], dim=-1)
        return vectors

    def forward(self, data: Data, edge_weight: torch.Tensor | None = None) -> torch.Tensor:
        if edge_weight is None:  # explanation hook (symgnn.explain): a soft mask on every edge's messages
            edge_weight = getattr(data, "edge_mask", None)
        x = self.atom_embedding(data.z)
        if self.descriptors is not None:
            x = x + self.descriptor_encoder(self.descriptors(data))
        h = self.node_encoder(x)
        f = self.edge_encoder(self.edge_features(data))
        for layer in self.layers:
            h, f = layer(h, f, data.edge_index, edge_weight)
            h, f = self.dropout(h), self.dropout(f)
        return self.decoder(h)


@register("symgnn_nosym")
class SymGNNNoSym(SymGNN):
    """SymGNN without symmetrisation: raw edge vectors (the paper's ablation; not invariant)."""

    def __init__(self, **hparams) -> None:
        super().__init__(**{"symmetrise": False, **hparams})


@register("symgnn_aug")
class SymGNNAugmented(SymGNN):
    """SymGNN backbone without symmetrisation, trained on randomly rotated/reflected edge vectors."""

    def __init__(self, **hparams) -> None:
        super().__init__(**{"symmetrise": False, "augment": True, **hparams})


@register("egat_length")
class EGATLength(SymGNN):
    """The SymGNN backbone fed edge lengths only: exactly invariant, blind to bond angles."""

    def __init__(self, **hparams) -> None:
        super().__init__(**{"edge_input": "length", "symmetrise": False, **hparams})


@register("egat_desc")
class EGATDescriptors(SymGNN):
    """The SymGNN backbone on edge lengths, with per-atom structure descriptors (radial densities,
    Steinhardt q_l, coarse-grained) joining the atom embedding: exactly invariant, and bond angles
    and medium-range order enter through the descriptors. (The shipped models are ``painn_desc``
    ensembles; this one scored lower in the benchmark.)"""

    def __init__(self, **hparams) -> None:
        super().__init__(**{"edge_input": "length", "symmetrise": False, "descriptors": {}, **hparams})
