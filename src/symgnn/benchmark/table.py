"""The benchmark table: per model, figures over seeds (mean ± std) from the run JSON files.

The table is always rebuilt from whatever ``runs/*.json`` the benchmark directory holds, so an
interrupted benchmark still has a table, and a resumed one extends it. Under the table goes the
noise ceiling measured from the data: train0 and train1 hold the same structure with independently
computed barriers, so the Pearson between their label sets, r₀₁, measures label noise; with a
noise-free prediction f and two labels y = f + ε of equal noise, corr(f, y) = √r₀₁, the most any
model can reach against one label set.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from symgnn.benchmark.protocol import ALL_MODELS, DESCRIPTORS, PAPER_TEST_PEARSON, QUICK_EPOCHS
from symgnn.durations import format_duration
from symgnn.errors import SymgnnError
from symgnn.io.atomic import atomic_write

SPLITS = ("train", "val", "test")


def read_record(path: Path) -> dict[str, Any]:
    """One run record ``runs/<model>-seed<k>.json``, checked: every JSON file in ``runs/`` is read as a
    record, so a broken or foreign one is refused here, naming it, rather than failing in the table."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        problem = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise SymgnnError(f"{path}: unreadable run record ({problem}); delete it to redo the run") from None
    seed = record.get("seed") if isinstance(record, dict) else None
    if (not isinstance(record, dict) or not isinstance(record.get("model"), str) or not isinstance(seed, int)
            or isinstance(seed, bool) or not isinstance(record.get("splits"), dict)):
        raise SymgnnError(f"{path}: not a benchmark run record (no model, seed and splits); runs/ holds only the "
                          "benchmark's records: move it out of runs/")
    if path.stem != f"{record['model']}-seed{seed}":
        raise SymgnnError(f"{path}: holds the record of {record['model']}-seed{seed}, not of {path.stem}; "
                          "move it out of runs/")
    return record


def load_runs(out: str | Path) -> list[dict[str, Any]]:
    """Every finished run's record in ``<out>/runs/`` (each checked by :func:`read_record`), in table
    order (model, then seed)."""
    records = [read_record(path) for path in sorted(Path(out, "runs").glob("*.json"))]
    order = {name: k for k, name in enumerate(ALL_MODELS)}
    return sorted(records, key=lambda r: (order.get(r["model"], len(order)), r["model"], r["seed"]))


def noise_ceiling(data_dir: str | Path | None) -> dict[str, float] | None:
    """Pearson between the train0 and train1 label sets and its square root; ``None`` without them."""
    from symgnn.data import registry
    from symgnn.metrics import pearson

    try:
        first, second = (registry.load_sample(name, data_dir) for name in ("train0", "train1"))
    except SymgnnError:
        return None
    if len(first) != len(second) or not np.array_equal(first.numbers, second.numbers):
        return None
    r = pearson(first.labels, second.labels)
    return {"label_pearson": r, "ceiling": math.sqrt(max(r, 0.0)), "atoms": len(first)}


def _values(runs: list[dict[str, Any]], getter) -> list[float]:
    values = []
    for run in runs:
        try:
            value = getter(run)
        except (KeyError, TypeError):
            continue
        if value is not None and np.isfinite(value):
            values.append(float(value))
    return values


