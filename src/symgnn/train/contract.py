"""The model contract of :mod:`symgnn.models.registry`, checked by the trainer where a breach shows.

A user's model that has nothing to train, cannot be called with one PyG batch, or returns anything
but a ``(num_nodes, out_dim)`` floating-point tensor would otherwise fail deep inside the optimiser,
the loss or validation, or worse, train silently on a broadcast loss. Each check here names the model
in one :class:`SymgnnError` line instead. They cost a shape comparison per step.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torch_geometric.data import Data

from symgnn.errors import SymgnnError


def model_name(model: nn.Module) -> str:
    """The name the model was registered under (its class name if it was not)."""
    return getattr(model, "registry_name", type(model).__name__)


def check_trainable(model: nn.Module) -> None:
    """Refuse a model without trainable parameters (torch's optimisers would say only "empty
    parameter list")."""
    if not any(parameter.requires_grad for parameter in model.parameters()):
        raise SymgnnError(f"model '{model_name(model)}' has no trainable parameters, so there is nothing to train; "
                          "create them in __init__ (nn.Parameter, or submodules such as nn.Linear)")


def call_model(call: Callable[[Data], Any], model: nn.Module, batch: Data) -> Any:
    """``call(batch)`` (``model`` itself or its compiled forward). A ``TypeError`` because
    ``model.forward`` cannot take one batch becomes one line; any other (from inside the model) is
    raised as it is."""
    try:
        return call(batch)
    except TypeError:
        if _takes_one_batch(model, batch):
            raise
        signature = inspect.signature(model.forward)
        raise SymgnnError(f"model '{model_name(model)}': forward{signature} cannot take one PyG batch; models are called "
                          "as model(data) with one Data/Batch (def forward(self, data)) and read data.z, data.pos, "
                          "data.edge_index, ... from it") from None


def _takes_one_batch(model: nn.Module, batch: Data) -> bool:
    """Whether ``model.forward``'s signature accepts one positional argument (True when it cannot be
    told, so that nothing is masked)."""
    try:
        inspect.signature(model.forward).bind(batch)
    except TypeError:
        return False
    except ValueError:  # no signature to read (a builtin)
        return True
    return True


def checked_output(model: nn.Module, output: Any, num_nodes: int, out_dim: int | None) -> torch.Tensor:
    """``output`` if it is a floating-point tensor of shape ``(num_nodes, out_dim)`` (any number of
    columns when ``out_dim`` is None), else one line naming the model and what it returned."""
    name, expected = model_name(model), f"(num_nodes, out_dim) = ({num_nodes}, {out_dim if out_dim else 'out_dim'})"
    if not isinstance(output, torch.Tensor):
        raise SymgnnError(f"model '{name}' returned {type(output).__name__}, not a tensor; expected a tensor of shape "
                          f"{expected}")
    shape = tuple(output.shape)
    if len(shape) != 2 or shape[0] != num_nodes or (out_dim is not None and shape[1] != out_dim):
        hint = f" (one row per atom, one column per output: reshape to ({num_nodes}, 1))" if shape == (num_nodes,) else ""
        raise SymgnnError(f"model '{name}' returned shape {shape}; expected {expected}{hint}")
    if not output.is_floating_point():
        raise SymgnnError(f"model '{name}' returned a {output.dtype} tensor; expected floating point")
    return output


def nonfinite_loss_message(model: nn.Module, prediction: torch.Tensor, loss: torch.Tensor, epoch: int,
                           updated: bool) -> str:
    """Why the loss is not finite: divergence (advice: a lower learning rate) only once the weights
    have been updated; before that, the model's own first output (which no learning rate changes)."""
    if updated:
        return f"training diverged at epoch {epoch} (loss {loss.item()}); lower train.lr"
    bad = int((~torch.isfinite(prediction)).sum())
    if bad:
        return (f"model '{model_name(model)}': its output is not finite ({bad} of {prediction.numel()} values) on the "
                "first forward pass, before any update, so a lower train.lr will not help; check the model's forward "
                "and initialisation")
    return (f"the loss is not finite (loss {loss.item()}) on the first step, before any update, although the output "
            f"of model '{model_name(model)}' is finite; check the training labels")
