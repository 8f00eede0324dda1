r"""Per-atom structure descriptors: radial densities, coordination and Steinhardt order, coarse-grained.

Hand-made statistics of each atom's neighbourhood, the classical input for predicting local dynamics
or barriers in glasses from structure (e.g. Boattini et al., Nat. Commun. 2021). They feed the
descriptor baseline (:class:`symgnn.models.descriptors.DescriptorRegressor`) and, as extra node inputs,
the networks that take them (:mod:`symgnn.nn.descriptor_input`: ``painn_desc``, ``egat_desc``).

Descriptors of atom :math:`i` (neighbours from :func:`symgnn.graph.neighbour_pairs`, so periodic
images are handled):

* species one-hot of atom :math:`i`;
* radial densities per neighbour species :math:`s`:
  :math:`G_k^{s}(i) = \sum_{j \in s} \exp\!\big(-(r_{ij} - \mu_k)^2 / 2\sigma^2\big)` on an even grid
  of :math:`\mu_k` up to ``radial_cutoff``;
* first-shell coordination numbers per neighbour species;
* Steinhardt bond-orientational order (first shell :math:`\mathcal N_1(i)`, pair-specific shell
  radii from the minima of the partial pair distributions):

  .. math::
      q_{lm}(i) = \frac{1}{|\mathcal N_1(i)|} \sum_{j \in \mathcal N_1(i)} Y_{lm}(\hat r_{ij}), \qquad
      q_l(i) = \sqrt{\frac{4\pi}{2l+1} \sum_{m=-l}^{l} |q_{lm}(i)|^2}

  for :math:`l = 2, 4, \dots, 10`, over all first-shell neighbours and, optionally, over the
  neighbours of each species separately;
* coarse-grained copies (Boattini et al. 2021): for each coarse-graining radius :math:`R`,
  :math:`\bar x(i) = \frac{1}{1 + |\mathcal N_R(i)|} \big(x(i) + \sum_{j \in \mathcal N_R(i)} x(j)\big)`
  of every descriptor above.

All descriptors depend on distances and on :math:`|q_{lm}|^2` sums only, so they are invariant to
rotations, reflections and translations.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sparse
import sphericart

from symgnn.data.structure import Structure
from symgnn.graph import neighbour_pairs

# First minima of the partial pair distributions of Cu64Zr36 (measured on train0): Cu–Cu 3.3 Å,
# Cu–Zr 3.75 Å, Zr–Zr 3.95 Å. Keys are "Z1-Z2" with Z1 <= Z2.
CUZR_SHELLS: dict[str, float] = {"29-29": 3.3, "29-40": 3.75, "40-40": 3.95}


@dataclass
class DescriptorConfig:
    """Settings of :func:`compute_descriptors` (all lengths in Å). JSON-serialisable.

    Attributes:
        species: atomic numbers that get their own channels (one-hot, radial, per-species q_l).
        radial_cutoff: largest neighbour distance for the radial densities.
        radial_start, radial_step, radial_width: Gaussian grid :math:`\\mu_k` from ``radial_start`` to
            ``radial_cutoff`` every ``radial_step``, width :math:`\\sigma` = ``radial_width``.
        degrees: Steinhardt degrees :math:`l`.
        shell_cutoffs: first-shell radius per species pair ``"Z1-Z2"`` (Z1 <= Z2).
        default_shell_cutoff: first-shell radius for pairs not in ``shell_cutoffs``.
        per_species_q: also compute q_l over each neighbour species separately.
        coarse_grain: coarse-graining radii; each adds a coarse-grained copy of the descriptors.
    """

    species: tuple[int, ...] = (29, 40)
    radial_cutoff: float = 6.0
    radial_start: float = 2.0
    radial_step: float = 0.2
    radial_width: float = 0.2
    degrees: tuple[int, ...] = (2, 4, 6, 8, 10)
    shell_cutoffs: dict[str, float] = field(default_factory=lambda: dict(CUZR_SHELLS))
    default_shell_cutoff: float = 3.6
    per_species_q: bool = True
    coarse_grain: tuple[float, ...] = (4.0, 6.0)

    def __post_init__(self) -> None:
        self.species = tuple(int(z) for z in self.species)
        self.degrees = tuple(int(l) for l in self.degrees)
        self.coarse_grain = tuple(float(r) for r in self.coarse_grain)
        self.shell_cutoffs = {str(k): float(v) for k, v in self.shell_cutoffs.items()}

    @property
    def radial_centres(self) -> np.ndarray:
        count = int(math.floor((self.radial_cutoff - self.radial_start) / self.radial_step + 1e-9)) + 1
        return self.radial_start + self.radial_step * np.arange(count)

    def shell_matrix(self, max_z: int = 119) -> np.ndarray:
        """Symmetric (max_z, max_z) table of first-shell radii."""
        table = np.full((max_z, max_z), self.default_shell_cutoff)
        for key, radius in self.shell_cutoffs.items():
            a, b = (int(x) for x in key.split("-"))
            table[a, b] = table[b, a] = radius
        return table

    @property
    def own_cutoff(self) -> float:
        """The farthest neighbour an atom's own (not coarse-grained) features read: radial densities
        and first shells."""
        return max(self.radial_cutoff, self.default_shell_cutoff, *self.shell_cutoffs.values())

    @property
    def search_cutoff(self) -> float:
        """The neighbour-list cutoff that serves every feature, coarse-graining included."""
        return max(self.own_cutoff, *self.coarse_grain)

    @property
    def reach(self) -> float:
        """How far (Å) the atoms that change one atom's descriptors can be: coarse-graining averages
        the neighbours' own features over the largest coarse-graining radius."""
        return self.own_cutoff + max(self.coarse_grain, default=0.0)

    def feature_names(self) -> list[str]:
        """Names of the columns :func:`compute_descriptors` returns, in order."""
        symbols = [_symbol(z) for z in self.species]
        base = [f"is_{s}" for s in symbols]
        base += [f"g_{s}_{mu:.2f}" for s in symbols for mu in self.radial_centres]
        base += [f"cn_{s}" for s in symbols]
        base += [f"q{l}" for l in self.degrees]
        if self.per_species_q:
            base += [f"q{l}_{s}" for s in symbols for l in self.degrees]
        names = list(base)
        for radius in self.coarse_grain:
            names += [f"cg{radius:g}_{name}" for name in base]
        return names


