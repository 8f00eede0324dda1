"""Write per-atom predictions next to the structure, in formats OVITO, ASE and spreadsheets read.

Outputs for ``stem``: ``<stem>.xyz`` (extended XYZ with per-atom prediction and label arrays),
``<stem>.csv`` (one row per atom) and, when the input was a LAMMPS dump, ``<stem>.dump`` (the dump's
columns plus the predictions). :class:`TrajectoryWriter` writes the same three files for several
frames of one input. Existing files are never replaced unless ``overwrite=True``; every file is
written atomically.
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
from symgnn.io.frames import Frame
from symgnn.io.lammps_dump import dump_frame_text, write_lammps_dump
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


def _xyz_atoms(structure: Structure, columns: dict[str, np.ndarray]) -> Atoms:
    atoms = Atoms(numbers=structure.numbers, positions=structure.positions, cell=structure.cell, pbc=structure.pbc)
    atoms.new_array("id", structure.atom_ids())
    for name, values in columns.items():
        atoms.new_array(_safe_name(name), values)
    return atoms


def _write_xyz(path: Path, structure: Structure, columns: dict[str, np.ndarray]) -> None:
    import ase.io

    with atomic_path(path) as temp:
        ase.io.write(temp, _xyz_atoms(structure, columns), format="extxyz")


def _csv_header(columns: dict[str, np.ndarray], leading: tuple[str, ...] = ()) -> list[str]:
    # index: 0-based, what `symgnn explain --atoms` and error messages use; id: the file's own
    return [*leading, "index", "id", "species", "x", "y", "z", *columns]


def _write_csv_rows(writer, structure: Structure, columns: dict[str, np.ndarray], leading: tuple = ()) -> None:
    """One row per atom, after the ``leading`` values (a trajectory's frame number)."""
    ids = structure.atom_ids()
    symbols = [chemical_symbols[z] for z in structure.numbers.tolist()]
    table = np.column_stack([structure.positions, *columns.values()])
    for k in range(len(structure)):
        writer.writerow([*leading, k, int(ids[k]), symbols[k], *(f"{v:.8g}" for v in table[k])])


def _write_csv(path: Path, structure: Structure, columns: dict[str, np.ndarray]) -> None:
    with atomic_write(path, "w") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(_csv_header(columns))
        _write_csv_rows(writer, structure, columns)


def _targets(out_dir: Path, stem: str, source_path: str | Path | None) -> list[Path]:
    """``<stem>.xyz``, ``<stem>.csv`` and, for a LAMMPS-dump source, ``<stem>.dump`` in ``out_dir``."""
    if out_dir.exists() and not out_dir.is_dir():
        raise file_error(out_dir, "output directory is a file")
    targets = [out_dir / f"{stem}.xyz", out_dir / f"{stem}.csv"]
    if source_path is not None and Path(source_path).is_file() and is_lammps_dump(source_path):
        targets.append(out_dir / f"{stem}.dump")
    if source_path is not None and Path(source_path).exists():
        source = Path(source_path).resolve()
        for target in targets:  # --overwrite must never replace the structure being predicted
            if target.exists() and target.resolve() == source:
                raise file_error(source_path, f"is also an output ({target.name}); give another --out")
    return targets


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
    columns = _columns(structure, predictions)
    targets = _targets(out_dir, stem, source_path)
    refuse_to_overwrite(targets, overwrite)
    out_dir.mkdir(parents=True, exist_ok=True)
    _write_xyz(targets[0], structure, columns)
    _write_csv(targets[1], structure, columns)
    if len(targets) == 3:
        write_lammps_dump(targets[2], structure, {k: v for k, v in columns.items() if k in predictions})
    return targets


class TrajectoryWriter:
    """Per-frame predictions of a trajectory, as one file per format: a multi-frame ``<stem>.xyz``
    (OVITO and ASE read it as an animation; each comment line has ``frame=`` and, for dumps,
    ``timestep=``), ``<stem>.csv`` with a leading ``frame`` column (the
    frame's 0-based position in the input) and, for a LAMMPS-dump source, a multi-frame
    ``<stem>.dump`` keeping each frame's TIMESTEP.

    Use as a context manager and call :meth:`write` once per frame. Existing files are refused at
    construction unless ``overwrite``; the files appear, atomically, only when the block ends
    without an error, so an interrupted trajectory leaves nothing half-written.
    """

    def __init__(self, out_dir: str | Path, stem: str, overwrite: bool = False,
                 source_path: str | Path | None = None) -> None:
        self.out_dir = Path(out_dir)
        self.targets = _targets(self.out_dir, stem, source_path)
        refuse_to_overwrite(self.targets, overwrite)
        self._columns: list[str] | None = None

    def __enter__(self) -> "TrajectoryWriter":
        import contextlib

        self.out_dir.mkdir(parents=True, exist_ok=True)
        self._stack = contextlib.ExitStack()
        self._handles = [self._stack.enter_context(atomic_write(target, "w")) for target in self.targets]
        self._csv = csv.writer(self._handles[1], lineterminator="\n")
        return self

    def __exit__(self, *exc_info) -> bool:
        return self._stack.__exit__(*exc_info)

    def write(self, frame: Frame, predictions: dict[str, np.ndarray]) -> None:
        """Append ``frame`` with its per-atom ``predictions`` to every output."""
        import ase.io

        structure = frame.structure
        columns = _columns(structure, predictions)
        if self._columns is None:
            self._columns = list(columns)
            self._csv.writerow(_csv_header(columns, ("frame",)))
        elif list(columns) != self._columns:
            raise SymgnnError(f"{structure.name}: has columns {list(columns)}, the frames before {self._columns}")
        atoms = _xyz_atoms(structure, columns)
        atoms.info["frame"] = frame.index  # in each comment line: OVITO shows it as a global attribute
        if frame.timestep is not None:
            atoms.info["timestep"] = frame.timestep
        ase.io.write(self._handles[0], atoms, format="extxyz")
        _write_csv_rows(self._csv, structure, columns, (frame.index,))
        if len(self.targets) == 3:
            timestep = frame.index if frame.timestep is None else frame.timestep
            self._handles[2].write(dump_frame_text(
                structure, {k: v for k, v in columns.items() if k in predictions}, timestep))
