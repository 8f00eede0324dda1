"""The training loop: squared error on standardised labels (offset-weighted, see ``loss.py``; plus
weighted auxiliary targets), Adam/AMSGrad/AdamW, a time budget, optional weight averaging (EMA),
and model selection on validation Pearson only.

A run directory holds ``config.yaml`` (the resolved config), ``metrics.jsonl`` (one line per epoch),
``last.pt`` (everything needed to resume) and ``best.pt`` (the epoch with the best validation
Pearson) and, at the end, ``summary.json``. Checkpoints and JSON are written atomically. ``resume=True`` continues from ``last.pt``; seeds are
derived from (seed, epoch), so a resumed run draws the same batches and dropout as an unbroken one.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from torch_geometric.data import Batch, Data

from symgnn.data.dataset import average_label_groups, build_graphs, load_structure
from symgnn.durations import format_duration
from symgnn.errors import SymgnnError
from symgnn.io.atomic import atomic_write
from symgnn.metrics import pearson
from symgnn.models import build_model
from symgnn.predictor import resolve_device, trained_species
from symgnn.runtime import keep_freed_memory
from symgnn.train.augment import displaced_edges
from symgnn.train.checkpoint import load_checkpoint, save_checkpoint
from symgnn.train.compiled import TrainingForward
from symgnn.train.config import Config, files_from, load_config
from symgnn.train.contract import call_model, check_trainable, checked_output, nonfinite_loss_message
from symgnn.train.loss import offset_weighted_mse, structure_index
from symgnn.train.metrics import append_metrics, truncate_metrics


@dataclass
class TrainResult:
    run_dir: Path
    best_epoch: int
    best_val_pearson: float
    epochs_run: int
    seconds: float
    seconds_per_epoch: float


@dataclass
class LabelScaler:
    """Standardisation of each target column: ``(y - mean) / std``."""

    mean: torch.Tensor
    std: torch.Tensor

    @classmethod
    def fit(cls, graphs: list[Data], enabled: bool = True) -> "LabelScaler":
        targets = torch.cat([_targets(g) for g in graphs])
        if not enabled:
            return cls(torch.zeros(targets.shape[1]), torch.ones(targets.shape[1]))
        return cls(targets.mean(0), targets.std(0).clamp_min(1e-8))

    def transform(self, target: torch.Tensor) -> torch.Tensor:
        return (target - self.mean.to(target)) / self.std.to(target)


def _targets(graph: Data) -> torch.Tensor:
    """Label (column 0) and auxiliary targets as one (N, 1 + aux) tensor."""
    columns = [graph.y.view(-1, 1)]
    if getattr(graph, "aux", None) is not None:
        columns.append(graph.aux)
    return torch.cat(columns, dim=1)


def prepare_data(config: Config, data_dir: str | Path | None) -> tuple[list[Data], list[Data], list[str], list[str]]:
    """Load and graph the training and validation structures named in ``config``."""
    train = [load_structure(n, config.data, data_dir) for n in config.data.train]
    val = [load_structure(n, config.data, data_dir) for n in config.data.val]
    overlap = set(config.data.train) & set(config.data.val)
    if overlap:
        raise SymgnnError(f"config: {', '.join(sorted(overlap))} in both train and val")
    train = average_label_groups(train, config.data.average_labels)
    return build_graphs(train, config.data), build_graphs(val, config.data), [s.name for s in train], [s.name for s in val]


def _optimizer(config: Config, model: torch.nn.Module) -> torch.optim.Optimizer:
    t = config.train
    if t.optimizer == "adamw":
        return torch.optim.AdamW(model.parameters(), lr=t.lr, weight_decay=t.weight_decay)
    return torch.optim.Adam(model.parameters(), lr=t.lr, weight_decay=t.weight_decay, amsgrad=t.optimizer == "amsgrad")


@torch.no_grad()
def predict_standardised(model: torch.nn.Module, graph: Data, out_dim: int | None = None) -> torch.Tensor:
    """Column 0 (the barrier, standardised) of ``model``'s output in eval mode, detached: an output
    built as a view of a parameter (``self.bias.expand(n, -1)``) still requires grad under no_grad."""
    model.eval()
    return checked_output(model, model(graph), graph.num_nodes, out_dim)[:, 0].detach()


def validation_pearson(model: torch.nn.Module, graphs: list[Data], out_dim: int | None = None) -> float:
    """Mean over validation structures of the Pearson between prediction and label."""
    scores = [pearson(predict_standardised(model, g, out_dim).cpu().numpy(), g.y.cpu().numpy()) for g in graphs]
    return float(np.mean(scores))


def _learning_rate(config: Config, epoch: int, elapsed: float) -> float:
    t = config.train
    if t.lr_schedule == "none":
        return t.lr
    progress = epoch / max(t.epochs, 1)
    if t.max_minutes:
        progress = max(progress, elapsed / (60 * t.max_minutes))
    return t.lr * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))


#: the epoch (counted in this process) after which :func:`time_budget_note` projects the run's length
EPOCHS_BEFORE_PROJECTION = 3


def time_budget_note(config: Config, epochs_done: int, elapsed: float, epoch_times: list[float]) -> str | None:
    """A note when ``train.max_minutes`` will end the run before ``train.epochs`` at the pace so far.

    The cosine decay then follows the clock (:func:`_learning_rate`), so on a slower machine the run
    trains fewer epochs under another schedule than the recipe's: a different model, which the user
    should know before it finishes rather than find in the epoch count afterwards. It is given once,
    when :data:`EPOCHS_BEFORE_PROJECTION` epochs have been timed in this process (their median is the
    pace; the first includes warm-up), and is ``None`` at any other epoch or when the epochs fit.
    """
    t = config.train
    if not t.max_minutes or len(epoch_times) != EPOCHS_BEFORE_PROJECTION:
        return None
    pace = float(np.median(epoch_times))
    projected = elapsed + pace * (t.epochs - epochs_done)
    if projected <= 60 * t.max_minutes:
        return None
    return (f"at {format_duration(pace)} per epoch the {t.epochs} epochs need about {format_duration(projected)}, "
            f"more than train.max_minutes ({t.max_minutes:g} min): the learning-rate decay follows the clock and "
            f"the run stops early, so it trains another model than the {t.epochs}-epoch recipe "
            "(--max-minutes 0 trains every epoch)")


def fit(
    config: Config | str | Path,
    data_dir: str | Path | None,
    run_dir: str | Path,
    resume: bool = False,
    device: str | None = "cpu",
    progress: bool = True,
    log: Any = print,
) -> TrainResult:
    """Train ``config``'s model, validating every ``eval_every`` epochs, and keep the best checkpoint.

    With no validation samples (``data.val: []``, e.g. a recipe chosen beforehand and refitted on all
    labelled data) nothing is selected: ``best.pt`` is the latest epoch's model, so it ends as the
    final one, and its validation Pearson is NaN. ``config`` is a :class:`Config` or the path of a
    YAML config (read with :func:`~symgnn.train.config.load_config`).
    """
    if not isinstance(config, Config):
        config = load_config(config)
    run_dir = Path(run_dir)
    last_path, best_path, metrics_path = run_dir / "last.pt", run_dir / "best.pt", run_dir / "metrics.jsonl"
    if last_path.exists() and not resume:
        raise SymgnnError(f"{run_dir}: already holds a run (last.pt); pass --resume to continue it or choose another --out")
    if resume and not last_path.exists():
        raise SymgnnError(f"{run_dir}: nothing to resume (no last.pt)")
    target = resolve_device(device)
    if config.train.keep_freed_memory:
        keep_freed_memory()
    torch.manual_seed(config.train.seed)
    train_graphs, val_graphs, train_names, val_names = prepare_data(config, data_dir)
    scaler = LabelScaler.fit(train_graphs, config.train.standardise_labels)
    species = trained_species(train_graphs)
    # every training structure periodic along all axes: prediction then warns about free surfaces
    trained_on_bulk = all(bool(g.pbc.all()) for g in train_graphs)
    for g in train_graphs:
        g.target = scaler.transform(_targets(g))
    train_graphs = [g.to(target) for g in train_graphs]
    val_graphs = [g.to(target) for g in val_graphs]
    # batch: full steps on one batch of every training structure, built once so that what models
    # cache on their input graph (structure descriptors) is computed once, as with per-sample steps
    full_batch = None
    if config.train.batch == "full":
        full_batch = Batch.from_data_list(train_graphs) if len(train_graphs) > 1 else train_graphs[0]

    hparams = {**config.model_hparams, "out_dim": 1 + len(config.data.aux_targets)}
    model = build_model(config.model_name, **hparams).to(target)
    check_trainable(model)
    optimizer = _optimizer(config, model)
    ema = _weight_average(model, config.train.ema_decay)
    state = {"epoch": 0, "best_val_pearson": -math.inf, "best_epoch": 0, "elapsed": 0.0, "stale": 0}
    if resume:
        saved = load_checkpoint(last_path)
        started_seed = (saved.get("config") or {}).get("train", {}).get("seed")
        if started_seed is not None and started_seed != config.train.seed:
            # seeds are derived from (seed, epoch): a resumed run of another seed mixes two runs' draws
            raise SymgnnError(f"{last_path}: the run was started with seed {started_seed}, not {config.train.seed}; "
                              "resume it with the same seed")
        budget_changed = _resumed_budget_changed(saved.get("config") or {}, config, last_path)
        done = int(saved["train_state"]["epoch"])
        if config.train.epochs < done:
            raise SymgnnError(f"{last_path}: the run has already trained {done} epochs, more than train.epochs "
                              f"{config.train.epochs}; its checkpoints are kept as they are (use --epochs {done} or more)")
        try:
            model.load_state_dict(saved["state_dict"])
            optimizer.load_state_dict(saved["optimizer"])
        except (RuntimeError, ValueError) as error:  # another model section than the run was started with
            raise SymgnnError(f"{last_path}: does not match the config's model ({str(error).splitlines()[0]}); "
                              "resume it with the config it was started with") from None
        if ema is not None:
            if "ema_state_dict" not in saved:
                raise SymgnnError(f"{last_path}: the run was started without train.ema_decay; resume it with the same config")
            ema.load_state_dict(saved["ema_state_dict"])
        state.update(saved["train_state"])
        if budget_changed:
            log(f"the budget differs from the run's (train.epochs {config.train.epochs}, train.max_minutes "
                f"{config.train.max_minutes}): config.yaml now records it")
            with atomic_write(run_dir / "config.yaml") as handle:
                yaml.safe_dump(config.to_dict(), handle, sort_keys=False)
        truncate_metrics(metrics_path, state["epoch"])
        if state["epoch"] >= config.train.epochs:
            log(f"{run_dir}: already trained {state['epoch']} of {config.train.epochs} epochs; nothing to do "
                "(raise --epochs to train further)")
        else:
            log(f"resuming {run_dir} at epoch {state['epoch']} (best val Pearson {state['best_val_pearson']:.4f})")
    else:
        run_dir.mkdir(parents=True, exist_ok=True)
        with atomic_write(run_dir / "config.yaml") as handle:
            yaml.safe_dump(config.to_dict(), handle, sort_keys=False)

    def payload(extra: dict[str, Any], weights_of: torch.nn.Module) -> dict[str, Any]:
        return {
            "model_name": config.model_name,
            "model_hparams": hparams,
            "state_dict": weights_of.state_dict(),
            "label_mean": float(scaler.mean[0]),
            "label_std": float(scaler.std[0]),
            "cutoff": config.data.cutoff,
            "config": config.to_dict(),
            "train_names": train_names,
            "val_names": val_names,
            "species": species,
            "trained_on_bulk": trained_on_bulk,
            **extra,
        }

    weights = torch.ones(hparams["out_dim"], device=target)
    weights[1:] = config.train.aux_weight
    start_time = time.monotonic() - state["elapsed"]
    num_params = sum(p.numel() for p in model.parameters())
    log(f"model {config.model_name}: {num_params:,} parameters; train {', '.join(train_names)}; "
        + (f"val {', '.join(val_names)}" if val_names else "no validation samples: the final model is kept (best.pt), nothing is selected"))
    forward = TrainingForward(model, config.train.compile, log)
    bar = _progress_bar(progress, config.train.epochs, state["epoch"])
    epoch_times: list[float] = []
    try:
        while state["epoch"] < config.train.epochs:
            elapsed = time.monotonic() - start_time
            if config.train.max_minutes and elapsed >= 60 * config.train.max_minutes:
                log(f"time budget of {config.train.max_minutes} min reached")
                break
            epoch = state["epoch"] + 1
            epoch_start = time.monotonic()
            torch.manual_seed(config.train.seed * 1_000_003 + epoch)
            for group in optimizer.param_groups:
                group["lr"] = _learning_rate(config, epoch - 1, elapsed)
            model.train()
            losses = []
            for batch in _steps(train_graphs, full_batch):
                with displaced_edges(batch, config.train.position_noise):
                    output = call_model(forward, model, batch)
                prediction = checked_output(model, output, batch.num_nodes, hparams["out_dim"])
                loss = offset_weighted_mse(prediction, batch.target, structure_index(batch), weights, config.train.offset_weight)
                if not torch.isfinite(loss):  # updated: any optimiser step taken, in this run or before a resume
                    updated = state["epoch"] > 0 or bool(losses)
                    raise SymgnnError(nonfinite_loss_message(model, prediction, loss, epoch, updated))
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if config.train.grad_clip:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), config.train.grad_clip)
                optimizer.step()
                if ema is not None:
                    ema.update_parameters(model)
                losses.append(loss.item())
            record: dict[str, Any] = {"epoch": epoch, "train_loss": float(np.mean(losses)), "lr": optimizer.param_groups[0]["lr"]}
            if epoch % config.train.eval_every == 0 or epoch == config.train.epochs:
                evaluated = _evaluated_model(model, ema)
                if val_graphs:
                    score = validation_pearson(evaluated, val_graphs, hparams["out_dim"])
                    record["val_pearson"] = score
                    improved = _improves(score, state)
                    if math.isnan(score) and state["best_epoch"] == 0:
                        log(f"epoch {epoch}: validation Pearson is NaN (a constant prediction on a validation "
                            "structure?); best.pt holds this epoch's model until a score is a number")
                else:  # nothing to select on: best.pt follows the latest epoch, so it ends as the final model
                    score, improved = math.nan, True
                if improved:
                    state.update(best_val_pearson=score, best_epoch=epoch, stale=0)
                    save_checkpoint(best_path, payload({"epoch": epoch, "best_val_pearson": score}, evaluated))
                else:
                    state["stale"] += config.train.eval_every
            state["epoch"] = epoch
            state["elapsed"] = time.monotonic() - start_time
            epoch_times.append(time.monotonic() - epoch_start)
            record["seconds"] = state["elapsed"]
            append_metrics(metrics_path, record)
            extra = {"epoch": epoch, "optimizer": optimizer.state_dict(), "train_state": dict(state)}
            if ema is not None:
                extra["ema_state_dict"] = ema.state_dict()
            save_checkpoint(last_path, payload(extra, model))
            _update_bar(bar, record, state, log)
            note = time_budget_note(config, epoch, state["elapsed"], epoch_times)
            if note:
                log(note)
            if config.train.patience and state["stale"] >= config.train.patience:
                log(f"early stop: no validation improvement in {config.train.patience} epochs")
                break
    finally:
        if bar is not None:
            bar.stop()
    summary = TrainResult(
        run_dir=run_dir,
        best_epoch=state["best_epoch"],
        best_val_pearson=state["best_val_pearson"],
        epochs_run=state["epoch"],
        seconds=state["elapsed"],
        seconds_per_epoch=(float(np.mean(epoch_times)) if epoch_times
                           else state["elapsed"] / state["epoch"] if state["epoch"] else float("nan")),
    )
    with atomic_write(run_dir / "summary.json") as handle:  # NaN is not JSON: null
        json.dump({k: str(v) if isinstance(v, Path) else None if isinstance(v, float) and not math.isfinite(v) else v
                   for k, v in summary.__dict__.items()}, handle, indent=2)
    return summary


#: settings a resumed run may change: its budget, and how fast (not what) it computes
_RESUMABLE_CHANGES = frozenset({"train.epochs", "train.max_minutes", "train.compile", "train.keep_freed_memory"})


def _flat(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"train": {"lr": 1e-3}}`` as ``{"train.lr": 1e-3}`` (nested mappings all the way down)."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict) and value:
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _one_spelling(config: dict[str, Any]) -> dict[str, Any]:
    """``config`` with its structure files as absolute paths: a run started before configs recorded
    them absolute, or with another spelling of the same files, is the same run."""
    return {**config, "data": files_from(config.get("data", {}), Path.cwd())}


def _resumed_budget_changed(saved: dict[str, Any], config: Config, last_path: Path) -> bool:
    """Refuse to resume a run under other settings than it was started with (the checkpoint would
    mix two recipes while config.yaml recorded one); the budget (epochs, minutes) and the speed-only
    settings may change. Returns whether the budget did."""
    if not saved:  # a checkpoint from before configs were stored in it
        return False
    from symgnn.train.config import config_from_dict

    before = _flat(_one_spelling(config_from_dict(saved, str(last_path)).to_dict()))
    after = _flat(_one_spelling(config.to_dict()))
    changed = sorted(key for key in set(before) | set(after) if before.get(key) != after.get(key))
    refused = [key for key in changed if key not in _RESUMABLE_CHANGES]
    if refused:
        shown = ", ".join(f"{key} {before.get(key)!r} -> {after.get(key)!r}" for key in refused[:3])
        where = ("; a run started with relative file paths resumes from the directory it was started in"
                 if any(key.startswith("data.") for key in refused) else "")
        raise SymgnnError(f"{last_path}: the run was started with other settings ({shown}); resume it with the config "
                          "it was started with (only train.epochs, train.max_minutes, compile and keep_freed_memory may "
                          f"change){where}")
    return any(key in ("train.epochs", "train.max_minutes") for key in changed)


def _improves(score: float, state: dict[str, Any]) -> bool:
    """Whether ``score`` beats the best validation Pearson so far. NaN (a constant prediction) ranks
    below every number, but the first evaluation is always kept, so that best.pt exists."""
    if state["best_epoch"] == 0:
        return True
    best = state["best_val_pearson"]
    return not math.isnan(score) and (math.isnan(best) or score > best)


def _weight_average(model: torch.nn.Module, decay: float | None) -> AveragedModel | None:
    """An exponential moving average of ``model``'s parameters (None when ``decay`` is None)."""
    if decay is None:
        return None
    return AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=False)


