"""Rotation matrices from Euler angles, and random orthogonal transforms."""

from __future__ import annotations

import torch


def euler_to_matrix(angles: torch.Tensor) -> torch.Tensor:
    """ZYZ Euler angles ``(..., 3)`` → rotation matrices ``(..., 3, 3)``: R = Rz(α) Ry(β) Rz(γ).

    Built with ``torch.stack`` so gradients flow to the angles.
    """
    alpha, beta, gamma = angles.unbind(-1)
    return _rz(alpha) @ _ry(beta) @ _rz(gamma)


def _rz(t: torch.Tensor) -> torch.Tensor:
    c, s, o, i = torch.cos(t), torch.sin(t), torch.zeros_like(t), torch.ones_like(t)
    return torch.stack([c, -s, o, s, c, o, o, o, i], dim=-1).reshape(*t.shape, 3, 3)


def _ry(t: torch.Tensor) -> torch.Tensor:
    c, s, o, i = torch.cos(t), torch.sin(t), torch.zeros_like(t), torch.ones_like(t)
    return torch.stack([c, o, s, o, i, o, -s, o, c], dim=-1).reshape(*t.shape, 3, 3)


def random_orthogonal(
    num: int = 1, generator: torch.Generator | None = None, reflections: bool = True
) -> torch.Tensor:
    """``num`` Haar-random matrices of O(3) (or SO(3) with ``reflections=False``), shape (num, 3, 3)."""
    gaussian = torch.randn(num, 3, 3, generator=generator, dtype=torch.float64)
    q, r = torch.linalg.qr(gaussian)
    q = q * torch.sign(torch.diagonal(r, dim1=-2, dim2=-1)).unsqueeze(-2)
    if not reflections:
        # For 3x3 matrices det(-q) = -det(q): flipping the improper ones lands in SO(3), still Haar.
        q = q * torch.sign(torch.linalg.det(q)).view(-1, 1, 1)
    return q.float()
