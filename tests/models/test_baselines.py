"""Contract tests for the baseline models: shapes, gradients, batching, invariance."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch_geometric.data import Batch

from symgnn.data.structure import Structure
from symgnn.errors import SymgnnError
from symgnn.graph import build_graph
from symgnn.models import build_model
from symgnn.nn.rotations import random_orthogonal
from tests.helpers import random_structure

BASELINES = ["mlp", "gcn", "gcn_edge", "egnn", "schnet", "mgcn", "faenet", "painn"]
# Models whose output must not change when positions and cell are rotated and reflected together.
INVARIANT = {"schnet": {}, "mgcn": {}, "egnn": {}, "faenet": {"frame_averaging": "all"}, "mlp": {}, "painn": {}}
# Small widths keep the file fast; the architecture is the same as at default size.
SMALL = {
    "mlp": {"hidden": 16},
    "gcn": {"hidden": 16, "num_layers": 2},
    "gcn_edge": {"hidden": 16, "num_layers": 2},
    "egnn": {"hidden": 16, "num_layers": 3},
    "schnet": {"hidden": 16, "num_interactions": 2, "num_gaussians": 10},
    "mgcn": {"hidden": 16, "num_layers": 3, "num_rbf": 10},
    "faenet": {"hidden": 16, "num_layers": 2, "num_rbf": 8},
    "painn": {"hidden": 16, "num_layers": 2, "num_rbf": 8, "descriptors": {}},
}


def rotated(structure: Structure, matrix: np.ndarray) -> Structure:
    """Positions and cell vectors transformed by the orthogonal ``matrix`` (row vectors: x @ Mᵀ)."""
    return Structure(
        numbers=structure.numbers, positions=structure.positions @ matrix.T, cell=structure.cell @ matrix.T,
        pbc=structure.pbc, name=structure.name + "-rotated",
    )


@pytest.fixture(scope="module")
def graph():
    return build_graph(random_structure())


def make(name: str, **extra):
    torch.manual_seed(0)
    return build_model(name, **{**SMALL[name], **extra})


@pytest.mark.parametrize("name", BASELINES)
@pytest.mark.parametrize("out_dim", [1, 3])
def test_shape_and_finite(name, out_dim, graph):
    model = make(name, out_dim=out_dim).eval()
    with torch.no_grad():
        out = model(graph)
    assert out.shape == (graph.num_nodes, out_dim)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("name", BASELINES)
def test_gradients_reach_every_parameter(name, graph):
    extra = {"use_positions": True} if name == "mlp" else {}
    model = make(name, out_dim=2, **extra).train()
    model(graph).square().mean().backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
    assert not missing, f"no (finite) gradient for {missing}"
    zero = [n for n, p in model.named_parameters() if p.grad.abs().sum() == 0]
    assert not zero, f"zero gradient for {zero}"


@pytest.mark.parametrize("name", BASELINES)
def test_batch_of_two_graphs_matches_single(name):
    first, second = build_graph(random_structure(seed=1)), build_graph(random_structure(90, seed=2))
    batch = Batch.from_data_list([first, second])
    model = make(name, **({"frame_averaging": "all"} if name == "faenet" else {})).eval()
    with torch.no_grad():
        together = model(batch)
        apart = torch.cat([model(first), model(second)])
    assert together.shape == (first.num_nodes + second.num_nodes, 1)
    torch.testing.assert_close(together, apart, atol=1e-5, rtol=1e-4)


TRICLINIC = np.array([[12.5, 0.0, 0.0], [2.5, 12.0, 0.0], [-1.5, 2.0, 12.8]])


@pytest.mark.parametrize("name", sorted(INVARIANT))
@pytest.mark.parametrize("cell", [None, TRICLINIC], ids=["orthorhombic", "triclinic"])
def test_invariance_under_rotation_and_reflection(name, cell):
    structure = random_structure(seed=3, cell=cell)
    matrix = random_orthogonal(1, torch.Generator().manual_seed(5))[0].double().numpy()
    if np.linalg.det(matrix) > 0:
        matrix = -matrix  # make sure a reflection is part of the transform
    model = make(name, **INVARIANT[name]).eval()
    with torch.no_grad():
        original = model(build_graph(structure))
        transformed = model(build_graph(rotated(structure, matrix)))
    torch.testing.assert_close(transformed, original, atol=1e-4, rtol=1e-4)


def test_raw_vector_models_are_not_invariant():
    """gcn_edge reads raw edge vectors: rotating the sample must change its output (sanity check)."""
    structure = random_structure(seed=3)
    matrix = random_orthogonal(1, torch.Generator().manual_seed(5))[0].double().numpy()
    model = make("gcn_edge").eval()
    with torch.no_grad():
        difference = (model(build_graph(structure)) - model(build_graph(rotated(structure, matrix)))).abs().max()
    assert difference > 1e-4


def test_faenet_se3_frames_are_rotations():
    from symgnn.nn.frames import pca_frames

    pos = torch.randn(50, 3) * torch.tensor([3.0, 2.0, 1.0])
    frames = pca_frames(pos, group="SE3")[0]
    assert frames.shape == (4, 3, 3)
    torch.testing.assert_close(torch.linalg.det(frames.double()), torch.ones(4, dtype=torch.float64), atol=1e-5, rtol=0)
    assert pca_frames(pos, group="E3").shape == (1, 8, 3, 3)


def test_faenet_random_frames_in_training_differ_from_all():
    graph = build_graph(random_structure(seed=4))
    model = make("faenet", frame_averaging="random")
    model.eval()
    with torch.no_grad():
        exact = model(graph)
    model.train()
    torch.manual_seed(1)
    with torch.no_grad():
        outputs = [model(graph) for _ in range(6)]
    assert any((o - exact).abs().max() > 1e-6 for o in outputs)


def test_painn_dropout_acts_in_training_only(graph):
    model = make("painn", dropout=0.5)
    with torch.no_grad():
        model.train()
        first, second = model(graph), model(graph)
        model.eval()
        third, fourth = model(graph), model(graph)
    assert not torch.allclose(first, second), "dropout 0.5 left training outputs unchanged"
    torch.testing.assert_close(third, fourth)


def test_painn_dropout_out_of_range_is_refused():
    with pytest.raises(SymgnnError, match=r"bad hyper-parameters \(dropout must be in \[0, 1\)"):
        make("painn", dropout=1.0)
