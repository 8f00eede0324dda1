"""Combine finished runs of one recipe (different seeds) into a single seed-ensemble checkpoint."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from symgnn.errors import SymgnnError
from symgnn.train.checkpoint import load_checkpoint, save_checkpoint


def _check_compatible(paths: list[Path], payloads: list[dict[str, Any]]) -> None:
    """Members must be one model (name, hyper-parameters), one label scaling and one graph cutoff."""
    for path, payload in zip(paths, payloads):
        if payload["model_name"] == "ensemble":
            raise SymgnnError(f"{path}: already an ensemble; combine the members' own checkpoints")
    first = payloads[0]
    for path, payload in zip(paths[1:], payloads[1:]):
        for key in ("model_name", "model_hparams", "cutoff"):
            if payload[key] != first[key]:
                raise SymgnnError(f"{path}: {key} {payload[key]!r} differs from {paths[0]} ({first[key]!r})")
        for key in ("label_mean", "label_std"):
            if not math.isclose(float(payload[key]), float(first[key]), rel_tol=1e-5):
                raise SymgnnError(f"{path}: {key} {payload[key]:.6g} differs from {paths[0]} ({first[key]:.6g}): "
                                  "members must be trained on the same data")


def _check_distinct(paths: list[Path], payloads: list[dict[str, Any]]) -> None:
    """Refuse the same run twice (one file, or two runs of one seed): it would weigh one model double
    and average nothing."""
    seen: dict[Any, Path] = {}
    for path, payload in zip(paths, payloads):
        seed = payload.get("config", {}).get("train", {}).get("seed")
        for key, what in (((path.resolve(),), "is the same file as"), (("seed", seed), "was trained with the same seed as")):
            if key[-1] is None:
                continue
            if key in seen:
                raise SymgnnError(f"{path}: {what} {seen[key]}; an ensemble combines runs of different seeds")
            seen[key] = path


def combine_checkpoints(paths: list[str | Path], out: str | Path) -> Path:
    """Write to ``out`` an ``ensemble`` checkpoint whose members are the models of ``paths``.

    The result loads like any checkpoint (``Predictor.from_checkpoint``) and predicts the mean of the
    members. Each member's origin, seed, epoch and validation Pearson are kept under ``members``.
    """
    from symgnn.predictor import resolve_checkpoint

    paths = [resolve_checkpoint(p) for p in paths]  # files, or the names of shipped models
    if len(paths) < 2:
        raise SymgnnError("an ensemble needs at least two checkpoints")
    payloads = [load_checkpoint(p) for p in paths]
    _check_compatible(paths, payloads)
    _check_distinct(paths, payloads)
    first = payloads[0]
    state = {f"members.{k}.{name}": tensor for k, payload in enumerate(payloads) for name, tensor in payload["state_dict"].items()}
    members = [
        {
            "source": str(path),
            "seed": int(payload.get("config", {}).get("train", {}).get("seed", -1)),
            "epoch": int(payload.get("epoch", -1)),
            "best_val_pearson": float(payload.get("best_val_pearson", math.nan)),
        }
        for path, payload in zip(paths, payloads)
    ]
    combined = {
        "model_name": "ensemble",
        "model_hparams": {"member": first["model_name"], "member_hparams": first["model_hparams"], "size": len(paths)},
        "state_dict": state,
        "label_mean": first["label_mean"],
        "label_std": first["label_std"],
        "cutoff": first["cutoff"],
        "config": first.get("config", {}),
        "members": members,
        # what the members trained and were validated on (the same for all: their label scaling agrees)
        **{key: first[key] for key in ("species", "train_names", "val_names", "trained_on_bulk") if key in first},
    }
    return save_checkpoint(out, combined)
