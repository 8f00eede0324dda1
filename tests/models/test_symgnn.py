"""SymGNN and its ablations: shapes, learned symmetrisation that receives gradients, deterministic
inference, invariance that improves with K."""

from __future__ import annotations

import pytest
import torch
from torch_geometric.data import Batch

from symgnn.data.crop import crop_sphere
from symgnn.graph import build_graph
from symgnn.invariance import invariance_error, transform_graph
from symgnn.models import available_models, build_model
from symgnn.errors import SymgnnError
from symgnn.nn.rotations import random_orthogonal
from symgnn.nn.so3_distribution import LearnedO3, ProjectedNormalRotations
from tests.helpers import random_structure

SMALL = {"width": 8, "heads": [2, 1], "decoder_layers": 1, "dropout": 0.0}
FAMILY = ["symgnn", "symgnn_nosym", "symgnn_aug", "symgnn_edgewise", "egat_length", "egat_desc"]


@pytest.fixture(scope="module")
def graph():
    return build_graph(random_structure(60, seed=0), 5.0)


@pytest.mark.parametrize("name", FAMILY)
def test_output_shape_and_gradients(graph, name):
    model = build_model(name, out_dim=3, **SMALL)
    out = model(graph)
    assert out.shape == (60, 3) and torch.isfinite(out).all()
    out.pow(2).mean().backward()
    missing = [n for n, p in model.named_parameters() if p.requires_grad and (p.grad is None or p.grad.abs().sum() == 0)]
    assert not missing, missing


def test_one_training_step_on_a_crop_moves_the_distributions():
    """The paper's symmetrisation learns: a training step on a crop of a structure gives non-zero
    gradients to both distributions' parameters and changes them."""
    crop, _ = crop_sphere(random_structure(400, seed=3), 0, 8.0)
    graph = build_graph(crop, 5.0)
    torch.manual_seed(0)
    model = build_model("symgnn", **SMALL).train()
    before = [p.detach().clone() for p in (model.transforms.rotations.mean, model.transforms.reflections.mean)]
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    loss = (model(graph)[:, 0] - torch.linspace(-1, 1, graph.num_nodes)).pow(2).mean()
    loss.backward()
    for distribution in (model.transforms.rotations, model.transforms.reflections):
        assert distribution.mean.grad is not None and distribution.mean.grad.abs().sum() > 0
    optimiser.step()
    after = (model.transforms.rotations.mean, model.transforms.reflections.mean)
    assert all(not torch.equal(b, a.detach()) for b, a in zip(before, after))


def test_transforms_are_coherent_orthogonal_and_split_into_rotations_and_reflections():
    transforms = LearnedO3(num_draws=3, eval_draws=5).eval()()
    assert transforms.shape == (10, 3, 3)
    eye = torch.eye(3).expand(10, 3, 3)
    assert torch.allclose(transforms @ transforms.transpose(1, 2), eye, atol=1e-5)
    assert torch.allclose(torch.linalg.det(transforms), torch.tensor([1.0] * 5 + [-1.0] * 5), atol=1e-5)
    assert LearnedO3(num_draws=3).train()().shape == (6, 3, 3)


def test_initial_distribution_is_haar():
    """m = 0: quaternions uniform on S^3, so a rotated unit vector is uniform on the sphere
    (E[z^2] = 1/3; Z-Y-Z von Mises Euler angles stay at 1/2)."""
    with torch.no_grad():
        rotations = ProjectedNormalRotations().rsample(20000, torch.Generator().manual_seed(0))
    z = rotations[:, 2, :] @ torch.tensor([0.0, 0.0, 1.0])
    assert abs(float((z**2).mean()) - 1 / 3) < 0.01
    assert abs(float(rotations.mean(0).abs().max())) < 0.02  # E[R] = 0 under Haar


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


def test_invariance_error_falls_with_k(graph):
    """More draws at prediction, a closer average: the error over random O(3) transforms of the input
    falls with eval_draws, and every K beats the raw network."""
    torch.manual_seed(0)
    model = build_model("symgnn", **SMALL)
    errors = []
    for k in (1, 4, 32):
        model.transforms.eval_draws = k
        errors.append(invariance_error(model, graph, num_transforms=6))
    torch.manual_seed(0)
    raw = build_model("symgnn_nosym", **SMALL)
    assert errors[0] > errors[1] > errors[2]
    assert errors[0] < invariance_error(raw, graph, num_transforms=6)


def test_augmented_model_is_plain_at_prediction(graph):
    torch.manual_seed(0)
    aug = build_model("symgnn_aug", **SMALL).eval()
    torch.manual_seed(0)
    raw = build_model("symgnn_nosym", **SMALL).eval()
    with torch.no_grad():
        assert torch.equal(aug(graph), raw(graph))


def test_edgewise_von_mises_parameters_learn(graph):
    model = build_model("symgnn_edgewise", **SMALL)
    model(graph).pow(2).mean().backward()
    symmetriser = model.edge_encoder
    assert symmetriser.loc.grad.abs().sum() > 0
    assert symmetriser.log_concentration.grad.abs().sum() > 0


def test_length_input_is_not_symgnn():
    with pytest.raises(SymgnnError, match="egat_length"):
        build_model("symgnn", edge_input="length", **SMALL)


def test_batched_graphs(graph):
    model = build_model("symgnn", **SMALL).eval()
    batch = Batch.from_data_list([graph, graph])
    with torch.no_grad():
        out = model(batch)
        assert out.shape == (120, 1)
        assert torch.allclose(out[:60], model(graph), atol=1e-5)


def test_registry_lists_the_symgnn_family():
    assert set(FAMILY) <= set(available_models())


def test_init_concentration_starts_near_one_orientation():
    model = build_model("symgnn", init_concentration=10.0, eval_draws=64, **SMALL).eval()
    with torch.no_grad():
        rotations = model.transforms()[:64]
    angle = torch.arccos(((rotations.diagonal(dim1=1, dim2=2).sum(-1) - 1) / 2).clamp(-1, 1))
    assert float(angle.median()) < 0.5  # radians; Haar's median is about 2.3
    with pytest.raises(SymgnnError, match="init_concentration"):
        build_model("symgnn", init_concentration=-1.0, **SMALL)


def test_direction_plus_length_reads_the_unit_vector_and_the_length():
    from symgnn.nn.egat_backbone import edge_input_features

    vectors = torch.tensor([[3.0, 0.0, 4.0], [0.0, -2.0, 0.0]])
    features = edge_input_features(vectors, "direction+length")
    torch.testing.assert_close(features, torch.tensor([[0.6, 0.0, 0.8, 5.0], [0.0, -1.0, 0.0, 2.0]]))
    with pytest.raises(SymgnnError, match="symgnn_edgewise reads"):
        build_model("symgnn_edgewise", edge_input="direction+length", **SMALL)
