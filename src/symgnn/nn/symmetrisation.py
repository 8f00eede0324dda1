"""Per-edge symmetrisation, as the released SymGNN code reads the paper (the model ``symgnn_edgewise``).

Each edge is encoded under its own average of sampled transforms; see
:mod:`symgnn.models.symgnn_edgewise` for why this loses bond angles and is never invariant, and
:mod:`symgnn.models.symgnn` for the paper's Eq. 3–5 (the whole graph under one transform per pass).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from symgnn.nn.rotations import euler_to_matrix
from symgnn.nn.von_mises import sample_von_mises


class EdgeSymmetriser(nn.Module):
    r"""Encode edge vectors averaged over sampled rotations and reflections (arXiv:2401.08627, §4).

    .. math::
        e_{ij} = \frac{1}{2K} \sum_{k=1}^{K} \big[\phi(R_k\, x_{ij}) + \phi(-R'_k\, x_{ij})\big],
        \qquad R_k = R(\alpha_k, \beta_k, \gamma_k),\; \alpha_k \sim \mathrm{VM}(\mu_\alpha, \kappa_\alpha), \dots

    Each of the three Euler angles of the rotations, and separately of the reflections
    (:math:`-R'`), has its own learned von Mises distribution. Draws are differentiable
    (:func:`symgnn.nn.von_mises.sample_von_mises`), so training moves the locations and
    concentrations. In evaluation mode the draws come from a fixed-seed generator, so inference is
    deterministic for given parameters; ``eval_draws`` may exceed ``num_draws`` for a closer
    approximation of the expectation.

    With ``append_length`` the encoder sees :math:`[R x_{ij}, |x_{ij}|]`: the length is invariant, so
    symmetrisation is unchanged, but the encoder no longer has to learn :math:`|x|` from rotated
    components through a few noisy draws (the reason the paper's recipe needs thousands of epochs).
    """

    def __init__(
        self,
        encoder: nn.Module,
        num_draws: int = 2,
        eval_draws: int | None = None,
        eval_seed: int = 0,
        append_length: bool = False,
        vector_gate: float | None = None,
    ) -> None:
        super().__init__()
        self.encoder = encoder
        self.append_length = append_length
        # A learned scale on the rotated components; starting it at 0 makes the encoder start from
        # the invariant length alone and let orientation-dependent (noisy) input in as it pays off.
        self.vector_gate = None if vector_gate is None else nn.Parameter(torch.tensor(float(vector_gate)))
        self.num_draws = num_draws
        self.eval_draws = eval_draws or num_draws
        self.eval_seed = eval_seed
        # Rows: rotation, reflection; columns: the three Euler angles.
        self.loc = nn.Parameter(torch.empty(2, 3).uniform_(-math.pi, math.pi))
        self.log_concentration = nn.Parameter(torch.zeros(2, 3))

    @property
    def concentration(self) -> torch.Tensor:
        return self.log_concentration.exp()

    def draw_transforms(self) -> torch.Tensor:
        """The orthogonal matrices used in this forward pass, shape (2K, 3, 3): K rotations, then K
        reflections."""
        if self.training:
            angles = sample_von_mises(self.loc, self.concentration, self.num_draws)
        else:
            generator = torch.Generator().manual_seed(self.eval_seed)
            angles = sample_von_mises(self.loc, self.concentration, self.eval_draws, generator=generator)
        matrices = euler_to_matrix(angles)  # (K, 2, 3, 3)
        rotations, reflections = matrices[:, 0], -matrices[:, 1]
        return torch.cat([rotations, reflections], dim=0)

    def forward(self, edge_vec: torch.Tensor) -> torch.Tensor:
        transforms = self.draw_transforms().to(edge_vec.device, edge_vec.dtype)
        length = edge_vec.norm(dim=-1, keepdim=True) if self.append_length else None
        encoded = 0.0
        for matrix in transforms:
            rotated = edge_vec @ matrix.T
            if self.vector_gate is not None:
                rotated = rotated * self.vector_gate
            encoded = encoded + self.encoder(rotated if length is None else torch.cat([rotated, length], dim=-1))
        return encoded / len(transforms)
