"""From names in a training config to labelled structures and their graphs.

A name is either a sample of the configured dataset (``train0``) or a path to a structure file. Graphs
are built once per (structure, cutoff) and kept for the whole run.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from torch_geometric.data import Data

from symgnn.data.structure import Structure
from symgnn.errors import SymgnnError
from symgnn.graph import build_graph
from symgnn.data.config import DataConfig


def load_structure(name: str, config: DataConfig, data_dir: str | Path | None) -> Structure:
    """Load one training/validation structure named in a config."""
    from symgnn.data import registry
    from symgnn.io.lammps_dump import parse_type_map
    from symgnn.io.read import read_structure

    if name in registry.sample_names(config.dataset):
        structure = registry.load_sample(name, data_dir, dataset=config.dataset)
    elif Path(name).exists():
        types = parse_type_map(config.types) if config.types else None
        structure = read_structure(name, label_column=config.label_column, types=types)
    else:
        raise SymgnnError(f"{name}: neither a sample of dataset '{config.dataset}' nor an existing file")
    if structure.labels is None:
        raise SymgnnError(f"{name}: has no label column (set data.label_column in the config)")
    return structure


def average_label_groups(structures: list[Structure], groups: list[list[str]]) -> list[Structure]:
    """Merge each group of same-structure samples into one whose label is their mean label.

    Samples such as train0/train1 of cuzr64 hold one atomic structure with independently computed
    barriers; averaging halves the label-noise variance of the target.
    """
    by_name = {s.name: s for s in structures}
    merged_names: set[str] = set()
    result: list[Structure] = []
    for group in groups:
        members = [by_name[n] for n in group if n in by_name]
        if len(members) < 2:
            continue
        first = members[0]
        if any(len(m) != len(first) or not np.array_equal(m.numbers, first.numbers) for m in members):
            raise SymgnnError(f"average_labels: {', '.join(group)} do not hold the same atoms")
        arrays = dict(first.arrays)
        for key in first.arrays:
            if all(key in m.arrays for m in members):
                arrays[key] = np.mean([m.arrays[key] for m in members], axis=0)
        result.append(
            Structure(first.numbers, first.positions, first.cell, first.pbc, arrays, "+".join(group), first.label_key)
        )
        merged_names.update(m.name for m in members)
    return result + [s for s in structures if s.name not in merged_names]


def build_graphs(structures: list[Structure], config: DataConfig) -> list[Data]:
    """One graph per structure at the configured cutoff, with auxiliary targets attached."""
    return [build_graph(s, config.cutoff, aux_keys=tuple(config.aux_targets)) for s in structures]
