"""Run the benchmark: one training + evaluation per (model, seed), each recorded as one JSON file.

Layout of a benchmark directory ``<out>``:

* ``protocol.json``: the protocol every run here was made under (a different one is refused);
* ``runs/<model>-seed<k>/``: the training run (``fit``'s layout: ``last.pt``, ``best.pt``, metrics);
* ``runs/<model>-seed<k>.json``: the finished run's figures, written atomically as its last step;
* ``results.csv``, ``results.md``: the table, rebuilt from the JSON files after every run.

Resuming is by construction: a run whose JSON exists is skipped; a run directory with ``last.pt``
but no JSON is continued with ``fit(resume=True)`` (its time budget counts the time already spent);
a run directory without ``last.pt`` (killed in its first epoch) is started again, after removing the
files a training run writes (any other file there is refused, never deleted).

Nothing a user had is deleted or overwritten: before anything is trained or written, the benchmark
checks that ``<out>`` is new, empty or a benchmark directory (it holds ``protocol.json``), that
``protocol.json`` and every ``runs/*.json`` are readable (a JSON file in ``runs/`` that is not a run
record is refused), that the models and data exist, and that the protocol is the recorded one. A
``protocol.json`` with no runs yet under it (a command that failed early) does not lock the directory.
"""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch

from symgnn.benchmark.protocol import (
    DESCRIPTOR_GBR,
    DESCRIPTORS,
    QUICK_CROP_RADIUS,
    QUICK_DESCRIPTOR_GBR,
    Protocol,
    check_model_names,
    hparams_of,
    training_config,
)
from symgnn.benchmark.splits import BenchmarkData, check_data, full_data, quick_data
from symgnn.benchmark.table import load_runs, write_tables
from symgnn.data.structure import Structure
from symgnn.durations import format_duration
from symgnn.errors import SymgnnError
from symgnn.evaluate import Evaluation, evaluate
from symgnn.io.atomic import atomic_write
from symgnn.nn.rotations import random_orthogonal
from symgnn.train.metrics import read_metrics

Log = Callable[[str], Any]


def run_name(model: str, seed: int) -> str:
    """``<model>-seed<k>``: the stem of a run's directory and JSON file."""
    return f"{model}-seed{seed}"


def _split_reports(evaluations: dict[str, Evaluation]) -> dict[str, dict[str, Any]]:
    return {split: evaluation.report() for split, evaluation in evaluations.items()}


def _environment() -> dict[str, Any]:
    import os

    return {
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
    }


def _metrics_summary(run_dir: Path) -> dict[str, Any]:
    """Epochs, best epoch, training seconds and seconds per epoch from ``metrics.jsonl``."""
    records = read_metrics(run_dir / "metrics.jsonl")
    if not records:
        return {"epochs": 0, "best_epoch": None, "train_seconds": 0.0, "seconds_per_epoch": None}
    scored = [r for r in records if np.isfinite(r.get("val_pearson", np.nan))]
    best = max(scored, key=lambda r: r["val_pearson"]) if scored else None
    seconds = float(records[-1]["seconds"])
    return {
        "epochs": int(records[-1]["epoch"]),
        "best_epoch": int(best["epoch"]) if best else None,
        "train_seconds": seconds,
        "seconds_per_epoch": seconds / len(records),
    }


def _already_spent(run_dir: Path) -> float:
    """Training seconds recorded in ``last.pt`` (0 for a fresh run)."""
    from symgnn.train.checkpoint import load_checkpoint

    last = run_dir / "last.pt"
    if not last.is_file():
        return 0.0
    return float(load_checkpoint(last).get("train_state", {}).get("elapsed", 0.0))


# What a training run (``fit``) writes into its directory; atomic writes add hidden ``.<name>.*`` temporaries.
TRAINING_FILES = ("config.yaml", "metrics.jsonl", "last.pt", "best.pt", "summary.json")


