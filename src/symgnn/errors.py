"""User-facing errors.

Every problem with user input (a missing or corrupt file, a bad column name, a box too small, NaN
positions, ...) is raised as :class:`SymgnnError`. The CLI catches it and prints its message as one line
(``error: <message>``) with exit code 2, so users never see a traceback from deep inside a library.
Messages name the file (when there is one) and the problem.
"""

from __future__ import annotations

from pathlib import Path


class SymgnnError(Exception):
    """An error caused by user input; its message is shown to the user as is, on one line."""


def file_error(path: str | Path, problem: str) -> SymgnnError:
    """Build a :class:`SymgnnError` of the form ``<path>: <problem>``."""
    return SymgnnError(f"{path}: {problem}")
