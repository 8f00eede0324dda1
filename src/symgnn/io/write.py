"""Write per-atom predictions next to the structure, in formats OVITO, ASE and spreadsheets read.

Outputs for ``stem``: ``<stem>.xyz`` (extended XYZ with per-atom prediction and label arrays),
``<stem>.csv`` (one row per atom) and, when the input was a LAMMPS dump, ``<stem>.dump`` (the dump's
columns plus the predictions). Existing files are never replaced unless ``overwrite=True``; every
file is written atomically.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.data import chemical_symbols

from symgnn.data.structure import Structure
from symgnn.errors import SymgnnError, file_error
from symgnn.io.atomic import atomic_path, atomic_write, refuse_to_overwrite
from symgnn.io.lammps_dump import write_lammps_dump
from symgnn.io.read import is_lammps_dump


def _safe_name(name: str) -> str:
    """A column name extended XYZ accepts (letters, digits, underscore)."""
    cleaned = re.sub(r"[^A-Za-z0-9_]", "_", name)
    return cleaned if cleaned and not cleaned[0].isdigit() else f"c_{cleaned}"


def _columns(structure: Structure, predictions: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The label (under its own name) followed by the predictions, all float64 (N,)."""
    n = len(structure)
    columns: dict[str, np.ndarray] = {}
    if structure.labels is not None:
        columns[structure.label_key] = np.asarray(structure.labels, dtype=np.float64)
    for name, values in predictions.items():
        values = np.asarray(values, dtype=np.float64).reshape(-1)
        if values.shape != (n,):
            raise SymgnnError(f"prediction '{name}' has {values.shape[0]} values for {n} atoms")
        if name in columns:
            raise SymgnnError(f"prediction '{name}' has the same name as the label column")
        columns[name] = values
    return columns


def _write_xyz(path: Path, structure: Structure, columns: dict[str, np.ndarray]) -> None:
    atoms = Atoms(numbers=structure.numbers, positions=structure.positions, cell=structure.cell, pbc=structure.pbc)
    atoms.new_array("id", structure.atom_ids())
    for name, values in columns.items():
        atoms.new_array(_safe_name(name), values)
    import ase.io

    with atomic_path(path) as temp:
        ase.io.write(temp, atoms, format="extxyz")


def _write_csv(path: Path, structure: Structure, columns: dict[str, np.ndarray]) -> None:
    ids = structure.atom_ids()
    symbols = [chemical_symbols[z] for z in structure.numbers.tolist()]
    with atomic_write(path, "w") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        # index: 0-based, what `symgnn explain --atoms` and error messages use; id: the file's own
        writer.writerow(["index", "id", "species", "x", "y", "z", *columns])
        table = np.column_stack([structure.positions, *columns.values()])
        for k in range(len(structure)):
            writer.writerow([k, int(ids[k]), symbols[k], *(f"{v:.8g}" for v in table[k])])


def write_predictions(
    structure: Structure,
    predictions: dict[str, np.ndarray],
    out_dir: str | Path,
    stem: str,
    overwrite: bool = False,
    source_path: str | Path | None = None,
) -> list[Path]:
    """Write ``<stem>.xyz``, ``<stem>.csv`` and (for LAMMPS-dump sources) ``<stem>.dump`` into ``out_dir``.

    Returns the paths written. Refuses, before writing anything, when one already exists and
    ``overwrite`` is false.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise file_error(out_dir, "output directory is a file")
    columns = _columns(structure, predictions)
    targets = [out_dir / f"{stem}.xyz", out_dir / f"{stem}.csv"]
    dump_source = source_path is not None and Path(source_path).is_file() and is_lammps_dump(source_path)
    if dump_source:
        targets.append(out_dir / f"{stem}.dump")
    refuse_to_overwrite(targets, overwrite)
    out_dir.mkdir(parents=True, exist_ok=True)
    _write_xyz(targets[0], structure, columns)
    _write_csv(targets[1], structure, columns)
    if dump_source:
        write_lammps_dump(targets[2], structure, {k: v for k, v in columns.items() if k in predictions})
    return targets
