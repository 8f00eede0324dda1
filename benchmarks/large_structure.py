"""Predicting a large structure whole and block by block: time, peak memory and agreement.

A sample (train6, or a random Cu64Zr36 box when the data is absent) is replicated R x R x R times
(a 2 x 2 x 2 copy of train6 holds 64,000 atoms) and predicted by the shipped model twice in one run:
whole, and in blocks of at most ``--max-atoms`` atoms with a halo as wide as the model's dependency
radius (:mod:`symgnn.data.blocks`). It prints seconds, the peak memory each prediction added, their
ratios, and the largest difference between the two (it should be round-off).

    python benchmarks/large_structure.py [--data DIR] [--model cuzr64] [--replicas 2] [--max-atoms 20000] [--threads 2]
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from symgnn.benchmark.boxes import random_box, replicate
from symgnn.benchmark.memory import peak_memory_growth
from symgnn.data.blocks import plan_blocks
from symgnn.data.registry import load_sample, resolve_data_dir
from symgnn.errors import SymgnnError, run_script
from symgnn.models.receptive import dependency_radius
from symgnn.nn.descriptor_input import OutOfDistributionWarning
from symgnn.predictor import Predictor

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help="cuzr64 data directory (default: $SYMGNN_DATA or ../shared/data/cuzr64)")
    parser.add_argument("--model", default="cuzr64", help="checkpoint or shipped model name")
    parser.add_argument("--replicas", type=int, default=2, help="copies along each cell vector")
    parser.add_argument("--max-atoms", type=int, default=20_000, help="block size (atoms, halo included)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    try:
        data_dir = resolve_data_dir(args.data or os.environ.get("SYMGNN_DATA") or ROOT.parent / "shared" / "data" / "cuzr64")
        base, source = load_sample("train6", data_dir), "train6"
    except SymgnnError:
        base = random_box(8000)
        source = "random Cu64Zr36 box (no data found)"
        warnings.simplefilter("ignore", OutOfDistributionWarning)
    structure = replicate(base, args.replicas)
    predictor = Predictor.from_checkpoint(args.model)
    halo = dependency_radius(predictor.model, predictor.cutoff)
    counts = plan_blocks(structure, halo, args.max_atoms)
    results = {}
    for label, max_atoms in (("whole", None), ("blocks", args.max_atoms)):
        start = time.perf_counter()
        prediction, memory = peak_memory_growth(lambda: predictor.predict(structure, max_atoms=max_atoms))
        results[label] = (prediction, time.perf_counter() - start, memory)
    print(f"structure: {len(structure)} atoms ({source} x {args.replicas}^3); model {args.model}; "
          f"{args.threads} torch threads")
    print(f"blocks: {counts[0]} x {counts[1]} x {counts[2]} for at most {args.max_atoms} atoms each, halo {halo:g} Å")
    for label, (_, seconds, memory) in results.items():
        shown = "unknown" if memory is None else f"{memory:.0f} MB"
        print(f"{label:>6}: {seconds:.1f} s, peak memory added {shown}")
    (whole, t_whole, m_whole), (blocks, t_blocks, m_blocks) = results["whole"], results["blocks"]
    print(f"ratio time blocks / whole: {t_blocks / t_whole:.2f}x")
    if m_whole and m_blocks:
        print(f"ratio peak memory whole / blocks: {m_whole / m_blocks:.2f}x")
    print(f"largest difference blocks - whole: {np.abs(blocks - whole).max():.2e} eV")


if __name__ == "__main__":
    run_script(main)
