"""Models, one a file, selectable by name through :mod:`symgnn.models.registry`."""

from symgnn.models.registry import available_models, build_model, register

__all__ = ["available_models", "build_model", "register"]
