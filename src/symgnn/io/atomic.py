"""Atomic file writes: readers never see a half-written output, checkpoint or JSON file.

Data goes to a hidden temporary file in the target's directory (same file system), is flushed and
fsynced, and only then renamed over the target with :func:`os.replace`, which is atomic on POSIX and
Windows. On any exception the temporary file is removed and the target is left untouched.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from symgnn.errors import SymgnnError


def _current_umask() -> int:
    """The process umask (read once; os.umask can only be read by setting it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def _temporary_file(target: Path, suffix: str) -> tuple[int, str]:
    """A new hidden temporary file next to ``target``. When the directory refuses it, the error
    names ``target`` (what the user asked for), not the temporary name."""
    try:
        return tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=suffix)
    except OSError as error:
        raise OSError(error.errno, error.strerror, str(target)) from None


def _finish(temp: Path, target: Path) -> None:
    """Give ``temp`` ordinary permissions, then move it over ``target``."""
    os.chmod(temp, 0o666 & ~_UMASK)
    os.replace(temp, target)


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success it replaces ``path`` atomically.

    For libraries that insist on writing by file name (``ase.io.write``). The temporary name ends in
    the target's suffix so format detection by extension keeps working.
    """
    target = Path(path)
    fd, name = _temporary_file(target, target.suffix or ".tmp")
    os.close(fd)
    temp = Path(name)
    try:
        yield temp
        with open(temp, "rb") as handle:
            os.fsync(handle.fileno())
        _finish(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


@contextmanager
def atomic_write(path: str | Path, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO[Any]]:
    """Open a temporary file next to ``path`` for writing; on success it replaces ``path`` atomically.

    ``mode`` is ``"w"`` (text, ``encoding``) or ``"wb"`` (binary, e.g. ``torch.save(obj, f)``).
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_write mode must be 'w' or 'wb', got {mode!r}")
    target = Path(path)
    fd, name = _temporary_file(target, ".tmp")
    temp = Path(name)
    try:
        kwargs: dict[str, Any] = {"encoding": encoding, "newline": ""} if mode == "w" else {}
        with os.fdopen(fd, mode, **kwargs) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        _finish(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def refuse_to_overwrite(paths: Iterable[str | Path], overwrite: bool) -> None:
    """Nothing a user has is replaced unless they asked: one error line naming the first of ``paths``
    that exists, unless ``overwrite`` (``--overwrite``). Called before any of them is written."""
    if overwrite:
        return
    for path in paths:
        if Path(path).exists():
            raise SymgnnError(f"{path}: already exists; pass --overwrite to replace it")
