"""The periodic radius graph against a brute-force minimum-image / multi-image reference."""

from __future__ import annotations

import itertools
from collections import defaultdict

import numpy as np
import pytest

from symgnn.data.structure import Structure
from symgnn.errors import SymgnnError
from symgnn.graph import build_graph, neighbour_pairs
from tests.helpers import random_structure


def brute_force_pairs(structure: Structure, cutoff: float) -> dict[tuple[int, int], list[float]]:
    """For each (i, j), the sorted distances of all images of j with |r_j + n·cell - r_i| < cutoff over enough images."""
    reach = [int(np.ceil(cutoff / (structure.volume / np.linalg.norm(np.cross(*np.delete(structure.cell, a, 0)))))) + 1
             if structure.pbc[a] else 0 for a in range(3)]
    shifts = np.array(list(itertools.product(*[range(-r, r + 1) for r in reach]))) @ structure.cell
    pos = structure.wrapped().positions
    pairs: dict[tuple[int, int], list[float]] = defaultdict(list)
    for i in range(len(pos)):
        vectors = pos[None, :, :] + shifts[:, None, :] - pos[i]
        distances = np.linalg.norm(vectors, axis=-1)
        for s, j in zip(*np.nonzero((distances < cutoff) & (distances > 1e-8))):
            pairs[(i, int(j))].append(float(distances[s, j]))
    return {k: sorted(v) for k, v in pairs.items()}


def graph_pairs(structure: Structure, cutoff: float) -> dict[tuple[int, int], list[float]]:
    data = build_graph(structure, cutoff)
    lengths = data.edge_vec.double().norm(dim=-1).numpy()
    j, i = data.edge_index.numpy()
    pairs: dict[tuple[int, int], list[float]] = defaultdict(list)
    for a, b, d in zip(i, j, lengths):
        pairs[(int(a), int(b))].append(float(d))
    return {k: sorted(v) for k, v in pairs.items()}


def _compare(structure: Structure, cutoff: float) -> None:
    expected, got = brute_force_pairs(structure, cutoff), graph_pairs(structure, cutoff)
    assert got.keys() == expected.keys()
    for key, distances in expected.items():
        assert np.allclose(got[key], distances, atol=1e-4), key


@pytest.mark.parametrize("seed", [0, 1])
def test_orthorhombic_matches_brute_force(seed):
    _compare(random_structure(150, seed=seed), 5.0)


@pytest.mark.parametrize("seed", [0, 1])
def test_triclinic_matches_brute_force(seed):
    cell = np.array([[13.0, 0.0, 0.0], [4.0, 12.0, 0.0], [-3.0, 2.5, 11.0]])
    _compare(random_structure(110, seed=seed, cell=cell), 5.0)


def test_box_smaller_than_twice_cutoff_sees_several_images():
    _compare(random_structure(14, seed=3, cell=np.eye(3) * 6.0), 5.0)
    # Below the cutoff itself, every atom meets its own images.
    structure = random_structure(6, seed=3, cell=np.eye(3) * 4.5)
    _compare(structure, 5.0)
    i, j, _ = neighbour_pairs(structure, 5.0)
    assert set(range(6)) <= set(i[i == j].tolist())


def test_open_axis_has_no_images():
    structure = random_structure(100, seed=4, pbc=[True, True, False])
    _compare(structure, 5.0)
    data = build_graph(structure, 5.0)
    assert float(data.edge_shift[:, 2].abs().max()) == 0.0


def test_edge_vector_convention_and_symmetry():
    structure = random_structure(80, seed=5)
    data = build_graph(structure, 5.0)
    j, i = data.edge_index
    expected = data.pos[j] + data.edge_shift - data.pos[i]
    assert np.allclose(expected.numpy(), data.edge_vec.numpy(), atol=1e-4)
    assert data.edge_index.shape[1] % 2 == 0
    assert data.y.shape == (80,)


def test_positions_outside_cell_are_wrapped():
    structure = random_structure(60, seed=6)
    shifted = Structure(structure.numbers, structure.positions + structure.cell[0] * 3 - structure.cell[2] * 2,
                        structure.cell, True, structure.arrays, label_key="barrier")
    a, b = graph_pairs(structure, 4.0), graph_pairs(shifted, 4.0)
    assert a.keys() == b.keys()
    assert all(np.allclose(a[k], b[k], atol=1e-4) for k in a)


