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


def neighbour_pairs(structure: Structure, cutoff: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return ``(i, j, shift)``: all directed pairs closer than ``cutoff``, with Cartesian image shifts.

    ``positions[j] + shift - positions[i]`` is the vector from ``i`` to the image of ``j``.
    """
    if not cutoff > 0:
        raise SymgnnError(f"cutoff must be positive, got {cutoff}")
    structure = structure.wrapped()
    _check_image_distance(structure)
    # vesin ignores the cell along open axes (and any cell at all when nothing is periodic).
    cell = structure.cell
    calculator = vesin.NeighborList(cutoff=float(cutoff), full_list=True)
    i, j, shift_index = calculator.compute(
        points=structure.positions, box=cell, periodic=structure.pbc.tolist(), quantities="ijS"
    )
    shift = shift_index.astype(np.float64) @ cell
    return i.astype(np.int64), j.astype(np.int64), shift


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
            raise SymgnnError(f"{structure.name}: no per-atom array named {', '.join(missing)}")
        aux = np.stack([np.asarray(structure.arrays[k], dtype=np.float32) for k in aux_keys], axis=1)
        data.aux = torch.from_numpy(aux)
    return data


def graph_on(data: Data, device: torch.device | str) -> Data:
    """``data`` on ``device`` as a shallow copy: PyG's ``Data.to`` moves a graph in place, and the
    caller's graph (cut into receptive fields later, say) must stay where it is."""
    return copy.copy(data).to(device)
