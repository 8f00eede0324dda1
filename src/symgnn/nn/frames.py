"""Principal-axis frames for frame averaging (FAENet, Duval et al., ICML 2023)."""

from __future__ import annotations

import itertools

import torch
from torch_geometric.utils import scatter

# The 8 sign patterns of the three axes; the first 4 have an even number of flips (det +1 when the
# eigenvector basis is proper), the last 4 an odd number.
_SIGNS = torch.tensor(
    sorted(itertools.product((1.0, -1.0), repeat=3), key=lambda s: (s.count(-1.0) % 2, s)), dtype=torch.float64
)


def pca_frames(pos: torch.Tensor, batch: torch.Tensor | None = None, group: str = "E3") -> torch.Tensor:
    r"""Frames from the principal axes of each graph's atom positions.

    For graph :math:`g` with centred positions :math:`\tilde x_i = x_i - \bar x`, the covariance
    :math:`\Sigma = \frac1n \sum_i \tilde x_i \tilde x_i^\top = U \Lambda U^\top` gives the frame
    :math:`F = U S` for every sign matrix :math:`S = \mathrm{diag}(\pm1, \pm1, \pm1)`. Rotating or
    reflecting the input by :math:`R` maps the set :math:`\{U S\}` to :math:`\{R U S\}`, so a
    function of :math:`r\,F` (row vectors) averaged over the set is invariant, provided the
    eigenvalues are distinct.

    Args:
        pos: positions (N, 3).
        batch: graph index per atom (N,), or ``None`` for a single graph.
        group: ``"E3"`` (all 8 sign patterns: invariance to rotations and reflections) or ``"SE3"``
            (the 4 proper frames, det +1: invariance to rotations only).

    Returns:
        frames of shape (num_graphs, num_frames, 3, 3); ``frames[g, k][:, a]`` is axis ``a``.
        Computed in float64 (near-degenerate covariances are common) and cast back to ``pos.dtype``.
    """
    if group not in ("E3", "SE3"):
        raise ValueError(f"group must be 'E3' or 'SE3', got {group!r}")
    x = pos.detach().double()
    if batch is None:
        batch = torch.zeros(x.shape[0], dtype=torch.long, device=x.device)
    num_graphs = int(batch.max()) + 1 if batch.numel() else 0
    centred = x - scatter(x, batch, dim=0, dim_size=num_graphs, reduce="mean")[batch]
    outer = centred.unsqueeze(-1) * centred.unsqueeze(-2)
    covariance = scatter(outer, batch, dim=0, dim_size=num_graphs, reduce="mean")
    _, vectors = torch.linalg.eigh(covariance)  # (G, 3, 3), columns are axes
    # Make the base frame proper, so the first 4 sign patterns are exactly the rotations.
    vectors = vectors * torch.sign(torch.linalg.det(vectors)).view(-1, 1, 1)
    signs = _SIGNS.to(x.device)[: 8 if group == "E3" else 4]  # (K, 3)
    frames = vectors.unsqueeze(1) * signs.view(1, -1, 1, 3)
    return frames.to(pos.dtype)
