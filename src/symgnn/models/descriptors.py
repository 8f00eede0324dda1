r"""Physics-descriptor baseline: hand-made per-atom structure descriptors + a linear or boosted-tree fit.

This is the classical route to predicting local dynamics or barriers in glasses from structure
(e.g. Boattini et al., Nat. Commun. 2021): describe each atom by radial and bond-orientational
statistics of its neighbourhood, coarse-grain them over the neighbours, and regress. It is *not* a
torch model and is not in :mod:`symgnn.models.registry` (``build_model`` cannot build it, and it has
no ``forward(data)``): it is fitted in closed form (ridge) or by scikit-learn's gradient boosting,
so it lives beside the torch models under the name ``descriptors`` and is used directly through
:class:`DescriptorRegressor`.

The descriptors themselves are computed by :mod:`symgnn.descriptors` (also the structure
inputs of ``painn_desc`` and ``egat_desc``).

Saving: the ridge model is stored as plain arrays (scaler mean/scale, coefficients, intercept) plus
the descriptor settings as JSON text, in one ``.npz`` read back with ``allow_pickle=False``. The
``gbr`` model is not saved: scikit-learn estimators can only be serialised by pickling (a code
execution risk for anyone loading a shared file), and refitting takes about a minute, so it is
refit from the training structures instead.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np

from symgnn.data.structure import Structure
from symgnn.descriptors import DescriptorConfig, compute_descriptors
from symgnn.errors import SymgnnError
from symgnn.io.atomic import atomic_write


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
