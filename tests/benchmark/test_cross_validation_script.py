"""``benchmarks/cross_validation.py --ensemble``: a seed ensemble of finished cross-validations, scored
fold by fold like a single run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import torch

from symgnn.metrics import pearson
from symgnn.predictor import PRETRAINED_DIR, Predictor
from symgnn.train.checkpoint import save_checkpoint

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "cross_validation.py"
CONFIG = Path(__file__).resolve().parents[2] / "configs" / "cuzr64.yaml"


def member_checkpoints(out: Path) -> list[Path]:
    """The shipped ensemble's two members as single-model checkpoints, each placed as the final model
    (``last.pt``) of fold 5 (train6 held out) in a cross-validation directory of its own."""
    shipped = torch.load(PRETRAINED_DIR / "cuzr64.pt", map_location="cpu", weights_only=True)
    hparams = shipped["model_hparams"]
    paths = []
    for k in range(hparams["size"]):
        prefix = f"members.{k}."
        state = {name[len(prefix):]: t for name, t in shipped["state_dict"].items() if name.startswith(prefix)}
        payload = {key: shipped[key] for key in ("label_mean", "label_std", "cutoff", "config", "species")}
        payload.update(model_name=hparams["member"], model_hparams=hparams["member_hparams"], state_dict=state)
        paths.append(save_checkpoint(out / f"seed{k}" / "fold5-train6" / "last.pt", payload))
    return paths


def test_ensemble_of_finished_folds_scores_like_the_ensemble_checkpoint(shared_data, tmp_path):
    member_checkpoints(tmp_path)
    command = [sys.executable, str(SCRIPT), "--config", str(CONFIG), "--data", str(shared_data), "--threads", "2",
               "--folds", "5", "--out", str(tmp_path / "ens"), "--ensemble", str(tmp_path / "seed0"), str(tmp_path / "seed1")]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((tmp_path / "ens" / "cv_ensemble.json").read_text())
    assert list(report["folds"]) == ["train6"] and len(report["ensemble_of"]) == 2
    assert sorted(p.name for p in (tmp_path / "ens").iterdir()) == ["cv_ensemble.json"]  # nothing else left behind
    from symgnn.data.registry import load_sample

    structure = load_sample("train6", shared_data)
    expected = pearson(Predictor.from_checkpoint("cuzr64").predict(structure), structure.labels)
    assert abs(report["folds"]["train6"] - expected) < 1e-6


def test_missing_fold_run_is_one_error_line(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    command = [sys.executable, str(SCRIPT), "--config", str(CONFIG), "--folds", "1", "--out", str(tmp_path / "ens"),
               "--ensemble", str(tmp_path / "a"), str(tmp_path / "b")]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [f"error: {tmp_path / 'a' / 'fold1-train2'}: no finished fold run (last.pt) for the ensemble"]


def _script(name: str):
    """A benchmark script imported as a module (benchmarks/ is not a package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, SCRIPT.parent / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_fold_budget_is_the_configs_own_unless_overridden(monkeypatch):
    from symgnn.train.config import load_config

    monkeypatch.syspath_prepend(str(SCRIPT.parent))  # recipes.py imports its sibling training_cost.py
    cv, base = _script("cross_validation"), load_config(CONFIG)
    own = cv.fold_config(base, ["train6"], None, seed=1)
    assert (own.train.epochs, own.train.max_minutes, own.train.seed) == (205, 30, 1)
    assert cv.budget_record(own) == {"epochs_per_fold": 205, "minutes_per_fold": 30}
    clock = cv.fold_config(base, ["train6"], 10.0, seed=0)
    assert clock.train.max_minutes == 10.0 and cv.budget_record(clock) == {"minutes_per_fold": 10.0}
    epochs = cv.fold_config(base, ["train6"], None, seed=0, epochs=50)
    assert epochs.train.max_minutes is None and cv.budget_record(epochs) == {"epochs_per_fold": 50}
    assert own.data.train == ["train0", "train1", "train2", "train3", "train4", "train5"] and own.data.val == ["train6"]
    text = _script("recipes").cv_text({"mean": 0.7, "std": 0.03, "folds": {"a": 1}, "seed": 0, **cv.budget_record(own)})
    assert "205 epochs, at most 30 min" in text
