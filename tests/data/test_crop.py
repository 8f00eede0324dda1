"""Spherical crops: contiguous across the periodic boundary, and of open clusters as they are."""

from __future__ import annotations

import numpy as np

from symgnn.data.crop import crop_sphere
from symgnn.data.structure import Structure
from tests.helpers import random_structure


def test_crop_across_the_boundary_matches_the_unfolded_neighbourhood():
    box = random_structure(300, seed=1)
    crop, kept = crop_sphere(box, 0, 4.0)
    delta = box.positions[kept] - box.positions[0]
    frac = np.linalg.solve(box.cell.T, delta.T).T
    unfolded = (frac - np.round(frac)) @ box.cell
    np.testing.assert_allclose(crop.positions - 4.0, unfolded, atol=1e-9)
    assert (np.linalg.norm(unfolded, axis=1) <= 4.0).all() and not crop.pbc.any()


def test_crop_of_a_cluster_without_a_cell():
    box = random_structure(300, seed=1)
    cluster = Structure(box.numbers, box.positions, np.zeros((3, 3)), False, name="cluster")
    crop, kept = crop_sphere(cluster, 5, 3.0)
    expected = np.flatnonzero(np.linalg.norm(box.positions - box.positions[5], axis=1) <= 3.0)
    np.testing.assert_array_equal(kept, expected)
    np.testing.assert_allclose(crop.positions - 3.0, box.positions[kept] - box.positions[5])
