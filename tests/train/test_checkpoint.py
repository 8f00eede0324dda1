"""Checkpoints: unsafe, foreign or incomplete files are refused with one line naming the file."""

from __future__ import annotations

import os

import pytest
import torch

from symgnn.errors import SymgnnError
from symgnn.train.checkpoint import load_checkpoint, save_checkpoint


class RunsCode:
    """Unpickling this would call os.system."""

    def __reduce__(self):
        return (os.system, ("touch ran.txt",))


def test_checkpoint_refusals(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    text = tmp_path / "notes.txt"
    text.write_text("not a checkpoint\n")
    with pytest.raises(SymgnnError, match="notes.txt: not a symgnn checkpoint"):
        load_checkpoint(text)
    unsafe = tmp_path / "unsafe.pt"
    torch.save({"model_name": RunsCode()}, unsafe)
    with pytest.raises(SymgnnError, match="unsafe.pt: refused") as error:
        load_checkpoint(unsafe)
    assert "weights_only" not in str(error.value)  # no advice to switch the safety off
    assert not (tmp_path / "ran.txt").exists()
    partial = save_checkpoint(tmp_path / "partial.pt", {"model_name": "painn", "state_dict": {}})
    with pytest.raises(SymgnnError, match="missing .*label_mean"):
        load_checkpoint(partial)
    with pytest.raises(SymgnnError, match="missing.pt: checkpoint not found"):
        load_checkpoint(tmp_path / "missing.pt")


def test_a_per_edge_symgnn_checkpoint_of_before_0_2_loads_as_symgnn_edgewise(tmp_path):
    """``symgnn`` before 0.2 was the per-edge reading; its checkpoints load as ``symgnn_edgewise``."""
    import torch

    from symgnn.models import build_model
    from symgnn.predictor import Predictor
    from symgnn.train.checkpoint import save_checkpoint

    hparams = {"width": 8, "heads": [2, 1], "decoder_layers": 1, "edge_input": "vector+length", "vector_gate": 0.0}
    old = build_model("symgnn_edgewise", **hparams)
    path = save_checkpoint(tmp_path / "old.pt", {"model_name": "symgnn", "model_hparams": hparams,
                                                 "state_dict": old.state_dict(), "label_mean": 1.6, "label_std": 0.3,
                                                 "cutoff": 5.0})
    predictor = Predictor.from_checkpoint(path)
    assert predictor.model_name == "symgnn_edgewise"
    assert all(torch.equal(a, b) for a, b in zip(old.state_dict().values(), predictor.model.state_dict().values()))
