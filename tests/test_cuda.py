"""The package on a CUDA GPU: every model, the shipped predictor, training and the CLI with ``--device cuda``.

These run only where ``torch.cuda.is_available()`` (CI has no GPU, so they skip there, saying so);
everything else in the suite covers the same code on the CPU. They check that nothing stays on the
CPU by accident (a device mismatch raises) and that the GPU gives the CPU's numbers.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from ase import Atoms
from ase.io import write
from typer.testing import CliRunner

from symgnn.cli.common import read_user_structure
from symgnn.cli.main import app
from symgnn.data import registry
from symgnn.graph import build_graph
from symgnn.models import available_models, build_model
from symgnn.predictor import Predictor
from symgnn.train.config import load_config
from symgnn.train.loop import fit
from tests.helpers import random_structure

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")

ROOT = Path(__file__).resolve().parents[1]
MODELS = [name for name in available_models() if name != "ensemble"]


def _outputs(model: torch.nn.Module, graph, device: str, seed: int = 0) -> torch.Tensor:
    torch.manual_seed(seed)
    with torch.no_grad():
        return model.to(device)(graph.to(device)).cpu()


@pytest.mark.parametrize("name", MODELS)
def test_model_trains_and_matches_cpu_on_cuda(name):
    graph = build_graph(random_structure(num_atoms=150, seed=3))
    torch.manual_seed(0)
    model = build_model(name, out_dim=2).eval()
    cpu = _outputs(model, graph.clone(), "cpu")
    stochastic = not torch.equal(cpu, _outputs(model, graph.clone(), "cpu", seed=1))
    gpu = _outputs(model, graph.clone(), "cuda")
    assert torch.isfinite(gpu).all()
    if not stochastic:  # sampled rotations / frames draw different numbers on the two devices
        assert torch.allclose(gpu, cpu, atol=1e-4, rtol=1e-3), (gpu - cpu).abs().max()
    model.train()
    loss = model(graph.clone().to("cuda")).square().mean()
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad and p.grad is not None]
    assert grads and all(g.is_cuda and torch.isfinite(g).all() for g in grads)


@pytest.mark.parametrize("name", ["schnet", "gcn_edge", "symgnn"])
def test_fixed_mask_predictions_on_cuda_match_cpu(name):
    """Fidelity's masked predictions, for a PyG-route model (SchNet, GCN-edge) and a data-route one:
    the mask, built on the CPU, must reach the GPU in both routes."""
    from symgnn.explain.hooks import predict_with_mask

    graph = build_graph(random_structure(num_atoms=150, seed=3))
    mask = torch.rand(graph.edge_index.shape[1], generator=torch.Generator().manual_seed(0))
    torch.manual_seed(0)
    model = build_model(name).eval()
    cpu = predict_with_mask(model, graph.clone(), mask)
    torch.manual_seed(0)
    gpu = predict_with_mask(model.to("cuda"), graph.clone().to("cuda"), mask).cpu()
    if name != "symgnn":  # sampled rotations draw different numbers on the two devices
        assert torch.allclose(gpu, cpu, atol=1e-4, rtol=1e-3), (gpu - cpu).abs().max()
    assert torch.isfinite(gpu).all()


@pytest.fixture
def glass_file(shared_data, tmp_path) -> Path:
    """The validation sample train6 as an extended-XYZ file with its barriers (a real glass: random
    boxes have overlapping atoms, whose extrapolated predictions differ between devices)."""
    structure = registry.load_sample("train6", shared_data)
    atoms = Atoms(numbers=structure.numbers, positions=structure.positions, cell=structure.cell, pbc=True)
    atoms.arrays["barrier"] = structure.labels
    path = tmp_path / "train6.xyz"
    write(path, atoms, format="extxyz")
    return path


def test_pretrained_predictions_on_cuda_match_cpu(glass_file):
    structure = read_user_structure(glass_file, "barrier", None)
    cpu = Predictor.from_checkpoint("cuzr64", device="cpu").predict(structure)
    gpu = Predictor.from_checkpoint("cuzr64", device="cuda").predict(structure)
    assert np.isfinite(gpu).all()
    assert np.abs(gpu - cpu).max() < 1e-3  # eV; the label spread is 0.3 eV


def _edge_importances(folder: Path) -> list[np.ndarray]:
    """The learned mask of every atom explained into ``folder``, in atom order."""
    return [np.array(json.loads(p.read_text())["edges"]["importance"]) for p in sorted(folder.rglob("explanation.json"))]


def test_cli_predict_and_explain_on_cuda(glass_file, tmp_path):
    runner = CliRunner()
    predicted = runner.invoke(app, ["predict", "cuzr64", str(glass_file), "--out", str(tmp_path / "pred"),
                                    "--device", "cuda", "--label-column", "barrier"])
    assert predicted.exit_code == 0, predicted.output
    assert (tmp_path / "pred" / "train6.xyz").is_file()
    for device in ("cpu", "cuda"):
        explained = runner.invoke(app, ["explain", "cuzr64", str(glass_file), "--atoms", "0,5", "--epochs", "20",
                                        "--top-k", "10", "--sanity-atoms", "1", "--no-figures", "--label-column",
                                        "barrier", "--out", str(tmp_path / device), "--device", device])
        assert explained.exit_code == 0, explained.output
    cpu, gpu = (json.loads((tmp_path / device / "manifest.json").read_text()) for device in ("cpu", "cuda"))
    assert gpu["receptive_field"]["max_deviation_from_full_graph"] < 1e-4
    assert gpu["fidelity"].keys() == cpu["fidelity"].keys()
    masks, reference = _edge_importances(tmp_path / "cuda"), _edge_importances(tmp_path / "cpu")
    assert len(masks) == len(reference) == 2
    for mask, ref in zip(masks, reference):  # same optimisation, float round-off apart
        assert mask.shape == ref.shape and np.corrcoef(mask, ref)[0, 1] > 0.9


def test_training_on_cuda_with_shipped_recipe(shared_data, tmp_path):
    config = load_config(ROOT / "configs" / "cuzr64.yaml")
    config.train.epochs, config.train.max_minutes = 3, None
    result = fit(config, shared_data, tmp_path / "run", device="cuda", progress=False, log=lambda message: None)
    assert result.epochs_run == 3 and np.isfinite(result.best_val_pearson)
    scores = [json.loads(line)["val_pearson"] for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert len(scores) == 3 and max(scores) > 0.2  # the descriptor model learns within a few epochs
    evaluated = CliRunner().invoke(app, ["evaluate", str(tmp_path / "run" / "best.pt"), "--data", str(shared_data),
                                         "--split", "val", "--json", str(tmp_path / "val.json"), "--device", "cuda"])
    assert evaluated.exit_code == 0, evaluated.output
    assert json.loads((tmp_path / "val.json").read_text())["pearson"] == pytest.approx(result.best_val_pearson, abs=1e-3)
