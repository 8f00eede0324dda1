r"""Seed ensemble: the mean output of several independently trained copies of one model.

.. math::
    \hat y_i = \frac{1}{M} \sum_{m=1}^{M} f_{\theta_m}(\mathcal G)_i

Training the same recipe with different seeds gives networks whose errors are partly independent
(different initialisations, batch orders, dropout); averaging them removes that part, which is
worth most when labels are noisy, as ARTn barriers are. Members share the input graph, and models
that cache work on it (the descriptors of ``painn_desc``) compute it once for all members.

Build one from finished runs with :func:`symgnn.train.ensemble.combine_checkpoints` (or ``symgnn
ensemble``); every member must be the same model with the same hyper-parameters, label scaling and
cutoff.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch_geometric.data import Data

from symgnn.models.registry import build_model, register


@register("ensemble")
class Ensemble(nn.Module):
    """``size`` copies of model ``member`` (built with ``member_hparams``); forward is their mean."""

    uses_graph = True

    def __init__(self, member: str, member_hparams: dict[str, Any] | None = None, size: int = 2) -> None:
        super().__init__()
        if size < 1:
            raise ValueError(f"size must be at least 1, got {size}")
        self.members = nn.ModuleList(build_model(member, **(member_hparams or {})) for _ in range(size))
        # Explanations (symgnn.explain) see the ensemble as one model: it reads data.edge_mask when
        # every member does, and its receptive field is its members' (see num_hops).
        self.supports_edge_mask = all(getattr(m, "supports_edge_mask", False) for m in self.members)

    @property
    def num_hops(self) -> int:
        """Message-passing rounds of the members (all members are the same architecture)."""
        from symgnn.models.receptive import receptive_hops

        return receptive_hops(self.members[0])

    def forward(self, data: Data) -> torch.Tensor:
        return torch.stack([member(data) for member in self.members]).mean(0)
