r"""Physics-descriptor baseline: hand-made per-atom structure descriptors + a linear or boosted-tree fit.

This is the classical route to predicting local dynamics or barriers in glasses from structure
(e.g. Boattini et al., Nat. Commun. 2021): describe each atom by radial and bond-orientational
statistics of its neighbourhood, coarse-grain them over the neighbours, and regress. It is *not* a
torch model and is not in :mod:`symgnn.models.registry` (``build_model`` cannot build it, and it has
no ``forward(data)``): it is fitted in closed form (ridge) or by scikit-learn's gradient boosting,
so it lives beside the torch models under the name ``descriptors`` and is used directly through
:class:`DescriptorRegressor`.

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

Saving: the ridge model is stored as plain arrays (scaler mean/scale, coefficients, intercept) plus
the descriptor settings as JSON text, in one ``.npz`` read back with ``allow_pickle=False``. The
``gbr`` model is not saved: scikit-learn estimators can only be serialised by pickling (a code
execution risk for anyone loading a shared file), and refitting takes about a minute, so it is
refit from the training structures instead.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sparse
import sphericart

from symgnn.data.structure import Structure
from symgnn.errors import SymgnnError
from symgnn.graph import neighbour_pairs
from symgnn.io.atomic import atomic_write

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


class DescriptorRegressor:
    """Fit per-atom labels from :func:`compute_descriptors` with ridge or gradient-boosted trees.

    Args:
        method: ``"ridge"`` (standardised features, :class:`sklearn.linear_model.Ridge`; savable) or
            ``"gbr"`` (:class:`sklearn.ensemble.HistGradientBoostingRegressor`; not savable, refit).
        alpha: ridge regularisation (on standardised features).
        config: descriptor settings.
        gbr_params: keyword arguments for the boosted trees.
    """

    def __init__(
        self, method: str = "ridge", alpha: float = 1.0, config: DescriptorConfig | None = None,
        gbr_params: dict | None = None,
    ) -> None:
        if method not in ("ridge", "gbr"):
            raise SymgnnError(f"method must be 'ridge' or 'gbr', got {method!r}")
        self.method, self.alpha = method, float(alpha)
        self.config = config or DescriptorConfig()
        self.gbr_params = {"max_iter": 300, "learning_rate": 0.05, "max_leaf_nodes": 31, "random_state": 0,
                           **(gbr_params or {})}
        self._linear: dict[str, np.ndarray] | None = None
        self._trees = None

    def featurise(self, structures: Sequence[Structure]) -> list[np.ndarray]:
        """Descriptors of each structure (list of (N_k, F) arrays)."""
        return [compute_descriptors(s, self.config) for s in structures]

    def fit(self, structures: Sequence[Structure], labels: Sequence[np.ndarray] | None = None) -> "DescriptorRegressor":
        """Fit on per-atom ``labels`` (default: each structure's own label array)."""
        if labels is None:
            if any(s.labels is None for s in structures):
                raise SymgnnError("fit needs labels: pass them or give structures with a label_key")
            labels = [s.labels for s in structures]
        return self.fit_features(self.featurise(structures), labels)

    def fit_features(self, features: Sequence[np.ndarray], labels: Sequence[np.ndarray]) -> "DescriptorRegressor":
        """Fit on precomputed descriptors (to try several regressors on one featurisation)."""
        x = np.concatenate(features)
        y = np.concatenate([np.asarray(l, dtype=np.float64).reshape(-1) for l in labels])
        if len(x) != len(y):
            raise SymgnnError(f"{len(x)} atoms of descriptors but {len(y)} labels")
        if self.method == "ridge":
            from sklearn.linear_model import Ridge
            from sklearn.preprocessing import StandardScaler

            scaler = StandardScaler().fit(x)
            ridge = Ridge(alpha=self.alpha).fit(scaler.transform(x), y)
            self._linear = {"mean": scaler.mean_, "scale": scaler.scale_, "coef": ridge.coef_,
                            "intercept": np.atleast_1d(ridge.intercept_)}
        else:
            from sklearn.ensemble import HistGradientBoostingRegressor

            self._trees = HistGradientBoostingRegressor(**self.gbr_params).fit(x, y)
        return self

    def predict(self, structures: Sequence[Structure]) -> list[np.ndarray]:
        """Per-atom predictions, one (N_k,) array per structure."""
        return self.predict_features(self.featurise(structures))

    def predict_features(self, features: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Predictions from precomputed descriptors."""
        out = []
        for x in features:
            if self._linear is not None:
                p = ((x - self._linear["mean"]) / self._linear["scale"]) @ self._linear["coef"] + self._linear["intercept"][0]
            elif self._trees is not None:
                p = self._trees.predict(x)
            else:
                raise SymgnnError("the descriptor regressor is not fitted")
            out.append(np.asarray(p, dtype=np.float64))
        return out

    def save(self, path: str | Path) -> None:
        """Write a fitted ridge model as a pickle-free ``.npz`` (gbr models are refit, not saved)."""
        if self.method != "ridge":
            raise SymgnnError("only the ridge descriptor model can be saved; refit the gbr model from its data")
        if self._linear is None:
            raise SymgnnError("the descriptor regressor is not fitted")
        meta = {"method": self.method, "alpha": self.alpha, "config": asdict(self.config)}
        with atomic_write(path, "wb") as handle:
            np.savez(handle, meta=np.array(json.dumps(meta)), **self._linear)

    @classmethod
    def load(cls, path: str | Path) -> "DescriptorRegressor":
        """Read a model written by :meth:`save` (no pickle involved)."""
        with np.load(path, allow_pickle=False) as archive:
            meta = json.loads(str(archive["meta"]))
            linear = {key: np.array(archive[key]) for key in ("mean", "scale", "coef", "intercept")}
        model = cls(method=meta["method"], alpha=meta["alpha"], config=DescriptorConfig(**meta["config"]))
        model._linear = linear
        return model
