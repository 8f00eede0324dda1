"""Per-atom structure descriptors as extra node inputs of a GNN.

The structure descriptors of :mod:`symgnn.descriptors` (radial densities, Steinhardt q_l,
coarse-grained over neighbours) reach validation Pearson ~0.6 with a linear fit
(:mod:`symgnn.models.descriptors`), before any training. Feeding the same descriptors to a GNN gives it angular and medium-range information from
the first step, so the few thousand optimiser steps a CPU affords go into what the descriptors miss.

The descriptors are computed from the graph's structure (species, positions, cell) the first time a
graph is seen and cached on it (``data.descriptors``), so training graphs, which are built once and
reused every epoch, pay the cost once. They are standardised with a mean and spread measured on the
first training batch and stored as buffers, so a checkpoint carries them.

Explanations (:mod:`symgnn.explain.descriptor_attribution`) replace descriptors through two graph
fields: ``data.descriptor_mask``, (F,) or (N, F) in [0, 1], keeps a descriptor where it is 1 and
puts ``data.descriptor_fill`` (N, F, unscaled, e.g. another atom's descriptors) where it is 0;
without a fill, the training mean.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch
from torch import nn
from torch_geometric.data import Data

from symgnn.data.structure import Structure
from symgnn.descriptors import DescriptorConfig, compute_descriptors


CLIP = 20.0  # standardised descriptors are clipped to [-CLIP, CLIP]


class OutOfDistributionWarning(UserWarning):
    """The input structure is far from the structures the model was trained on."""


def _structures_of(data: Data) -> list[tuple[Structure, slice]]:
    """The structure(s) behind a graph or a batch of graphs, with their node ranges."""
    graphs = data.to_data_list() if hasattr(data, "to_data_list") and getattr(data, "num_graphs", 1) > 1 else [data]
    out, start = [], 0
    for graph in graphs:
        n = int(graph.z.shape[0])
        cell = graph.cell.detach().cpu().double().numpy().reshape(3, 3)
        pbc = graph.pbc.detach().cpu().numpy().reshape(3).astype(bool)
        structure = Structure(
            numbers=graph.z.detach().cpu().numpy(), positions=graph.pos.detach().cpu().double().numpy(), cell=cell, pbc=pbc
        )
        out.append((structure, slice(start, start + n)))
        start += n
    return out


class DescriptorInput(nn.Module):
    """Computes, caches and standardises per-atom descriptors of the input structure."""

    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.settings = dict(settings or {})
        self.config = DescriptorConfig(**self.settings)
        self.num_features = len(self.config.feature_names())
        self.register_buffer("mean", torch.zeros(self.num_features))
        self.register_buffer("scale", torch.ones(self.num_features))
        self.register_buffer("fitted", torch.zeros((), dtype=torch.bool))

    @torch.compiler.disable  # NumPy/SciPy code: run as it is, not traced by torch.compile
    def raw(self, data: Data) -> torch.Tensor:
        """Unscaled descriptors of every node, computed once per graph object."""
        cached = getattr(data, "descriptors", None)
        if cached is not None and cached.shape == (data.z.shape[0], self.num_features):
            return cached
        values = np.zeros((int(data.z.shape[0]), self.num_features), dtype=np.float32)
        for structure, nodes in _structures_of(data):
            values[nodes] = compute_descriptors(structure, self.config)
        tensor = torch.from_numpy(values).to(data.pos.device)
        data.descriptors = tensor
        return tensor

    def forward(self, data: Data) -> torch.Tensor:
        raw = self.raw(data)
        if self.training:
            self._fit_once(raw)
        keep = getattr(data, "descriptor_mask", None)
        if keep is not None:  # explanation hook: replace the descriptors where keep is 0
            fill = getattr(data, "descriptor_fill", None)
            keep = keep.to(raw.dtype)
            raw = raw * keep + (self.mean if fill is None else fill.to(raw.dtype)) * (1 - keep)
        scaled = (raw - self.mean) / self.scale
        # Clipped: a structure unlike the training data (e.g. overlapping atoms, a crystal) can put
        # a feature that hardly varied in training thousands of spreads away and blow the network
        # up. Real glass samples stay within about 12 spreads (train0 9.6, train6 11.8 for the
        # shipped model). Predictions for such atoms are extrapolations: say so.
        outside = (scaled.abs() > CLIP).any(dim=1)
        if not self.training:
            data.outside_training = outside  # per atom, for callers that report on part of the graph
            if bool(outside.any()):
                warn_extrapolation(getattr(data, "name", None), float(outside.float().mean()))
        return scaled.clamp(-CLIP, CLIP)

    @torch.compiler.disable  # a data-dependent branch, run once: not worth a graph of its own
    @torch.no_grad()
    def _fit_once(self, raw: torch.Tensor) -> None:
        """Standardisation statistics from the first training batch; later calls change nothing."""
        if not bool(self.fitted):
            self.mean.copy_(raw.mean(0))
            self.scale.copy_(raw.std(0).clamp_min(1e-6))
            self.fitted.fill_(True)


def warn_extrapolation(name: str | None, share: float) -> None:
    """Warn (:class:`OutOfDistributionWarning`) when more than 1 % of a structure's atoms, ``share``,
    have descriptors far outside the training data."""
    if share > 0.01:
        warnings.warn(
            (f"{name}: " if isinstance(name, str) else "") + f"{share:.0%} of the atoms have structure descriptors far outside the training data "
            f"(more than {CLIP:g} standard deviations): their predictions are extrapolations",
            OutOfDistributionWarning, stacklevel=3,
        )
