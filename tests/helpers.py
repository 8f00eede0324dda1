"""Helpers for the tests: small random periodic structures and the path to the shared dataset.

Test modules import these from here, not from ``conftest.py`` (which pytest loads itself, for fixtures).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from torch import nn

from symgnn.data.structure import Structure

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "cuzr64"


def random_structure(num_atoms: int = 120, density: float = 0.064, seed: int = 0, cell: np.ndarray | None = None,
                     pbc=True, label: bool = True) -> Structure:
    """A random Cu/Zr box at the glass's density (default orthorhombic), with a synthetic label."""
    rng = np.random.default_rng(seed)
    if cell is None:
        cell = np.eye(3) * (num_atoms / density) ** (1 / 3)
    positions = rng.random((num_atoms, 3)) @ cell
    numbers = rng.choice([29, 40], size=num_atoms, p=[0.64, 0.36])
    arrays = {"barrier": rng.normal(1.6, 0.3, num_atoms), "pot": rng.normal(-4.5, 0.2, num_atoms)} if label else {}
    return Structure(numbers, positions, cell, pbc, arrays, name=f"random{seed}", label_key="barrier" if label else None)



class LinearOnPositions(nn.Module):
    """A minimal model that keeps the registry's contract (keyword ``out_dim``, ``forward(data)`` ->
    ``(num_nodes, out_dim)``): a linear map of each atom's position. Tests register it, or subclasses
    that break the contract one way or another."""

    def __init__(self, out_dim: int = 1) -> None:
        super().__init__()
        self.linear = nn.Linear(3, out_dim)

    def forward(self, data):
        return self.linear(data.pos)


def benchmark_script(name: str):
    """``benchmarks/<name>.py`` imported as a module (benchmarks/ is not a package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, Path(__file__).resolve().parents[1] / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
