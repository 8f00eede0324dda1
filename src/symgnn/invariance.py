"""How far a model is from O(3) invariance: the spread of its predictions over random rotations and
reflections of the input structure."""

from __future__ import annotations

import torch
from torch import nn
from torch_geometric.data import Data

from symgnn.nn.rotations import random_orthogonal


def transform_graph(data: Data, matrix: torch.Tensor) -> Data:
    """The graph of the structure rotated/reflected by ``matrix`` (positions, cell and edge vectors)."""
    out = data.clone()
    matrix = matrix.to(data.pos)
    for key in ("pos", "edge_vec", "edge_shift"):
        out[key] = data[key] @ matrix.T
    if getattr(data, "cell", None) is not None:
        out.cell = data.cell @ matrix.T
    return out


@torch.no_grad()
def invariance_error(model: nn.Module, data: Data, num_transforms: int = 8, seed: int = 0) -> float:
    """Mean over atoms of the standard deviation of the model's (standardised) prediction across
    ``num_transforms`` random O(3) transforms of the input. 0 for an exactly invariant model; in
    label-standard-deviation units when the model predicts standardised labels."""
    model.eval()
    generator = torch.Generator().manual_seed(seed)
    matrices = random_orthogonal(num_transforms, generator)
    predictions = torch.stack([model(transform_graph(data, m))[:, 0] for m in matrices])
    return float(predictions.std(dim=0).mean())
