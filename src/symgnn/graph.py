"""Periodic radius graphs: atoms are nodes, an edge joins two atoms closer than a cutoff.

The neighbour search is vesin's (cell lists, any triclinic cell, mixed periodicity, and boxes smaller
than twice the cutoff, where an atom meets several images of the same neighbour).

Conventions, shared by every model in the package (PyTorch Geometric's ``source_to_target`` flow):

* ``edge_index[0]`` is the source ``j`` (the neighbour), ``edge_index[1]`` the target ``i`` (the atom
  that receives the message);
* ``edge_vec[e] = pos[j] + edge_shift[e] - pos[i]``: the vector from atom ``i`` to the image of ``j``;
* every pair appears in both directions, so the graph is symmetric and holds ``2 × pairs`` edges.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
import vesin
from ase.geometry import minkowski_reduce
from torch_geometric.data import Data

from symgnn.data.structure import Structure
from symgnn.errors import SymgnnError

DEFAULT_CUTOFF = 5.0
# No real material puts an atom within 1 Å of its own periodic image (the shortest lattice
# translations of the densest primitive cells are about 2 Å). A cell that does is in the wrong
# units or mistyped, and would give every atom thousands of image neighbours: refuse it.
MIN_IMAGE_DISTANCE = 1.0
# The densest solids hold about 0.18 atoms/Å³ (diamond; metals 0.04-0.09, Cu64Zr36 glass 0.063). A
# box several times denser is in the wrong units or holds duplicated atoms; its neighbour lists
# would grow with the density cubed in memory: refuse it before searching.
MAX_NUMBER_DENSITY = 0.5
# Two atoms this close (Å) are one atom written twice (merged or re-wrapped files); the shortest
# chemical bond, H2's, is 0.74 Å. Their graph would carry zero-length edges.
DUPLICATE_DISTANCE = 0.1


def neighbour_pairs(structure: Structure, cutoff: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return ``(i, j, shift)``: all directed pairs closer than ``cutoff``, with Cartesian image shifts.

    ``positions[j] + shift - positions[i]`` is the vector from ``i`` to the image of ``j``.
    """
    if not cutoff > 0:
        raise SymgnnError(f"cutoff must be positive, got {cutoff}")
    structure = structure.wrapped()
    _check_image_distance(structure)
    _check_density(structure)
    # vesin ignores the cell along open axes (and any cell at all when nothing is periodic).
    cell = structure.cell
    calculator = vesin.NeighborList(cutoff=float(cutoff), full_list=True)
    i, j, shift_index, distance = calculator.compute(
        points=structure.positions, box=cell, periodic=structure.pbc.tolist(), quantities="ijSd"
    )
    _check_duplicates(structure, i, j, distance)
    shift = shift_index.astype(np.float64) @ cell
    return i.astype(np.int64), j.astype(np.int64), shift


def _check_density(structure: Structure) -> None:
    """Refuse a fully periodic box denser than :data:`MAX_NUMBER_DENSITY` (atoms/Å³)."""
    if not structure.pbc.all():
        return  # no volume to divide by along open axes
    density = len(structure) / abs(float(np.linalg.det(structure.cell)))
    if density > MAX_NUMBER_DENSITY:
        raise SymgnnError(
            f"{structure.name}: {density:.3g} atoms/Å³, denser than any solid (at most about 0.2; Cu64Zr36 "
            "glass 0.063): is the cell in nm instead of Å, or are atoms duplicated?"
        )


def _check_duplicates(structure: Structure, i: np.ndarray, j: np.ndarray, distance: np.ndarray) -> None:
    """Refuse atoms closer than :data:`DUPLICATE_DISTANCE` to another atom or to an image of one."""
    if len(distance) == 0 or float(distance.min()) >= DUPLICATE_DISTANCE:
        return
    closest = int(np.argmin(distance))
    count = int((distance < DUPLICATE_DISTANCE).sum()) // 2
    a, b = sorted((int(i[closest]), int(j[closest])))
    where = f"atom {a} and an image of itself" if a == b else f"atoms {a} and {b}"
    if "id" in structure.arrays:  # a dump's own ids, which the reader sorted the atoms by
        ids = structure.atom_ids()
        where += f" (ids {ids[a]}" + (f" and {ids[b]})" if a != b else ")")
    raise SymgnnError(
        f"{structure.name}: {where} are {float(distance[closest]):.3f} Å apart ({count} such pair"
        f"{'s' if count != 1 else ''} closer than {DUPLICATE_DISTANCE:g} Å): duplicated atoms? "
        "(0-based indices, as in the index column of symgnn predict's CSV)"
    )


def _check_image_distance(structure: Structure) -> None:
    """Refuse a periodic cell whose shortest lattice translation is under :data:`MIN_IMAGE_DISTANCE`.

    A Minkowski-reduced basis (ASE's) holds the shortest translation of the periodic axes, for any
    triclinic cell, in microseconds.
    """
    if not structure.pbc.any():
        return
    reduced, _ = minkowski_reduce(structure.cell, pbc=structure.pbc)
    shortest = float(np.linalg.norm(np.asarray(reduced)[structure.pbc], axis=1).min())
    if shortest < MIN_IMAGE_DISTANCE:
        raise SymgnnError(
            f"{structure.name}: the periodic cell repeats every {shortest:.3g} Å, so each atom would "
            f"overlap its own images (cell lengths must be in Å)"
        )


def build_graph(
    structure: Structure,
    cutoff: float = DEFAULT_CUTOFF,
    aux_keys: tuple[str, ...] = (),
) -> Data:
    """Build the periodic radius graph of ``structure`` as a PyTorch Geometric ``Data``.

    Fields: ``z`` (atomic numbers), ``pos``, ``edge_index``, ``edge_vec``, ``edge_shift``, ``cell``,
    ``pbc``, ``cutoff``, and ``y`` (the label, raw units) when the structure has one; ``aux`` holds
    the per-atom arrays named in ``aux_keys`` as columns (auxiliary targets or inputs).
    """
    structure = structure.wrapped()
    i, j, shift = neighbour_pairs(structure, cutoff)
    positions = structure.positions
    edge_vec = positions[j] + shift - positions[i]
    data = Data(
        z=torch.from_numpy(structure.numbers.astype(np.int64)),
        pos=torch.from_numpy(positions).float(),
        edge_index=torch.from_numpy(np.stack([j, i])),
        edge_vec=torch.from_numpy(edge_vec).float(),
        edge_shift=torch.from_numpy(shift).float(),
        cell=torch.from_numpy(structure.cell).float().unsqueeze(0),
        pbc=torch.from_numpy(structure.pbc).unsqueeze(0),
        num_nodes=len(structure),
    )
    data.cutoff = float(cutoff)
    data.name = structure.name
    if structure.labels is not None:
        data.y = torch.from_numpy(np.asarray(structure.labels, dtype=np.float32))
    if aux_keys:
        missing = [k for k in aux_keys if k not in structure.arrays]
        if missing:
            available = ", ".join(sorted(structure.arrays)) or "none"
            raise SymgnnError(f"{structure.name}: no per-atom array named {', '.join(missing)} (available: {available})")
        aux = np.stack([np.asarray(structure.arrays[k], dtype=np.float32) for k in aux_keys], axis=1)
        data.aux = torch.from_numpy(aux)
    return data


def graph_on(data: Data, device: torch.device | str) -> Data:
    """``data`` on ``device`` as a shallow copy: PyG's ``Data.to`` moves a graph in place, and the
    caller's graph (cut into receptive fields later, say) must stay where it is."""
    return copy.copy(data).to(device)
