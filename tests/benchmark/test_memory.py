"""The peak-memory probe of the benchmark scripts."""

from __future__ import annotations

import pytest
import torch

from symgnn.benchmark.memory import peak_memory_growth


def test_peak_memory_growth_sees_a_large_temporary_and_forgets_it():
    def allocate() -> float:
        block = torch.ones(50_000_000)  # 200 MB, touched, then freed on return
        return float(block[-1])

    value, grown = peak_memory_growth(allocate)
    if grown is None:
        pytest.skip("no /proc/self/clear_refs on this system: the probe reports no figure")
    assert value == 1.0
    assert 150 < grown < 400, grown
    _, idle = peak_memory_growth(lambda: None)  # the peak was reset: the earlier 200 MB no longer count
    assert idle < 50, idle
