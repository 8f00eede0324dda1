"""Regression metrics for per-atom predictions: Pearson (the paper's metric), Spearman, MAE, RMSE, R²."""

from __future__ import annotations

import numpy as np
from scipy import stats


def regression_metrics(prediction: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """Pearson, Spearman, MAE, RMSE, R² and the count, for 1-D arrays of equal length."""
    prediction = np.asarray(prediction, dtype=np.float64).reshape(-1)
    truth = np.asarray(truth, dtype=np.float64).reshape(-1)
    error = prediction - truth
    constant = np.ptp(prediction) == 0 or np.ptp(truth) == 0
    total = float(np.sum((truth - truth.mean()) ** 2))
    return {
        "pearson": float("nan") if constant else float(stats.pearsonr(prediction, truth)[0]),
        "spearman": float("nan") if constant else float(stats.spearmanr(prediction, truth)[0]),
        "mae": float(np.mean(np.abs(error))),
        "rmse": float(np.sqrt(np.mean(error**2))),
        "r2": float(1.0 - np.sum(error**2) / total) if total > 0 else float("nan"),
        "count": int(len(truth)),
    }


def metrics_by_species(prediction: np.ndarray, truth: np.ndarray, numbers: np.ndarray) -> dict[str, dict[str, float]]:
    """:func:`regression_metrics` for each chemical species separately, keyed by symbol."""
    from ase.data import chemical_symbols

    return {
        chemical_symbols[int(z)]: regression_metrics(prediction[numbers == z], truth[numbers == z])
        for z in np.unique(numbers)
    }


def pearson(prediction: np.ndarray, truth: np.ndarray) -> float:
    """Pearson correlation only (the model-selection score)."""
    return regression_metrics(prediction, truth)["pearson"]
