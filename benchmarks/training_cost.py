"""Training cost of a config against SymGNN with the paper's settings, measured in the same run.

Trains each config for the same wall-clock budget on this machine (one after the other, the same
thread count), then prints per config: seconds per epoch, optimiser steps, the time at which the
validation Pearson first reached each threshold, and the best validation Pearson; and the ratios
(SymGNN paper / chosen) of time per epoch and time to each threshold, and the peak memory each
training added to the process. ``--from-runs`` reads finished
run directories instead of training (their metrics.jsonl), for budgets longer than a session.

    python benchmarks/training_cost.py [--config configs/cuzr64.yaml] [--reference configs/symgnn_paper.yaml]
        [--minutes 10] [--data DIR] [--threads 2] [--out DIR] [--from-runs CHOSEN_RUN REFERENCE_RUN] [--compile]

``--compile`` trains the chosen config with ``train.compile`` on; with ``--reference`` set to the same
config it measures what compilation saves (``--config configs/cuzr64.yaml --reference
configs/cuzr64.yaml --compile``).

Both configs train with the same allocator setting, whatever their ``train.keep_freed_memory`` says:
the setting is process-wide and cannot be undone, so a config that asked for it would otherwise speed
up every run after it. By default both run as Python starts them; ``--keep-freed-memory`` lets glibc
keep freed memory for reuse in both (as the shipped recipe trains). Not the default: with SymGNN's
paper settings (one full-graph step on all six samples) it raised the process above the 24 GB of
the machine here, which killed it, where the default allocator peaks at 17 GB.
"""

from __future__ import annotations

import argparse
import math
import tempfile
from pathlib import Path

import torch

from symgnn.benchmark.memory import peak_memory_growth
from symgnn.errors import run_script
from symgnn.train.config import load_config
from symgnn.train.loop import fit
from symgnn.train.metrics import read_metrics

ROOT = Path(__file__).resolve().parents[1]
THRESHOLDS = (0.3, 0.5, 0.6)


def run_summary(run_dir: Path) -> dict:
    """Seconds per epoch, time to each validation threshold and best validation Pearson of a run."""
    records = read_metrics(run_dir / "metrics.jsonl")
    config = load_config(run_dir / "config.yaml")
    epochs = len(records)
    seconds = records[-1]["seconds"] if records else math.nan
    scored = [r for r in records if "val_pearson" in r]
    reach = {t: next((r["seconds"] for r in scored if r["val_pearson"] >= t), math.inf) for t in THRESHOLDS}
    steps_per_epoch = 1 if config.train.batch == "full" else len(config.data.train) - sum(len(g) - 1 for g in config.data.average_labels)
    return {
        "model": config.model_name,
        "epochs": epochs,
        "seconds": seconds,
        "seconds_per_epoch": seconds / epochs if epochs else math.nan,
        "steps": epochs * steps_per_epoch,
        "best_val_pearson": max((r["val_pearson"] for r in scored), default=math.nan),
        "seconds_to": reach,
    }


def train_for(config_path: Path, minutes: float, data: str | None, out: Path, compile_steps: bool = False,
              keep_memory: bool = False) -> Path:
    config = load_config(config_path)
    config.train.keep_freed_memory = keep_memory
    config.train.max_minutes = minutes
    config.train.epochs = max(config.train.epochs, 10**6)
    config.train.compile = config.train.compile or compile_steps
    run_dir = out / (config_path.stem + ("-compiled" if config.train.compile else ""))
    fit(config, data, run_dir, progress=False, log=lambda message: print(f"  [{config_path.stem}] {message}", flush=True))
    return run_dir


def _fmt_time(seconds: float) -> str:
    return "not reached" if math.isinf(seconds) else f"{seconds:.0f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(ROOT / "configs" / "cuzr64.yaml"))
    parser.add_argument("--reference", default=str(ROOT / "configs" / "symgnn_paper.yaml"))
    parser.add_argument("--minutes", type=float, default=10.0, help="training budget per config")
    parser.add_argument("--data", default=None)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default=None, help="where the two runs go (default: a temporary directory)")
    parser.add_argument("--from-runs", nargs=2, metavar=("CHOSEN_RUN", "REFERENCE_RUN"), default=None)
    parser.add_argument("--compile", action="store_true", help="train the chosen config with train.compile on")
    parser.add_argument("--keep-freed-memory", action=argparse.BooleanOptionalAction, default=False,
                        help="let glibc keep freed memory for reuse in both runs (same numbers, faster on CPU, "
                             "more peak memory for full-graph steps)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.from_runs:
        chosen, reference = (run_summary(Path(p)) for p in args.from_runs)
        budget = "runs read from disk"
    else:
        out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="symgnn-cost-"))
        keep = args.keep_freed_memory
        chosen_run, chosen_memory = peak_memory_growth(
            lambda: train_for(Path(args.config), args.minutes, args.data, out, args.compile, keep))
        reference_run, reference_memory = peak_memory_growth(
            lambda: train_for(Path(args.reference), args.minutes, args.data, out, keep_memory=keep))
        chosen, reference = run_summary(chosen_run), run_summary(reference_run)
        chosen["peak_memory_mb"], reference["peak_memory_mb"] = chosen_memory, reference_memory
        allocator = "glibc keeps freed memory" if keep else "default allocator settings"
        budget = f"{args.minutes:g} min each, {args.threads} torch threads, {allocator}, runs in {out}"
    print(f"training cost ({budget})")
    reference_name = "symgnn paper" if Path(args.reference).stem == "symgnn_paper" else "reference"
    for label, s in (("chosen", chosen), (reference_name, reference)):
        reached = ", ".join(f"r>={t}: {_fmt_time(s['seconds_to'][t])}" for t in THRESHOLDS)
        print(f"{label:>13} {s['model']}: {s['seconds_per_epoch']:.1f} s/epoch, {s['epochs']} epochs, "
              f"{s['steps']} steps, best val Pearson {s['best_val_pearson']:.3f}; {reached}")
    print(f"ratio time per epoch ({reference_name} / chosen): {reference['seconds_per_epoch'] / chosen['seconds_per_epoch']:.2f}x")
    if chosen.get("peak_memory_mb") and reference.get("peak_memory_mb"):
        print(f"peak memory added by training: chosen {chosen['peak_memory_mb']:.0f} MB, {reference_name} "
              f"{reference['peak_memory_mb']:.0f} MB (ratio {reference['peak_memory_mb'] / chosen['peak_memory_mb']:.2f}x)")
    for t in THRESHOLDS:
        a, b = chosen["seconds_to"][t], reference["seconds_to"][t]
        ratio = "n/a (chosen did not reach it)" if math.isinf(a) else (f"inf ({reference_name} did not reach it)" if math.isinf(b) else f"{b / a:.2f}x")
        print(f"ratio time to val Pearson {t} ({reference_name} / chosen): {ratio}")


if __name__ == "__main__":
    run_script(main)
