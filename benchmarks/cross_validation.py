"""Leave-one-sample-out cross-validation of a training config over the seven training samples.

train0 and train1 hold the same structure with two label sets, so they are never split: they form
one fold (held out together; when both train, their labels are averaged as the config says). Each
fold trains the config on the other samples for the same budget and scores the *final* model on
the held-out fold (no epoch selection on the held-out data, so the score is not optimistic). The
held-out train0/train1 fold is scored against each label set and averaged.

    python benchmarks/cross_validation.py --config configs/cuzr64.yaml [--minutes M | --epochs N]
        [--seed 0] [--data DIR] [--out DIR] [--threads 2] [--folds 0,1,...] [--device cpu|cuda]
        [--keep-freed-memory | --no-keep-freed-memory]

The budget per fold is the config's own (the shipped recipe: 205 epochs, at most 30 minutes), or
``--minutes M`` of wall clock alone (what a user of this machine gets in M minutes), or ``--epochs
N`` alone, with the cosine schedule spread over them: the same training on any machine, so folds run
on a GPU or on a busy CPU are comparable.

Runs are resumable: a fold whose run directory holds a summary is read, not retrained. Prints the
per-fold Pearson and mean ± std, and writes ``cv.json`` in ``--out``. Beside the per-fold scores,
which see only the ranking of atoms within each sample, ``cv.json`` holds scores that also see each
sample's predicted mean barrier (:func:`pooled_scores`): held-out samples scored two at a time, the
way ``symgnn evaluate --split test`` scores test0 and test1 together, and each sample's mean offset.

Seed ensembles: ``--ensemble CV_DIR CV_DIR ...`` trains nothing; it scores, fold by fold, the mean
prediction of the final models (``last.pt``) of finished cross-validations of one config run with
different seeds (each ``CV_DIR`` holds ``fold<k>-<held-out>`` run directories), on the held-out
samples and with the same score as a single run; it writes ``cv_ensemble.json``. Beside the
ensemble's scores it holds each member's own (``single_runs``: every score of a single run, per
member, and their mean ± std over the members, i.e. over seeds), computed from the same final
models, so one command gives both the seed spread and what averaging the seeds adds. Members must
record different seeds, and a fold run found in ``--out`` must record ``--seed``; either mistake
ends in one error line instead of a mislabelled report.

``threads`` and ``device`` in a report are those of the call that wrote it (a call that only merges
finished folds trains nothing); ``fold_runs`` gives each fold's own epochs and training seconds.
"""

from __future__ import annotations

import argparse
import copy
import json
from pathlib import Path

import numpy as np
import torch

from symgnn.data.registry import load_sample
from symgnn.errors import SymgnnError, run_script
from symgnn.io.atomic import atomic_write
from symgnn.metrics import pearson
from symgnn.train.config import load_config
from symgnn.train.loop import fit

#: epochs given to a fold budgeted in minutes alone: more than any run reaches, so the clock decides
NO_EPOCH_LIMIT = 10**6
FOLDS: list[list[str]] = [["train0", "train1"], ["train2"], ["train3"], ["train4"], ["train5"], ["train6"]]


def fold_config(base, held_out: list[str], minutes: float | None, seed: int, epochs: int | None = None):
    """``base`` trained on every sample but ``held_out``, validated (logged only) on ``held_out``.

    The budget is ``epochs`` when given (no time limit), else ``minutes`` of wall-clock time when
    given, else the config's own (its epochs and max_minutes).
    """
    config = copy.deepcopy(base)
    everything = [name for fold in FOLDS for name in fold]
    config.data.train = [name for name in everything if name not in held_out]
    config.data.val = list(held_out)
    config.data.average_labels = [g for g in base.data.average_labels if all(name in config.data.train for name in g)]
    if epochs is not None:
        config.train.max_minutes = None
        config.train.epochs = epochs
    elif minutes is not None:
        config.train.max_minutes = minutes
        config.train.epochs = max(config.train.epochs, NO_EPOCH_LIMIT)
    config.train.patience = None
    config.train.seed = seed
    return config


