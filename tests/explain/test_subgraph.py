"""Receptive fields: exact predictions, periodic unwrapping, batching."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from symgnn.errors import SymgnnError
from symgnn.explain.gnnexplainer import check_exact, field_predictions
from symgnn.explain.hooks import mask_route, receptive_hops
from symgnn.explain.subgraph import batch_fields, receptive_field, saturation_hops
from tests.explain.conftest import tiny


@pytest.mark.parametrize("name", ["symgnn", "egat_length", "egat_desc", "painn_desc", "schnet", "egnn", "ensemble"])
def test_field_prediction_equals_full_graph(graph, name):
    """Cutting to the receptive field changes no target's prediction; descriptor inputs (egat_desc,
    and painn_desc inside an ensemble like the shipped model) come from the whole structure
    (prepare_graph), not from the cut."""
    from symgnn.explain.gnnexplainer import prepare_graph

    model = tiny(name)
    prepare_graph(model, graph)
    hops = receptive_hops(model)
    assert hops == 2
    fields = [receptive_field(graph, a, hops) for a in (0, 7, 42)]
    assert all(f.num_edges < graph.edge_index.shape[1] for f in fields)
    assert check_exact(model, graph, fields, atol=1e-5) <= 1e-5


def test_one_hop_too_few_is_detected(graph):
    model = tiny("symgnn")
    fields = [receptive_field(graph, a, 1) for a in (0, 7)]
    with pytest.raises(SymgnnError, match="differs from the full graph"):
        check_exact(model, graph, fields)


def test_saturation_hops_is_where_fields_stop_growing(graph):
    """At saturation_hops the fields hold all they ever will (more hops add nothing); one hop fewer,
    some field still lacks edges."""
    atoms = [0, 7, 42]
    hops = saturation_hops(graph, atoms)
    fields = [receptive_field(graph, a, hops) for a in atoms]
    assert all(np.array_equal(f.edges, receptive_field(graph, f.atom, hops + 3).edges) for f in fields)
    assert all(f.num_edges == graph.edge_index.shape[1] for f in fields)  # a periodic box is one connected piece
    assert any(receptive_field(graph, f.atom, hops - 1).num_edges < f.num_edges for f in fields)
    assert saturation_hops(graph, atoms[:1]) <= hops


def test_field_edges_are_the_computation_graph(graph):
    field = receptive_field(graph, 5, 2)
    source, target = graph.edge_index.numpy()
    hop1 = set(source[target == 5])
    expected = {e for e in range(len(target)) if target[e] == 5 or target[e] in hop1}
    assert set(field.edges.tolist()) == expected
    assert field.nodes[field.center] == 5 and field.hops[field.center] == 0


def test_offsets_unwrap_periodic_images(graph):
    field = receptive_field(graph, 0, 2)
    source, target = field.data.edge_index.numpy()
    # In a 13 Å box a 2-hop field reaches across the boundary; offsets follow the edge vectors, so the
    # target's neighbours sit exactly at their edge vectors and nothing is left unplaced.
    into_center = target == field.center
    assert np.allclose(field.offsets[source[into_center]], field.data.edge_vec[into_center].numpy(), atol=1e-5)
    assert not np.isnan(field.offsets).any()
    assert field.distances.max() <= 2 * 4.0 + 1e-4


def test_batch_fields_indexes_targets(graph):
    model = tiny("symgnn")
    fields = [receptive_field(graph, a, 2) for a in (3, 9)]
    batch, centers, group = batch_fields(fields)
    assert batch.z[centers].tolist() == [int(graph.z[3]), int(graph.z[9])]
    assert group.tolist().count(1) == fields[1].num_edges
    with torch.no_grad():
        full = model(graph)[:, 0].numpy()
    assert np.allclose(field_predictions(model, fields), full[[3, 9]], atol=1e-5)


def test_mask_route():
    assert mask_route(tiny("symgnn")) == "data"
    assert mask_route(tiny("schnet")) == "pyg"
    with pytest.raises(SymgnnError, match="cannot be explained"):
        mask_route(tiny("egnn"))


def test_descriptors_computed_on_the_cut_are_caught(graph):
    """Without prepare_graph, a descriptor model would compute its inputs on the cut structure, where
    the field's outer atoms miss neighbours: the exactness check refuses that."""
    model = tiny("egat_desc")
    fields = [receptive_field(graph, a, 2) for a in (0, 7)]
    assert "descriptors" not in fields[0].data
    with pytest.raises(SymgnnError, match="differs from the full graph"):
        check_exact(model, graph, fields)
