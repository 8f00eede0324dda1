"""symgnn.runtime: the allocator setting takes effect where glibc is, and changes no prediction."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from symgnn.runtime import keep_freed_memory

GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"

# Predicts a 3,000-atom random Cu/Zr box (its edge tensors are above glibc's 32 MB mmap limit) with
# the shipped model and prints the predictions' bytes as hex, with glibc's default allocator
# settings or after keep_freed_memory().
PREDICT = """
import sys, warnings
import numpy as np
from symgnn.benchmark.boxes import random_box
from symgnn.predictor import Predictor
from symgnn.runtime import keep_freed_memory
if sys.argv[1] == "keep":
    assert keep_freed_memory()
warnings.simplefilter("ignore")
predictor = Predictor.from_checkpoint("cuzr64")
print(np.asarray(predictor.predict(random_box(3000, seed=3)), dtype=np.float64).tobytes().hex())
"""


@pytest.mark.skipif(not GLIBC, reason="keep_freed_memory tunes glibc's malloc; this C library is not glibc")
def test_takes_effect_once_on_glibc():
    # In a fresh interpreter: the setting is process-wide and would carry over to later tests.
    check = "from symgnn.runtime import keep_freed_memory as keep; assert keep() is True; assert keep() is True"
    subprocess.run([sys.executable, "-c", check], check=True)  # the second call: idempotent


@pytest.mark.skipif(GLIBC, reason="this C library is glibc: the setting applies")
def test_does_nothing_without_glibc():
    assert keep_freed_memory() is False


@pytest.mark.skipif(not GLIBC, reason="keep_freed_memory tunes glibc's malloc; this C library is not glibc")
def test_predictions_are_bit_identical():
    def run(mode: str) -> np.ndarray:
        out = subprocess.run([sys.executable, "-c", PREDICT, mode], capture_output=True, text=True, check=True)
        return np.frombuffer(bytes.fromhex(out.stdout.strip().splitlines()[-1]), dtype=np.float64)

    plain, kept = run("plain"), run("keep")
    assert plain.shape == (3000,) and np.isfinite(plain).all()
    assert np.array_equal(plain, kept)


# Trains painn_desc for three epochs (an epoch budget, so the learning rates do not depend on speed)
# on two 3,000-atom random boxes, one torch thread, and prints every epoch's loss and validation
# Pearson, with or without --keep-freed-memory.
TRAIN = """
import json, sys
from pathlib import Path
from typer.testing import CliRunner
from symgnn.cli.main import app
out = Path(sys.argv[2])
args = ["train", "--config", sys.argv[1], "--out", str(out), "--quiet", "--max-minutes", "0", "--epochs", "3"]
result = CliRunner().invoke(app, args + (["--keep-freed-memory"] if sys.argv[3] == "keep" else []))
assert result.exit_code == 0, result.output
records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
print(json.dumps([[r["train_loss"], r["val_pearson"]] for r in records]))
"""


@pytest.mark.slow
@pytest.mark.skipif(not GLIBC, reason="keep_freed_memory tunes glibc's malloc; this C library is not glibc")
def test_training_with_kept_memory_is_bit_identical(tmp_path):
    from symgnn.io.write import write_predictions
    from tests.helpers import random_structure

    for name, seed in (("a", 1), ("b", 2)):
        write_predictions(random_structure(3000, seed=seed), {}, tmp_path, name)
    config = tmp_path / "config.yaml"
    config.write_text(
        f"data: {{train: [{tmp_path / 'a.xyz'}], val: [{tmp_path / 'b.xyz'}], label_column: barrier}}\n"
        "model: {name: painn_desc, hidden: 16, num_layers: 2}\n"
        "train: {seed: 0, batch: sample, optimizer: adamw, lr: 1.0e-3, position_noise: 0.1}\n"
    )

    def run(mode: str) -> list:
        import json

        command = [sys.executable, "-c", TRAIN, str(config), str(tmp_path / mode), mode]
        out = subprocess.run(command, capture_output=True, text=True, check=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
        return json.loads(out.stdout.strip().splitlines()[-1])

    plain, kept = run("plain"), run("keep")
    assert len(plain) == 3
    assert plain == kept


def test_train_config_asks_for_the_setting_and_the_flag_overrides_it(tmp_path, monkeypatch):
    """``train.keep_freed_memory`` makes ``fit`` apply the setting (the shipped recipe sets it); the
    run's config records it, and ``--keep-freed-memory/--no-keep-freed-memory`` override it."""
    import yaml
    from typer.testing import CliRunner

    from symgnn.cli.main import app
    from symgnn.io.write import write_predictions
    from symgnn.train.config import load_config
    from tests.helpers import random_structure

    calls: list[int] = []
    monkeypatch.setattr("symgnn.train.loop.keep_freed_memory", lambda: calls.append(1) or True)
    for name, seed in (("a", 1), ("b", 2)):
        write_predictions(random_structure(60, seed=seed), {}, tmp_path, name)
    runner = CliRunner()
    for setting, flag, expected in ((True, [], True), (True, ["--no-keep-freed-memory"], False),
                                    (False, [], False), (False, ["--keep-freed-memory"], True)):
        config = tmp_path / f"{setting}.yaml"
        config.write_text(yaml.safe_dump({
            "data": {"train": [str(tmp_path / "a.xyz")], "val": [str(tmp_path / "b.xyz")], "label_column": "barrier"},
            "model": {"name": "painn_desc", "hidden": 8, "num_layers": 1},
            "train": {"epochs": 1, "keep_freed_memory": setting},
        }))
        run = tmp_path / f"run-{setting}-{len(flag)}"
        before = len(calls)
        result = runner.invoke(app, ["train", "--config", str(config), "--out", str(run), "--quiet", *flag])
        assert result.exit_code == 0, result.output
        assert len(calls) - before == int(expected)
        assert load_config(run / "config.yaml").train.keep_freed_memory is expected
    assert load_config(Path(__file__).resolve().parents[1] / "configs" / "cuzr64.yaml").train.keep_freed_memory


