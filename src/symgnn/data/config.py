"""The data section of a training config: which structures train and validate, and how they become
graphs. Read and checked by :mod:`symgnn.train.config`; used by :mod:`symgnn.data.dataset`, so it
lives with the data it describes."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class DataConfig:
    """Which structures to train and validate on, and how to turn them into graphs.

    ``train``/``val`` name samples of ``dataset`` (e.g. ``train0``) or structure files; a sample's label is its
    barrier, a file's the per-atom array ``label_column`` names (``types`` maps a LAMMPS dump's type
    numbers to elements); ``aux_targets`` are extra per-atom arrays predicted alongside (multi-task);
    ``average_labels`` lists groups of samples that hold the same structure with independent label sets
    (their labels are averaged into one less noisy target and the group trains as one sample).
    """

    dataset: str = "cuzr64"
    train: list[str] = field(default_factory=lambda: [f"train{i}" for i in range(6)])
    val: list[str] = field(default_factory=lambda: ["train6"])
    cutoff: float = 5.0
    label_column: str | None = None
    types: str | None = None
    aux_targets: list[str] = field(default_factory=list)
    average_labels: list[list[str]] = field(default_factory=list)
