"""User-facing errors.

Every problem with user input (a missing or corrupt file, a bad column name, a box too small, NaN
positions, ...) is raised as :class:`SymgnnError`. The CLI catches it and prints its message as one line
(``error: <message>``) with exit code 2, so users never see a traceback from deep inside a library.
Messages name the file (when there is one) and the problem. Input that can be used but may not be
what the user meant (a file with several frames, of which one is read) gives an :class:`InputWarning`,
which the CLI prints as one ``warning: <message>`` line.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path


class SymgnnError(Exception):
    """An error caused by user input; its message is shown to the user as is, on one line."""


class InputWarning(UserWarning):
    """Input that is used, with a choice made for the user that they should know about."""


class Terminated(BaseException):
    """SIGTERM (``kill``, ``timeout``, a batch scheduler ending a job), raised inside the ``symgnn``
    command so that cleanup runs as for Ctrl-C: atomic writes remove their temporary files and no
    half-written output is left. A ``BaseException``, like ``KeyboardInterrupt``, so that handlers
    of ordinary errors do not swallow it."""


def file_error(path: str | Path, problem: str) -> SymgnnError:
    """Build a :class:`SymgnnError` of the form ``<path>: <problem>``."""
    return SymgnnError(f"{path}: {problem}")


def warn_several_frames(path: str | Path, count: int | None = None) -> None:
    """Say that ``path`` holds several frames (``count`` of them, when known) and that the last is read."""
    import warnings

    held = f"{count} frames" if count else "several frames"
    warnings.warn(f"{path}: holds {held}; reading the last (choose one with --frame N, 0 = the first)",
                  InputWarning, stacklevel=3)


def run_script(main: Callable[[], None]) -> None:
    """Run a benchmark script's ``main``; a :class:`SymgnnError` or a missing file ends it with one
    ``error: ...`` line (exit status 1) instead of a traceback."""
    try:
        main()
    except SymgnnError as error:
        raise SystemExit(f"error: {error}") from None
    except FileNotFoundError as error:
        raise SystemExit(f"error: {error.filename}: {error.strerror}") from None
