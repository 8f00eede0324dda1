"""Helpers shared by CLI commands: loading the structures a user names, guarding output files."""

from __future__ import annotations

from pathlib import Path

from symgnn.data.structure import Structure
from symgnn.errors import SymgnnError


def read_user_structure(path: Path, label_column: str | None, types: str | None) -> Structure:
    """Read one structure file the user named, with an optional label column and type map."""
    from symgnn.io.lammps_dump import parse_type_map
    from symgnn.io.read import read_structure

    return read_structure(path, label_column=label_column, types=parse_type_map(types) if types else None)


def load_labelled_structures(
    files: list[Path] | None, dataset: str, split: str, data_dir: Path | None, label_column: str | None, types: str | None
) -> list[Structure]:
    """The files given (with their label column), or else the samples of a dataset split."""
    from symgnn.data import registry

    if files:
        return [read_user_structure(p, label_column, types) for p in files]
    if split not in ("train", "val", "test"):
        raise SymgnnError(f"--split must be train, val or test, got {split!r}")
    return [registry.load_sample(n, data_dir, dataset=dataset) for n in registry.split_names(split, dataset=dataset)]


def check_writable(path: Path, overwrite: bool) -> None:
    """Refuse to replace an existing file unless ``--overwrite`` was given."""
    if path.exists() and not overwrite:
        raise SymgnnError(f"{path}: already exists; pass --overwrite to replace it")
    if not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
