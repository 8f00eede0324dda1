"""How much of a trained model's error on one sample its own structure descriptors still explain.

A diagnostic of what limits accuracy. For each labelled sample it fits ridge regressions on the
sample's structure descriptors (:func:`symgnn.descriptors.compute_descriptors`), scored by k-fold
cross-validation over that sample's atoms in slabs: fold k holds the atoms whose fractional
coordinate along the first cell vector lies in [k/K, (k+1)/K), so fitted and scored atoms share
neighbourhoods only at the slabs' faces (random atoms would let a fit learn each atom's
neighbours' labels):

* ``residual_explained``: Pearson between the model's residual (label - prediction) and the
  ridge's cross-validated prediction of it. Near 0 on a sample the model fits; high where the
  model misses a structure-barrier relation that holds within that sample.
* ``within_sample_ridge``: a ridge fitted on the sample's own labels (the same folds);
* ``cross_sample_ridge``: a ridge fitted on the other samples named by ``--ridge-train`` and
  scored on the whole sample, the same descriptors seen through the other samples' relation.

The gap between the last two, and a high ``residual_explained`` on a held-out sample only, say that
the relation between structure and barrier shifts between samples (cooling rates), which more
capacity fitted on the training samples cannot remove.

    python benchmarks/residual_shift.py [--model cuzr64-split] [--samples train3,train5,train6]
        [--ridge-train train0,train1,train2,train3,train4,train5] [--data DIR] [--folds 5] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np
import torch
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import GroupKFold, cross_val_predict
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from symgnn.data.registry import load_sample, resolve_data_dir
from symgnn.data.structure import Structure
from symgnn.descriptors import compute_descriptors
from symgnn.errors import SymgnnError, run_script
from symgnn.io.atomic import atomic_write
from symgnn.metrics import pearson
from symgnn.predictor import Predictor

ROOT = Path(__file__).resolve().parents[1]
ALPHAS = (1.0, 10.0, 100.0, 1000.0)


def ridge() -> Pipeline:
    """Standardised features, then a ridge whose strength is chosen by its own inner validation."""
    return make_pipeline(StandardScaler(), RidgeCV(alphas=ALPHAS))


def slabs(structure: Structure, folds: int) -> np.ndarray:
    """Each atom's slab, 0 .. ``folds`` - 1, by its fractional coordinate along the first cell vector."""
    fractional = np.linalg.solve(structure.cell.T, structure.positions.T)[0] % 1.0
    return np.minimum((fractional * folds).astype(int), folds - 1)


def within_sample_scores(features: np.ndarray, labels: np.ndarray, prediction: np.ndarray,
                         groups: np.ndarray) -> dict[str, float]:
    """The model's Pearson, how much of its residual the descriptors explain, and a ridge on the labels,
    each ridge scored by cross-validation over the atoms of one sample, a fold per value of ``groups``."""
    split = GroupKFold(len(np.unique(groups)))
    residual = labels - prediction
    residual_fit = cross_val_predict(ridge(), features, residual, cv=split, groups=groups)
    label_fit = cross_val_predict(ridge(), features, labels, cv=split, groups=groups)
    return {"model": pearson(prediction, labels), "residual_explained": pearson(residual_fit, residual),
            "within_sample_ridge": pearson(label_fit, labels)}


def cross_sample_ridge(features: dict[str, np.ndarray], labels: dict[str, np.ndarray], train: list[str],
                       target: str) -> float:
    """Pearson on ``target`` of a ridge fitted on the ``train`` samples (``target`` itself left out)."""
    names = [name for name in train if name != target]
    if not names:
        raise SymgnnError(f"--ridge-train: no sample left to fit once {target} is left out")
    model = ridge().fit(np.vstack([features[n] for n in names]), np.concatenate([labels[n] for n in names]))
    return pearson(model.predict(features[target]), labels[target])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="cuzr64-split")
    parser.add_argument("--samples", default="train3,train5,train6", help="samples to diagnose")
    parser.add_argument("--ridge-train", default="train0,train1,train2,train3,train4,train5",
                        help="samples the cross-sample ridge is fitted on")
    parser.add_argument("--data", default=None)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    if args.folds < 2:
        raise SymgnnError(f"--folds {args.folds}: needs at least 2")
    torch.set_num_threads(args.threads)
    samples, ridge_train = args.samples.split(","), args.ridge_train.split(",")
    data_dir = resolve_data_dir(args.data or os.environ.get("SYMGNN_DATA") or ROOT.parent / "shared" / "data" / "cuzr64")
    predictor = Predictor.from_checkpoint(args.model)
    structures = {name: load_sample(name, data_dir) for name in dict.fromkeys(samples + ridge_train)}
    features = {name: compute_descriptors(s) for name, s in structures.items()}
    labels = {name: s.labels for name, s in structures.items()}
    report = {"model": args.model, "folds": args.folds, "ridge_train": ridge_train, "samples": {}}
    print(f"{args.model}: ridge on {features[samples[0]].shape[1]} descriptors, {args.folds} slabs a sample")
    print("sample   model Pearson   residual explained   ridge within sample   ridge from --ridge-train   trained on")
    for name in samples:
        scores = within_sample_scores(features[name], labels[name], predictor.predict(structures[name]),
                                      slabs(structures[name], args.folds))
        scores["cross_sample_ridge"] = cross_sample_ridge(features, labels, ridge_train, name)
        scores["trained_on"] = predictor.trained_on(structures[name])
        report["samples"][name] = scores
        print(f"{name:<8} {scores['model']:>13.3f}   {scores['residual_explained']:>18.3f}   "
              f"{scores['within_sample_ridge']:>19.3f}   {scores['cross_sample_ridge']:>24.3f}   {scores['trained_on']}")
    if args.json:
        with atomic_write(args.json) as handle:
            json.dump(report, handle, indent=2)


if __name__ == "__main__":
    run_script(main)
