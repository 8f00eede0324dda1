"""Explaining per-atom predictions: GNNExplainer on receptive fields, fidelity, sanity, statistics.

Modules, one job each: :mod:`~symgnn.explain.hooks` (how a mask reaches a model; the adapter to
PyG's explain module), :mod:`~symgnn.explain.subgraph` (k-hop receptive fields),
:mod:`~symgnn.explain.gnnexplainer` (the masks), :mod:`~symgnn.explain.fidelity`,
:mod:`~symgnn.explain.sanity`, :mod:`~symgnn.explain.topology` (H1 cycles with GUDHI),
:mod:`~symgnn.explain.stats`, :mod:`~symgnn.explain.figures`, :mod:`~symgnn.explain.writers` and
:mod:`~symgnn.explain.run` (the command pipelines).
"""

from symgnn.explain.gnnexplainer import AtomExplanation, ExplainConfig, explain_atoms
from symgnn.explain.hooks import ExplainableModel, mask_route, receptive_hops
from symgnn.explain.subgraph import ReceptiveField, receptive_field

__all__ = [
    "AtomExplanation", "ExplainConfig", "ExplainableModel", "ReceptiveField", "explain_atoms", "mask_route",
    "receptive_field", "receptive_hops",
]
