r"""SymGNN (Li et al., ICML 2024, arXiv:2401.08627) and the paper's two ablations of it.

SymGNN makes a network :math:`\phi` on the graph :math:`G` invariant to rotations and reflections *in
expectation* (Eq. 3–5): it averages the network over transforms of O(3) drawn from learned
distributions,

.. math::
    \hat y_i = \frac{1}{2K} \sum_{k=1}^{K} \big[\phi_i(R_k \cdot G) + \phi_i(-R'_k \cdot G)\big],
    \qquad R_k \sim p_\theta, \; R'_k \sim p_{\theta'},

where :math:`g \cdot G` applies :math:`g` to *every* edge vector of the graph at once, so bond angles
survive inside each pass. :math:`p_\theta` is a projected normal distribution of unit quaternions
(:class:`~symgnn.nn.so3_distribution.ProjectedNormalRotations`): it starts uniform (Haar), which makes
the average invariant in expectation, and its parameters learn through reparameterised draws. K in
training (``num_draws``) and at prediction (``eval_draws``, fixed draws: deterministic) are separate.

:math:`\phi` is :class:`~symgnn.nn.egat_backbone.EGATNetwork`: atom-type encoder, edge encoder,
4 EGAT layers with heads 8, 4, 2, 1, MLP decoder. The atoms are encoded once per forward pass; the edge
encoder, the message passing and the decoder run once per transform.

Registered here:

* ``symgnn``: the above.
* ``symgnn_nosym``: the same network on the raw edge vectors, no transform (not invariant).
* ``symgnn_aug``: the same network, trained on inputs rotated or reflected by one Haar-random
  transform of O(3) per step (data augmentation); plain network at prediction.

The per-edge reading of the released code is :mod:`symgnn.models.symgnn_edgewise`; the backbone on
lengths only is :mod:`symgnn.models.egat`.
"""

from __future__ import annotations

from typing import Any

import torch
from torch_geometric.data import Data

from symgnn.models.registry import register
from symgnn.nn.egat_backbone import (
    EDGE_INPUT_WIDTH, EGATNetwork, check_edge_input, edge_input_features, edge_mask_of,
)
from symgnn.nn.rotations import random_orthogonal
from symgnn.nn.so3_distribution import LearnedO3


@register("symgnn")
class SymGNN(EGATNetwork):
    r"""SymGNN: the EGAT network averaged over K learned rotations and K learned reflections of the
    whole graph (see the module docstring).

    Args:
        width: node and edge feature width (paper: 32).
        heads: attention heads per layer; its length is the number of layers (paper: 8, 4, 2, 1).
        num_draws: K in training: K rotations and K reflections, 2K passes of the network.
        eval_draws: K in evaluation and prediction (fixed seed, deterministic); ``None``: ``num_draws``.
        dropout: dropout on node and edge features after each layer (paper: 0.25).
        decoder_layers: hidden layers of the decoder (paper: 4).
        out_dim: outputs per atom (1 = barrier; more for auxiliary targets).
        edge_input: ``"vector"`` (the 3 components, the paper's), ``"vector+length"`` (the components
            and the invariant length, which the encoder otherwise has to learn from the components) or
            ``"direction+length"`` (the unit vector and the length).
        descriptors: if set (a mapping of :class:`~symgnn.descriptors.DescriptorConfig` settings),
            per-atom structure descriptors join the atom embedding.
        init_concentration: the distributions' concentration :math:`\lVert m \rVert` at the start: 0
            (the default) is uniform over rotations, invariant in expectation from the first step;
            larger values start near one orientation (10: typical angles of about 20°), as the released
            code's fixed angles do, and leave it to training to spread the draws.
    """

    #: Reads ``data.edge_mask`` (E,) and scales every message of each edge by it (see symgnn.explain).
    supports_edge_mask = True

    def __init__(
        self, width: int = 32, heads: list[int] | tuple[int, ...] = (8, 4, 2, 1), num_draws: int = 1,
        eval_draws: int | None = 2, dropout: float = 0.25, decoder_layers: int = 4, out_dim: int = 1,
        edge_input: str = "vector", descriptors: dict[str, Any] | None = None, init_concentration: float = 0.0,
    ) -> None:
        check_edge_input(edge_input)
        if edge_input == "length":
            raise ValueError("symgnn transforms edge vectors: edge_input 'length' is the model egat_length")
        if not init_concentration >= 0:
            raise ValueError(f"init_concentration must be 0 or more, got {init_concentration}")
        super().__init__(EDGE_INPUT_WIDTH[edge_input], width, heads, dropout, decoder_layers, out_dim, descriptors)
        self.edge_input = edge_input
        self.transforms = LearnedO3(num_draws, eval_draws or num_draws, init_concentration=init_concentration)

    def forward(self, data: Data, edge_weight: torch.Tensor | None = None) -> torch.Tensor:
        edge_weight = edge_mask_of(data, edge_weight)
        h = self.encode_atoms(data)
        vectors = data.edge_vec
        outputs = [
            self.propagate(h, edge_input_features(vectors @ g.T, self.edge_input), data.edge_index, edge_weight)
            for g in self.transforms().to(vectors)
        ]
        return torch.stack(outputs).mean(0)


class _RawVectors(EGATNetwork):
    """The SymGNN network run once on edge vectors, optionally transformed by :meth:`transform`."""

    supports_edge_mask = True

    def __init__(
        self, width: int = 32, heads: list[int] | tuple[int, ...] = (8, 4, 2, 1), dropout: float = 0.25,
        decoder_layers: int = 4, out_dim: int = 1, edge_input: str = "vector",
        descriptors: dict[str, Any] | None = None,
    ) -> None:
        check_edge_input(edge_input)
        super().__init__(EDGE_INPUT_WIDTH[edge_input], width, heads, dropout, decoder_layers, out_dim, descriptors)
        self.edge_input = edge_input

    def transform(self, vectors: torch.Tensor) -> torch.Tensor:
        return vectors

    def forward(self, data: Data, edge_weight: torch.Tensor | None = None) -> torch.Tensor:
        features = edge_input_features(self.transform(data.edge_vec), self.edge_input)
        return self.propagate(self.encode_atoms(data), features, data.edge_index, edge_mask_of(data, edge_weight))


@register("symgnn_nosym")
class SymGNNNoSym(_RawVectors):
    """SymGNN without symmetrisation: the same network on the raw edge vectors (the paper's
    ablation; not invariant). Takes :class:`SymGNN`'s arguments less the draws."""


@register("symgnn_aug")
class SymGNNAugmented(_RawVectors):
    """The same network trained on inputs transformed by one Haar-random element of O(3) per step
    (the whole graph at once), the paper's data-augmentation route to approximate invariance; at
    prediction it reads the input as it is."""

    def transform(self, vectors: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return vectors
        return vectors @ random_orthogonal(1)[0].to(vectors).T