def _evaluated_model(model: torch.nn.Module, ema: AveragedModel | None) -> torch.nn.Module:
    """The weights to validate and save: the average when there is one, with the live model's buffers
    (e.g. descriptor statistics fitted on the first batch), which are not averaged."""
    if ema is None:
        return model
    with torch.no_grad():
        for averaged, live in zip(ema.module.buffers(), model.buffers()):
            averaged.copy_(live)
    return ema.module


def _steps(graphs: list[Data], full_batch: Data | None) -> Iterator[Data]:
    """One epoch's step inputs: the batch of all training structures (``batch: full``), or else each
    training structure, in a seeded random order (``batch: sample``)."""
    if full_batch is not None:
        yield full_batch
        return
    for index in torch.randperm(len(graphs)).tolist():
        yield graphs[index]


def _progress_bar(enabled: bool, total: int, done: int):
    if not enabled:
        return None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(TextColumn("[bold]train"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("{task.description}"))
    bar.start()
    bar.add_task("", total=total, completed=done)
    return bar


def _update_bar(bar, record: dict[str, Any], state: dict[str, Any], log) -> None:
    text = f"epoch {record['epoch']} loss {record['train_loss']:.4f}"
    if "val_pearson" in record:
        text += f" val r {record['val_pearson']:.4f} (best {state['best_val_pearson']:.4f} @ {state['best_epoch']})"
    if bar is None:
        log(text)
        return
    bar.update(bar.task_ids[0], completed=record["epoch"], description=text)
