"""Tests of the training-time displacement augmentation."""

from __future__ import annotations

import torch

from symgnn.graph import build_graph
from symgnn.train.augment import displaced_edges
from tests.helpers import random_structure


def test_displacement_is_one_per_atom_and_undone():
    graph = build_graph(random_structure(80, seed=1), 5.0)
    clean = graph.edge_vec.clone()
    torch.manual_seed(0)
    with displaced_edges(graph, 0.1) as noisy:
        moved = noisy.edge_vec.clone()
    assert torch.equal(graph.edge_vec, clean)  # the reused training graph is left clean
    change = moved - clean
    assert 0.05 < float(change.std()) < 0.3  # sqrt(2) * 0.1 Å per component
    # One displacement per atom explains every edge: the same draw, replayed, gives each change.
    source, receiver = graph.edge_index
    torch.manual_seed(0)
    delta = torch.randn_like(graph.pos) * 0.1
    expected = delta[receiver] - delta[source]
    torch.testing.assert_close(change, expected, rtol=0, atol=1e-6)
    # The two directions of a pair move by opposite vectors.
    key = {(int(s), int(r), tuple(graph.edge_shift[e].tolist())): e for e, (s, r) in enumerate(zip(source, receiver))}
    for (s, r, shift), e in list(key.items())[:50]:
        back = key[(r, s, tuple(-x + 0.0 for x in shift))]
        torch.testing.assert_close(change[e], -change[back], rtol=0, atol=1e-6)


def test_zero_noise_changes_nothing():
    graph = build_graph(random_structure(40, seed=2), 5.0)
    clean = graph.edge_vec
    with displaced_edges(graph, 0.0) as same:
        assert same.edge_vec is clean
