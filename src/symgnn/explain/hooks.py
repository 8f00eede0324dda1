"""How an edge mask reaches a model, and the adapter that lets PyG's ``Explainer`` drive our models.

PyTorch Geometric's explain module (``Explainer`` + ``GNNExplainer``) assumes two things our models
do not do:

1. it calls ``model(x, edge_index, **kwargs)`` with a 2-D node feature matrix ``x``, while our models
   take one ``Data`` (``model(data)``) and read ``z``, ``edge_vec``, ``cell`` ... from it;
2. it applies the soft edge mask by setting ``_edge_mask`` on every ``MessagePassing`` module it
   finds (:func:`torch_geometric.explain.algorithm.utils.set_masks`), while SymGNN's EGAT layers,
   EGNN, MGCN, FAENet and PaiNN do their message passing with plain ``scatter`` calls.

:class:`ExplainableModel` is the smallest adapter for both: its ``forward(x, edge_index, **kwargs)``
rebuilds the ``Data`` (``x`` is the column of atomic numbers), and it owns a do-nothing
``MessagePassing`` module, :class:`MaskCarrier`, on which ``set_masks`` deposits the mask like on
any PyG layer. The adapter reads the mask from there and hands it to the model as ``data.edge_mask``.

**What a model must do to be explainable** (one of two routes):

* *data route* (preferred, any architecture): set the class attribute ``supports_edge_mask = True``
  and, in ``forward``, read ``mask = getattr(data, "edge_mask", None)``; when it is not ``None`` (a
  float tensor of shape ``(E,)`` with values in [0, 1], aligned with ``data.edge_index``), multiply
  it into every message sent along each edge, in every layer (e.g. into attention weights after the
  softmax, or into the radial filter/envelope). A mask of ones must leave the output unchanged and a
  mask of zeros must remove the edge's messages. SymGNN and its variants do this.
* *PyG route*: do all message passing through ``torch_geometric.nn.MessagePassing`` layers called on
  ``data.edge_index`` itself (not a filtered copy); PyG's own ``explain_message`` then applies the
  mask (SchNet, GCN and GCN-edge here).

A model that does neither is refused with an error naming it (:func:`mask_route`).

The receptive field of a model is ``k`` hops of the graph for ``k`` message-passing layers
(:func:`receptive_hops`); a model states it as ``num_hops`` or it is counted from its layer list.
"""

from __future__ import annotations

import torch
from torch import nn
from torch_geometric.data import Data
from torch_geometric.nn import MessagePassing

from symgnn.errors import SymgnnError
from symgnn.models.receptive import receptive_hops  # noqa: F401  (re-exported: explain's public API)


def mask_route(model: nn.Module) -> str:
    """``"data"`` when the model reads ``data.edge_mask``, ``"pyg"`` when its message passing is made
    of PyG ``MessagePassing`` layers, otherwise a :class:`SymgnnError` saying what is missing."""
    if getattr(model, "supports_edge_mask", False):
        return "data"
    if any(isinstance(m, MessagePassing) for m in model.modules()):
        return "pyg"
    name = getattr(model, "registry_name", type(model).__name__)
    raise SymgnnError(
        f"model '{name}': cannot be explained; it must read data.edge_mask (and declare "
        "supports_edge_mask = True) or pass messages through torch_geometric MessagePassing layers"
    )


class MaskCarrier(MessagePassing):
    """Never propagates: PyG's ``set_masks`` writes the explainer's mask parameter onto it
    (``_edge_mask``, ``_apply_sigmoid``), and :class:`ExplainableModel` reads it back."""

    def current_mask(self) -> torch.Tensor | None:
        """The mask in [0, 1] that PyG's explainer set, or ``None`` outside an explanation."""
        if not self.explain or self._edge_mask is None:
            return None
        return self._edge_mask.sigmoid() if self._apply_sigmoid else self._edge_mask


# Graph fields passed through the explainer's ``**kwargs`` into the rebuilt Data.
MODEL_INPUTS = ("pos", "edge_vec", "edge_shift", "cell", "pbc", "batch", "descriptors")


class ExplainableModel(nn.Module):
    """PyG-explainer view of one of our models: ``forward(x, edge_index, **inputs) -> (N,)``.

    ``x`` is ``z.unsqueeze(-1)`` (PyG wants a 2-D node matrix); ``inputs`` are the fields of
    :data:`MODEL_INPUTS` present on the graph. The output is column 0 of the model (the standardised
    barrier). With the data route the carrier's mask becomes ``data.edge_mask``, and the model's own
    ``MessagePassing`` layers, if any, are excluded from PyG's masking so the mask applies once.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.route = mask_route(model)
        self.carrier = MaskCarrier()
        if self.route == "data":
            for module in model.modules():
                if isinstance(module, MessagePassing):
                    module.explain = False  # set_masks skips modules explicitly set to False

    @staticmethod
    def inputs_of(data: Data) -> dict[str, torch.Tensor]:
        """The keyword inputs to pass alongside ``x`` and ``edge_index`` for graph ``data``."""
        return {key: data[key] for key in MODEL_INPUTS if key in data}

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor, **inputs: torch.Tensor) -> torch.Tensor:
        data = Data(z=x[:, 0].long(), edge_index=edge_index, num_nodes=x.shape[0], **inputs)
        if self.route == "data":
            mask = self.carrier.current_mask()
            if mask is not None:
                data.edge_mask = mask
        return self.model(data)[:, 0]


def model_device(model: nn.Module) -> torch.device:
    """Where ``model``'s parameters live (the CPU for a model without parameters). Receptive fields
    are cut on the CPU; the functions that run the model move their batch here."""
    return next((p.device for p in model.parameters()), torch.device("cpu"))


@torch.no_grad()
def predict_with_mask(model: nn.Module, data: Data, mask: torch.Tensor) -> torch.Tensor:
    """Column 0 of ``model`` on ``data`` with a fixed edge mask (E,) in [0, 1], applied the way the
    explainer applies its soft mask (data route: ``data.edge_mask``; PyG route: ``set_masks``)."""
    from torch_geometric.explain.algorithm.utils import clear_masks, set_masks

    adapter = ExplainableModel(model).eval()
    mask = mask.to(data.edge_index.device, torch.float32)  # masks are built on the CPU
    if adapter.route == "data":
        masked = data.clone()
        masked.edge_mask = mask
        return model(masked)[:, 0]
    set_masks(adapter, mask, data.edge_index, apply_sigmoid=False)
    try:
        return adapter(data.z.unsqueeze(-1), data.edge_index, **ExplainableModel.inputs_of(data))
    finally:
        clear_masks(adapter)