def test_bad_cutoff_and_nan_positions_are_refused():
    structure = random_structure(20)
    with pytest.raises(SymgnnError, match="cutoff"):
        build_graph(structure, 0.0)
    positions = structure.positions.copy()
    positions[3, 1] = np.nan
    with pytest.raises(SymgnnError, match="atom 3"):
        Structure(structure.numbers, positions, structure.cell, True)


def test_cell_shorter_than_an_atom_is_refused():
    """A periodic cell that repeats within 1 Å (wrong units, a typo) is refused in one line naming the
    structure, also when only a combination of long cell vectors is short; a small but real cell is not."""
    tiny = Structure([29], [[0.0, 0.0, 0.0]], np.eye(3) * 0.5, True, name="tiny.xyz")
    with pytest.raises(SymgnnError, match=r"^tiny\.xyz: the periodic cell repeats every 0\.5 Å"):
        neighbour_pairs(tiny, 5.0)
    sheared = Structure([29, 40], [[0.0, 0, 0], [3.0, 0, 5.0]], [[10, 0, 0], [10.5, 0.5, 0], [0, 0, 10]], True,
                        name="sheared")
    with pytest.raises(SymgnnError, match=r"sheared: the periodic cell repeats every 0\.707 Å"):
        build_graph(sheared, 5.0)
    # Open along the short axis: no images there, nothing to refuse.
    open_axis = Structure([29], [[0.0, 0.0, 0.0]], np.diag([0.5, 8.0, 8.0]), [False, True, True], name="open")
    i, _, _ = neighbour_pairs(open_axis, 5.0)
    assert len(i) == 0
    fcc_primitive = Structure([29], [[0.0, 0.0, 0.0]], np.array([[0, 1, 1], [1, 0, 1], [1, 1, 0]]) * 3.61 / 2, True)
    assert len(neighbour_pairs(fcc_primitive, 3.0)[0]) == 12


def test_boxes_denser_than_any_solid_and_duplicated_atoms_are_refused():
    """A box in nm (a thousand times too dense) is refused before the neighbour search, whose memory
    would grow with the density; an atom written twice, or sitting on its own image, is named."""
    box = random_structure(500, seed=1)
    in_nm = Structure(box.numbers, box.positions / 10, box.cell / 10, True, name="nm.xyz")
    with pytest.raises(SymgnnError, match=r"^nm\.xyz: 64 atoms/Å³, denser than any solid .* cell in nm"):
        neighbour_pairs(in_nm, 5.0)
    glass = Structure([29, 40, 29], [[0.0, 0, 0], [2.7, 0, 0], [0, 2.7, 0.02]], np.eye(3) * 8, True, name="g")
    positions = glass.positions.copy()
    positions[2] = positions[0] + [0.01, 0, 0]
    doubled = Structure(glass.numbers, positions, glass.cell, True, name="doubled.xyz")
    with pytest.raises(SymgnnError, match=r"^doubled\.xyz: atoms 0 and 2 are 0\.010 Å apart \(1 such pair closer than "
                                          r"0\.1 Å\): duplicated atoms\?"):
        build_graph(doubled, 5.0)
    across = Structure(glass.numbers, [[0.0, 0, 0], [2.7, 0, 0], [0, 0, 7.95]], glass.cell, True, name="across")
    with pytest.raises(SymgnnError, match=r"across: atoms 0 and 2 are 0\.050 Å apart"):  # through the boundary
        build_graph(across, 5.0)
    dump = Structure(glass.numbers, positions, glass.cell, True, {"id": np.array([30, 10, 20])}, name="d.dump")
    with pytest.raises(SymgnnError, match=r"atoms 0 and 2 \(ids 30 and 20\) are 0\.010 Å apart"):  # the file's ids too
        build_graph(dump, 5.0)
    assert build_graph(glass, 5.0).num_edges > 0  # 2.7 Å apart, as in a metal: fine


def test_train0_has_the_documented_edge_count(shared_data):
    from symgnn.data.registry import load_sample

    data = build_graph(load_sample("train0", shared_data), 5.0)
    assert data.edge_index.shape[1] == 259_838
