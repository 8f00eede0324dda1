"""Atoms explained per minute on CPU, and the gain of receptive-field explanation over the full graph.

Explains ``--atoms`` atoms of a full 8,000-atom shared sample (or a random Cu/Zr box of the same
size when the data is absent) with GNNExplainer on their receptive fields, and prints atoms per
minute. In the same run it times the reference, GNNExplainer on the whole periodic graph (what
PyG's explainer does when handed the full structure): a full-graph explanation is too slow to run
to the end, so ``--reference-epochs`` optimisation steps are timed and scaled to ``--epochs``.
The ratio is the speed-up of working on receptive fields.

    OMP_NUM_THREADS=1 python benchmarks/explain_speed.py [--checkpoint best.pt] [--data DIR] [--atoms 4]
        [--epochs 100] [--reference-epochs 2] [--threads 1]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from symgnn.data.registry import load_sample
from symgnn.errors import SymgnnError, run_script
from symgnn.benchmark.boxes import random_box
from symgnn.explain.gnnexplainer import ExplainConfig, explain_fields
from symgnn.explain.hooks import receptive_hops
from symgnn.explain.subgraph import ReceptiveField, receptive_field
from symgnn.graph import build_graph
from symgnn.models import build_model
from symgnn.predictor import Predictor


def whole_graph_field(data, atom: int) -> ReceptiveField:
    """The full graph dressed as a 'receptive field' of ``atom`` (the reference: no cut)."""
    n = data.num_nodes
    return ReceptiveField(atom, data, np.arange(n), np.arange(data.edge_index.shape[1]), atom,
                          np.zeros((n, 3)), np.zeros(n, dtype=np.int64))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default=None, help="trained checkpoint (default: untrained paper SymGNN)")
    parser.add_argument("--data", default=None, help="shared data directory (default: resolved as usual)")
    parser.add_argument("--sample", default="train6")
    parser.add_argument("--atoms", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--reference-epochs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    if args.checkpoint:
        predictor = Predictor.from_checkpoint(args.checkpoint)
        model, cutoff, what = predictor.model, predictor.cutoff, f"{predictor.model_name} ({args.checkpoint})"
    else:
        torch.manual_seed(0)
        model, cutoff, what = build_model("symgnn", edge_input="vector+length").eval(), 5.0, "symgnn (untrained)"
    try:
        structure = load_sample(args.sample, args.data)
    except SymgnnError:
        structure = random_box()
    data = build_graph(structure, cutoff)
    hops = receptive_hops(model)
    atoms = np.random.default_rng(0).choice(len(structure), args.atoms, replace=False).tolist()
    fields = [receptive_field(data, a, hops) for a in atoms]

    start = time.perf_counter()
    explain_fields(model, fields, ExplainConfig(epochs=args.epochs))
    seconds = time.perf_counter() - start
    per_minute = 60 * len(atoms) / seconds

    reference = whole_graph_field(data, atoms[0])
    start = time.perf_counter()
    explain_fields(model, [reference], ExplainConfig(epochs=args.reference_epochs))
    reference_seconds = (time.perf_counter() - start) * args.epochs / args.reference_epochs
    reference_per_minute = 60 / reference_seconds

    print(f"model {what}, structure {structure.name} ({len(structure)} atoms, {data.edge_index.shape[1]} edges), "
          f"{torch.get_num_threads()} thread(s), {args.epochs} epochs")
    print(f"receptive fields ({hops} hops, {np.mean([f.num_edges for f in fields]):.0f} edges on average): "
          f"{per_minute:.2f} atoms/min ({seconds / len(atoms):.1f} s per atom)")
    print(f"full graph (reference, {args.reference_epochs} epochs timed and scaled): "
          f"{reference_per_minute:.3f} atoms/min ({reference_seconds:.0f} s per atom)")
    print(f"speed-up of receptive fields over the full graph: {per_minute / reference_per_minute:.1f}x")


if __name__ == "__main__":
    run_script(main)
