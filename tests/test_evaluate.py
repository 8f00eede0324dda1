"""Evaluation reports and figures."""

from __future__ import annotations

import subprocess
import sys


def test_figures_leave_the_callers_matplotlib_backend_alone(tmp_path):
    """A notebook or GUI session keeps its backend after symgnn draws a parity plot or an explanation
    figure (library code must not call matplotlib.use), and the PNGs are written."""
    script = f"""
import matplotlib
matplotlib.use("svg")
import numpy as np
from pathlib import Path
from symgnn.evaluate import Evaluation, parity_plot
from symgnn.explain.figures import compare_histogram
rng = np.random.default_rng(0)
truth = rng.normal(1.6, 0.3, 200)
evaluation = Evaluation(truth + rng.normal(0, 0.1, 200), truth, np.where(np.arange(200) < 130, 29, 40), np.full(200, "s"))
parity_plot(evaluation, Path({str(tmp_path)!r}) / "parity.png")
compare_histogram(rng.random(50), rng.random(80), "length (Å)", ("selected", "all"), Path({str(tmp_path)!r}) / "hist.png")
print(matplotlib.get_backend())
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "svg"
    for name in ("parity.png", "hist.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_evaluate_names_the_missing_label_before_anything_else(tmp_path, monkeypatch):
    """A structure without labels is reported as such, before the check of existing outputs (which
    would otherwise hide the real problem on a second try) and before any prediction."""
    from ase import Atoms
    from ase.io import write
    from typer.testing import CliRunner

    from symgnn.cli.main import app
    from tests.helpers import random_structure

    structure = random_structure(60, seed=2, label=False)
    path = tmp_path / "unlabelled.xyz"
    write(path, Atoms(numbers=structure.numbers, positions=structure.positions, cell=structure.cell, pbc=True))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "parity-files.png").write_bytes(b"an earlier plot")
    result = CliRunner().invoke(app, ["evaluate", "cuzr64", str(path)])
    assert str(result.exception) == f"{path}: no label to evaluate against (give --label-column)"
    assert (tmp_path / "parity-files.png").read_bytes() == b"an earlier plot"