# Allocates and frees a 400 MB tensor and prints how much of it stayed resident (MB), with glibc's
# defaults, with freed memory kept, and after the defaults were restored.
RESIDENT = """
import torch
from symgnn.runtime import keep_freed_memory, restore_default_allocator
def rss_mb():
    return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmRSS:")) / 1024
def kept_after_free():
    before = rss_mb()
    block = torch.ones(100_000_000)
    del block
    return rss_mb() - before
default = kept_after_free()
assert keep_freed_memory()
kept = kept_after_free()
assert restore_default_allocator() and not restore_default_allocator()
print(default, kept, rss_mb(), kept_after_free())
"""


@pytest.mark.skipif(not GLIBC, reason="keep_freed_memory tunes glibc's malloc; this C library is not glibc")
def test_restoring_the_defaults_gives_kept_memory_back():
    out = subprocess.run([sys.executable, "-c", RESIDENT], capture_output=True, text=True, check=True).stdout.split()
    default, kept, _, restored = (float(x) for x in out)
    assert default < 50 and kept > 300 and restored < 50, out


def test_prediction_commands_tune_the_allocator_by_structure_size(monkeypatch):
    """The CLI's predictor asks for the setting by the size of each structure (structures above
    KEEP_MEMORY_MAX_ATOMS get glibc's defaults); a predictor made through the API leaves it alone."""
    from symgnn import runtime
    from symgnn.cli.common import load_predictor
    from symgnn.predictor import Predictor
    from tests.helpers import random_structure

    sizes: list[int] = []
    monkeypatch.setattr("symgnn.predictor.tune_allocator_for", sizes.append)
    structure = random_structure(60, seed=1)
    Predictor.from_checkpoint("cuzr64").predict(structure)
    assert sizes == []
    load_predictor("cuzr64", "cpu").predict(structure, max_atoms=None)
    assert sizes and set(sizes) == {60}

    calls: list[str] = []
    monkeypatch.setattr(runtime, "KEEP_MEMORY_MAX_ATOMS", 100)
    monkeypatch.setattr(runtime, "keep_freed_memory", lambda: calls.append("keep") or True)
    monkeypatch.setattr(runtime, "restore_default_allocator", lambda: calls.append("restore") or True)
    assert runtime.tune_allocator_for(100) is True and runtime.tune_allocator_for(101) is False
    assert calls == ["keep", "restore"]