def _symbol(z: int) -> str:
    from ase.data import chemical_symbols

    return chemical_symbols[z]


def steinhardt(
    vectors: np.ndarray, centre: np.ndarray, num_atoms: int, degrees: Sequence[int]
) -> np.ndarray:
    """Steinhardt :math:`q_l` per atom from bond vectors, shape (num_atoms, len(degrees)).

    ``vectors`` (P, 3) are the bonds from atom ``centre[p]`` to a neighbour. Atoms without bonds get 0.
    """
    out = np.zeros((num_atoms, len(degrees)))
    if len(vectors) == 0:
        return out
    counts = np.bincount(centre, minlength=num_atoms).astype(np.float64)
    weights = 1.0 / counts[centre]
    average = sparse.csr_matrix((weights, (centre, np.arange(len(centre)))), shape=(num_atoms, len(centre)))
    # Real spherical harmonics (sphericart, orthonormal on the sphere): sum_m q_lm^2 equals the sum
    # of |q_lm|^2 over the complex harmonics, since the two bases differ by a unitary map per l.
    harmonics = sphericart.SphericalHarmonics(max(degrees)).compute(np.ascontiguousarray(vectors, dtype=np.float64))
    q_lm = average @ harmonics  # (N, (l_max + 1)^2)
    for column, l in enumerate(degrees):
        power = (q_lm[:, l * l : (l + 1) * (l + 1)] ** 2).sum(axis=1)
        out[:, column] = np.sqrt(4 * np.pi / (2 * l + 1) * power)
    return out


def compute_descriptors(structure: Structure, config: DescriptorConfig | None = None) -> np.ndarray:
    """Per-atom descriptors of ``structure``, shape (N, len(config.feature_names())), float64."""
    config = config or DescriptorConfig()
    n = len(structure)
    structure = structure.wrapped()
    i, j, shift = neighbour_pairs(structure, config.search_cutoff)
    vectors = structure.positions[j] + shift - structure.positions[i]
    distance = np.linalg.norm(vectors, axis=1)
    z = structure.numbers
    # Channel of each neighbour's species (-1: a species without its own channel).
    channel = np.full(119, -1)
    channel[list(config.species)] = np.arange(len(config.species))
    neighbour_species = channel[z[j]]

    columns: list[np.ndarray] = [np.stack([(z == s).astype(np.float64) for s in config.species], axis=1)]

    radial = distance < config.radial_cutoff
    centres = config.radial_centres
    gaussians = np.exp(-((distance[radial, None] - centres) ** 2) / (2 * config.radial_width**2))
    for k in range(len(config.species)):
        pick = neighbour_species[radial] == k
        columns.append(_scatter_sum(gaussians[pick], i[radial][pick], n))

    shell = distance < config.shell_matrix()[z[i], z[j]]
    columns.append(
        np.stack([np.bincount(i[shell & (neighbour_species == k)], minlength=n) for k in range(len(config.species))], 1)
    )
    columns.append(steinhardt(vectors[shell], i[shell], n, config.degrees))
    if config.per_species_q:
        for k in range(len(config.species)):
            pick = shell & (neighbour_species == k)
            columns.append(steinhardt(vectors[pick], i[pick], n, config.degrees))
    base = np.concatenate([c.astype(np.float64) for c in columns], axis=1)

    features = [base]
    for radius in config.coarse_grain:
        inside = distance < radius
        adjacency = sparse.csr_matrix((np.ones(int(inside.sum())), (i[inside], j[inside])), shape=(n, n))
        adjacency = adjacency + sparse.identity(n, format="csr")
        norm = np.asarray(adjacency.sum(axis=1)).reshape(-1, 1)
        features.append((adjacency @ base) / norm)
    return np.concatenate(features, axis=1)


def _scatter_sum(values: np.ndarray, index: np.ndarray, size: int) -> np.ndarray:
    """Row sums of ``values`` grouped by ``index`` into ``size`` rows."""
    matrix = sparse.csr_matrix((np.ones(len(index)), (index, np.arange(len(index)))), shape=(size, len(index)))
    return np.asarray(matrix @ values)
