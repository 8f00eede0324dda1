"""Descriptor node inputs: computed once per graph, standardised with statistics fitted once."""

from __future__ import annotations

import torch

from symgnn.graph import build_graph
from symgnn.models import build_model
from symgnn.models.descriptors import compute_descriptors
from symgnn.nn.descriptor_input import DescriptorInput
from tests.conftest import random_structure


def test_descriptors_match_the_baseline_and_are_cached():
    structure = random_structure(150, seed=4)
    graph = build_graph(structure, 5.0)
    module = DescriptorInput({})
    raw = module.raw(graph)
    expected = torch.from_numpy(compute_descriptors(structure)).float()
    torch.testing.assert_close(raw, expected, atol=2e-4, rtol=1e-3)
    assert module.raw(graph) is raw  # cached on the graph: training pays once


def test_standardisation_is_fitted_once_and_saved():
    graphs = [build_graph(random_structure(150, seed=s), 5.0) for s in (1, 2)]
    module = DescriptorInput({}).train()
    first = module(graphs[0])
    assert bool(module.fitted)
    assert first.mean(0).abs().max() < 1e-3  # standardised on the first training graph
    mean = module.mean.clone()
    module(graphs[1])
    assert torch.equal(module.mean, mean)  # not refitted
    assert {"mean", "scale", "fitted"} <= set(module.state_dict())


def test_egat_with_descriptors_trains():
    graph = build_graph(random_structure(80, seed=5), 5.0)
    model = build_model("egat_length", width=8, heads=[2, 1], decoder_layers=1, descriptors={})
    out = model(graph)
    assert out.shape == (80, 1)
    out.pow(2).mean().backward()
    assert model.descriptor_encoder[0].weight.grad.abs().sum() > 0
