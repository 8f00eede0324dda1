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
that predict apply it to structures of up to 20,000 atoms (:func:`tune_allocator_for`: beyond that
it costs more peak memory than it is worth), training does when its config asks
(``train.keep_freed_memory``, which the shipped recipe sets); Python users can call it once at start. It only changes where memory comes
from, so every result is bit-identical (``tests/test_runtime.py``). On systems without glibc (macOS,
musl) it does nothing. :func:`release_freed_memory` hands what was kept back to the system, for
measurements of how much memory a piece of work adds.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import platform

# mallopt(3) parameter numbers from glibc's <malloc.h>, and glibc's defaults for them.
_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
_DEFAULT_TRIM_THRESHOLD = 128 * 1024
_DEFAULT_MMAP_MAX = 65536
#: freed memory glibc may keep at the top of its heap before giving it back to the system
KEPT_BYTES = 1 << 30
#: the largest structure (atoms) predicted with freed memory kept. Kept memory also fragments the heap,
#: and the peak memory it costs grows with the structure (shipped model, 2 threads, this machine: +12 %
#: at 3,000 atoms, +22 % at 8,000, +17 % at 20,000, +63 % at 64,000 predicted whole), while large
#: structures are where memory matters; beyond this they keep glibc's defaults.
KEEP_MEMORY_MAX_ATOMS = 20_000

_applied = False


def _glibc():
    """The C library as a ctypes handle, or None where it is not glibc."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None


def _mallopt(libc, param: int, value: int) -> bool:
    """``mallopt(param, value)`` of glibc's ``libc``; True on success."""
    libc.mallopt.argtypes, libc.mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(libc.mallopt(param, value))


def keep_freed_memory() -> bool:
    """Make glibc's ``malloc`` reuse freed memory for large tensors; True if the setting took effect.

    Idempotent. Returns False (and changes nothing) where the C library is not glibc.
    """
    global _applied
    if _applied:
        return True
    libc = _glibc()
    if libc is None:
        return False
    # No mmap for large blocks: they come from the heap, which glibc keeps (up to KEPT_BYTES free at
    # its top) instead of unmapping it after every free.
    _applied = _mallopt(libc, _M_MMAP_MAX, 0) and _mallopt(libc, _M_TRIM_THRESHOLD, KEPT_BYTES)
    return _applied


def restore_default_allocator() -> bool:
    """Undo :func:`keep_freed_memory`: glibc's default limits again, and what it kept handed back.

    True if glibc's settings were changed back; False where nothing was kept (nothing to undo).
    """
    global _applied
    if not _applied:
        return False
    libc = _glibc()
    _mallopt(libc, _M_MMAP_MAX, _DEFAULT_MMAP_MAX)
    _mallopt(libc, _M_TRIM_THRESHOLD, _DEFAULT_TRIM_THRESHOLD)
    release_freed_memory()
    _applied = False
    return True


def tune_allocator_for(num_atoms: int) -> bool:
    """Keep freed memory for a structure of up to :data:`KEEP_MEMORY_MAX_ATOMS` atoms, glibc's
    defaults for a larger one (speed where memory is small, memory where it is large); True if
    freed memory is kept now."""
    if num_atoms <= KEEP_MEMORY_MAX_ATOMS:
        return keep_freed_memory()
    restore_default_allocator()
    return False


def release_freed_memory() -> bool:
    """Give the freed memory glibc keeps back to the system (``malloc_trim(3)``); True if it ran.

    After :func:`keep_freed_memory`, freed tensors stay resident for reuse, so the next piece of work
    would grow the process less than it needs on its own; memory probes call this first.
    """
    libc = _glibc()
    if libc is None:
        return False
    libc.malloc_trim.argtypes, libc.malloc_trim.restype = [ctypes.c_size_t], ctypes.c_int
    libc.malloc_trim(0)
    return True
