"""The in-memory structure every reader returns and every later stage consumes."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from symgnn.errors import SymgnnError


@dataclass
class Structure:
    """A box of atoms with optional per-atom arrays.

    Attributes:
        numbers: atomic numbers, int64 (N,). Species always come as real elements (Cu = 29, Zr = 40).
        positions: Cartesian positions in Å, float64 (N, 3), wrapped into the cell along periodic axes.
        cell: cell vectors as rows, float64 (3, 3), Å. Non-periodic axes may have any non-zero vector.
        pbc: which cell vectors are periodic, bool (3,).
        arrays: per-atom float arrays of length N (labels and auxiliary quantities such as
            ``barrier``, ``pot``, ``press``, ``von``), keyed by name.
        name: where it came from (a file name or dataset sample name), for messages and outputs.
        label_key: the key in ``arrays`` holding the regression target, if any.
    """

    numbers: np.ndarray
    positions: np.ndarray
    cell: np.ndarray
    pbc: np.ndarray
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    name: str = "structure"
    label_key: str | None = None

    def __post_init__(self) -> None:
        self.numbers = np.asarray(self.numbers, dtype=np.int64).reshape(-1)
        self.positions = np.asarray(self.positions, dtype=np.float64)
        self.cell = np.asarray(self.cell, dtype=np.float64)
        self.pbc = np.broadcast_to(np.asarray(self.pbc, dtype=bool), (3,)).copy()
        self.validate()

    def __len__(self) -> int:
        return len(self.numbers)

    @property
    def labels(self) -> np.ndarray | None:
        """The regression target (per-atom), or ``None`` when the structure has no label."""
        return None if self.label_key is None else self.arrays[self.label_key]

    def atom_ids(self) -> np.ndarray:
        """Each atom's id: the file's own (a LAMMPS ``id`` column, kept in ``arrays["id"]``), else
        1..N in order (LAMMPS's convention). Outputs carry it beside the 0-based index."""
        ids = self.arrays.get("id")
        if ids is not None and np.asarray(ids).shape == (len(self),):
            return np.asarray(ids, dtype=np.int64)
        return np.arange(1, len(self) + 1)

    @property
    def volume(self) -> float:
        return float(abs(np.linalg.det(self.cell)))

    def validate(self) -> None:
        """Refuse inconsistent or non-finite input with a message naming this structure."""
        n = len(self.numbers)
        where = self.name
        if n == 0:
            raise SymgnnError(f"{where}: the structure has no atoms")
        if self.positions.shape != (n, 3):
            raise SymgnnError(f"{where}: positions have shape {self.positions.shape}, expected ({n}, 3)")
        if self.cell.shape != (3, 3):
            raise SymgnnError(f"{where}: cell has shape {self.cell.shape}, expected (3, 3)")
        if not np.all(np.isfinite(self.positions)):
            bad = int(np.argwhere(~np.isfinite(self.positions))[0, 0])
            raise SymgnnError(f"{where}: atom {bad} has a non-finite position (NaN or inf)")
        if not np.all(np.isfinite(self.cell)):
            raise SymgnnError(f"{where}: the cell has non-finite entries")
        if self.pbc.any() and abs(np.linalg.det(self.cell)) < 1e-8:
            raise SymgnnError(f"{where}: the periodic cell is degenerate (zero volume)")
        if np.any(self.numbers <= 0) or np.any(self.numbers > 118):
            raise SymgnnError(f"{where}: atomic numbers must lie in 1..118")
        for key, values in self.arrays.items():
            values = np.asarray(values)
            if values.shape[0] != n:
                raise SymgnnError(f"{where}: per-atom array '{key}' has {values.shape[0]} rows for {n} atoms")
        if self.label_key is not None:
            if self.label_key not in self.arrays:
                raise SymgnnError(f"{where}: no per-atom array named '{self.label_key}'")
            labels = np.asarray(self.arrays[self.label_key], dtype=np.float64)
            if not np.all(np.isfinite(labels)):
                bad = int(np.argwhere(~np.isfinite(labels))[0, 0])
                raise SymgnnError(f"{where}: label '{self.label_key}' of atom {bad} is not finite")

    def wrapped(self) -> "Structure":
        """Positions wrapped into the cell along periodic axes (others left alone): a new structure, or
        this one itself when no axis is periodic (nothing to wrap)."""
        if not self.pbc.any():
            return self
        frac = np.linalg.solve(self.cell.T, self.positions.T).T
        frac[:, self.pbc] %= 1.0
        # x % 1.0 can return exactly 1.0 for tiny negative x; fold it back.
        frac[:, self.pbc] = np.where(frac[:, self.pbc] >= 1.0, 0.0, frac[:, self.pbc])
        return Structure(
            numbers=self.numbers,
            positions=frac @ self.cell,
            cell=self.cell,
            pbc=self.pbc,
            arrays=dict(self.arrays),
            name=self.name,
            label_key=self.label_key,
        )

    def species_counts(self) -> dict[str, int]:
        """Atom count per chemical symbol, e.g. ``{"Cu": 5120, "Zr": 2880}``."""
        from ase.data import chemical_symbols

        values, counts = np.unique(self.numbers, return_counts=True)
        return {chemical_symbols[int(z)]: int(c) for z, c in zip(values, counts)}
