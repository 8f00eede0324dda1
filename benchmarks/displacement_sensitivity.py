"""How a trained model's predictions degrade when the input is not an energy minimum.

ARTn barriers are defined on minimised (inherent) structures, and the shipped models learned from
those alone. A user may instead pass an MD snapshot, whose atoms sit thermally displaced from their
minima. This script displaces every atom of a labelled sample by a Gaussian of each width (a fresh
draw per seed) and reports, against the clean structure's predictions measured in the same run: the
Pearson with the labels, the Pearson with the clean predictions, the shift of the mean prediction,
and how many atoms the plausibility check flags (:meth:`symgnn.predictor.Predictor.check_plausible`).

    python benchmarks/displacement_sensitivity.py [--model cuzr64-split] [--sample train6] [--data DIR]
        [--widths 0.01,0.02,0.03,0.05] [--seeds 0,1,2] [--threads 2] [--json FILE]

Use a sample the model did not train on (``cuzr64-split`` and train6, the defaults), or the
Pearson with the labels measures a fit.
"""

from __future__ import annotations

import argparse
import json
import os
import warnings
from pathlib import Path

import numpy as np
import torch

from symgnn.data.registry import load_sample, resolve_data_dir
from symgnn.data.structure import Structure
from symgnn.errors import run_script
from symgnn.io.atomic import atomic_write
from symgnn.metrics import pearson
from symgnn.predictor import Predictor

ROOT = Path(__file__).resolve().parents[1]


def displaced(structure: Structure, width: float, seed: int) -> Structure:
    """``structure`` with every atom moved by an isotropic Gaussian of standard deviation ``width`` Å."""
    rng = np.random.default_rng(seed)
    positions = structure.positions + rng.normal(0.0, width, structure.positions.shape)
    return Structure(structure.numbers, positions, structure.cell, structure.pbc, name=f"{structure.name}+{width:g}A")


def measure(predictor: Predictor, structure: Structure, widths: list[float], seeds: list[int]) -> dict:
    """The clean prediction's scores, then each width's, mean ± std over seeds."""
    clean = predictor.predict(structure)
    low, high = predictor.plausible_range()
    report = {"clean": {"pearson_labels": pearson(clean, structure.labels), "mean_ev": float(clean.mean())}, "widths": {}}
    for width in widths:
        rows = []
        for seed in seeds:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the flags are counted below instead
                prediction = predictor.predict(displaced(structure, width, seed))
            rows.append([pearson(prediction, structure.labels), pearson(prediction, clean),
                         float(prediction.mean() - clean.mean()), int(((prediction < low) | (prediction > high)).sum())])
        values = np.array(rows)
        report["widths"][f"{width:g}"] = {
            key: {"mean": float(values[:, k].mean()), "std": float(values[:, k].std(ddof=1)) if len(seeds) > 1 else 0.0}
            for k, key in enumerate(("pearson_labels", "pearson_clean", "mean_shift_ev", "flagged_atoms"))
        }
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="cuzr64-split")
    parser.add_argument("--sample", default="train6")
    parser.add_argument("--data", default=None)
    parser.add_argument("--widths", default="0.01,0.02,0.03,0.05", help="displacement widths in Å")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    widths = [float(w) for w in args.widths.split(",")]
    seeds = [int(s) for s in args.seeds.split(",")]
    data_dir = resolve_data_dir(args.data or os.environ.get("SYMGNN_DATA") or ROOT.parent / "shared" / "data" / "cuzr64")
    predictor = Predictor.from_checkpoint(args.model)
    structure = load_sample(args.sample, data_dir)
    report = measure(predictor, structure, widths, seeds)
    report.update(model=args.model, sample=args.sample, seeds=seeds, threads=args.threads)
    clean = report["clean"]
    print(f"{args.model} on {args.sample} ({len(structure)} atoms), seeds {args.seeds}: clean Pearson "
          f"{clean['pearson_labels']:.4f}, mean {clean['mean_ev']:.3f} eV")
    print("width (Å)  Pearson vs labels   ratio to clean   Pearson vs clean   mean shift (eV)   flagged atoms")
    for width, row in report["widths"].items():
        p, c, m, f = (row[k] for k in ("pearson_labels", "pearson_clean", "mean_shift_ev", "flagged_atoms"))
        print(f"{width:>9}  {p['mean']:.4f} ± {p['std']:.4f}   {p['mean'] / clean['pearson_labels']:.3f}x"
              f"           {c['mean']:.4f} ± {c['std']:.4f}    {m['mean']:+.3f} ± {m['std']:.3f}     {f['mean']:.0f}")
    if args.json:
        with atomic_write(args.json) as handle:
            json.dump(report, handle, indent=2)


if __name__ == "__main__":
    run_script(main)
