"""Full training recipes compared over seeds: the shipped model's config against SymGNN as trained here.

The benchmark table (``symgnn benchmark``) runs every model under one short shared recipe; this
script compares *finished* runs of whole recipes (``symgnn train --config configs/<name>.yaml
--seed S``), each with its own budget and optimiser settings, on the same split (train0-train5,
validation train6, best epoch by validation Pearson). For every recipe it re-evaluates each seed's
``best.pt`` on the validation sample and prints mean ± std over seeds (sample std) of Pearson,
Spearman, MAE, R² and per-species Pearson, with epochs, seconds per epoch and wall minutes from the
run logs, and the median over seeds of the seconds to first reach each validation threshold;
``--cv NAME=cv.json`` (repeatable, e.g. for two fold budgets) adds leave-one-sample-out
cross-validation from ``benchmarks/cross_validation.py``.

    python benchmarks/recipes.py --recipe cuzr64=runs/cuzr64-seed0,runs/cuzr64-seed1,runs/cuzr64-seed2 \\
        --recipe symgnn=runs/symgnn-seed0,... [--cv cuzr64=runs/cv-cuzr64/cv.json] [--data DIR] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from symgnn.data.registry import load_sample, resolve_data_dir
from symgnn.errors import run_script
from symgnn.evaluate import evaluate
from symgnn.io.atomic import atomic_write
from symgnn.predictor import Predictor
from symgnn.train.config import load_config
from training_cost import THRESHOLDS, run_summary  # sibling script: time to each validation threshold

ROOT = Path(__file__).resolve().parents[1]
METRICS = ("pearson", "spearman", "mae", "r2")


def seed_record(run_dir: Path, validation: list) -> dict[str, Any]:
    """What one finished run says of itself (summary.json, config) plus its best checkpoint's validation metrics."""
    summary = json.loads((run_dir / "summary.json").read_text())
    config = load_config(run_dir / "config.yaml")
    report = evaluate(Predictor.from_checkpoint(run_dir / "best.pt"), validation).report()
    return {
        "run_dir": str(run_dir),
        "model": config.model_name,
        "seed": config.train.seed,
        "budget_minutes": config.train.max_minutes,
        "best_epoch": summary["best_epoch"],
        "epochs": summary["epochs_run"],
        "seconds_per_epoch": summary["seconds_per_epoch"],
        "minutes": summary["seconds"] / 60,
        "logged_val_pearson": summary["best_val_pearson"],
        "seconds_to": {str(t): s for t, s in run_summary(run_dir)["seconds_to"].items()},
        **{metric: report[metric] for metric in METRICS},
        "species_pearson": {name: m["pearson"] for name, m in report["per_species"].items()},
    }


def mean_std(values: list[float]) -> str:
    array = np.asarray(values, dtype=float)
    return f"{array.mean():.3f} ± {array.std(ddof=1):.3f}" if len(array) > 1 else f"{array.mean():.3f}"


def median_time(records: list[dict[str, Any]], threshold: float) -> str:
    """Median over seeds of the seconds to first reach a validation Pearson (inf: a seed never did)."""
    seconds = float(np.median([r["seconds_to"][str(threshold)] for r in records]))
    return "not reached" if np.isinf(seconds) else f"{seconds:,.0f}"


def cv_text(fold: dict[str, Any]) -> str:
    """``mean ± std (N folds, budget, seed)``; the budget is epochs, minutes, or epochs capped by minutes."""
    parts = ([f"{fold['epochs_per_fold']} epochs"] if "epochs_per_fold" in fold else []) + (
        [f"{'at most ' if 'epochs_per_fold' in fold else ''}{fold['minutes_per_fold']:g} min"] if "minutes_per_fold" in fold else [])
    budget = ", ".join(parts)
    return f"{fold['mean']:.3f} ± {fold['std']:.3f} ({len(fold['folds'])} folds, {budget}, seed {fold['seed']})"


def markdown(recipes: dict[str, list[dict[str, Any]]], cv: dict[str, list[dict[str, Any]]]) -> str:
    species = sorted({name for records in recipes.values() for r in records for name in r["species_pearson"]})
    header = (["recipe", "model", "seeds", "budget (min)", "val Pearson", "val Spearman", "val MAE (eV)", "val R²"]
              + [f"val r {name}" for name in species]
              + ["LOSO CV Pearson"] + [f"s to val {t} (median)" for t in THRESHOLDS]
              + ["epochs", "s / epoch", "wall (min)"])
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    for name, records in recipes.items():
        row = [name, records[0]["model"], ", ".join(str(r["seed"]) for r in records),
               f"{records[0]['budget_minutes']:g}"]
        row += [mean_std([r[metric] for r in records]) for metric in METRICS]
        row += [mean_std([r["species_pearson"][s] for r in records if s in r["species_pearson"]]) for s in species]
        row += ["; ".join(cv_text(fold) for fold in cv.get(name, [])) or "—"]
        row += [median_time(records, t) for t in THRESHOLDS]
        row += [f"{np.mean([r['epochs'] for r in records]):.0f}",
                f"{np.mean([r['seconds_per_epoch'] for r in records]):.1f}",
                f"{np.mean([r['minutes'] for r in records]):.1f}"]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def parse_named(items: list[str], flag: str) -> dict[str, list[str]]:
    """NAME=VALUE items as {NAME: [VALUE, ...]} (a name may repeat)."""
    named: dict[str, list[str]] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name or not value:
            raise SystemExit(f"{flag} {item}: expected NAME=VALUE")
        named.setdefault(name, []).append(value)
    return named


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", action="append", required=True, help="NAME=RUN_DIR,RUN_DIR,... (one per seed; repeat a NAME to add runs)")
    parser.add_argument("--cv", action="append", default=[], help="NAME=cv.json of benchmarks/cross_validation.py (repeatable, e.g. one per fold budget)")
    parser.add_argument("--data", default=None, help="cuzr64 data directory (default: $SYMGNN_DATA or ../shared/data/cuzr64)")
    parser.add_argument("--json", default=None, help="also write every seed's record here")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    warnings.simplefilter("ignore", UserWarning)
    data_dir = resolve_data_dir(args.data or os.environ.get("SYMGNN_DATA") or ROOT.parent / "shared" / "data" / "cuzr64")
    validation = [load_sample("train6", data_dir)]
    recipes = {name: [seed_record(Path(d), validation) for value in values for d in value.split(",")]
               for name, values in parse_named(args.recipe, "--recipe").items()}
    cv = {name: [json.loads(Path(path).read_text()) for path in paths]
          for name, paths in parse_named(args.cv, "--cv").items()}
    for name, records in recipes.items():
        for r in records:
            print(f"{name} seed {r['seed']}: val Pearson {r['pearson']:.4f} (logged {r['logged_val_pearson']:.4f}) "
                  f"best epoch {r['best_epoch']}/{r['epochs']}, {r['minutes']:.1f} min")
    print()
    print(markdown(recipes, cv))
    if args.json:
        with atomic_write(args.json) as handle:
            handle.write(json.dumps({"recipes": recipes, "cv": cv}, indent=2))


if __name__ == "__main__":
    run_script(main)