def _is_training_file(path: Path) -> bool:
    return path.is_file() and any(path.name == name or path.name.startswith(f".{name}.") for name in TRAINING_FILES)


def check_unfinished_run(run_dir: Path) -> None:
    """Refuse an unfinished run directory (no ``last.pt``) that holds anything a training run does not
    write: restarting the run clears the directory, and only the benchmark's own files may go."""
    if not run_dir.exists() or (run_dir / "last.pt").is_file():
        return
    if not run_dir.is_dir():
        raise SymgnnError(f"{run_dir}: not a folder; the benchmark keeps this run's training there: move it elsewhere")
    foreign = sorted(p.name for p in run_dir.iterdir() if not _is_training_file(p))
    if foreign:
        raise SymgnnError(f"{run_dir}: an unfinished run to restart, but it holds files a training run does not "
                          f"write ({', '.join(foreign)}); move them elsewhere, and rerun")


def _clear_unfinished_run(run_dir: Path) -> None:
    """Remove the training files of a run killed before its first checkpoint, then its directory."""
    check_unfinished_run(run_dir)
    for path in run_dir.iterdir():
        path.unlink()
    run_dir.rmdir()


def run_torch_model(model: str, seed: int, protocol: Protocol, data: BenchmarkData, run_dir: Path, log: Log,
                    hparams: dict[str, Any] | None = None) -> dict[str, Any]:
    """Train (or resume) one torch model, evaluate its best checkpoint on every split, measure invariance;
    ``hparams`` default to :func:`~symgnn.benchmark.protocol.hparams_of`."""
    from symgnn.invariance import invariance_error
    from symgnn.predictor import Predictor
    from symgnn.train.loop import fit

    start = time.monotonic()
    resume = (run_dir / "last.pt").is_file()
    if run_dir.exists() and not resume:
        _clear_unfinished_run(run_dir)  # killed before its first checkpoint: nothing worth keeping
    spent_before = _already_spent(run_dir)
    config = training_config(model, seed, protocol, data.train, data.val, data.label_column, hparams)
    log(f"{'resume' if resume else 'train'} {run_name(model, seed)}")
    fit(config, data.data_dir, run_dir, resume=resume, device="cpu", progress=False,
        log=lambda line: log(f"  {run_name(model, seed)}: {line}"))
    checkpoint = run_dir / "best.pt"
    note = None
    if not checkpoint.is_file():  # no finite validation Pearson in any epoch
        checkpoint, note = run_dir / "last.pt", "no finite validation Pearson: evaluated the last epoch"
    predictor = Predictor.from_checkpoint(checkpoint)
    # The table scores the train split as a fit on purpose, and labels it so: no warning for it.
    splits = _split_reports({split: evaluate(predictor, data.structures(split), warn_training_data=split != "train")
                             for split in data.evaluation})
    val_structure = data.structures("val")[0]
    invariance = invariance_error(
        predictor.model, predictor.graph(val_structure), protocol.invariance_transforms, seed=seed
    ) * predictor.label_std
    summary = _metrics_summary(run_dir)
    return {
        **summary,
        "parameters": sum(p.numel() for p in predictor.model.parameters()),
        "checkpoint": checkpoint.name,
        "checkpoint_note": note,
        "config": config.to_dict(),
        "splits": splits,
        "invariance_error_ev": float(invariance),
        "wall_seconds": spent_before + (time.monotonic() - start),
    }


def transform_structure(structure: Structure, matrix: np.ndarray) -> Structure:
    """``structure`` rotated/reflected by the orthogonal ``matrix`` (positions and cell)."""
    return Structure(structure.numbers, structure.positions @ matrix.T, structure.cell @ matrix.T, structure.pbc,
                     dict(structure.arrays), structure.name, structure.label_key)


