"""Descriptor node inputs: computed once per graph, standardised with statistics fitted once."""

from __future__ import annotations

import torch

from symgnn.graph import build_graph
from symgnn.models import build_model
from symgnn.descriptors import compute_descriptors
from symgnn.nn.descriptor_input import DescriptorInput
from tests.helpers import random_structure


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


def test_descriptor_mask_replaces_only_the_masked_columns():
    """The explanation hook: a mask of ones changes nothing; a 0 puts the training mean in, or the
    given fill (another atom's raw descriptors)."""
    graph = build_graph(random_structure(150, seed=4), 5.0)
    module = DescriptorInput({}).train()
    module(graph)  # fits the standardisation
    module.eval()
    clean = module(graph)
    graph.descriptor_mask = torch.ones(module.num_features)
    assert torch.equal(module(graph), clean)
    keep = torch.ones(module.num_features)
    keep[[3, 40]] = 0.0
    graph.descriptor_mask = keep
    at_mean = module(graph)
    assert torch.equal(at_mean[:, [3, 40]], torch.zeros(150, 2))
    assert torch.equal(at_mean[:, keep.bool()], clean[:, keep.bool()])
    other = graph.descriptors.roll(1, dims=0)
    graph.descriptor_fill = other
    swapped = module(graph)
    torch.testing.assert_close(swapped[:, [3, 40]], clean.roll(1, dims=0)[:, [3, 40]])
    assert torch.equal(swapped[:, keep.bool()], clean[:, keep.bool()])
