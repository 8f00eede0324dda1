"""Structures the benchmark scripts time: a random Cu64Zr36 box, a cube cut from a sample, a supercell.

Their physics does not matter (a random box has overlapping atoms, a cut cube unphysical contacts
across its new faces); their size does, since the cost of a prediction or an explanation depends on
atoms and edges only.
"""

from __future__ import annotations

import numpy as np

from symgnn.data.structure import Structure

GLASS_DENSITY = 0.064  # atoms per Å^3, about that of the Cu64Zr36 samples


def random_box(num_atoms: int = 8000, seed: int = 0) -> Structure:
    """``num_atoms`` Cu/Zr atoms (64 % / 36 %) at uniform random positions in a cube at glass density."""
    rng = np.random.default_rng(seed)
    side = (num_atoms / GLASS_DENSITY) ** (1 / 3)
    return Structure(rng.choice([29, 40], num_atoms, p=[0.64, 0.36]), rng.random((num_atoms, 3)) * side,
                     np.eye(3) * side, np.array([True] * 3), name="random")


def sub_box(structure: Structure, num_atoms: int) -> Structure:
    """A periodic cubic box of exactly ``num_atoms`` atoms cut from the corner of a sample."""
    wrapped = structure.wrapped().positions
    reach = wrapped.max(axis=1)  # an atom is inside a corner cube of side s when reach < s
    side = float(np.sort(reach)[num_atoms - 1]) + 1e-6
    keep = reach < side
    return Structure(structure.numbers[keep], wrapped[keep], np.eye(3) * side, np.array([True] * 3), name="subbox")


def replicate(structure: Structure, replicas: int) -> Structure:
    """``structure`` repeated ``replicas`` times along each cell vector (a periodic supercell)."""
    shifts = np.array([[i, j, k] for i in range(replicas) for j in range(replicas) for k in range(replicas)], dtype=float)
    positions = (structure.positions[None, :, :] + (shifts @ structure.cell)[:, None, :]).reshape(-1, 3)
    return Structure(np.tile(structure.numbers, len(shifts)), positions, structure.cell * replicas, structure.pbc,
                     name=f"{structure.name}x{replicas}")
