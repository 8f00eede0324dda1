"""The peak-memory probe of the benchmark scripts."""

from __future__ import annotations

import subprocess
import sys

import pytest

# Each case runs in a fresh interpreter, so that the allocator state of other tests (the prediction
# commands, called in-process by the CLI tests, let glibc keep freed memory) cannot leak in.
# "keep": glibc keeps freed memory and a 400 MB block was allocated and freed before the probe: the
# probe must give those pages back first, or the work would reuse them and seem to need nothing.
PROBE = """
import sys
import torch
from symgnn.benchmark.memory import peak_memory_growth
from symgnn.runtime import keep_freed_memory
if sys.argv[1] == "keep":
    assert keep_freed_memory()
    del_me = torch.ones(100_000_000); del del_me  # 400 MB: the 200 MB block fits in its pages
def allocate():
    block = torch.ones(50_000_000)  # 200 MB, touched, then freed on return
    return float(block[-1])
value, grown = peak_memory_growth(allocate)
_, idle = peak_memory_growth(lambda: None)
print(value, grown, idle)
"""


@pytest.mark.parametrize("allocator", ["default", "keep"])
def test_peak_memory_growth_sees_a_large_temporary_and_forgets_it(allocator):
    command = [sys.executable, "-c", PROBE, allocator]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout.split()
    value, grown, idle = float(out[0]), out[1], out[2]
    if grown == "None":
        pytest.skip("no /proc/self/clear_refs on this system: the probe reports no figure")
    assert value == 1.0
    assert 150 < float(grown) < 400, grown
    assert float(idle) < 50, idle  # the peak was reset: the earlier 200 MB no longer count
