"""Tests of compiled training steps (``train.compile``) and their fallback to the plain model."""

from __future__ import annotations

import shutil

import pytest
import torch

from symgnn.graph import build_graph
from symgnn.models import build_model
from symgnn.train.augment import displaced_edges
from symgnn.train.compiled import TrainingForward
from tests.helpers import random_structure

needs_compiler = pytest.mark.skipif(
    shutil.which("c++") is None and shutil.which("g++") is None,
    reason="torch.compile on CPU needs a C++ compiler (c++ or g++ on PATH); none found",
)


def two_structure_files(tmp_path, seeds=(2, 3), size=70):
    """Two small labelled structure files, ``a.xyz`` (training) and ``b.xyz`` (validation)."""
    from symgnn.io.write import write_predictions

    for name, seed in zip("ab", seeds):
        write_predictions(random_structure(size, seed=seed), {}, tmp_path, name)
    return tmp_path / "a.xyz", tmp_path / "b.xyz"


@needs_compiler
@pytest.mark.slow
def test_compiled_step_computes_what_the_plain_model_does():
    """Forward and gradients agree with the plain model, also when displaced atoms push edges past the
    cutoff (the plain model drops them, the compiled one keeps them at weight 0); descriptors are
    computed and standardised inside the compiled call; shapes change from structure to structure
    without falling back."""
    torch.manual_seed(0)
    model = build_model("painn_desc", hidden=8, num_layers=2, out_dim=2).train()
    logged: list[str] = []
    forward = TrainingForward(model, enabled=True, log=logged.append)
    for seed, size in ((1, 60), (2, 75)):
        graph = build_graph(random_structure(size, seed=seed), 5.0)
        torch.manual_seed(seed)
        with displaced_edges(graph, 0.3):
            assert bool((graph.edge_vec.norm(dim=-1) >= 5.0).any())  # some edges now lie past the cutoff
            model.zero_grad()
            compiled = forward(graph)  # the first call also computes the descriptors and their statistics
            compiled.square().sum().backward()
            compiled_grads = [p.grad.clone() for p in model.parameters()]
            model.zero_grad()
            plain = model(graph)
            plain.square().sum().backward()
        torch.testing.assert_close(compiled, plain, rtol=1e-4, atol=1e-5)
        for got, expected in zip(compiled_grads, (p.grad for p in model.parameters())):
            torch.testing.assert_close(got, expected, rtol=1e-3, atol=1e-5)
    assert forward.compiled is not None and not logged  # compiled, no fallback


def test_failed_compilation_falls_back_with_one_log_line(monkeypatch):
    def broken(module, **_):
        def call(*args, **kwargs):
            raise RuntimeError("no working C++ compiler\nmore detail")
        return call

    monkeypatch.setattr(torch, "compile", broken)
    model = build_model("painn", hidden=8, num_layers=1, out_dim=1)
    graph = build_graph(random_structure(40, seed=3), 5.0)
    logged: list[str] = []
    forward = TrainingForward(model, enabled=True, log=logged.append)
    torch.testing.assert_close(forward(graph), model(graph))
    assert logged == ["torch.compile failed (RuntimeError: no working C++ compiler); training goes on without it"]
    forward(graph)
    assert len(logged) == 1 and forward.compiled is None


def test_disabled_is_the_plain_model():
    model = build_model("painn", hidden=8, num_layers=1, out_dim=1)
    forward = TrainingForward(model, enabled=False)
    assert forward.compiled is None
    graph = build_graph(random_structure(40, seed=4), 5.0)
    torch.testing.assert_close(forward(graph), model(graph))


@needs_compiler
@pytest.mark.slow
def test_compiled_training_resumes_exactly(tmp_path):
    """``train.compile`` through :func:`fit`: no fallback, and a resumed run matches an unbroken one."""
    from symgnn.train.config import config_from_dict
    from symgnn.train.loop import fit

    train, val = two_structure_files(tmp_path)

    def config(epochs: int):
        return config_from_dict({
            "data": {"train": [str(train)], "val": [str(val)], "label_column": "barrier"},
            "model": {"name": "painn_desc", "hidden": 8, "num_layers": 1},
            "train": {"epochs": epochs, "lr": 0.01, "position_noise": 0.1, "compile": True},
        })

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        logged: list[str] = []
        fit(config(3), None, tmp_path / "whole", progress=False, log=logged.append)
        fit(config(2), None, tmp_path / "split", progress=False, log=logged.append)
        fit(config(3), None, tmp_path / "split", resume=True, progress=False, log=logged.append)
    finally:
        torch.set_num_threads(threads)
    assert not [line for line in logged if "torch.compile failed" in line]
    whole, split = (torch.load(tmp_path / name / "last.pt", weights_only=True)["state_dict"] for name in ("whole", "split"))
    assert all(torch.equal(whole[key], split[key]) for key in whole)


@needs_compiler
@pytest.mark.slow
def test_cli_compile_flag_overrides_the_config(tmp_path):
    """``symgnn train --compile`` turns compilation on for a config without it, records it in the run's
    config and trains without falling back; ``--no-compile`` turns it off."""
    import yaml
    from typer.testing import CliRunner

    from symgnn.cli.main import app

    train, val = two_structure_files(tmp_path, seeds=(4, 5), size=60)
    path = tmp_path / "plain.yaml"
    path.write_text(yaml.safe_dump({
        "data": {"train": [str(train)], "val": [str(val)], "label_column": "barrier"},
        "model": {"name": "painn_desc", "hidden": 8, "num_layers": 1},
        "train": {"epochs": 1, "compile": False},
    }))
    runner = CliRunner()
    for flag, expected in (("--compile", True), ("--no-compile", False)):
        run = tmp_path / flag.strip("-")
        result = runner.invoke(app, ["train", "--config", str(path), "--out", str(run), "--quiet", flag])
        assert result.exit_code == 0, result.output
        assert "torch.compile failed" not in result.output
        assert yaml.safe_load((run / "config.yaml").read_text())["train"]["compile"] is expected