def run_descriptors(seed: int, protocol: Protocol, data: BenchmarkData, log: Log) -> dict[str, Any]:
    """Fit the descriptor baseline (gradient-boosted trees on structure descriptors) and evaluate it.

    There are no epochs and no validation-based selection (the trees stop early on a split of the
    training atoms); the wall time is featurisation + fit + evaluation.
    """
    from symgnn.models.descriptors import DescriptorRegressor

    start = time.monotonic()
    log(f"fit {run_name(DESCRIPTORS, seed)}")
    params = {**DESCRIPTOR_GBR, **(QUICK_DESCRIPTOR_GBR if protocol.quick else {}), "random_state": int(seed)}
    regressor = DescriptorRegressor(method="gbr", gbr_params=params)
    features = {split: regressor.featurise(data.structures(split)) for split in data.evaluation}
    train_structures = data.structures("train")
    fit_start = time.monotonic()
    regressor.fit_features(features["train"], [s.labels for s in train_structures])
    fit_seconds = time.monotonic() - fit_start
    evaluations = {}
    for split, split_features in features.items():
        structures = data.structures(split)
        predictions = regressor.predict_features(split_features)
        evaluations[split] = Evaluation(
            np.concatenate(predictions),
            np.concatenate([np.asarray(s.labels, dtype=np.float64) for s in structures]),
            np.concatenate([s.numbers for s in structures]),
            np.concatenate([np.full(len(s), s.name, dtype=object) for s in structures]),
        )
    val_structure = data.structures("val")[0]
    generator = torch.Generator().manual_seed(seed)
    matrices = random_orthogonal(protocol.invariance_transforms, generator).double().numpy()
    spread = np.stack([regressor.predict([transform_structure(val_structure, m)])[0] for m in matrices])
    return {
        "epochs": None,
        "best_epoch": None,
        "train_seconds": fit_seconds,
        "seconds_per_epoch": None,
        "parameters": None,
        "checkpoint": None,
        "checkpoint_note": None,
        "config": {"method": "gbr", "gbr_params": params, "descriptors": asdict(regressor.config)},
        "splits": _split_reports(evaluations),
        "invariance_error_ev": float(spread.std(axis=0).mean()),
        "wall_seconds": time.monotonic() - start,
    }


def run_one(model: str, seed: int, protocol: Protocol, data: BenchmarkData, out: Path, log: Log,
            hparams: dict[str, Any] | None = None) -> Path:
    """Run ``model`` with ``seed`` (torch models with ``hparams``, default :func:`hparams_of`) unless
    its JSON exists; returns the JSON's path."""
    runs = out / "runs"
    result_path = runs / f"{run_name(model, seed)}.json"
    if result_path.is_file():
        log(f"skip {run_name(model, seed)}: already done ({result_path})")
        return result_path
    runs.mkdir(parents=True, exist_ok=True)
    if model == DESCRIPTORS:
        figures = run_descriptors(seed, protocol, data, log)
    else:
        figures = run_torch_model(model, seed, protocol, data, runs / run_name(model, seed), log, hparams)
    record = {
        "model": model,
        "seed": seed,
        "quick": protocol.quick,
        "budget_minutes": None if model == DESCRIPTORS else protocol.budget_minutes,
        "protocol": protocol.to_dict(),
        "data": {"dir": str(data.data_dir), "evaluation": data.evaluation, "note": data.note},
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "environment": _environment(),
        **figures,
    }
    with atomic_write(result_path) as handle:
        json.dump(record, handle, indent=2, default=_json_default)
    val = record["splits"]["val"]["pearson"]
    wall = record["wall_seconds"]
    log(f"done {run_name(model, seed)}: val Pearson {val:.4f}, wall {format_duration(wall)}")
    return result_path


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


def _flatten(settings: dict[str, Any]) -> dict[str, Any]:
    """``{"train_recipe": {"lr": 1e-3}}`` as ``{"train_recipe.lr": 1e-3}``, to name the setting that differs."""
    flat = {}
    for key, value in settings.items():
        if isinstance(value, dict):
            flat.update({f"{key}.{inner}": item for inner, item in value.items()})
        else:
            flat[key] = value
    return flat


