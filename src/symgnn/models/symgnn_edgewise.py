r"""SymGNN as the released code reads it (its Fig. 1): each *edge* encoded under its own average of
sampled transforms, then message passing once.

.. math::
    f_{ij} = \frac{1}{2K} \sum_{k=1}^{K} \big[\psi(R_k\, x_{ij}) + \psi(-R'_k\, x_{ij})\big],
    \qquad R_k = R_{ZYZ}(\alpha_k, \beta_k, \gamma_k),\; \alpha_k \sim \mathrm{VM}(\mu_\alpha, \kappa_\alpha), \dots

(:class:`~symgnn.nn.symmetrisation.EdgeSymmetriser`). Kept as a named variant for comparison, with
two flaws that :mod:`symgnn.models.symgnn` (Eq. 3–5: the whole graph under one transform per pass)
does not have:

* Averaging each edge's code over its own transforms cannot carry angles between edges: in the
  invariant limit each edge's code depends on its length alone, so bond angles are lost.
* Z·Y·Z Euler angles drawn from von Mises distributions never become uniform over rotations (even
  as every concentration goes to 0, the third component of a rotated unit vector keeps
  :math:`E[z^2] = 1/2`, not 1/3), so the encoder is never invariant.

``vector_gate`` (a learned scale on the symmetrised components, read by checkpoints of earlier
versions) is dead in training when it starts at 0: at 0 no gradient reaches the von Mises parameters
or the encoder's weights on the components, so nothing moves it. No benchmark row uses it.
"""

from __future__ import annotations

from typing import Any

import torch
from torch_geometric.data import Data

from symgnn.models.registry import register
from symgnn.nn.egat_backbone import EDGE_INPUT_WIDTH, EGATNetwork, check_edge_input, edge_mask_of, encoder
from symgnn.nn.symmetrisation import EdgeSymmetriser


@register("symgnn_edgewise")
class SymGNNEdgewise(EGATNetwork):
    """The EGAT network with a per-edge symmetrised edge encoder (see the module docstring).

    Args:
        num_draws: K: rotations and K reflections per edge in a training pass.
        eval_draws: K in evaluation (fixed seed, deterministic); defaults to ``num_draws``.
        edge_input: ``"vector"`` or ``"vector+length"`` (the length appended after the transform).
        vector_gate: see the module docstring; ``None`` (the default) has no gate.
        Others as :class:`symgnn.models.symgnn.SymGNN`.
    """

    supports_edge_mask = True

    def __init__(
        self, width: int = 32, heads: list[int] | tuple[int, ...] = (8, 4, 2, 1), num_draws: int = 2,
        eval_draws: int | None = None, dropout: float = 0.25, decoder_layers: int = 4, out_dim: int = 1,
        edge_input: str = "vector", vector_gate: float | None = None, descriptors: dict[str, Any] | None = None,
    ) -> None:
        check_edge_input(edge_input)
        if edge_input not in ("vector", "vector+length"):
            raise ValueError(f"symgnn_edgewise reads edge_input 'vector' or 'vector+length', not {edge_input!r}")
        edge_dim = EDGE_INPUT_WIDTH[edge_input]
        super().__init__(edge_dim, width, heads, dropout, decoder_layers, out_dim, descriptors)
        self.edge_encoder = EdgeSymmetriser(
            encoder(edge_dim, width), num_draws, eval_draws, append_length=edge_input == "vector+length",
            vector_gate=vector_gate,
        )

    def forward(self, data: Data, edge_weight: torch.Tensor | None = None) -> torch.Tensor:
        return self.propagate(self.encode_atoms(data), data.edge_vec, data.edge_index, edge_mask_of(data, edge_weight))
