"""``benchmarks/cross_validation.py --ensemble``: a seed ensemble of finished cross-validations, scored
fold by fold like a single run."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from symgnn.metrics import pearson
from symgnn.predictor import PRETRAINED_DIR, Predictor
from symgnn.train.checkpoint import save_checkpoint
from tests.helpers import benchmark_script

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "cross_validation.py"
CONFIG = Path(__file__).resolve().parents[2] / "configs" / "cuzr64.yaml"


def member_checkpoints(out: Path) -> list[Path]:
    """The paper-split ensemble's two members (``cuzr64-split``, trained without train6) as single-model
    checkpoints, each placed as the final model (``last.pt``) of fold 5 (train6 held out) in a
    cross-validation directory of its own."""
    shipped = torch.load(PRETRAINED_DIR / "cuzr64-split.pt", map_location="cpu", weights_only=True)
    hparams = shipped["model_hparams"]
    paths = []
    for k in range(hparams["size"]):
        prefix = f"members.{k}."
        state = {name[len(prefix):]: t for name, t in shipped["state_dict"].items() if name.startswith(prefix)}
        payload = {key: shipped[key] for key in ("label_mean", "label_std", "cutoff", "species")}
        payload["config"] = copy.deepcopy(shipped["config"])
        payload["config"]["train"]["seed"] = shipped["members"][k]["seed"]  # the seed each member trained with
        payload.update(model_name=hparams["member"], model_hparams=hparams["member_hparams"], state_dict=state)
        paths.append(save_checkpoint(out / f"seed{k}" / "fold5-train6" / "last.pt", payload))
    return paths


def test_ensemble_of_finished_folds_scores_like_the_ensemble_checkpoint(shared_data, tmp_path):
    paths = member_checkpoints(tmp_path)
    command = [sys.executable, str(SCRIPT), "--config", str(CONFIG), "--data", str(shared_data), "--threads", "2",
               "--folds", "5", "--out", str(tmp_path / "ens"), "--ensemble", str(tmp_path / "seed0"), str(tmp_path / "seed1")]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((tmp_path / "ens" / "cv_ensemble.json").read_text())
    assert list(report["folds"]) == ["train6"] and len(report["ensemble_of"]) == 2
    assert sorted(p.name for p in (tmp_path / "ens").iterdir()) == ["cv_ensemble.json"]  # nothing else left behind
    from symgnn.data.registry import load_sample

    structure = load_sample("train6", shared_data)
    expected = pearson(Predictor.from_checkpoint("cuzr64-split").predict(structure), structure.labels)
    assert abs(report["folds"]["train6"] - expected) < 1e-6
    # Each member's own score, from the same final models, and their spread over seeds.
    singles = [pearson(Predictor.from_checkpoint(path).predict(structure), structure.labels) for path in paths]
    runs = report["single_runs"]["runs"]
    assert [run["cv_dir"] for run in runs] == [str(tmp_path / "seed0"), str(tmp_path / "seed1")]
    assert [run["seed"] for run in runs] == [0, 1]
    assert [run["folds"]["train6"] for run in runs] == pytest.approx(singles, abs=1e-6)
    spread = report["single_runs"]["over_seeds"]
    assert spread["mean"]["mean"] == pytest.approx(np.mean(singles), abs=1e-6)
    assert spread["mean"]["std"] == pytest.approx(np.std(singles, ddof=1), abs=1e-6)
    assert spread["folds"]["train6"]["mean"] == pytest.approx(np.mean(singles), abs=1e-6)
    assert len(set(singles)) == 2 and expected > max(singles)  # two different members; averaging them helps here
    assert "single runs over 2 seeds: per fold" in result.stdout


def test_missing_fold_run_is_one_error_line(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    command = [sys.executable, str(SCRIPT), "--config", str(CONFIG), "--folds", "1", "--out", str(tmp_path / "ens"),
               "--ensemble", str(tmp_path / "a"), str(tmp_path / "b")]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [f"error: {tmp_path / 'a' / 'fold1-train2'}: no finished fold run (last.pt) for the ensemble"]


def test_ensemble_of_one_seed_twice_is_one_error_line(tmp_path):
    member_checkpoints(tmp_path)
    command = [sys.executable, str(SCRIPT), "--config", str(CONFIG), "--folds", "5", "--out", str(tmp_path / "ens"),
               "--ensemble", str(tmp_path / "seed0"), str(tmp_path / "seed0")]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode != 0
    fold = tmp_path / "seed0" / "fold5-train6"
    assert result.stderr.strip().splitlines() == [
        f"error: {fold}: trained with seed 0, as was {fold}; a seed ensemble needs runs of different seeds"]
    assert not (tmp_path / "ens" / "cv_ensemble.json").exists()


def test_finished_fold_is_reported_with_its_timing_and_refused_under_another_seed(shared_data, tmp_path):
    """A fold run found in --out is read, not retrained: its score and its own epochs and seconds go
    into cv.json, but only under the seed it was trained with."""
    path = member_checkpoints(tmp_path)[0]
    fold = path.parent
    shutil.copy(path, fold / "best.pt")
    (fold / "summary.json").write_text(json.dumps({"epochs_run": 205, "seconds": 900.5, "best_epoch": 150}))
    base = [sys.executable, str(SCRIPT), "--config", str(CONFIG), "--data", str(shared_data), "--folds", "5",
            "--out", str(tmp_path / "seed0")]
    wrong = subprocess.run(base + ["--seed", "1"], capture_output=True, text=True, check=False)
    assert wrong.returncode != 0
    assert wrong.stderr.strip().splitlines() == [f"error: {fold}: trained with seed 0, not --seed 1; give --seed 0 or another --out"]
    assert not (tmp_path / "seed0" / "cv.json").exists()
    right = subprocess.run(base + ["--seed", "0"], capture_output=True, text=True, check=False)
    assert right.returncode == 0, right.stdout + right.stderr
    report = json.loads((tmp_path / "seed0" / "cv.json").read_text())
    from symgnn.data.registry import load_sample

    structure = load_sample("train6", shared_data)
    assert report["folds"]["train6"] == pytest.approx(pearson(Predictor.from_checkpoint(path).predict(structure), structure.labels), abs=1e-6)
    assert report["seed"] == 0 and report["fold_runs"] == {"train6": {"epochs_run": 205, "seconds": 900.5}}


def _script(name: str):
    """A benchmark script imported as a module."""
    return benchmark_script(name)


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


def test_pooled_scores_see_each_samples_level():
    """Held-out samples scored two at a time see a wrong mean barrier, which the per-fold scores cannot;
    train0 and train1 (one structure) are never paired."""
    rng = np.random.default_rng(0)
    truth = {name: rng.normal(mean, 0.3, 500) for name, mean in (("train0", 1.8), ("train1", 1.8), ("train2", 1.7), ("train6", 1.3))}
    right_level = {name: (y + rng.normal(0, 0.2, y.size), y) for name, y in truth.items()}
    cv = _script("cross_validation")
    scores = cv.pooled_scores(right_level)
    assert sorted(scores["pairs"]) == ["train0+train2", "train0+train6", "train1+train2", "train1+train6", "train2+train6"]
    assert scores["offsets_ev"]["train6"] == pytest.approx(0.0, abs=0.05)
    # The same ranking inside train6 with its level 0.4 eV too high: each sample's own Pearson is unchanged,
    # every pair with train6 and the pooled score fall.
    wrong_level = dict(right_level, train6=(right_level["train6"][0] + 0.4, truth["train6"]))
    worse = cv.pooled_scores(wrong_level)
    assert cv.held_out_score({"train6": wrong_level["train6"]}) == pytest.approx(cv.held_out_score({"train6": right_level["train6"]}))
    assert worse["offsets_ev"]["train6"] == pytest.approx(0.4, abs=0.05)
    assert worse["pairs"]["train2+train6"] < scores["pairs"]["train2+train6"] - 0.05
    assert worse["pairs"]["train0+train2"] == scores["pairs"]["train0+train2"]
    assert worse["pooled"] < scores["pooled"] and worse["pairs_mean"] < scores["pairs_mean"]
    assert cv.pooled_scores({"train0": right_level["train0"], "train1": right_level["train1"]})["pairs_mean"] is None