def budget_record(config) -> dict[str, float]:
    """A fold config's budget for ``cv.json``: ``epochs_per_fold`` and/or ``minutes_per_fold``."""
    budget: dict[str, float] = {}
    if config.train.epochs < NO_EPOCH_LIMIT:
        budget["epochs_per_fold"] = config.train.epochs
    if config.train.max_minutes:
        budget["minutes_per_fold"] = config.train.max_minutes
    return budget


def held_out_predictions(run_dirs: list[Path], held_out: list[str], data_dir: str | None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Prediction and label (eV) of every held-out sample by the final model of one fold run, or by
    the mean of the final models of several (a seed ensemble)."""
    import tempfile

    from symgnn.predictor import Predictor
    from symgnn.train.ensemble import combine_checkpoints

    if len(run_dirs) == 1:
        predictor = Predictor.from_checkpoint(run_dirs[0] / "last.pt")
    else:
        with tempfile.TemporaryDirectory() as work:
            combined = combine_checkpoints([d / "last.pt" for d in run_dirs], Path(work) / "ensemble-last.pt")
            predictor = Predictor.from_checkpoint(combined)
    predictions = {}
    for name in held_out:
        structure = load_sample(name, data_dir)
        predictions[name] = (predictor.predict(structure), np.asarray(structure.labels, dtype=np.float64))
    return predictions


def held_out_score(predictions: dict[str, tuple[np.ndarray, np.ndarray]]) -> float:
    """A fold's score: the Pearson of each held-out sample, averaged over the fold's samples."""
    return float(np.mean([pearson(prediction, truth) for prediction, truth in predictions.values()]))


def pooled_scores(predictions: dict[str, tuple[np.ndarray, np.ndarray]]) -> dict[str, object]:
    """Scores that see each structure's predicted *level*, not only the ranking within it.

    ``symgnn evaluate --split test`` reports the Pearson over the atoms of test0 and test1 together,
    which rewards predicting the right mean barrier of each structure as well as the ranking inside
    it; the per-fold score cannot see that. Here every held-out sample keeps the prediction of the
    fold that held it out, and:

    - ``pairs``: the Pearson over the atoms of two samples of different folds together (as test0 and
      test1 are scored), for every such pair; ``pairs_mean`` their mean;
    - ``pooled``: the Pearson over the atoms of every held-out sample together;
    - ``offsets_ev``: each sample's mean prediction minus its mean label.

    train0 and train1 (one structure, one fold) are never paired with each other.
    """
    from itertools import combinations

    fold_of = {name: index for index, fold in enumerate(FOLDS) for name in fold}
    names = list(predictions)
    pairs = {
        f"{a}+{b}": pearson(np.concatenate([predictions[a][0], predictions[b][0]]), np.concatenate([predictions[a][1], predictions[b][1]]))
        for a, b in combinations(names, 2)
        if fold_of[a] != fold_of[b]
    }
    everything = [np.concatenate([predictions[n][k] for n in names]) for k in (0, 1)]
    return {
        "pooled": pearson(*everything),
        "pairs_mean": float(np.mean(list(pairs.values()))) if pairs else None,
        "pairs": pairs,
        "offsets_ev": {name: float(prediction.mean() - truth.mean()) for name, (prediction, truth) in predictions.items()},
    }


def run_scores(predictions: dict[str, tuple[np.ndarray, np.ndarray]], folds: list[list[str]]) -> dict[str, object]:
    """Every score of one cross-validation (or one ensemble of them) from its held-out predictions:
    per fold (:func:`held_out_score`), their mean ± std (sample std), and :func:`pooled_scores`."""
    scores = {"+".join(fold): held_out_score({name: predictions[name] for name in fold}) for fold in folds}
    values = np.array(list(scores.values()))
    return {"folds": scores, "mean": float(values.mean()), "std": float(values.std(ddof=1)) if len(values) > 1 else 0.0,
            **pooled_scores(predictions)}


def spread_over_runs(runs: list[dict[str, object]]) -> dict[str, dict[str, float]]:
    """Mean ± std (sample std) over single runs (seeds) of each summary score of :func:`run_scores`:
    ``mean`` (the per-fold mean), ``pairs_mean``, ``pooled``, and every fold's score."""
    def summary(values: list[float]) -> dict[str, float]:
        array = np.array(values, dtype=np.float64)
        return {"mean": float(array.mean()), "std": float(array.std(ddof=1)) if array.size > 1 else 0.0}

    spread = {key: summary([run[key] for run in runs]) for key in ("mean", "pooled")}
    if all(run["pairs_mean"] is not None for run in runs):
        spread["pairs_mean"] = summary([run["pairs_mean"] for run in runs])
    spread["folds"] = {name: summary([run["folds"][name] for run in runs]) for name in runs[0]["folds"]}
    return spread


def fold_dir(cv_dir: Path, index: int) -> Path:
    """The run directory of fold ``index`` in a cross-validation output directory."""
    return cv_dir / f"fold{index}-{'+'.join(FOLDS[index])}"


def checkpoint_seed(path: Path) -> int | None:
    """The training seed a checkpoint records in its config (None when it records none)."""
    config = torch.load(path, map_location="cpu", weights_only=True).get("config") or {}
    return config.get("train", {}).get("seed")


def check_fold_seed(run_dir: Path, seed: int) -> None:
    """Refuse to report a finished fold run trained with another seed than ``--seed``: its scores
    would go into ``cv.json`` under the wrong seed. (Resuming an unfinished one with another seed is
    refused by :func:`symgnn.train.loop.fit` itself.)"""
    last = run_dir / "last.pt"
    trained = checkpoint_seed(last) if last.is_file() else None  # a missing model is reported where it is read
    if trained is not None and trained != seed:
        raise SymgnnError(f"{run_dir}: trained with seed {trained}, not --seed {seed}; give --seed {trained} or another --out")


def check_distinct_seeds(members: list[Path], seeds: list[int | None]) -> None:
    """Refuse an ensemble two of whose members record the same seed (the same run given twice, or
    two runs of one seed): its ``over_seeds`` spread would not be over seeds."""
    first: dict[int, Path] = {}
    for member, seed in zip(members, seeds):
        if seed is not None and seed in first:
            raise SymgnnError(f"{member}: trained with seed {seed}, as was {first[seed]}; a seed ensemble needs runs of different seeds")
        if seed is not None:
            first[seed] = member


def fold_timing(run_dir: Path) -> dict[str, float] | None:
    """A finished fold run's ``epochs_run`` and ``seconds`` (from its ``summary.json``), None if absent."""
    path = run_dir / "summary.json"
    if not path.is_file():
        return None
    summary = json.loads(path.read_text())
    return {key: summary[key] for key in ("epochs_run", "seconds") if key in summary}


def finished_fold_dir(cv_dir: Path, index: int) -> Path:
    """:func:`fold_dir`, refused unless it holds the fold's final model."""
    path = fold_dir(cv_dir, index)
    if not (path / "last.pt").is_file():
        raise SymgnnError(f"{path}: no finished fold run (last.pt) for the ensemble")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True)
    parser.add_argument("--minutes", type=float, default=None,
                        help="training budget per fold in wall-clock minutes alone (default: the config's budget)")
    parser.add_argument("--epochs", type=int, default=None,
                        help="training budget per fold in epochs alone, machine-independent (default: the config's budget)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--keep-freed-memory", action=argparse.BooleanOptionalAction, default=None,
                        help="override train.keep_freed_memory for every fold (with --minutes it decides the epochs a fold gets)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", default=None)
    parser.add_argument("--out", default="cv-runs")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--folds", default=None, help="comma-separated fold indices (default: all six)")
    parser.add_argument("--ensemble", nargs="+", type=Path, default=None, metavar="CV_DIR",
                        help="score the seed ensemble of these finished cross-validations instead of training")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    base = load_config(args.config)
    if args.keep_freed_memory is not None:
        base.train.keep_freed_memory = args.keep_freed_memory
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    chosen = range(len(FOLDS)) if args.folds is None else [int(i) for i in args.folds.split(",")]
    predictions: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    member_predictions: list[dict[str, tuple[np.ndarray, np.ndarray]]] = [{} for _ in args.ensemble or []]
    member_seeds: list[int | None] = [None for _ in args.ensemble or []]
    timings: dict[str, dict[str, float] | None] = {}
    for index in chosen:
        held_out = FOLDS[index]
        name = "+".join(held_out)
        run_dir = fold_dir(out, index)
        if args.ensemble:
            members = [finished_fold_dir(cv_dir, index) for cv_dir in args.ensemble]
            for k, member in enumerate(members):
                member_seeds[k] = checkpoint_seed(member / "last.pt")
            check_distinct_seeds(members, member_seeds)
            for k, member in enumerate(members):
                member_predictions[k].update(held_out_predictions([member], held_out, args.data))
        else:
            members = [run_dir]
            if (run_dir / "summary.json").is_file():
                check_fold_seed(run_dir, args.seed)
            else:
                resume = (run_dir / "last.pt").is_file()
                config = fold_config(base, held_out, args.minutes, args.seed, epochs=args.epochs)
                fit(config, args.data, run_dir, resume=resume, device=args.device, progress=False,
                    log=lambda message, name=name: print(f"  [{name}] {message}", flush=True))
            timings[name] = fold_timing(run_dir)
        fold_predictions = held_out_predictions(members, held_out, args.data)
        predictions.update(fold_predictions)
        what = f" (ensemble of {len(members)} final models)" if args.ensemble else ""
        print(f"fold {name}: held-out Pearson {held_out_score(fold_predictions):.4f}{what}", flush=True)
    folds = [FOLDS[index] for index in chosen]
    summary = {
        "config": str(args.config), "threads": args.threads, "device": args.device,
        **({"ensemble_of": [str(d) for d in args.ensemble]} if args.ensemble else {"seed": args.seed}),
        **({} if args.ensemble else {**budget_record(fold_config(base, FOLDS[0], args.minutes, args.seed, args.epochs)),
                                     "keep_freed_memory": base.train.keep_freed_memory, "fold_runs": timings}),
        **run_scores(predictions, folds),
    }
    if args.ensemble:
        runs = [run_scores(member, folds) for member in member_predictions]
        summary["single_runs"] = {
            "runs": [{"cv_dir": str(d), "seed": seed, **run} for d, seed, run in zip(args.ensemble, member_seeds, runs)],
            "over_seeds": spread_over_runs(runs),
        }
    # An ensemble's scores go beside, never over, the cv.json of a cross-validation run in --out.
    with atomic_write(out / ("cv_ensemble.json" if args.ensemble else "cv.json")) as handle:
        handle.write(json.dumps(summary, indent=2))
    print(f"leave-one-sample-out Pearson: {summary['mean']:.4f} ± {summary['std']:.4f} over {len(folds)} folds")
    if args.ensemble:
        spread = summary["single_runs"]["over_seeds"]
        print(f"single runs over {len(args.ensemble)} seeds: per fold {spread['mean']['mean']:.4f} ± {spread['mean']['std']:.4f}"
              + (f", pairs {spread['pairs_mean']['mean']:.4f} ± {spread['pairs_mean']['std']:.4f}" if "pairs_mean" in spread else "")
              + f", all together {spread['pooled']['mean']:.4f} ± {spread['pooled']['std']:.4f}")
    if summary["pairs"]:
        print(f"held-out samples scored two at a time (as test0 + test1): {summary['pairs_mean']:.4f} over {len(summary['pairs'])} pairs; "
              f"all together: {summary['pooled']:.4f}")


if __name__ == "__main__":
    run_script(main)
