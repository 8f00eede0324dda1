"""``benchmarks/symmetrisation_draws.py``: SymGNN's invariance error falls as K grows, and other models
are refused in one line."""

from __future__ import annotations

import pytest
import torch

from symgnn.errors import SymgnnError
from symgnn.models import build_model
from symgnn.predictor import Predictor
from tests.helpers import benchmark_script, random_structure

SMALL = {"width": 8, "heads": [2, 1], "decoder_layers": 1, "dropout": 0.0}


def _predictor(name: str) -> Predictor:
    torch.manual_seed(0)
    model = build_model(name, **SMALL)
    model.train()  # batch-norm statistics of real inputs, so evaluation-mode outputs vary between atoms
    with torch.no_grad():
        from symgnn.graph import build_graph

        for _ in range(3):
            model(build_graph(random_structure(80, seed=7)))
    return Predictor(model.eval(), 1.6, 0.3, 5.0, name, SMALL)


def test_rows_per_k_with_falling_invariance_error():
    script = benchmark_script("symmetrisation_draws")
    rows = script.measure(_predictor("symgnn"), random_structure(80, seed=1), [1, 4, 16], transforms=4)
    assert [row["passes"] for row in rows] == [2, 8, 32]
    errors = [row["invariance_error_ev"] for row in rows]
    assert errors[0] > errors[1] > errors[2] > 0
    assert all(row["pearson"] is not None and row["seconds"] > 0 for row in rows)


def test_a_model_without_draws_is_refused():
    script = benchmark_script("symmetrisation_draws")
    with pytest.raises(SymgnnError, match="not a SymGNN"):
        script.measure(_predictor("egat_length"), random_structure(40, seed=1), [1], transforms=2)
