"""Shared fixtures (the path to the shared dataset, skipping when it is absent); plain helpers such as
random structures live in :mod:`tests.helpers`, which test modules import."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import SHARED_DATA


@pytest.fixture
def shared_data() -> Path:
    """The shared cuzr64 directory, or skip with the reason when it is absent."""
    if not (SHARED_DATA / "train0.pickle").is_file():
        pytest.skip(f"shared dataset not found at {SHARED_DATA} (needs ../shared/data/cuzr64 beside the checkout)")
    return SHARED_DATA


@pytest.fixture
def clean_registry(monkeypatch):
    """Models a test registers (``symgnn.models.registry.register``) are forgotten after it."""
    from symgnn.models import registry

    registry._import_all()
    monkeypatch.setattr(registry, "_MODELS", dict(registry._MODELS))
