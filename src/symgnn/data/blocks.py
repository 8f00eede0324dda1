"""Cut a large periodic structure into blocks with a halo, so that a model can predict it block by block.

A message-passing model's output for an atom depends only on atoms within its *dependency radius*
(layers × cutoff, plus the reach of any structure descriptors it reads). A block is a slab of the
cell, cut along one or more periodic cell vectors, extended on both sides by a halo at least that
wide: the atoms of the slab proper (the *inner* atoms) see exactly what they see in the whole
structure, so their predictions are the whole structure's, while memory grows with the block, not
with the structure. The halo atoms, whose neighbourhoods the cut truncates, are discarded.

Along a cut axis the block is open (non-periodic); along the others it stays periodic. An axis is cut
only when a block and its two halos are narrower than the cell (so no atom appears twice), and
only periodic axes are cut. Every atom is an inner atom of exactly one block.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from symgnn.data.structure import Structure

MAX_BLOCKS_PER_AXIS = 32
#: A split is refused when its blocks, halos included, add up to more than this many times the atoms:
#: halos as wide as the blocks make the work explode for little memory saved.
MAX_WORK_FACTOR = 30.0
#: Structures above this many atoms are predicted in blocks of about this size (memory stays bounded).
DEFAULT_MAX_ATOMS = 50_000


@dataclass
class Block:
    """One block: its structure (inner atoms and halo), which of its atoms are inner, and where each
    of its atoms sits in the whole structure."""

    structure: Structure
    inner: np.ndarray  # bool (n_block,)
    atoms: np.ndarray  # int (n_block,), index in the whole structure


def plane_spacings(cell: np.ndarray) -> np.ndarray:
    """Distance between the lattice planes spanned by each pair of cell vectors (Å), one per axis:
    how far apart the two faces crossed by cell vector ``a`` are."""
    volume = abs(float(np.linalg.det(cell)))
    return np.array([volume / np.linalg.norm(np.cross(cell[(a + 1) % 3], cell[(a + 2) % 3])) for a in range(3)])


def plan_blocks(structure: Structure, halo: float, max_atoms: int) -> tuple[int, int, int]:
    """Blocks per cell axis: the split with the least total work (atoms summed over blocks, halos
    included) whose blocks hold at most ``max_atoms`` atoms (estimated at uniform density), if that
    work is at most ``MAX_WORK_FACTOR`` times the atoms. ``(1, 1, 1)`` (predict whole) when the
    structure fits, or when no split qualifies: no periodic axis, or a cell too thin for blocks and
    their halos."""
    n = len(structure)
    if n <= max_atoms or not structure.pbc.any():
        return (1, 1, 1)
    spacing = plane_spacings(structure.cell)
    halo_fraction = np.array([halo / spacing[a] if structure.pbc[a] else np.inf for a in range(3)])
    choices = []
    for a in range(3):
        counts = [1] + [k for k in range(2, MAX_BLOCKS_PER_AXIS + 1) if 1.0 / k + 2 * halo_fraction[a] < 1.0]
        choices.append(counts)
    fraction = [float(f) for f in halo_fraction]
    best_fit = None
    for counts in itertools.product(*choices):
        block_atoms, blocks = float(n), 1
        for a, k in enumerate(counts):
            if k > 1:
                block_atoms *= 1.0 / k + 2 * fraction[a]
                blocks *= k
        # Ties (equal work up to round-off) go to fewer blocks.
        work = (round(block_atoms * blocks, 6), blocks)
        if block_atoms > max_atoms or block_atoms * blocks > MAX_WORK_FACTOR * n:
            continue
        if best_fit is None or work < best_fit[0]:
            best_fit = (work, counts)
    return best_fit[1] if best_fit is not None else (1, 1, 1)


def spatial_blocks(structure: Structure, halo: float, counts: tuple[int, int, int]) -> Iterator[Block]:
    """The blocks of ``structure`` for ``counts`` blocks per axis (see :func:`plan_blocks`), each with
    a halo of ``halo`` Å along every cut axis."""
    structure = structure.wrapped()
    frac = np.linalg.solve(structure.cell.T, structure.positions.T).T
    halo_fraction = halo / plane_spacings(structure.cell)
    cut = np.array([k > 1 for k in counts])
    # The block each atom belongs to along each axis: an integer, so every atom has exactly one.
    home = np.minimum(np.floor(frac * np.array(counts)).astype(np.int64), np.array(counts) - 1)
    for index in itertools.product(*(range(k) for k in counts)):
        keep = np.ones(len(structure), dtype=bool)
        inner = np.ones(len(structure), dtype=bool)
        unwrapped = frac.copy()
        for a in np.flatnonzero(cut):
            width, start = 1.0 / counts[a], index[a] / counts[a]
            # Position along axis a measured from the block's lower halo edge, in [0, 1).
            along = (frac[:, a] - start + halo_fraction[a]) % 1.0
            keep &= along < width + 2 * halo_fraction[a]
            inner &= home[:, a] == index[a]
            unwrapped[:, a] = start - halo_fraction[a] + along  # the halo's image next to the block
        atoms = np.flatnonzero(keep)
        if len(atoms) == 0:  # an empty corner of the cell (its inner atoms are a subset: none)
            continue
        block = Structure(
            numbers=structure.numbers[atoms],
            positions=unwrapped[atoms] @ structure.cell,
            cell=structure.cell,
            pbc=structure.pbc & ~cut,
            arrays={key: np.asarray(values)[atoms] for key, values in structure.arrays.items()},
            name=structure.name,
            label_key=structure.label_key,
        )
        yield Block(block, inner[atoms], atoms)
