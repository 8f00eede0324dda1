"""Convert a Cu64Zr36 dataset dict (see the dataset README) to a :class:`Structure`.

Upstream keys: ``positions`` (N, 3) Å in a box centred on the origin, ``box`` (3,) orthorhombic box
lengths, ``types`` (N,) with 1 = Cu and 2 = Zr, ``trajectory_start_velocities`` (N,) the per-atom
barrier in eV (the name is upstream's), and per-atom ``pot``, ``press``, ``von``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from symgnn.data.structure import Structure
from symgnn.errors import SymgnnError

TYPE_TO_NUMBER: dict[int, int] = {1: 29, 2: 40}  # 1 = Cu, 2 = Zr
LABEL_SOURCE_KEY = "trajectory_start_velocities"
LABEL_KEY = "barrier"
AUX_KEYS: tuple[str, ...] = ("pot", "press", "von")


def _array(data: Mapping, key: str, where: str) -> np.ndarray:
    """Fetch ``data[key]`` as a numpy array, or fail naming the missing key."""
    if key not in data:
        present = ", ".join(sorted(str(k) for k in data if not str(k).startswith("__")))
        raise SymgnnError(f"{where}: dataset dict has no key '{key}' (keys: {present})")
    try:
        return np.asarray(data[key])
    except Exception as exc:  # a non-array value that numpy cannot take
        raise SymgnnError(f"{where}: key '{key}' is not an array ({exc})") from None


def _per_atom(data: Mapping, key: str, n: int, where: str) -> np.ndarray:
    """A per-atom float64 vector of length ``n`` from ``data[key]`` ((N,) or (N, 1))."""
    values = _array(data, key, where)
    if values.shape not in ((n,), (n, 1)):
        raise SymgnnError(f"{where}: '{key}' has shape {values.shape}, expected ({n},)")
    return values.reshape(n).astype(np.float64)


def cuzr64_to_structure(data: Mapping, name: str = "cuzr64") -> Structure:
    """Build a wrapped, labelled Structure (label ``barrier``) from one dataset dict.

    ``name`` (usually the file path or sample name) prefixes every error message.
    """
    positions = _array(data, "positions", name)
    if positions.ndim != 2 or positions.shape[1] != 3 or positions.shape[0] == 0:
        raise SymgnnError(f"{name}: 'positions' has shape {positions.shape}, expected (N, 3)")
    n = positions.shape[0]
    box = _array(data, "box", name).astype(np.float64).reshape(-1)
    if box.shape != (3,) or not np.all(np.isfinite(box)) or np.any(box <= 0):
        raise SymgnnError(f"{name}: 'box' must hold 3 positive box lengths, got {box.tolist()}")
    types = _array(data, "types", name)
    if types.shape not in ((n,), (n, 1)):
        raise SymgnnError(f"{name}: 'types' has shape {types.shape}, expected ({n},)")
    types = types.reshape(n).astype(np.int64)
    unknown = sorted(set(np.unique(types).tolist()) - set(TYPE_TO_NUMBER))
    if unknown:
        raise SymgnnError(f"{name}: unknown atom types {unknown} in 'types' (expected 1 = Cu, 2 = Zr)")
    numbers = np.where(types == 1, TYPE_TO_NUMBER[1], TYPE_TO_NUMBER[2])

    arrays: dict[str, np.ndarray] = {}
    label_key = None
    if LABEL_SOURCE_KEY in data:
        arrays[LABEL_KEY] = _per_atom(data, LABEL_SOURCE_KEY, n, name)
        label_key = LABEL_KEY
    for key in AUX_KEYS:
        if key in data:
            arrays[key] = _per_atom(data, key, n, name)

    structure = Structure(
        numbers=numbers,
        positions=positions.astype(np.float64) + box / 2.0,  # origin-centred box -> [0, box)
        cell=np.diag(box),
        pbc=np.array([True, True, True]),
        arrays=arrays,
        name=name,
        label_key=label_key,
    )
    return structure.wrapped()
