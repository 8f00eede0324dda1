"""Evaluate a trained model on labelled structures: metrics overall, per sample, per species, and a
parity plot."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from symgnn.data.structure import Structure
from symgnn.errors import InputWarning, SymgnnError
from symgnn.metrics import metrics_by_species, regression_metrics
from symgnn.predictor import DEFAULT_MAX_ATOMS, Predictor


@dataclass
class Evaluation:
    """Predictions and labels of every atom evaluated, with the sample each came from."""

    prediction: np.ndarray
    truth: np.ndarray
    numbers: np.ndarray
    sample: np.ndarray
    metadata: dict[str, Any] = field(default_factory=dict)

    def report(self) -> dict[str, Any]:
        """JSON-ready metrics: overall at top level (``pearson``, ``spearman``, ...), then
        ``per_sample`` and ``per_species``."""
        overall = regression_metrics(self.prediction, self.truth)
        per_sample = {
            str(name): regression_metrics(self.prediction[self.sample == name], self.truth[self.sample == name])
            for name in dict.fromkeys(self.sample.tolist())
        }
        return {
            **overall,
            "per_sample": per_sample,
            "per_species": metrics_by_species(self.prediction, self.truth, self.numbers),
            **self.metadata,
        }


def training_structures(predictor: Predictor, structures: list[Structure], warn: bool = True) -> list[str]:
    """The names of the structures the model was trained on, whose scores measure the fit rather than
    held-out accuracy; with ``warn``, one :class:`InputWarning` names them."""
    seen = [s.name for s in structures if predictor.trained_on(s)]
    if seen and warn:
        warnings.warn(f"{', '.join(seen)}: in this model's training data, so {'its' if len(seen) == 1 else 'their'} "
                      "scores measure the fit, not a held-out accuracy", InputWarning, stacklevel=3)
    return seen


def check_labelled(structures: Sequence[Structure]) -> None:
    """Refuse, before any work, a structure without a label to score against."""
    for structure in structures:
        if structure.labels is None:
            raise SymgnnError(f"{structure.name}: no label to evaluate against (give --label-column)")


def evaluate(predictor: Predictor, structures: list[Structure], max_atoms: int | None = DEFAULT_MAX_ATOMS,
             warn_training_data: bool = True) -> Evaluation:
    """Predict every structure (block by block above ``max_atoms`` atoms) and collect predictions with
    their labels. The report lists the structures the model was trained on under ``trained_on``: their
    scores say how well the model fits, not how it generalises. Each gets a warning
    (:class:`InputWarning`) unless ``warn_training_data`` is off (a caller that scores a training split
    on purpose)."""
    predictions, truths, numbers, samples = [], [], [], []
    check_labelled(structures)
    seen = training_structures(predictor, structures, warn=warn_training_data)
    for structure in structures:
        predictions.append(predictor.predict(structure, max_atoms=max_atoms))
        truths.append(np.asarray(structure.labels, dtype=np.float64))
        numbers.append(structure.numbers)
        samples.append(np.full(len(structure), structure.name, dtype=object))
    return Evaluation(np.concatenate(predictions), np.concatenate(truths), np.concatenate(numbers), np.concatenate(samples),
                      metadata={"trained_on": seen})


def parity_plot(evaluation: Evaluation, path: str | Path, title: str = "") -> Path:
    """Predicted against true barrier, one colour per species, with the Pearson in the legend."""
    from ase.data import chemical_symbols
    from matplotlib.figure import Figure  # not pyplot: leave the caller's backend alone

    from symgnn.io.atomic import atomic_write

    figure = Figure(figsize=(5, 5), dpi=120)
    axis = figure.subplots()
    for z in np.unique(evaluation.numbers):
        mask = evaluation.numbers == z
        r = regression_metrics(evaluation.prediction[mask], evaluation.truth[mask])["pearson"]
        axis.scatter(evaluation.truth[mask], evaluation.prediction[mask], s=2, alpha=0.35,
                     label=f"{chemical_symbols[int(z)]} (r = {r:.3f})")
    low = float(min(evaluation.truth.min(), evaluation.prediction.min()))
    high = float(max(evaluation.truth.max(), evaluation.prediction.max()))
    axis.plot([low, high], [low, high], color="black", linewidth=0.8)
    overall = regression_metrics(evaluation.prediction, evaluation.truth)
    axis.set_title(title or f"Pearson {overall['pearson']:.3f}, MAE {overall['mae']:.3f} eV")
    axis.set_xlabel("true barrier (eV)")
    axis.set_ylabel("predicted barrier (eV)")
    axis.legend(markerscale=4, loc="upper left")
    figure.tight_layout()
    path = Path(path)
    with atomic_write(path, "wb") as handle:
        figure.savefig(handle, format="png")
    return path
