"""Dataset dict -> Structure conversion."""

from __future__ import annotations

import numpy as np
import pytest

from symgnn.errors import SymgnnError
from symgnn.io.cuzr64 import cuzr64_to_structure


def _sample(n: int = 10) -> dict:
    rng = np.random.default_rng(1)
    box = np.array([10.0, 11.0, 12.0], dtype=np.float32)
    return {
        "__header__": b"MATLAB", "__version__": "1.0", "__globals__": [],
        "positions": (rng.random((n, 3)) - 0.5) * box,
        "box": box,
        "types": np.array([1, 2] * (n // 2), dtype=np.int32),
        "trajectory_start_velocities": rng.random(n).astype(np.float32) + 1.0,
        "pot": rng.random(n).astype(np.float32),
        "press": rng.random(n).astype(np.float32),
        "von": rng.random(n).astype(np.float32),
        "pos": np.arange(n, dtype=np.uint16).reshape(n, 1),
    }


def test_conversion() -> None:
    data = _sample()
    s = cuzr64_to_structure(data, "sample")
    assert s.numbers.tolist() == [29, 40] * 5
    np.testing.assert_allclose(s.cell, np.diag(data["box"]))
    assert s.pbc.all()
    assert np.all(s.positions >= 0) and np.all(s.positions < data["box"].astype(float))
    np.testing.assert_allclose(s.positions, data["positions"] + data["box"] / 2, atol=1e-12)
    assert s.label_key == "barrier"
    np.testing.assert_allclose(s.labels, data["trajectory_start_velocities"])
    assert set(s.arrays) == {"barrier", "pot", "press", "von"}


def test_wraps_atoms_outside_box() -> None:
    data = _sample()
    data["positions"][0] = [5.5, -5.6, 0.0]  # just outside the centred box
    s = cuzr64_to_structure(data, "sample")
    assert np.all(s.positions >= 0) and np.all(s.positions < data["box"].astype(float))


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda d: d.pop("positions"), "no key 'positions'"),
        (lambda d: d.update(box=np.array([1.0, 2.0])), "'box' must hold 3"),
        (lambda d: d.update(types=np.full(10, 3)), "unknown atom types"),
        (lambda d: d.update(pot=np.zeros(9)), "'pot' has shape"),
        (lambda d: d.update(positions=np.zeros((10, 2))), "expected \\(N, 3\\)"),
    ],
)
def test_validation(change, match) -> None:
    data = _sample()
    change(data)
    with pytest.raises(SymgnnError, match=match):
        cuzr64_to_structure(data, "bad.pickle")
