"""Model registry: every model is selectable by name from a training config.

A model is an ``nn.Module`` whose ``forward(data)`` takes a PyTorch Geometric ``Data``/``Batch`` built by
:func:`symgnn.graph.build_graph` (fields ``z``, ``pos``, ``edge_index``, ``edge_vec``, ``edge_shift``,
``batch`` when batched) and returns a tensor of shape ``(num_nodes, out_dim)`` in *standardised* units
(column 0 is the barrier; further columns are auxiliary targets when ``out_dim > 1``). The trainer owns
standardisation; models never see raw eV.

Models built on the periodic graph declare ``uses_graph = True``; per-atom-only models (``mlp``) may
ignore edges. Constructors take keyword hyper-parameters only, so a config's ``model:`` section maps
straight onto them.
"""

from __future__ import annotations

from typing import Callable

from torch import nn

from symgnn.errors import SymgnnError

_MODELS: dict[str, Callable[..., nn.Module]] = {}


def register(name: str) -> Callable[[type[nn.Module]], type[nn.Module]]:
    """Class decorator adding a model under ``name``."""

    def decorator(cls: type[nn.Module]) -> type[nn.Module]:
        if name in _MODELS:
            raise ValueError(f"model '{name}' registered twice")
        _MODELS[name] = cls
        cls.registry_name = name
        return cls

    return decorator


def available_models() -> list[str]:
    """Names of all registered models, sorted."""
    _import_all()
    return sorted(_MODELS)


def build_model(name: str, **hparams) -> nn.Module:
    """Instantiate the model registered as ``name`` with keyword hyper-parameters."""
    _import_all()
    if name not in _MODELS:
        raise SymgnnError(f"unknown model '{name}'; available: {', '.join(sorted(_MODELS))}")
    for key in _POSITIVE_SIZES & set(hparams):
        value = hparams[key]
        if value is None:  # "use the default" where a model allows it
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise SymgnnError(f"model '{name}': bad hyper-parameters ({key} must be a positive integer, got {value!r})")
    try:
        return _MODELS[name](**hparams)
    except (TypeError, ValueError, RuntimeError) as error:  # RuntimeError: torch refusing a shape
        raise SymgnnError(f"model '{name}': bad hyper-parameters ({str(error).splitlines()[0]})") from None


#: sizes that every model reading them needs as positive integers (widths, layer and basis counts)
_POSITIVE_SIZES = frozenset({"hidden", "width", "num_layers", "num_filters", "num_interactions", "num_rbf",
                             "num_gaussians", "num_draws", "eval_draws"})


def _import_all() -> None:
    """Import every model module so their ``@register`` decorators run."""
    import importlib
    import pkgutil

    import symgnn.models as package

    for module in pkgutil.iter_modules(package.__path__):
        if module.name != "registry":
            importlib.import_module(f"symgnn.models.{module.name}")
