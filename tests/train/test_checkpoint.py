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
