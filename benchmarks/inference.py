"""Inference time of the shipped model against SymGNN, measured in the same run.

For a ~3,000-atom periodic structure (a cubic sub-box of a shared sample, or a random Cu/Zr box
when the data is absent) it times, in-process after loading, the whole prediction: periodic graph
(and the shipped model's descriptors) plus the forward pass. It prints the median over repeats and
the ratio to SymGNN with the paper's architecture (configs/symgnn_paper.yaml; weights do not change
the cost, so an untrained SymGNN is timed when no checkpoint is given), and the peak memory one
prediction adds to the process, for both models.

Like the ``symgnn`` commands that predict, it first lets glibc keep freed memory for reuse
before timing (:func:`symgnn.runtime.keep_freed_memory`; same numbers, about twice as fast on this
machine); ``--no-keep-freed-memory`` times the process as Python starts it. Memory is measured first,
with the default settings, so that it is what one prediction needs.

    python benchmarks/inference.py [--data DIR] [--model cuzr64] [--atoms 3000] [--repeats 7] [--threads 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import warnings
from pathlib import Path

import torch
import yaml

from symgnn.benchmark.boxes import random_box, sub_box
from symgnn.benchmark.memory import peak_memory_growth
from symgnn.data.registry import load_sample, resolve_data_dir
from symgnn.data.structure import Structure
from symgnn.errors import SymgnnError, run_script
from symgnn.models import build_model
from symgnn.nn.descriptor_input import OutOfDistributionWarning
from symgnn.predictor import Predictor
from symgnn.runtime import keep_freed_memory

ROOT = Path(__file__).resolve().parents[1]


def time_prediction(predictor: Predictor, structure: Structure, repeats: int) -> float:
    """Median seconds of ``predictor.predict(structure)`` (graph included), after one warm-up."""
    predictor.predict(structure)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        predictor.predict(structure)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def symgnn_paper_predictor(checkpoint: str | None) -> Predictor:
    if checkpoint:
        return Predictor.from_checkpoint(checkpoint)
    config = yaml.safe_load((ROOT / "configs" / "symgnn_paper.yaml").read_text())
    hparams = {k: v for k, v in config["model"].items() if k != "name"}
    model = build_model(config["model"]["name"], **hparams).eval()
    return Predictor(model, 0.0, 1.0, float(config["data"]["cutoff"]), config["model"]["name"], hparams)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help="cuzr64 data directory (default: $SYMGNN_DATA or ../shared/data/cuzr64)")
    parser.add_argument("--model", default="cuzr64", help="checkpoint or shipped model name")
    parser.add_argument("--symgnn", default=None, help="a SymGNN checkpoint (default: the paper's architecture, untrained)")
    parser.add_argument("--atoms", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--keep-freed-memory", action=argparse.BooleanOptionalAction, default=True,
                        help="let glibc reuse freed memory, as symgnn predict does (default: on)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    try:
        data_dir = resolve_data_dir(args.data or os.environ.get("SYMGNN_DATA") or ROOT.parent / "shared" / "data" / "cuzr64")
        structure = sub_box(load_sample("train6", data_dir), args.atoms)
        source = f"sub-box of {data_dir}/train6"
    except SymgnnError:
        structure, source = random_box(args.atoms), "random Cu64Zr36 box"
    # A cut cube's new faces (and a random box) look out of distribution; the cost is all that is measured.
    warnings.simplefilter("ignore", OutOfDistributionWarning)
    shipped = Predictor.from_checkpoint(args.model)
    reference = symgnn_paper_predictor(args.symgnn)
    _, our_memory = peak_memory_growth(lambda: shipped.predict(structure))  # first calls: nothing cached yet
    _, their_memory = peak_memory_growth(lambda: reference.predict(structure))
    # After the memory figures: once freed memory is kept, one model's growth would hide the next one's.
    allocator = "glibc keeps freed memory" if args.keep_freed_memory and keep_freed_memory() else "default allocator settings"
    ours = time_prediction(shipped, structure, args.repeats)
    theirs = time_prediction(reference, structure, args.repeats)
    print(f"structure: {len(structure)} atoms ({source}); torch threads: {args.threads}; median of {args.repeats}; {allocator}")
    print(f"{args.model} ({shipped.model_name}): {ours:.3f} s per structure, graph included")
    print(f"symgnn (paper architecture): {theirs:.3f} s per structure, graph included")
    print(f"ratio symgnn / {args.model}: {theirs / ours:.2f}x")
    if our_memory is not None and their_memory is not None:
        print(f"peak memory added by one prediction: {args.model} {our_memory:.0f} MB, symgnn {their_memory:.0f} MB "
              f"(ratio symgnn / {args.model}: {their_memory / max(our_memory, 1e-9):.2f}x)")


if __name__ == "__main__":
    run_script(main)
