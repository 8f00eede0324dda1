"""Small inputs for the explanation tests: a periodic random box and tiny models."""

from __future__ import annotations

import pytest
import torch

from symgnn.graph import build_graph
from symgnn.models import build_model
from tests.helpers import random_structure


def tiny(name: str, seed: int = 0, **hparams):
    """A small, deterministic model in eval mode."""
    torch.manual_seed(seed)
    defaults = {"symgnn": dict(width=8, heads=(2, 1), decoder_layers=1, edge_input="vector+length"),
                "egat_length": dict(width=8, heads=(2, 1), decoder_layers=1),
                "egat_desc": dict(width=8, heads=(2, 1), decoder_layers=1),
                "schnet": dict(hidden=8, num_interactions=2, num_gaussians=8),
                "egnn": dict(hidden=8, num_layers=2),
                "painn_desc": dict(hidden=8, num_layers=2, num_rbf=8),
                "mlp": dict(hidden=8),
                "ensemble": dict(member="painn_desc", member_hparams=dict(hidden=8, num_layers=2, num_rbf=8), size=2)}[name]
    return build_model(name, **{**defaults, **hparams}).eval()


def example_attribution(path, atom: int = 3):
    """A valid ``descriptors.csv`` of made-up numbers (the shipped descriptor columns), for tests of
    reading it back without a descriptor model."""
    import numpy as np

    from symgnn.descriptors import DescriptorConfig
    from symgnn.explain.descriptor_attribution import DescriptorAttribution, descriptor_groups, write_attribution

    groups = descriptor_groups(DescriptorConfig().feature_names())
    deltas = np.linspace(-0.1, 0.2, len(groups))
    attribution = DescriptorAttribution(atom, 1.7, deltas, np.full(len(groups), 0.01), 0.05)
    return write_attribution(path, attribution, groups, overwrite=False)


@pytest.fixture
def box():
    """A periodic 150-atom Cu/Zr box (about 13 Å across, so fields wrap around the boundary)."""
    return random_structure(150, seed=3)


@pytest.fixture
def graph(box):
    return build_graph(box, 4.0)


class ZrNeighbourModel(torch.nn.Module):
    """A model with a known answer: an atom's output is the sum over its Zr neighbours closer than
    3.2 Å of (3.2 − r), and Cu neighbours or longer edges contribute nothing. It opts in to
    explanations the documented way (``supports_edge_mask`` and ``data.edge_mask`` on messages)."""

    supports_edge_mask = True
    num_hops = 1

    def forward(self, data):
        source, target = data.edge_index
        length = data.edge_vec.norm(dim=-1)
        message = (data.z[source] == 40).float() * torch.relu(3.2 - length)
        mask = getattr(data, "edge_mask", None)
        if mask is not None:
            message = message * mask
        out = torch.zeros(data.z.shape[0]).index_add_(0, target, message)
        return out.unsqueeze(-1)
