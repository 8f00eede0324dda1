"""Checkpoints: written atomically, read without executing code (``weights_only=True``)."""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from symgnn.errors import SymgnnError
from symgnn.io.atomic import atomic_write


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> Path:
    """Write ``payload`` with ``torch.save`` atomically: a crash mid-write never leaves a truncated
    checkpoint, and the previous one survives."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path, "wb") as handle:
        torch.save(payload, handle)
    return path


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a checkpoint written by :func:`save_checkpoint`; anything else is refused clearly.

    ``weights_only=True`` restricts unpickling to tensors and plain containers, so a checkpoint from
    an untrusted source cannot run code.
    """
    path = Path(path)
    if not path.is_file():
        raise SymgnnError(f"{path}: checkpoint not found")
    if not zipfile.is_zipfile(path):
        raise SymgnnError(f"{path}: not a symgnn checkpoint (not a file written by torch.save)")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise SymgnnError(f"{path}: refused: the checkpoint holds objects other than tensors and plain values, "
                          "and loading them could run code") from None
    except Exception as error:  # torch raises many types for corrupt files
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise SymgnnError(f"{path}: not a readable symgnn checkpoint ({first[:200]})") from None
    required = {"model_name", "model_hparams", "state_dict", "label_mean", "label_std", "cutoff"}
    if not isinstance(payload, dict) or not required <= set(payload):
        raise SymgnnError(f"{path}: not a symgnn checkpoint (missing {', '.join(sorted(required - set(payload or {})))})")
    return _renamed_models(payload)


def _renamed_models(payload: dict[str, Any]) -> dict[str, Any]:
    """A checkpoint of a model that has since been renamed, under its current name: ``symgnn`` before
    0.2 symmetrised each edge on its own (von Mises parameters ``edge_encoder.loc``), the model now
    called ``symgnn_edgewise``, whose weights and hyper-parameters it matches."""
    state = payload["state_dict"]
    if payload["model_name"] == "symgnn" and isinstance(state, dict) and "edge_encoder.loc" in state:
        return {**payload, "model_name": "symgnn_edgewise"}
    return payload
