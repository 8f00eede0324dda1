"""Peak resident memory of a piece of work, for the benchmark scripts.

Linux keeps each process's peak resident set size (``VmHWM`` in ``/proc/self/status``) and lets the
process reset it to the current size (writing ``5`` to ``/proc/self/clear_refs``). Resetting before the
work and reading the peak after gives the memory the work itself added, however much the process held
before, so several models can be measured one after another in one process. What earlier work freed
is first handed back to the system (:func:`symgnn.runtime.release_freed_memory`; glibc keeps it
resident after :func:`symgnn.runtime.keep_freed_memory`), so it does not hide the next piece of
work's growth. Elsewhere (no ``/proc``) the figures are ``None``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from symgnn.runtime import release_freed_memory

T = TypeVar("T")
_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def _status_kib(field: str) -> int:
    for line in _STATUS.read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise OSError(f"no {field} in {_STATUS}")


def peak_memory_growth(work: Callable[[], T]) -> tuple[T, float | None]:
    """Run ``work()``; return its result and the peak resident memory it added, in MB (None: unknown)."""
    release_freed_memory()
    try:
        _CLEAR_REFS.write_text("5")
        before = _status_kib("VmRSS")
    except OSError:
        return work(), None
    result = work()
    return result, (_status_kib("VmHWM") - before) / 1024
