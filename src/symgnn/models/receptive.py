"""How far a model sees: message-passing rounds and the radius its output for an atom depends on.

Explanations cut an atom's receptive field out of the graph (``receptive_hops`` rounds of message
passing); block-wise prediction of large structures (:mod:`symgnn.data.blocks`) surrounds each block
with a halo of the model's :func:`dependency_radius`.
"""

from __future__ import annotations

from torch import nn

from symgnn.errors import SymgnnError

# Attribute names under which models keep their message-passing layers, in order of preference.
_LAYER_LISTS = ("layers", "interactions", "convs", "messages")


def receptive_hops(model: nn.Module) -> int:
    """Message-passing rounds of ``model``: ``model.num_hops`` if set, else the length of its layer
    list (``layers``, ``interactions``, ``convs`` or ``messages``); 0 for per-atom models."""
    hops = getattr(model, "num_hops", None)
    if hops is not None:
        return int(hops)
    if getattr(model, "uses_graph", None) is False:
        return 0
    for name in _LAYER_LISTS:
        layers = getattr(model, name, None)
        if isinstance(layers, nn.ModuleList) and len(layers) > 0:
            return len(layers)
    name = getattr(model, "registry_name", type(model).__name__)
    raise SymgnnError(f"model '{name}': cannot tell its number of message-passing layers; set model.num_hops")


def dependency_radius(model: nn.Module, cutoff: float) -> float:
    """The distance (Å) within which atoms can change ``model``'s output for an atom: each round of
    message passing reaches one graph cutoff further, and structure descriptors read as inputs
    (``model.descriptors``) reach their own radius beyond that. An ensemble sees as far as its
    farthest-seeing member."""
    members = getattr(model, "members", None)
    if isinstance(members, nn.ModuleList) and len(members) > 0:
        return max(dependency_radius(member, cutoff) for member in members)
    config = getattr(getattr(model, "descriptors", None), "config", None)
    reach = float(config.reach) if config is not None else 0.0
    return receptive_hops(model) * float(cutoff) + reach
