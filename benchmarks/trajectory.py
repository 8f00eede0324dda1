"""Predicting a trajectory frame by frame (``symgnn predict --frame all``) against predicting its
frames one file at a time, measured in the same run.

It writes an N-frame LAMMPS dump of the 8,000-atom validation sample train6, each frame with a
different small random displacement (random Cu/Zr boxes when the data is absent), then
times, in-process after loading the model:

* the trajectory path: :func:`symgnn.io.frames.read_frames` streaming every frame, one prediction
  each, written through :class:`symgnn.io.write.TrajectoryWriter` into one multi-frame xyz, csv
  and dump (what ``symgnn predict --frame all`` does);
* the reference: each frame read by index (``read_structure(index=k)``, i.e. ``--frame k``),
  predicted and written to its own files with ``write_predictions``;

each the fastest of ``--repeats`` alternated passes with glibc keeping freed memory (as the
prediction commands do at this size), and the peak memory each adds to the process (a first,
untimed pass with glibc's default settings, whose peaks do not depend on what ran before). It prints both and their ratios, and checks that the two give the same
predictions.

    python benchmarks/trajectory.py [--data DIR] [--model cuzr64] [--frames 10] [--repeats 2] [--threads 2]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from symgnn.benchmark.boxes import random_box
from symgnn.benchmark.memory import peak_memory_growth
from symgnn.data.registry import load_sample, resolve_data_dir
from symgnn.data.structure import Structure
from symgnn.errors import SymgnnError, run_script
from symgnn.io.frames import read_frames
from symgnn.io.lammps_dump import dump_frame_text
from symgnn.io.read import read_structure
from symgnn.io.write import TrajectoryWriter, write_predictions
from symgnn.nn.descriptor_input import OutOfDistributionWarning
from symgnn.predictor import Predictor
from symgnn.runtime import keep_freed_memory


def frames_of(base: Structure, count: int, seed: int = 0) -> list[Structure]:
    """``count`` copies of ``base``, each atom displaced at random by 0.01 Å (a quench's inherent
    structures differ by that order), so every frame is a different prediction."""
    rng = np.random.default_rng(seed)
    return [Structure(base.numbers, base.positions + rng.normal(0, 0.01, base.positions.shape), base.cell, base.pbc,
                      name=f"frame{k}") for k in range(count)]


def predict_trajectory(predictor: Predictor, dump: Path, out: Path) -> list[np.ndarray]:
    """What ``symgnn predict --frame all`` does: stream, predict, write one multi-frame output."""
    predictions = []
    with TrajectoryWriter(out, dump.stem, source_path=dump) as writer:
        for frame in read_frames(dump):
            predictions.append(predictor.predict(frame.structure))
            writer.write(frame, {"predicted_barrier": predictions[-1]})
    return predictions


def predict_one_by_one(predictor: Predictor, dump: Path, count: int, out: Path) -> list[np.ndarray]:
    """The reference: ``symgnn predict --frame k`` for every k, each into its own files."""
    predictions = []
    for k in range(count):
        structure = read_structure(dump, index=k)
        predictions.append(predictor.predict(structure))
        write_predictions(structure, {"predicted_barrier": predictions[-1]}, out, f"{dump.stem}_{k}", source_path=dump)
    return predictions


def _seconds(work) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--model", default="cuzr64")
    parser.add_argument("--frames", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2, help="timed passes of each path (the fastest is shown)")
    args = parser.parse_args()
    if args.frames < 1 or args.repeats < 1:
        raise SymgnnError("--frames and --repeats must be at least 1")
    torch.set_num_threads(args.threads)
    try:
        base, source = load_sample("train6", resolve_data_dir(args.data)), "train6"
    except SymgnnError:
        base, source = random_box(8000), "a random Cu/Zr box (shared data not found)"
    predictor = Predictor.from_checkpoint(args.model)
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        dump = scratch / "quench.dump"
        dump.write_text("".join(dump_frame_text(f, timestep=1000 * k) for k, f in enumerate(frames_of(base, args.frames))))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", OutOfDistributionWarning)  # random boxes, when the data is absent
            predictor.predict(read_structure(dump, index=0))  # warm-up
            streamed, streamed_mb = peak_memory_growth(lambda: predict_trajectory(predictor, dump, scratch / "trajectory"))
            separate, separate_mb = peak_memory_growth(
                lambda: predict_one_by_one(predictor, dump, args.frames, scratch / "separate"))
            keep_freed_memory()  # timed as the prediction commands run structures of this size
            streamed_seconds, separate_seconds = [], []
            for repeat in range(args.repeats):  # alternated, so that neither is favoured by going first
                streamed_seconds.append(_seconds(lambda: predict_trajectory(predictor, dump, scratch / f"t{repeat}")))
                separate_seconds.append(_seconds(lambda: predict_one_by_one(predictor, dump, args.frames,
                                                                            scratch / f"s{repeat}")))
            streamed_seconds, separate_seconds = min(streamed_seconds), min(separate_seconds)
        difference = max(float(np.abs(a - b).max()) for a, b in zip(streamed, separate))
        size_mb = dump.stat().st_size / 1e6
    print(f"{args.frames} frames of {len(base)} atoms ({source}; dump {size_mb:.1f} MB), model {args.model}, "
          f"{args.threads} threads")

    def memory(mb: float | None) -> str:
        return "unknown" if mb is None else f"{mb:.0f} MB"

    print(f"  --frame all (streamed, one output):   {streamed_seconds:7.2f} s  ({streamed_seconds / args.frames:.3f} s a frame), "
          f"peak memory added {memory(streamed_mb)}")
    print(f"  --frame k for each k (separate files): {separate_seconds:7.2f} s  ({separate_seconds / args.frames:.3f} s a frame), "
          f"peak memory added {memory(separate_mb)}")
    print(f"  time ratio streamed / separate: {streamed_seconds / separate_seconds:.2f}"
          + ("" if streamed_mb is None or not separate_mb else f"; memory ratio {streamed_mb / separate_mb:.2f}"))
    print(f"  largest difference between the two: {difference:.1e} eV")


if __name__ == "__main__":
    run_script(main)
