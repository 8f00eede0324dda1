"""symgnn.runtime: the allocator setting takes effect where glibc is, and changes no prediction."""

from __future__ import annotations

import platform
import subprocess
import sys

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
    assert keep_freed_memory() is True
    assert keep_freed_memory() is True  # idempotent


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
