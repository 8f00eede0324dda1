r"""A learned distribution over rotations that contains the uniform (Haar) measure.

SymGNN averages its network over transforms :math:`g \in O(3)` drawn from learned distributions
(arXiv:2401.08627, Eq. 3–5). Here a rotation is drawn through a unit quaternion from the *projected
normal* (angular Gaussian) distribution on :math:`S^3`:

.. math::
    q = \frac{m + \epsilon}{\lVert m + \epsilon \rVert}, \qquad \epsilon \sim \mathcal N(0, I_4),
    \qquad R = R(q),

with a learned :math:`m \in \mathbb R^4`. At :math:`m = 0` the quaternion is uniform on :math:`S^3`, so
:math:`R` is Haar-distributed on SO(3) and the average is invariant in expectation; as
:math:`\lVert m \rVert` grows the draws concentrate around the rotation of :math:`m / \lVert m \rVert`.
The draw is a differentiable function of :math:`m` for a fixed :math:`\epsilon` (the
reparameterisation trick), so the loss's gradient reaches :math:`m` through every transformed edge.
Reflections are :math:`-R` with :math:`R` from a second such distribution.
"""

from __future__ import annotations

import torch
from torch import nn


def quaternion_to_matrix(q: torch.Tensor) -> torch.Tensor:
    """Unit quaternions ``(..., 4)`` as ``(w, x, y, z)`` → rotation matrices ``(..., 3, 3)``."""
    w, x, y, z = q.unbind(-1)
    rows = (
        1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
        2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
        2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
    )
    return torch.stack(rows, dim=-1).reshape(*q.shape[:-1], 3, 3)


class ProjectedNormalRotations(nn.Module):
    """Rotations :math:`R(q)`, :math:`q = (m + \\epsilon)/\\lVert m + \\epsilon \\rVert`; see the module docstring.

    Args:
        init_norm: :math:`\\lVert m \\rVert` at initialisation (0: Haar, the invariant start; the
            direction is then irrelevant and ``m`` starts at 0).
    """

    def __init__(self, init_norm: float = 0.0) -> None:
        super().__init__()
        direction = torch.tensor([1.0, 0.0, 0.0, 0.0])
        self.mean = nn.Parameter(direction * float(init_norm))

    @property
    def concentration(self) -> torch.Tensor:
        """:math:`\\lVert m \\rVert`: 0 is uniform over rotations; larger is more concentrated."""
        return self.mean.norm()

    def rsample(self, num: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``num`` rotation matrices ``(num, 3, 3)`` with gradients to :attr:`mean`.

        With ``generator`` (a CPU generator) the noise is drawn from it, so fixed seeds give the same
        draws on any device.
        """
        noise = torch.randn(num, 4, generator=generator, dtype=self.mean.dtype)
        quaternion = self.mean + noise.to(self.mean.device)
        quaternion = quaternion / quaternion.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        return quaternion_to_matrix(quaternion)


class LearnedO3(nn.Module):
    r"""K rotations from one :class:`ProjectedNormalRotations` and K reflections (:math:`-R`) from another.

    Args:
        num_draws: K in training (a fresh draw every forward pass).
        eval_draws: K in evaluation, drawn from a generator seeded with ``eval_seed`` on every call, so
            predictions are deterministic for given parameters.
        reflections: also draw the K reflections (O(3)); ``False`` draws rotations only (SO(3)).
        init_concentration: :math:`\lVert m \rVert` of both distributions at the start (0: Haar).
    """

    def __init__(
        self, num_draws: int = 1, eval_draws: int = 2, eval_seed: int = 0, reflections: bool = True,
        init_concentration: float = 0.0,
    ) -> None:
        super().__init__()
        self.num_draws, self.eval_draws, self.eval_seed = num_draws, eval_draws, eval_seed
        self.rotations = ProjectedNormalRotations(init_concentration)
        self.reflections = ProjectedNormalRotations(init_concentration) if reflections else None

    def forward(self, num_draws: int | None = None) -> torch.Tensor:
        """The transforms of this pass, ``(K or 2K, 3, 3)``: K rotations, then K reflections.
        ``num_draws`` overrides K (in evaluation, still from the fixed seed)."""
        generator = None
        if self.training:
            k = self.num_draws if num_draws is None else num_draws
        else:
            k = self.eval_draws if num_draws is None else num_draws
            generator = torch.Generator().manual_seed(self.eval_seed)
        transforms = [self.rotations.rsample(k, generator)]
        if self.reflections is not None:
            transforms.append(-self.reflections.rsample(k, generator))
        return torch.cat(transforms, dim=0)
