"""Seed ensembles: combined checkpoints predict the mean of their members, and refuse mismatches."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from symgnn.cli.main import app
from symgnn.errors import SymgnnError
from symgnn.explain.hooks import receptive_hops
from symgnn.models import build_model
from symgnn.predictor import Predictor
from symgnn.train.checkpoint import load_checkpoint, save_checkpoint
from symgnn.train.ensemble import combine_checkpoints
from tests.helpers import random_structure

HPARAMS = {"hidden": 8, "num_layers": 2, "num_rbf": 8}


def _member(path, seed, hparams=HPARAMS, label_mean=1.5):
    torch.manual_seed(seed)
    model = build_model("painn", **hparams)
    payload = {"model_name": "painn", "model_hparams": dict(hparams), "state_dict": model.state_dict(),
               "label_mean": label_mean, "label_std": 0.3, "cutoff": 4.0,
               "config": {"train": {"seed": seed}}, "epoch": 3 + seed, "best_val_pearson": 0.5 + seed / 10}
    return save_checkpoint(path, payload)


def test_ensemble_predicts_the_mean_of_its_members(tmp_path):
    paths = [_member(tmp_path / f"m{seed}.pt", seed) for seed in range(3)]
    combined = combine_checkpoints(paths, tmp_path / "ensemble.pt")
    structure = random_structure(80, seed=2)
    members = np.stack([Predictor.from_checkpoint(p).predict(structure) for p in paths])
    assert np.ptp(members, axis=0).max() > 1e-3  # the members really differ
    predictor = Predictor.from_checkpoint(combined)
    np.testing.assert_allclose(predictor.predict(structure), members.mean(0), rtol=1e-5, atol=1e-6)
    saved = load_checkpoint(combined)
    assert [m["seed"] for m in saved["members"]] == [0, 1, 2]
    assert saved["model_hparams"]["size"] == 3
    # The ensemble is one model to the explainer: it reads edge masks and keeps the members' depth.
    assert predictor.model.supports_edge_mask and receptive_hops(predictor.model) == 2


def test_ensemble_refuses_members_that_differ(tmp_path):
    first = _member(tmp_path / "a.pt", 0)
    with pytest.raises(SymgnnError, match="b.pt: model_hparams"):
        combine_checkpoints([first, _member(tmp_path / "b.pt", 1, {**HPARAMS, "hidden": 16})], tmp_path / "e.pt")
    with pytest.raises(SymgnnError, match="c.pt: label_mean"):
        combine_checkpoints([first, _member(tmp_path / "c.pt", 1, label_mean=2.0)], tmp_path / "e.pt")
    with pytest.raises(SymgnnError, match="at least two"):
        combine_checkpoints([first], tmp_path / "e.pt")
    # One run twice, or two runs of one seed, would average nothing.
    with pytest.raises(SymgnnError, match=r"a\.pt: is the same file as .*a\.pt"):
        combine_checkpoints([first, tmp_path / "." / "a.pt"], tmp_path / "e.pt")
    with pytest.raises(SymgnnError, match=r"d\.pt: was trained with the same seed as .*a\.pt"):
        combine_checkpoints([first, _member(tmp_path / "d.pt", 0)], tmp_path / "e.pt")
    # Shipped models are found by name (and are ensembles already).
    with pytest.raises(SymgnnError, match=r"pretrained/cuzr64\.pt: already an ensemble"):
        combine_checkpoints(["cuzr64", "cuzr64-split"], tmp_path / "e.pt")
    assert not (tmp_path / "e.pt").exists()


def test_ensemble_command_keeps_existing_files(tmp_path):
    paths = [str(_member(tmp_path / f"m{seed}.pt", seed)) for seed in range(2)]
    out = tmp_path / "ensemble.pt"
    runner = CliRunner()
    result = runner.invoke(app, ["ensemble", *paths, "--out", str(out)])
    assert result.exit_code == 0, result.output
    before = out.read_bytes()
    again = runner.invoke(app, ["ensemble", *paths, "--out", str(out)])
    assert again.exit_code != 0 and "already exists" in str(again.exception)
    assert out.read_bytes() == before
    folder = tmp_path / "folder"
    folder.mkdir()
    into_folder = runner.invoke(app, ["ensemble", *paths, "--out", str(folder), "--overwrite"])
    assert str(into_folder.exception) == f"{folder}: is a directory; give a file name"
