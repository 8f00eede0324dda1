"""``benchmarks/displacement_sensitivity.py``: zero displacement reproduces the clean predictions."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from symgnn.models import build_model
from symgnn.predictor import Predictor
from tests.helpers import benchmark_script, random_structure

def test_zero_width_is_the_clean_prediction_and_larger_widths_move_it():
    script = benchmark_script("displacement_sensitivity")
    torch.manual_seed(0)
    predictor = Predictor(build_model("painn", hidden=8, num_layers=1).eval(), 1.5, 0.3, 4.0, "painn", {})
    structure = random_structure(200, seed=5)
    report = script.measure(predictor, structure, [0.0, 0.3], [0, 1])
    still, moved = report["widths"]["0"], report["widths"]["0.3"]
    assert still["pearson_clean"]["mean"] == pytest.approx(1.0) and still["mean_shift_ev"]["mean"] == 0.0
    assert still["pearson_labels"]["mean"] == report["clean"]["pearson_labels"]
    assert moved["pearson_clean"]["mean"] < 0.999 and moved["pearson_clean"]["std"] > 0
    assert np.isfinite(moved["mean_shift_ev"]["mean"])
