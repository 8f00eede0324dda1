"""The benchmark protocol: which models, with which hyper-parameters, under which training recipe.

Every model is trained the same way so that the table compares models, not recipes: train0–train5
for training, train6 for validation, the best epoch chosen by validation Pearson only, the same
graph cutoff, and the same optimiser, learning-rate schedule and time budget per run. Model sizes
are the models' own defaults (the paper's released sizes where the paper gives them).

``descriptors`` (hand-made structure descriptors + gradient-boosted trees) is not a torch model: it
is fitted once, in closed form per tree, with no epochs and no time budget.

Your own model: register it with :func:`symgnn.models.registry.register` and name it among the models
(``run_benchmark(["my_model"], ...)``, or ``--models my_model`` from a process that registered it). It
trains under the same recipe with its constructor's defaults, or the hyper-parameters given as
``run_benchmark(..., model_hparams={"my_model": {"hidden": 64}})``. Hyper-parameters are recorded in
each run's JSON (``config.model``) but are not part of the protocol: a run already recorded is not
redone with others, so use a new ``--out`` for other hyper-parameters.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from symgnn.errors import SymgnnError
from symgnn.train.config import Config, config_from_dict

# Test-set Pearson on Cu64Zr36 reported in the SymGNN paper (arXiv:2401.08627, its table of
# baselines; "data augmentation" is symgnn_aug). Models the paper does not report (symgnn_edgewise,
# egat_desc, painn_desc, descriptors) have no entry; DimeNet++ it could not train ("> 2 days").
PAPER_TEST_PEARSON: dict[str, float] = {
    "symgnn": 0.786,
    "schnet": 0.759,
    "mgcn": 0.735,
    "egat_length": 0.726,
    "symgnn_aug": 0.661,
    "faenet": 0.660,
    "gcn_edge": 0.512,
    "gcn": 0.306,
    "symgnn_nosym": 0.267,
    "egnn": 0.259,
    "mlp": 0.058,
}

DESCRIPTORS = "descriptors"

# Order of the table: SymGNN and its ablations, the invariant/equivariant baselines, the plain
# graph and per-atom baselines, then the non-neural descriptor baseline.
ALL_MODELS: tuple[str, ...] = (
    "painn_desc",
    "symgnn",
    "symgnn_nosym",
    "symgnn_aug",
    "symgnn_edgewise",
    "egat_length",
    "schnet",
    "mgcn",
    "faenet",
    "dimenet",
    "egnn",
    "gcn_edge",
    "gcn",
    "mlp",
    DESCRIPTORS,
)

# Hyper-parameters per model; empty means the model's defaults (see each model's docstring).
MODEL_HPARAMS: dict[str, dict[str, Any]] = {name: {} for name in ALL_MODELS if name != DESCRIPTORS}
# The SymGNN family reads each (transformed) edge direction beside its invariant length, the three
# rows alike, so they differ in the symmetrisation alone: the raw vector alone does not learn within a
# CPU budget, and the raw vector beside the length learns late (docs/symgnn.md). The per-edge reading
# takes the vector beside the length (its encoder appends the length itself).
for _name in ("symgnn", "symgnn_nosym", "symgnn_aug"):
    MODEL_HPARAMS[_name] = {"edge_input": "direction+length"}
MODEL_HPARAMS["symgnn_edgewise"] = {"edge_input": "vector+length"}

# The one training recipe (the project's CPU recipe of configs/symgnn.yaml): one AMSGrad step per
# training sample, lr 1e-3 decayed by a cosine over the time budget, gradient clipping at 1.0,
# standardised labels, validation after every epoch.
TRAIN_RECIPE: dict[str, Any] = {
    "batch": "sample",
    "optimizer": "amsgrad",
    "lr": 1.0e-3,
    "lr_schedule": "cosine",
    "grad_clip": 1.0,
    "eval_every": 1,
    "standardise_labels": True,
    "keep_freed_memory": False,
}

# Gradient-boosting settings of the descriptor baseline (quick mode uses fewer trees).
DESCRIPTOR_GBR: dict[str, Any] = {"max_iter": 300, "learning_rate": 0.05, "max_leaf_nodes": 31}
QUICK_DESCRIPTOR_GBR: dict[str, Any] = {"max_iter": 20}

DEFAULT_BUDGET_MINUTES = 10.0
QUICK_EPOCHS = 2
QUICK_CROP_RADIUS = 9.0  # Å; about 200 atoms per crop


@dataclass
class Protocol:
    """Settings shared by every run of one benchmark directory.

    Runs made under different protocols are not comparable, so a benchmark directory holds one
    protocol (``protocol.json``) and refuses runs under another.

    Attributes:
        budget_minutes: training time per (model, seed) run; ``None`` in quick mode (epoch-bound).
        quick: smoke-test mode: a few epochs on small crops; numbers are not comparable.
        cutoff: graph cutoff in Å, the same for every model.
        epochs: epoch cap (the budget normally ends training first).
        invariance_transforms: random O(3) transforms used to measure the invariance error.
        train_recipe: the ``train`` section every run shares; its ``keep_freed_memory`` (glibc keeps
            freed memory for reuse, :mod:`symgnn.runtime`) leaves every epoch's numbers unchanged
            but fits about three times the epochs into a time budget on a CPU, so it is part of the
            protocol: a table compares runs made one way or the other, never both.
    """

    budget_minutes: float | None = DEFAULT_BUDGET_MINUTES
    quick: bool = False
    cutoff: float = 5.0
    epochs: int = 100_000
    invariance_transforms: int = 8
    train_recipe: dict[str, Any] = field(default_factory=lambda: dict(TRAIN_RECIPE))

    @classmethod
    def make(cls, budget_minutes: float | None, quick: bool, keep_freed_memory: bool = False) -> "Protocol":
        """The protocol for a normal run (time budget) or a quick run (``QUICK_EPOCHS`` epochs);
        ``keep_freed_memory`` trains every run with glibc keeping freed memory (faster epochs)."""
        recipe = {**TRAIN_RECIPE, "keep_freed_memory": bool(keep_freed_memory)}
        if quick:
            return cls(budget_minutes=None, quick=True, epochs=QUICK_EPOCHS, train_recipe=recipe)
        budget = DEFAULT_BUDGET_MINUTES if budget_minutes is None else float(budget_minutes)
        if not (budget > 0 and math.isfinite(budget)):
            raise SymgnnError(f"--budget-minutes must be a positive number, got {budget_minutes}")
        return cls(budget_minutes=budget, train_recipe=recipe)

    @staticmethod
    def upgrade_record(recorded: dict[str, Any]) -> dict[str, Any]:
        """A ``protocol.json`` written before a setting existed, with that setting's old value filled in
        (directories made before ``keep_freed_memory`` trained with glibc's defaults)."""
        recipe = dict(recorded.get("train_recipe", {}))
        recipe.setdefault("keep_freed_memory", False)
        return {**recorded, "train_recipe": recipe}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_models(text: str) -> list[str]:
    """``"all"`` or a comma-separated list of model names, validated, in the order given."""
    if text.strip() == "all":
        return list(ALL_MODELS)
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise SymgnnError("--models: give a comma-separated list of models or 'all'")
    return check_model_names(names)


def check_model_names(names: list[str]) -> list[str]:
    """``names`` without repeats, each a benchmark model or a model registered with
    :func:`symgnn.models.registry.register` (checked before a benchmark writes anything)."""
    from symgnn.models.registry import available_models

    known = set(ALL_MODELS) | set(available_models())
    unknown = [name for name in names if name not in known]
    if unknown:
        raise SymgnnError(f"--models: unknown model(s) {', '.join(unknown)}; known: {', '.join(ALL_MODELS)}, all, "
                          "or a model registered with symgnn.models.registry.register")
    return list(dict.fromkeys(names))


def hparams_of(model: str, overrides: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """The hyper-parameters ``model`` trains with: ``overrides[model]`` when given, else the benchmark's
    (``MODEL_HPARAMS``; empty, i.e. the constructor's defaults, for a model registered by a user)."""
    if overrides and model in overrides:
        return dict(overrides[model])
    return dict(MODEL_HPARAMS.get(model, {}))


def training_config(
    model: str, seed: int, protocol: Protocol, train: list[str], val: list[str], label_column: str | None = None,
    hparams: dict[str, Any] | None = None,
) -> Config:
    """The training config of one (model, seed) run under ``protocol``; ``hparams`` default to
    :func:`hparams_of`. Building the config builds the model once, so an unknown model or a bad
    hyper-parameter is a :class:`SymgnnError` here."""
    if model == DESCRIPTORS:
        raise SymgnnError(f"{model}: not a torch model; the benchmark fits it without a training config")
    return config_from_dict(
        {
            "data": {"train": list(train), "val": list(val), "cutoff": protocol.cutoff, "label_column": label_column},
            "model": {"name": model, **(hparams_of(model) if hparams is None else hparams)},
            "train": {
                **protocol.train_recipe,
                "seed": int(seed),
                "epochs": protocol.epochs,
                "max_minutes": protocol.budget_minutes,
            },
        },
        source=f"benchmark {model}",
    )