def read_protocol(out: Path) -> dict[str, Any] | None:
    """The protocol recorded in ``<out>/protocol.json`` (older records upgraded), ``None`` without one."""
    path = out / "protocol.json"
    if not path.exists():
        return None
    try:
        recorded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        problem = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise SymgnnError(f"{path}: unreadable benchmark protocol ({problem}); restore it or use another --out") from None
    if not isinstance(recorded, dict) or not isinstance(recorded.get("train_recipe", {}), dict):
        raise SymgnnError(f"{path}: not a benchmark protocol (a JSON object of settings); restore it or use another --out")
    return Protocol.upgrade_record(recorded)


def protocol_differences(recorded: dict[str, Any], requested: dict[str, Any]) -> str:
    """Each setting that differs, with its recorded and requested values; empty when none does."""
    was, now = _flatten(recorded), _flatten(requested)
    differing = sorted(k for k in set(was) | set(now) if was.get(k) != now.get(k))
    return "; ".join(f"{k} recorded {was.get(k)!r}, requested {now.get(k)!r}" for k in differing)


def _other_protocol_error(out: Path, differences: str) -> SymgnnError:
    return SymgnnError(f"{out}: holds a benchmark made under another protocol ({differences}); "
                       "use another --out or the same settings")


def _requested(protocol: Protocol) -> dict[str, Any]:
    """``protocol`` as it reads back from JSON (tuples as lists), to compare with a recorded one."""
    return json.loads(json.dumps(protocol.to_dict()))


def _write_protocol(out: Path, protocol: Protocol) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with atomic_write(out / "protocol.json") as handle:
        json.dump(_requested(protocol), handle, indent=2)


def check_protocol(out: Path, protocol: Protocol) -> None:
    """Record ``protocol`` in ``<out>/protocol.json``, or refuse when the directory holds another one."""
    recorded = read_protocol(out)
    if recorded is None:
        _write_protocol(out, protocol)
    elif recorded != _requested(protocol):
        raise _other_protocol_error(out, protocol_differences(recorded, _requested(protocol)))


def _holds_runs(out: Path) -> bool:
    """Whether ``<out>/runs/`` holds anything (a record or a training run made under its protocol)."""
    runs = out / "runs"
    return runs.is_dir() and any(runs.iterdir())


def check_out(out: Path, models: list[str], seeds: int, protocol: Protocol, log: Log) -> bool:
    """Check ``out`` before anything is trained or written; returns whether ``protocol.json`` is to be
    (re)written.

    Refused, with one line naming the file: ``out`` a file, or a non-empty folder without
    ``protocol.json`` (not a benchmark directory: its files are the user's); an unreadable
    ``protocol.json``; another protocol while runs exist under the recorded one; an unreadable or
    foreign ``runs/*.json``; an unfinished run directory holding files training does not write.
    """
    if out.exists() and not out.is_dir():
        raise SymgnnError(f"{out}: not a folder; give --out a new or empty folder, or a benchmark directory")
    recorded = read_protocol(out)
    if recorded is None:
        if out.is_dir() and any(out.iterdir()):
            raise SymgnnError(f"{out}: not empty and not a benchmark directory (no protocol.json); the benchmark "
                              "writes only into a new or empty folder or one it made: choose another --out")
        return True
    load_runs(out)  # every record readable, before any run is skipped as done or trained
    for seed in range(seeds):
        for model in models:
            if model != DESCRIPTORS and not (out / "runs" / f"{run_name(model, seed)}.json").is_file():
                check_unfinished_run(out / "runs" / run_name(model, seed))
    requested = _requested(protocol)
    if recorded == requested:
        return False
    if _holds_runs(out):
        raise _other_protocol_error(out, protocol_differences(recorded, requested))
    log(f"{out / 'protocol.json'}: no runs were made under it yet; this command's protocol replaces it")
    return True


