"""SymGNN's invariance error, accuracy and cost as a function of K, the draws at prediction.

SymGNN (Eq. 3-5) averages its network over K rotations and K reflections: the prediction is invariant
only in expectation, and the error left over falls as K grows while the cost grows as 2K passes. For
each K this prints, on one structure: the invariance error (mean over atoms of the spread of the
predicted barrier, eV, over random rotations and reflections of the input), the Pearson with the
structure's labels where it has them, and the time of one prediction as a ratio to K = 1, all
measured in the same run.

    python benchmarks/symmetrisation_draws.py CHECKPOINT [--structure train6] [--data DIR]
        [--draws 1,2,4,8] [--transforms 4] [--threads 2] [--json FILE]

It needs a trained checkpoint: an untrained network in evaluation mode (batch norm at its initial
statistics) predicts nearly the same value for every atom, and its invariance error means nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch

from symgnn.data.registry import load_sample, resolve_data_dir
from symgnn.errors import SymgnnError, run_script
from symgnn.graph import build_graph
from symgnn.invariance import invariance_error
from symgnn.metrics import pearson
from symgnn.predictor import Predictor

ROOT = Path(__file__).resolve().parents[1]


def measure(predictor: Predictor, structure, draws: list[int], transforms: int) -> list[dict]:
    """One row per K: invariance error (eV), Pearson with the labels (or None) and seconds per prediction."""
    transformer = getattr(predictor.model, "transforms", None)
    if transformer is None or not hasattr(transformer, "eval_draws"):
        raise SymgnnError(f"{predictor.model_name}: not a SymGNN (Eq. 3-5) model: it has no draws to vary")
    graph = build_graph(structure, predictor.cutoff)
    rows = []
    for k in draws:
        transformer.eval_draws = k
        start = time.perf_counter()
        with torch.no_grad():
            predicted = predictor.model.eval()(graph)[:, 0].numpy() * predictor.label_std + predictor.label_mean
        seconds = time.perf_counter() - start
        error = invariance_error(predictor.model, graph, num_transforms=transforms) * predictor.label_std
        labels = structure.labels
        rows.append({"draws": k, "passes": 2 * k, "invariance_error_ev": error,
                     "pearson": None if labels is None else pearson(predicted, labels), "seconds": seconds})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", help="a checkpoint of model symgnn (a run's best.pt)")
    parser.add_argument("--structure", default="train6", help="dataset sample to measure on (default train6)")
    parser.add_argument("--data", default=None, help="cuzr64 data directory (default: $SYMGNN_DATA or ../shared/data/cuzr64)")
    parser.add_argument("--draws", default="1,2,4,8", help="values of K, comma-separated")
    parser.add_argument("--transforms", type=int, default=4, help="random O(3) transforms for the invariance error")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None, help="also write the rows to this JSON file")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    draws = [int(k) for k in args.draws.split(",")]
    if not draws or min(draws) < 1:
        raise SymgnnError(f"--draws: positive integers, got {args.draws!r}")
    predictor = Predictor.from_checkpoint(args.checkpoint)
    data_dir = resolve_data_dir(args.data or os.environ.get("SYMGNN_DATA") or ROOT.parent / "shared" / "data" / "cuzr64")
    structure, source = load_sample(args.structure, data_dir), f"{args.structure} of {data_dir}"
    rows = measure(predictor, structure, draws, args.transforms)
    base = rows[0]["seconds"]
    print(f"{predictor.model_name} ({args.checkpoint}) on {source}: {len(structure)} atoms, "
          f"{args.transforms} random O(3) transforms, {args.threads} thread(s)")
    print(f"{'K':>4} {'passes':>6} {'invariance error (eV)':>22} {'Pearson':>8} {'time / K=1':>11}")
    for row in rows:
        r = "—" if row["pearson"] is None else f"{row['pearson']:.4f}"
        print(f"{row['draws']:>4} {row['passes']:>6} {row['invariance_error_ev']:>22.4f} {r:>8} {row['seconds'] / base:>11.2f}")
    if args.json:
        args.json.write_text(json.dumps({"model": predictor.model_name, "checkpoint": args.checkpoint, "structure": source,
                                         "atoms": len(structure), "transforms": args.transforms, "rows": rows}, indent=1))


if __name__ == "__main__":
    run_script(main)
