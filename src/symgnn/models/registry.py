"""Model registry: every model is selectable by name from a training config.

Register a model class with ``@register("name")`` (in your own code too: import it before training,
then name it in the config's ``model: {name: ...}``). A built-in's name cannot be taken: the clash is
reported at the decorator. The contract a model keeps:

* **Constructor**: keyword hyper-parameters only, so a config's ``model:`` section (less ``name``)
  maps straight onto them (one without a default must be set there). It must accept ``out_dim``, the outputs per atom
  (``1 + len(data.aux_targets)``), which the trainer passes. A model that stores the radius it reads
  edges up to as ``self.cutoff`` must accept ``cutoff``: it is set to ``data.cutoff`` (the graph's)
  unless the config names it, and a different value is refused.
* **Parameters**: at least one trainable parameter (``nn.Parameter`` or submodules).
* **forward(self, data)**: one PyTorch Geometric ``Data``/``Batch`` built by
  :func:`symgnn.graph.build_graph` (fields ``z``, ``pos``, ``edge_index``, ``edge_vec``,
  ``edge_shift``, ``cell``, ``pbc``; ``batch`` when several structures are batched), returning a
  floating-point tensor of shape ``(num_nodes, out_dim)`` in *standardised* units (column 0 is the
  barrier; further columns are auxiliary targets). The trainer owns standardisation; models never see
  raw eV. The trainer checks the output of every step and names the model when it breaks this.

Optional attributes, read by prediction and explanations:

* ``uses_graph`` (class attribute): ``False`` for per-atom models that ignore edges (``mlp``); they
  then see 0 hops.
* ``num_hops`` or a layer list: the message-passing rounds (:func:`symgnn.models.receptive.receptive_hops`)
  are ``num_hops`` if set, else the length of an ``nn.ModuleList`` named ``layers``,
  ``interactions``, ``convs`` or ``messages``. Block-wise prediction of large structures
  (:mod:`symgnn.data.blocks`) sizes each block's halo from them (hops × cutoff, plus ``descriptors``'
  reach), and explanations cut that many hops out of the graph; a graph model with neither is refused
  there with an error naming it.
* ``blockwise = False``: the model's output for an atom depends on more than its dependency radius
  (absolute positions, whole-structure frames), so large structures are predicted whole.
* ``supports_edge_mask = True``: ``forward`` multiplies ``data.edge_mask`` into every message (one of
  the two routes to explanations; see :mod:`symgnn.explain.hooks`).
"""

from __future__ import annotations

import re
from typing import Callable

from torch import nn

from symgnn.errors import SymgnnError

_MODELS: dict[str, Callable[..., nn.Module]] = {}


def register(name: str) -> Callable[[type[nn.Module]], type[nn.Module]]:
    """Class decorator adding a model under ``name``: ``@register("mymodel")``.

    A user's model is registered after the built-ins are imported, so taking a built-in's name is
    refused here, at the user's decorator, rather than later from inside the package's own module.
    Registering a class of the same module and qualified name again replaces it (a notebook cell or
    module run twice); any other clash is refused.
    """
    if not isinstance(name, str) or not name:
        raise SymgnnError(f"register takes the model's name, e.g. @register(\"mymodel\"), got {name!r}")
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_\-]*", name):
        raise SymgnnError(f"model name {name!r}: use letters, digits, '_' and '-' only (it names run folders and files)")

    def decorator(cls: type[nn.Module]) -> type[nn.Module]:
        if not _is_builtin(cls):
            _import_all()
        previous = _MODELS.get(name)
        if previous is not None and _qualified_name(previous) != _qualified_name(cls):
            what = "a built-in model" if _is_builtin(previous) else "already registered"
            raise SymgnnError(f"model '{name}' is {what} ({_qualified_name(previous)}); register "
                              f"{_qualified_name(cls)} under another name")
        _MODELS[name] = cls
        cls.registry_name = name
        return cls

    return decorator


def _is_builtin(cls: type) -> bool:
    """Whether ``cls`` is one of the package's own models (defined in ``symgnn.models``)."""
    return cls.__module__.startswith(f"{__package__}.")


def _qualified_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


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
        first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
        hint = ("; every model's constructor takes out_dim, the outputs per atom"
                if isinstance(error, TypeError) and "out_dim" in first_line else "")
        raise SymgnnError(f"model '{name}': bad hyper-parameters ({first_line}){hint}") from None


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
