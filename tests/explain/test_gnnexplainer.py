"""The regression GNNExplainer: objective, batching, both mask routes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from symgnn.explain.gnnexplainer import ExplainConfig, explain_atoms, explain_fields
from symgnn.explain.hooks import ExplainableModel, predict_with_mask
from symgnn.explain.subgraph import receptive_field
from tests.explain.conftest import ZrNeighbourModel, tiny


def test_ones_mask_is_identity_and_zeros_silence_edges(graph):
    for name in ("symgnn", "schnet"):
        model = tiny(name)
        with torch.no_grad():
            full = model(graph)[:, 0]
        ones = predict_with_mask(model, graph, torch.ones(graph.edge_index.shape[1]))
        assert torch.allclose(ones, full, atol=1e-5)
        zeros = predict_with_mask(model, graph, torch.zeros(graph.edge_index.shape[1]))
        assert not torch.allclose(zeros, full, atol=1e-3)


def test_adapter_matches_model(graph):
    model = tiny("symgnn")
    adapter = ExplainableModel(model)
    with torch.no_grad():
        out = adapter(graph.z.unsqueeze(-1), graph.edge_index, **ExplainableModel.inputs_of(graph))
        assert torch.allclose(out, model(graph)[:, 0])


@pytest.mark.parametrize("name", ["symgnn", "schnet", "painn_desc"])
def test_explanations_keep_prediction_and_are_sparse(graph, name):
    model = tiny(name)
    results = explain_atoms(model, graph, [0, 11], ExplainConfig(epochs=60, lr=0.1))
    assert [r.field.atom for r in results] == [0, 11]
    for r in results:
        assert r.mask.shape == (r.field.num_edges,)
        assert 0 <= r.mask.min() and r.mask.max() <= 1
        # Masked prediction stays near the unmasked one (the Eq. 6 fit term) ...
        assert abs(r.masked_prediction - r.prediction) < 0.5
        # ... while the size penalty drives most of the mask down from its start near 0.5.
        assert np.median(r.mask) < 0.4


def test_schnet_with_a_shorter_cutoff_than_the_graph_is_explained(graph):
    """SchNet ignores the graph's edges beyond its own cutoff without dropping them, so PyG's edge
    mask stays aligned with the graph; the model runs normally afterwards (no masks left behind)."""
    model = tiny("schnet", cutoff=3.0)
    assert bool((graph.edge_vec.norm(dim=-1) > 3.0).any())
    with torch.no_grad():
        before = model(graph)
    results = explain_atoms(model, graph, [0], ExplainConfig(epochs=5, lr=0.1))
    assert results[0].mask.shape == (results[0].field.num_edges,)
    with torch.no_grad():
        assert torch.equal(model(graph), before)


def test_batching_gives_the_same_masks(graph, monkeypatch):
    """With equal initial logits, a batch of fields and one-at-a-time runs learn the same masks."""
    from torch.nn import Parameter

    from symgnn.explain.gnnexplainer import PerAtomGNNExplainer

    def zero_init(self, node_mask_type, edge_mask_type, N, F, E, device):
        self.node_mask = None
        self.edge_mask = Parameter(torch.zeros(E, device=device))

    monkeypatch.setattr(PerAtomGNNExplainer, "_initialize_homogeneous_masks", zero_init)
    model = tiny("symgnn")
    fields = [receptive_field(graph, a, 2) for a in (1, 2, 3)]
    together = explain_fields(model, fields, ExplainConfig(epochs=15, batch_size=3))
    singles = [explain_fields(model, [f], ExplainConfig(epochs=15, batch_size=1))[0] for f in fields]
    for t, s in zip(together, singles):
        assert np.allclose(t.mask, s.mask, atol=1e-4)
        assert t.prediction == pytest.approx(s.prediction, abs=1e-5)


def test_mask_prefers_edges_into_the_target(graph):
    model = tiny("symgnn")
    (r,) = explain_atoms(model, graph, [4], ExplainConfig(epochs=60))
    source, target = r.field.data.edge_index.numpy()
    into = target == r.field.center
    assert r.mask[into].mean() > r.mask[~into].mean()


def test_recovers_the_edges_a_known_model_uses(graph):
    """Edges that carry the output (Zr neighbours within 3.2 Å of the target) get high importance,
    every other edge low importance."""
    model = ZrNeighbourModel()
    atoms = [a for a in range(40) if float(model(graph)[a, 0]) > 0.3][:3]
    assert atoms
    for r in explain_atoms(model, graph, atoms, ExplainConfig(epochs=100, lr=0.1)):
        source, target = r.field.data.edge_index.numpy()
        length = r.field.data.edge_vec.norm(dim=-1).numpy()
        used = (target == r.field.center) & (r.field.data.z.numpy()[source] == 40) & (length < 3.2)
        assert used.any()
        assert r.mask[used].min() > r.mask[~used].max()
        assert r.mask[used].mean() > 0.6 and r.mask[~used].max() < 0.2