def _mean_std(values: list[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    return float(np.mean(values)), (float(np.std(values, ddof=1)) if len(values) > 1 else None)


def aggregate(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per model: counts, figures per split (mean and std over seeds) and costs."""
    rows = []
    for model in dict.fromkeys(r["model"] for r in runs):
        group = [r for r in runs if r["model"] == model]
        row: dict[str, Any] = {
            "model": model,
            "seeds": len(group),
            "quick": any(r.get("quick") for r in group),
            "budget_minutes": group[0].get("budget_minutes"),
            "paper_test_pearson": PAPER_TEST_PEARSON.get(model),
        }
        for split in SPLITS:
            for metric in ("pearson", "spearman", "mae"):
                mean, std = _mean_std(_values(group, lambda r: r["splits"][split][metric]))
                row[f"{split}_{metric}_mean"], row[f"{split}_{metric}_std"] = mean, std
        for key in ("epochs", "parameters", "seconds_per_epoch", "wall_seconds", "invariance_error_ev"):
            row[key] = _mean_std(_values(group, lambda r: r[key]))[0]
        rows.append(row)
    return rows


def _figure(mean: float | None, std: float | None, digits: int = 3) -> str:
    if mean is None:
        return "—"
    return f"{mean:.{digits}f} ± {std:.{digits}f}" if std is not None else f"{mean:.{digits}f}"


def _plain(value: float | None, fmt: str) -> str:
    return "—" if value is None else format(value, fmt)


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """The results table in Markdown (test columns only when some run has test figures)."""
    has_test = any(row["test_pearson_mean"] is not None for row in rows)
    header = ["model", "seeds", "budget (min)", "epochs", "train r", "val r (train6)", "test r", "paper test r",
              "val Spearman", "val MAE (eV)"]
    if has_test:
        header += ["test Spearman", "test MAE (eV)"]
    header += ["parameters", "s / epoch", "wall", "invariance error (eV)"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    for row in rows:
        budget = "fit (no epochs)" if row["model"] == DESCRIPTORS else (
            f"{QUICK_EPOCHS} epochs" if row["quick"] else _plain(row["budget_minutes"], "g"))
        cells = [
            f"`{row['model']}`", str(row["seeds"]), budget, _plain(row["epochs"], ".1f"),
            _figure(row["train_pearson_mean"], row["train_pearson_std"]),
            _figure(row["val_pearson_mean"], row["val_pearson_std"]),
            _figure(row["test_pearson_mean"], row["test_pearson_std"]),
            _plain(row["paper_test_pearson"], ".3f"),
            _figure(row["val_spearman_mean"], row["val_spearman_std"]),
            _figure(row["val_mae_mean"], row["val_mae_std"]),
        ]
        if has_test:
            cells += [_figure(row["test_spearman_mean"], row["test_spearman_std"]),
                      _figure(row["test_mae_mean"], row["test_mae_std"])]
        cells += [
            _plain(row["parameters"], ",.0f"), _plain(row["seconds_per_epoch"], ".3g"),
            "—" if row["wall_seconds"] is None else format_duration(row["wall_seconds"]),
            _plain(row["invariance_error_ev"], ".2e"),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


#: What the validation column measures, printed under every table.
VALIDATION_NOTE = (
    "Validation is train6, not the paper's test samples: the least relaxed sample of the dataset (fastest "
    "cooling, highest potential energy: mean -4.460 eV per atom against -4.463 to -4.483 for train0–train5) "
    "and the only one in an anisotropic box (52.4 × 49.2 × 49.2 Å against cubes of about 50.2 Å). Scoring "
    "it is an extrapolation and harder than the test samples, so the val column sits below the paper's test "
    "column for the same model; compare rows with each other, and the paper's column only by rank."
)


def ceiling_text(ceiling: dict[str, float] | None) -> str:
    """The noise-ceiling paragraph printed under the table."""
    if ceiling is None:
        return "Noise ceiling: not measured (train0 and train1 are not both in the data directory)."
    return (
        f"Noise ceiling (measured on the data): train0 and train1 hold the same {ceiling['atoms']}-atom structure "
        f"with independently computed barriers; the Pearson between the two label sets is "
        f"{ceiling['label_pearson']:.3f}, and its square root, {ceiling['ceiling']:.3f}, is the most any model "
        f"can reach against one label set."
    )


def _finished_span(runs: list[dict[str, Any]]) -> str:
    """``between <first> and <last>`` (UTC) from the runs' ``finished`` stamps."""
    stamps = sorted(r["finished"] for r in runs if r.get("finished"))
    if not stamps:
        return "at unknown times"
    return f"on {stamps[0]}" if stamps[0] == stamps[-1] else f"between {stamps[0]} and {stamps[-1]} (UTC)"


def _distinct(runs: list[dict[str, Any]], key: str) -> str:
    """The value of environment ``key`` shared by every run, or each value with "differ between runs"."""
    values = {(r.get("environment") or {}).get(key) for r in runs} - {None}
    if not values:
        return "?"
    ordered = sorted(values, key=lambda v: (isinstance(v, str), v))
    return str(ordered[0]) if len(ordered) == 1 else f"{' or '.join(map(str, ordered))} (differ between runs)"


def _machine(runs: list[dict[str, Any]]) -> str:
    """The machine the runs were made on, from every run's environment (not only the first): runs in one
    folder may have used other ``--threads`` or another machine, and the header must say so."""
    return (f"{_distinct(runs, 'cpu_count')} CPU cores ({_distinct(runs, 'machine')}), "
            f"torch threads {_distinct(runs, 'torch_threads')}, torch {_distinct(runs, 'torch')}")


def render_markdown(runs: list[dict[str, Any]], ceiling: dict[str, float] | None) -> str:
    """The whole ``results.md``: header (protocol, budget, data, machine), table, noise ceiling, legend."""
    rows = aggregate(runs)
    quick = any(row["quick"] for row in rows)
    parts = ["# symgnn benchmark: per-atom energy barriers of Cu64Zr36", ""]
    if quick:
        parts += ["**QUICK MODE — a smoke test: every model trains a few epochs on small crops. These numbers are "
                  "not comparable to full runs or to the paper.**", ""]
    if runs:
        first = runs[0]
        protocol = first.get("protocol", {})
        budgets = sorted({r["budget_minutes"] for r in runs if r.get("budget_minutes") is not None})
        seeds = sorted({r["seed"] for r in runs})
        recipe = protocol.get("train_recipe", {})
        where = ("train on crops of train0 and train1, validate on a crop of train6" if quick
                 else "train on train0–train5, validate on train6")
        budget = (f"{protocol.get('epochs')} epochs per run" if quick else
                  f"{', '.join(f'{b:g}' for b in budgets)} min of training per run (checked before each epoch, "
                  "so the last epoch may overrun it)")
        allocator = ("glibc kept freed memory for reuse (`--keep-freed-memory`: the same numbers epoch by epoch, "
                     "about three times the epochs of its default settings in the same minutes)"
                     if recipe.get("keep_freed_memory") else "glibc's default allocator settings")
        parts += [
            f"Protocol: {where}, best epoch by validation Pearson only, graph cutoff {protocol.get('cutoff', '?')} Å, "
            f"the same recipe for every model ({recipe.get('optimizer')}, lr {recipe.get('lr')} with "
            f"{recipe.get('lr_schedule')} decay over the budget, gradient clipping {recipe.get('grad_clip')}, one "
            f"step per training sample). Figures are mean ± std over seeds {', '.join(map(str, seeds))} (a bare "
            "number: one seed so far).",
            "",
            f"Budget: {budget}; {allocator}. Data: {first.get('data', {}).get('note', '')}.",
            "",
            f"Machine: {_machine(runs)}. Runs finished {_finished_span(runs)}.",
            "",
            markdown_table(rows),
            "",
        ]
    else:
        parts += ["No finished runs yet.", ""]
    parts += [
        ceiling_text(ceiling),
        "",
        VALIDATION_NOTE,
        "",
        "Columns: r is the Pearson correlation between predicted and computed barriers over all atoms of the "
        f"split (train: {'the training crops' if quick else 'train0–train5'} together); paper test r is the test Pearson the SymGNN paper "
        "(arXiv:2401.08627) reports; epochs are those run within the budget; s / epoch includes the validation "
        "pass; wall is training plus evaluation; the invariance error is the mean over atoms of the standard "
        "deviation of the prediction (eV) across random rotations and reflections of the validation structure "
        "(0 for an exactly invariant model). `descriptors` is fitted once (gradient-boosted trees on radial and "
        "bond-orientational descriptors) with no epochs and no validation-based selection.",
        "",
    ]
    return "\n".join(parts)


def write_tables(out: str | Path, data_dir: str | Path | None) -> tuple[Path, Path, str]:
    """Rebuild ``results.csv`` and ``results.md`` in ``out`` from its run JSONs; returns both paths and the text."""
    out = Path(out)
    runs = load_runs(out)
    rows = aggregate(runs)
    ceiling = noise_ceiling(data_dir)
    csv_path, markdown_path = out / "results.csv", out / "results.md"
    columns = list(rows[0]) if rows else ["model"]
    with atomic_write(csv_path) as handle:
        writer = csv.DictWriter(handle, fieldnames=columns + ["noise_label_pearson", "noise_ceiling"],
                                lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({**{k: ("" if v is None else v) for k, v in row.items()},
                             "noise_label_pearson": "" if ceiling is None else ceiling["label_pearson"],
                             "noise_ceiling": "" if ceiling is None else ceiling["ceiling"]})
    markdown = render_markdown(runs, ceiling)
    with atomic_write(markdown_path) as handle:
        handle.write(markdown)
    return csv_path, markdown_path, markdown
