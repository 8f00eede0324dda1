"""Process-level settings that make CPU prediction faster without changing any number.

A prediction on a 3,000-atom structure moves tensors of about 100,000 edges × 96 channels (37 MB
each) through a dozen element-wise operations. glibc's ``malloc`` hands every allocation above
32 MB straight to ``mmap`` and returns it to the system when freed, so each of those operations
starts on fresh pages and spends much of its time in page faults, not arithmetic. Measured on the
2-core machine here (`benchmarks/inference.py`, idle, 2 threads): the shipped two-network model
predicts 3,000 atoms in 0.31 s with freed memory kept against 0.53 s without; one training epoch of
the shipped recipe (one thread) takes 3.1 s against 9.2 s.

:func:`keep_freed_memory` asks glibc (``mallopt(3)``) to serve large blocks from its heap and to
keep up to 1 GiB of freed memory for the next allocation — the in-process equivalent of the
jemalloc/tcmalloc preloading that PyTorch's CPU performance guide recommends. The symgnn commands
that predict call it, ``symgnn train --keep-freed-memory`` on request; Python users can call it once
at start. It only changes where memory comes from, so every result is bit-identical
(``tests/test_runtime.py``). On systems without glibc (macOS, musl) it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import platform

# mallopt(3) parameter numbers from glibc's <malloc.h>.
_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
#: freed memory glibc may keep at the top of its heap before giving it back to the system
KEPT_BYTES = 1 << 30

_applied = False


def keep_freed_memory() -> bool:
    """Make glibc's ``malloc`` reuse freed memory for large tensors; True if the setting took effect.

    Idempotent. Returns False (and changes nothing) where the C library is not glibc.
    """
    global _applied
    if _applied:
        return True
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    # mallopt returns 1 on success. No mmap for large blocks: they come from the heap, which glibc
    # keeps (up to KEPT_BYTES free at its top) instead of unmapping it after every free.
    _applied = bool(mallopt(_M_MMAP_MAX, 0)) and bool(mallopt(_M_TRIM_THRESHOLD, KEPT_BYTES))
    return _applied
