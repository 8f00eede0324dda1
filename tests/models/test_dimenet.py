"""DimeNet++ on the periodic graph: triplets, invariance, per-atom output."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from symgnn.data.structure import Structure
from symgnn.graph import build_graph
from symgnn.models import build_model
from symgnn.models.dimenet import periodic_triplets
from symgnn.nn.rotations import random_orthogonal
from tests.helpers import random_structure

SMALL = {"hidden": 16, "num_blocks": 2, "int_emb_size": 8, "basis_emb_size": 4, "out_emb_channels": 16}


def _brute_force_triplets(graph) -> set[tuple[int, int]]:
    source, target = graph.edge_index.tolist()
    pairs = set()
    for ji in range(len(source)):
        for kj in range(len(source)):
            if target[kj] == source[ji] and float((graph.edge_vec[kj] + graph.edge_vec[ji]).norm()) > 1e-6:
                pairs.add((kj, ji))
    return pairs


def test_triplets_match_brute_force_and_keep_other_images_of_the_same_atom():
    # A 6 Å box with a 5 Å cutoff: atoms meet several images of each other, so a walk k -> j -> i with
    # k the same atom as i but another image is a real triplet and must stay.
    structure = Structure([29, 40, 29], [[0.5, 0.5, 0.5], [2.6, 1.0, 0.7], [1.2, 3.4, 2.0]], np.eye(3) * 6.0, True)
    graph = build_graph(structure, 5.0)
    idx_kj, idx_ji = periodic_triplets(graph.edge_index, graph.edge_vec, graph.num_nodes)
    found = set(zip(idx_kj.tolist(), idx_ji.tolist()))
    assert found == _brute_force_triplets(graph)
    source, target = graph.edge_index
    assert any(int(target[ji]) == int(source[kj]) for kj, ji in found)  # some k is atom i, another image


def _with_random_outputs(model: torch.nn.Module) -> torch.nn.Module:
    """PyG starts the output layers at zero (an output of 0 is invariant trivially): randomise them."""
    torch.manual_seed(1)
    for block in model.net.output_blocks:
        torch.nn.init.normal_(block.lin.weight, std=0.3)
    return model


@pytest.fixture(scope="module")
def model():
    """One small model for the file (PyG builds DimeNet's spherical basis symbolically, which is slow)."""
    torch.manual_seed(0)
    return _with_random_outputs(build_model("dimenet", out_dim=2, **SMALL))


def test_invariant_under_rotation_and_reflection(model):
    structure = random_structure(80, seed=3)
    matrix = -random_orthogonal(1, torch.Generator().manual_seed(2))[0].double().numpy()
    moved = Structure(structure.numbers, structure.positions @ matrix.T, structure.cell @ matrix.T, True)
    model.eval()
    with torch.no_grad():
        original, transformed = model(build_graph(structure)), model(build_graph(moved))
    assert float(original.abs().max()) > 1e-3
    torch.testing.assert_close(transformed, original, atol=1e-3, rtol=1e-3)  # float32 sums of values near 10


def test_per_atom_output_and_gradients(model):
    graph = build_graph(random_structure(60, seed=4))
    model.train()
    out = model(graph)
    assert out.shape == (60, 2) and torch.isfinite(out).all()
    out.square().mean().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
