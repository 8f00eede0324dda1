r"""Fidelity of regression explanations: does the prediction depend on the edges the mask selects?

For an atom with prediction :math:`f(G)` and the set :math:`S_k` of its ``k`` most important edges:

.. math::
    \mathrm{fid}^+_k = \lvert f(G) - f(G \setminus S_k) \rvert, \qquad
    \mathrm{fid}^-_k = \lvert f(G) - f(S_k) \rvert

(in eV). "Removing" an edge silences its messages with a hard 0/1 mask through the same hook the
explainer's soft mask uses (:func:`~symgnn.explain.hooks.predict_with_mask`), so fidelity measures
the perturbation the explainer optimised. Deleting edges from ``edge_index`` instead would let an
attention model (SymGNN's EGAT softmax) re-normalise over the edges left: an atom keeping one of
its 30 edges would give that edge all its attention, an input far from anything seen in training,
and fid- would measure that artefact rather than the explanation. A faithful explanation has a large fid+ (removing the
selected edges changes the prediction) and a small fid- (the selected edges alone reproduce it).

Two references of the same size ``k``: ``random`` (``n_random`` uniform draws from the receptive
field's edges) and ``nearest`` (the ``k`` edges closest to the target, by the farther endpoint's
distance), a stronger control since most edges of a 4-hop field are far from the target.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn
from torch_geometric.data import Batch, Data

from symgnn.explain.gnnexplainer import AtomExplanation
from symgnn.explain.hooks import model_device, predict_with_mask

DEFAULT_KS = (10, 30, 100, 300, 1000, 3000)


@torch.no_grad()
def _predict_variants(model: nn.Module, data: Data, center: int, keeps: list[np.ndarray], chunk: int) -> np.ndarray:
    """The target's prediction (standardised) with each hard mask of ``keeps`` (True = edge kept)."""
    model.eval()
    out = []
    for start in range(0, len(keeps), chunk):
        part = keeps[start:start + chunk]
        batch = Batch.from_data_list([data] * len(part)).to(model_device(model))
        mask = torch.from_numpy(np.concatenate(part).astype(np.float32))
        out.append(predict_with_mask(model, batch, mask)[batch.ptr[:-1] + center].double().cpu().numpy())
    return np.concatenate(out)


def nearest_edges(explanation: AtomExplanation) -> np.ndarray:
    """Edges ordered by the distance from the target of their farther endpoint (nearest first)."""
    field = explanation.field
    source, target = field.data.edge_index.numpy()
    dist = field.distances
    far = np.maximum(dist[source], dist[target])
    return np.lexsort((np.arange(len(far)), far))


def atom_fidelity(
    model: nn.Module, explanation: AtomExplanation, label_std: float, ks: Sequence[int] = DEFAULT_KS,
    n_random: int = 2, seed: int = 0, chunk: int = 8,
) -> dict[str, list[float]]:
    """fid+ and fid- (eV) of the explanation and of the references, for each ``k`` (capped at the
    number of edges). Keys: ``k``, ``plus``, ``minus``, ``plus_random``, ``minus_random`` (means over
    the draws), ``plus_nearest``, ``minus_nearest``."""
    field = explanation.field
    n_edges = field.num_edges
    # Every atom reports the same requested k (so atoms can be averaged per k); a field with fewer
    # edges than k uses all of them (``k_effective``).
    ks = sorted({int(k) for k in ks})
    effective = [min(k, n_edges) for k in ks]
    rng = np.random.default_rng(seed + field.atom)
    ranked = explanation.top_edges(n_edges)
    nearest = nearest_edges(explanation)
    sets: list[np.ndarray] = []
    for k in effective:
        sets.append(ranked[:k])
        sets.append(nearest[:k])
        sets += [rng.choice(n_edges, size=k, replace=False) for _ in range(n_random)]
    keeps = []
    for chosen in sets:
        selected = np.zeros(n_edges, dtype=bool)
        selected[chosen] = True
        keeps += [~selected, selected]  # removed (fid+), kept alone (fid-)
    predictions = _predict_variants(model, field.data, field.center, keeps, chunk)
    change = np.abs(predictions - explanation.prediction) * label_std
    per_k = change.reshape(len(ks), 2 + n_random, 2)
    return {
        "k": ks,
        "k_effective": effective,
        "plus": per_k[:, 0, 0].tolist(),
        "minus": per_k[:, 0, 1].tolist(),
        "plus_nearest": per_k[:, 1, 0].tolist(),
        "minus_nearest": per_k[:, 1, 1].tolist(),
        "plus_random": per_k[:, 2:, 0].mean(1).tolist(),
        "minus_random": per_k[:, 2:, 1].mean(1).tolist(),
    }


def summarise_fidelity(per_atom: Sequence[dict[str, list[float]]]) -> dict[str, object]:
    """Means over atoms per ``k`` (atoms whose field is smaller than ``k`` use their capped ``k``),
    and the fraction of atoms where the explanation beats random (fid+ higher, fid- lower)."""
    if not per_atom:
        return {}
    ks = per_atom[0]["k"]
    usable = [f for f in per_atom if f["k"] == ks]
    keys = ("plus", "minus", "plus_nearest", "minus_nearest", "plus_random", "minus_random")
    summary: dict[str, object] = {"k": ks, "atoms": len(usable)}
    # a k beyond an atom's field takes all its edges: the mean number used says where k stops mattering
    summary["k_effective_mean"] = np.mean([f.get("k_effective", f["k"]) for f in usable], axis=0).round(1).tolist()
    for key in keys:
        summary[key] = np.mean([f[key] for f in usable], axis=0).round(5).tolist()
    plus = np.array([f["plus"] for f in usable])
    minus = np.array([f["minus"] for f in usable])
    summary["beats_random_plus"] = (plus > np.array([f["plus_random"] for f in usable])).mean(0).round(3).tolist()
    summary["beats_random_minus"] = (minus < np.array([f["minus_random"] for f in usable])).mean(0).round(3).tolist()
    summary["beats_nearest_plus"] = (plus > np.array([f["plus_nearest"] for f in usable])).mean(0).round(3).tolist()
    summary["beats_nearest_minus"] = (minus < np.array([f["minus_nearest"] for f in usable])).mean(0).round(3).tolist()
    return summary
