"""SymGNN and its ablations: shapes, learnable symmetrisation, deterministic inference, invariance."""

from __future__ import annotations

import pytest
import torch
from torch_geometric.data import Batch

from symgnn.errors import SymgnnError
from symgnn.graph import build_graph
from symgnn.invariance import invariance_error, transform_graph
from symgnn.models import available_models, build_model
from symgnn.nn.rotations import random_orthogonal
from tests.helpers import random_structure

SMALL = {"width": 8, "heads": [2, 1], "decoder_layers": 1, "dropout": 0.0}


@pytest.fixture(scope="module")
def graph():
    return build_graph(random_structure(60, seed=0), 5.0)


@pytest.mark.parametrize("name", ["symgnn", "symgnn_nosym", "symgnn_aug", "egat_length", "egat_desc"])
def test_output_shape_and_gradients(graph, name):
    model = build_model(name, out_dim=3, **SMALL)
    out = model(graph)
    assert out.shape == (60, 3) and torch.isfinite(out).all()
    out.pow(2).mean().backward()
    missing = [n for n, p in model.named_parameters() if p.requires_grad and (p.grad is None or p.grad.abs().sum() == 0)]
    assert not missing, missing


def test_von_mises_parameters_learn(graph):
    model = build_model("symgnn", **SMALL)
    model(graph).pow(2).mean().backward()
    symmetriser = model.edge_encoder
    assert symmetriser.loc.grad.abs().sum() > 0
    assert symmetriser.log_concentration.grad.abs().sum() > 0


def test_vector_plus_length_input(graph):
    model = build_model("symgnn", edge_input="vector+length", **SMALL)
    assert model(graph).shape == (60, 1)
    assert model.edge_encoder.encoder[0].in_features == 4


def test_vector_gate_starts_from_the_length_and_learns(graph):
    torch.manual_seed(0)
    model = build_model("symgnn", edge_input="vector+length", vector_gate=0.0, **SMALL)
    gate = model.edge_encoder.vector_gate
    assert float(gate.detach()) == 0.0
    model.eval()
    matrix = random_orthogonal(1, torch.Generator().manual_seed(4))[0]
    with torch.no_grad():  # a closed gate leaves only the length: exactly invariant
        assert torch.allclose(model(graph), model(transform_graph(graph, matrix)), atol=1e-5)
    model.train()
    model(graph).pow(2).mean().backward()
    assert gate.grad is not None and gate.grad.abs() > 0
    # Without symmetrised vectors there is nothing to gate: refused, not silently ignored.
    for unused in ({"symmetrise": False}, {"edge_input": "length"}):
        with pytest.raises(SymgnnError, match="vector_gate scales symmetrised edge vectors"):
            build_model("symgnn", vector_gate=0.0, **{**SMALL, **unused})


def test_inference_is_deterministic(graph):
    torch.manual_seed(0)
    model = build_model("symgnn", **SMALL).eval()
    with torch.no_grad():
        assert torch.equal(model(graph), model(graph))


def test_length_model_is_exactly_invariant(graph):
    torch.manual_seed(0)
    model = build_model("egat_length", **SMALL).eval()
    matrix = random_orthogonal(1, torch.Generator().manual_seed(3))[0]
    with torch.no_grad():
        assert torch.allclose(model(graph), model(transform_graph(graph, matrix)), atol=1e-5)


def test_symmetrised_model_is_more_invariant_than_raw(graph):
    torch.manual_seed(0)
    sym = build_model("symgnn", num_draws=16, **SMALL).eval()
    torch.manual_seed(0)
    raw = build_model("symgnn_nosym", **SMALL).eval()
    assert invariance_error(sym, graph, num_transforms=6) < invariance_error(raw, graph, num_transforms=6)


def test_batched_graphs(graph):
    model = build_model("symgnn", **SMALL).eval()
    batch = Batch.from_data_list([graph, graph])
    with torch.no_grad():
        out = model(batch)
        assert out.shape == (120, 1)
        assert torch.allclose(out[:60], model(graph), atol=1e-5)


def test_registry_lists_the_symgnn_family():
    assert {"symgnn", "symgnn_nosym", "symgnn_aug", "egat_length"} <= set(available_models())
