"""``benchmarks/residual_shift.py``: a residual the descriptors determine is found, noise is not."""

from __future__ import annotations

import numpy as np
import pytest

from symgnn.errors import SymgnnError
from tests.helpers import benchmark_script, random_structure


def test_residual_explained_separates_a_missed_relation_from_noise():
    script = benchmark_script("residual_shift")
    rng = np.random.default_rng(0)
    features = rng.normal(size=(2000, 5))
    labels = features @ np.array([1.0, -0.5, 0.3, 0.0, 0.2]) + rng.normal(0.0, 0.3, 2000)
    misses_one_column = labels - features[:, 0]  # a model blind to the first descriptor
    fits_all = labels - rng.normal(0.0, 0.3, 2000)  # a model whose error is noise only
    groups = np.arange(2000) % 5
    missed = script.within_sample_scores(features, labels, misses_one_column, groups)
    fitted = script.within_sample_scores(features, labels, fits_all, groups)
    assert missed["residual_explained"] > 0.9
    assert abs(fitted["residual_explained"]) < 0.15
    assert fitted["within_sample_ridge"] == pytest.approx(missed["within_sample_ridge"]) and fitted["within_sample_ridge"] > 0.9


def test_cross_sample_ridge_leaves_the_target_out_and_sees_a_shifted_relation():
    script = benchmark_script("residual_shift")
    rng = np.random.default_rng(1)
    features = {name: rng.normal(size=(400, 3)) for name in ("a", "b", "c")}
    weights = {"a": [1.0, 0.0, 0.0], "b": [1.0, 0.0, 0.0], "c": [0.0, 1.0, 0.0]}  # c's relation differs
    labels = {name: features[name] @ np.array(weights[name]) for name in features}
    assert script.cross_sample_ridge(features, labels, ["a", "b"], "b") == pytest.approx(1.0, abs=1e-3)
    assert abs(script.cross_sample_ridge(features, labels, ["a", "b"], "c")) < 0.2
    with pytest.raises(SymgnnError, match="no sample left"):
        script.cross_sample_ridge(features, labels, ["c"], "c")


def test_slabs_follow_the_first_cell_vector_and_wrap():
    script = benchmark_script("residual_shift")
    structure = random_structure(300, seed=2)
    groups = script.slabs(structure, 4)
    fractional = np.linalg.solve(structure.cell.T, structure.positions.T)[0] % 1.0
    assert set(groups) == {0, 1, 2, 3}
    assert np.array_equal(groups, np.floor(fractional * 4).astype(int))
    shifted = random_structure(300, seed=2)
    shifted.positions = shifted.positions + structure.cell[0]  # one period along the first vector
    assert np.array_equal(script.slabs(shifted, 4), groups)
