"""Tests of the physics-descriptor baseline: invariance, Steinhardt reference values, fit/predict/save."""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk

from symgnn.data.structure import Structure
from symgnn.errors import SymgnnError
from symgnn.descriptors import DescriptorConfig, compute_descriptors
from symgnn.models.descriptors import DescriptorRegressor
from symgnn.models.registry import available_models
from tests.helpers import random_structure

# Small settings keep the tests fast; the code paths are those of the defaults.
CONFIG = DescriptorConfig(radial_cutoff=5.0, coarse_grain=(4.0,))


def test_feature_names_match_columns():
    features = compute_descriptors(random_structure(), CONFIG)
    assert features.shape == (120, len(CONFIG.feature_names()))
    assert np.isfinite(features).all()


def test_invariant_under_rotation_reflection_and_translation():
    structure = random_structure(seed=3)
    rng = np.random.default_rng(1)
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    if np.linalg.det(q) > 0:
        q = -q
    moved = Structure(structure.numbers, structure.positions @ q.T + rng.normal(size=3) * 5.0,
                      structure.cell @ q.T, True)
    np.testing.assert_allclose(compute_descriptors(moved, CONFIG), compute_descriptors(structure, CONFIG),
                               atol=1e-8, rtol=1e-8)


def test_steinhardt_of_perfect_fcc():
    atoms = bulk("Cu", "fcc", a=3.61, cubic=True).repeat(3)
    structure = Structure(atoms.numbers, atoms.positions, np.array(atoms.cell), True)
    features = compute_descriptors(structure, CONFIG)
    names = CONFIG.feature_names()
    column = {name: features[:, names.index(name)] for name in ("q4", "q6", "cn_Cu", "q6_Cu")}
    np.testing.assert_allclose(column["q4"], 0.19094, atol=1e-4)
    np.testing.assert_allclose(column["q6"], 0.57452, atol=1e-4)
    np.testing.assert_allclose(column["q6_Cu"], 0.57452, atol=1e-4)
    np.testing.assert_array_equal(column["cn_Cu"], 12)


@pytest.mark.parametrize("method", ["ridge", "gbr"])
def test_fit_predict_shapes(method):
    structures = [random_structure(80, seed=k) for k in range(3)]
    model = DescriptorRegressor(method=method, config=CONFIG, gbr_params={"max_iter": 20})
    predictions = model.fit(structures[:2]).predict(structures)
    assert [p.shape for p in predictions] == [(80,)] * 3
    assert all(np.isfinite(p).all() for p in predictions)


def test_ridge_save_load_round_trip(tmp_path):
    structures = [random_structure(80, seed=k) for k in range(2)]
    model = DescriptorRegressor(config=CONFIG, alpha=3.0).fit(structures)
    model.save(tmp_path / "ridge.npz")
    loaded = DescriptorRegressor.load(tmp_path / "ridge.npz")
    assert loaded.config == CONFIG
    np.testing.assert_allclose(loaded.predict(structures)[0], model.predict(structures)[0])


def test_gbr_refuses_to_save(tmp_path):
    model = DescriptorRegressor(method="gbr", config=CONFIG, gbr_params={"max_iter": 5}).fit([random_structure(60)])
    with pytest.raises(SymgnnError):
        model.save(tmp_path / "gbr.npz")


def test_not_in_the_torch_registry():
    assert "descriptors" not in available_models()