def _check_models(models: list[str], protocol: Protocol, overrides: dict[str, dict[str, Any]] | None) -> list[str]:
    """The models, each known and buildable with its hyper-parameters (``overrides``, see
    :func:`hparams_of`), checked before anything is written."""
    models = check_model_names(list(models))
    stray = sorted(set(overrides or {}) - set(models))
    if stray:
        raise SymgnnError(f"model_hparams: {', '.join(stray)} not among the models benchmarked ({', '.join(models)})")
    bad = sorted(name for name, hparams in (overrides or {}).items() if not isinstance(hparams, dict))
    if bad:
        raise SymgnnError(f"model_hparams: give each model a dict of keyword hyper-parameters (not for {', '.join(bad)})")
    if overrides and DESCRIPTORS in overrides:
        raise SymgnnError(f"model_hparams: {DESCRIPTORS} is not a torch model; its settings are DESCRIPTOR_GBR")
    for model in models:
        if model != DESCRIPTORS:  # building the config builds the model: an unknown name or bad setting fails here
            training_config(model, 0, protocol, ["train0"], ["train6"], hparams=hparams_of(model, overrides))
    return models


@dataclass
class BenchmarkResult:
    """What one benchmark invocation produced: the run JSONs (``skipped`` of them done before and not
    rerun), the tables and the time taken."""

    out: Path
    run_files: list[Path]
    csv_path: Path
    markdown_path: Path
    markdown: str
    seconds: float
    skipped: int = 0


def run_benchmark(
    models: list[str],
    seeds: int,
    data_dir: str | Path | None,
    out: str | Path,
    budget_minutes: float | None = None,
    quick: bool = False,
    log: Log = print,
    keep_freed_memory: bool = False,
    model_hparams: dict[str, dict[str, Any]] | None = None,
) -> BenchmarkResult:
    """Run every (model, seed) not yet done in ``out`` and rebuild the table after each run.

    Seeds are ``0 .. seeds-1``. Runs are ordered seed-major (every model with seed 0 first), so an
    interrupted benchmark has one run of as many models as possible. ``keep_freed_memory`` trains
    every run with glibc keeping freed memory (:mod:`symgnn.runtime`): the same numbers epoch by
    epoch, about three times the epochs in a CPU time budget; recorded in the protocol.

    ``models`` may name a model registered with :func:`symgnn.models.registry.register`; it trains
    with its constructor's defaults, or with ``model_hparams[name]`` (a dict of keyword arguments,
    which also replaces a built-in model's benchmark settings). Everything is checked (models, data,
    ``out`` and its records) before anything is written.
    """
    if seeds < 1:
        raise SymgnnError(f"--seeds must be at least 1, got {seeds}")
    start = time.monotonic()
    out = Path(out)
    protocol = Protocol.make(budget_minutes, quick, keep_freed_memory)
    models = _check_models(models, protocol, model_hparams)
    write_protocol = check_out(out, models, seeds, protocol, log)
    check_data(data_dir, quick)
    if write_protocol:
        _write_protocol(out, protocol)
    data = quick_data(data_dir, out, QUICK_CROP_RADIUS) if quick else full_data(data_dir)
    if quick:
        log("QUICK MODE: a smoke test on small crops for a few epochs; the numbers are not comparable to full runs")
    files, skipped = [], 0
    for seed in range(seeds):
        for model in models:
            skipped += (out / "runs" / f"{run_name(model, seed)}.json").is_file()
            hparams = None if model == DESCRIPTORS else hparams_of(model, model_hparams)
            files.append(run_one(model, seed, protocol, data, out, log, hparams))
            write_tables(out, data.data_dir)
    csv_path, markdown_path, markdown = write_tables(out, data.data_dir)
    return BenchmarkResult(out, files, csv_path, markdown_path, markdown, time.monotonic() - start, skipped)
