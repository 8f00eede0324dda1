"""``benchmarks/training_cost.py``: both configs train under one allocator setting, whatever each
config's ``train.keep_freed_memory`` asks (the setting is process-wide and cannot be undone, so the
first run's choice would otherwise carry over to the second)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from symgnn.io.write import write_predictions
from symgnn.train.config import load_config
from tests.helpers import random_structure

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "training_cost.py"


@pytest.mark.slow
def test_both_runs_share_the_allocator_setting(tmp_path):
    for name, seed in (("a", 1), ("b", 2)):
        write_predictions(random_structure(60, seed=seed), {}, tmp_path, name)
    configs = []
    for name, keep in (("asks", True), ("silent", False)):
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump({
            "data": {"train": [str(tmp_path / "a.xyz")], "val": [str(tmp_path / "b.xyz")], "label_column": "barrier"},
            "model": {"name": "painn_desc", "hidden": 8, "num_layers": 1},
            "train": {"keep_freed_memory": keep},
        }))
        configs.append(str(path))
    for flag, expected in (([], False), (["--keep-freed-memory"], True)):
        out = tmp_path / f"runs{len(flag)}"
        command = [sys.executable, str(SCRIPT), "--config", configs[0], "--reference", configs[1], "--minutes", "0.02",
                   "--threads", "1", "--out", str(out), *flag]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stderr
        assert ("glibc keeps freed memory" if expected else "default allocator settings") in result.stdout
        assert "ratio time per epoch" in result.stdout
        for run in ("asks", "silent"):
            assert load_config(out / run / "config.yaml").train.keep_freed_memory is expected


def test_missing_config_is_one_error_line(tmp_path):
    command = [sys.executable, str(SCRIPT), "--config", str(tmp_path / "nope.yaml"), "--minutes", "0.01"]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode != 0
    assert result.stderr.strip() == f"error: {tmp_path / 'nope.yaml'}: config file not found"


def test_every_benchmark_script_reports_a_missing_input_in_one_line(tmp_path):
    """A missing checkpoint, config or run directory ends each script with one ``error:`` line."""
    missing = tmp_path / "nope"
    cases = {"inference.py": ["--model", str(missing)], "large_structure.py": ["--model", str(missing)],
             "recipes.py": ["--recipe", f"a={missing}"], "cross_validation.py": ["--config", str(missing)]}
    for script, args in cases.items():
        result = subprocess.run([sys.executable, str(SCRIPT.parent / script), *args], capture_output=True, text=True,
                                check=False, cwd=tmp_path)
        lines = result.stderr.strip().splitlines()
        # recipes.py looks for the dataset first: without ../shared it names the data directory instead
        named = "error: " if script == "recipes.py" else f"error: {missing}"
        assert result.returncode != 0 and len(lines) == 1 and lines[0].startswith(named), (script, result.stderr)
