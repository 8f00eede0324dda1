"""Spatial crops of periodic structures: small, realistic inputs for tests, quick runs and
explanations."""

from __future__ import annotations

import numpy as np

from symgnn.data.structure import Structure
from symgnn.errors import SymgnnError


def crop_sphere(structure: Structure, center: np.ndarray | int, radius: float) -> tuple[Structure, np.ndarray]:
    """Atoms within ``radius`` of ``center`` (a position, or an atom index), as an open cluster.

    Periodic images are unfolded (minimum image), so a crop across the box boundary is contiguous; a
    structure without periodic axes is cropped as it is. The
    crop keeps every per-atom array and the label. Returns the crop and the original indices of its atoms.
    """
    structure = structure.wrapped()
    origin = structure.positions[center] if np.isscalar(center) else np.asarray(center, dtype=np.float64)
    offsets = structure.positions - origin
    if structure.pbc.any():  # a cluster without a cell (all axes open) has no images to unfold
        frac = np.linalg.solve(structure.cell.T, offsets.T).T
        frac[:, structure.pbc] -= np.round(frac[:, structure.pbc])
        offsets = frac @ structure.cell
    keep = np.flatnonzero(np.linalg.norm(offsets, axis=1) <= radius)
    if len(keep) == 0:
        raise SymgnnError(f"{structure.name}: no atom within {radius} Å of the crop centre")
    positions = offsets[keep] + radius  # inside a (2r)^3 box, corner at the origin
    cell = np.eye(3) * (2 * radius)
    arrays = {k: np.asarray(v)[keep] for k, v in structure.arrays.items()}
    cropped = Structure(structure.numbers[keep], positions, cell, False, arrays,
                        name=f"{structure.name}[r={radius:g}]", label_key=structure.label_key)
    return cropped, keep
