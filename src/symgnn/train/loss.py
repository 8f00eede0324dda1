"""Training loss: per-target squared error, with each structure's offset weighed on its own.

For one structure with errors e_i = prediction_i - target_i,

    mean_i e_i^2 = mean_i (e_i - ē)^2 + ē^2,

the within-structure spread (the part Pearson correlation sees) plus the squared mean error (a
constant shift of the whole structure, which Pearson ignores). ``offset_weight`` multiplies the
second term: 1 gives plain MSE, smaller values let the model spend its capacity on ranking atoms
within a structure rather than on matching each structure's mean barrier.
"""

from __future__ import annotations

import torch
from torch_geometric.data import Data
from torch_geometric.utils import scatter


def structure_index(batch: Data) -> torch.Tensor:
    """Index of the structure each atom belongs to (all zeros for a single structure)."""
    index = getattr(batch, "batch", None)
    if index is None:
        return torch.zeros(batch.num_nodes, dtype=torch.long, device=batch.pos.device)
    return index


def offset_weighted_mse(prediction: torch.Tensor, target: torch.Tensor, index: torch.Tensor,
                        column_weights: torch.Tensor, offset_weight: float = 1.0) -> torch.Tensor:
    """Squared error per target column, offset term weighted, columns combined by ``column_weights``.

    ``prediction`` and ``target`` are (N, C); ``index`` (N,) names each atom's structure.
    """
    error = prediction - target
    if offset_weight == 1.0:
        per_column = (error ** 2).mean(0)
    else:
        mean_error = scatter(error, index, dim=0, reduce="mean")
        within = ((error - mean_error[index]) ** 2).mean(0)
        offset = (mean_error[index] ** 2).mean(0)  # atom-weighted: larger structures count more
        per_column = within + offset_weight * offset
    return (per_column * column_weights).sum()
