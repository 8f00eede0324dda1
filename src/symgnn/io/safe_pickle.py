"""Load pickled dicts of numpy arrays without letting the file run code.

A pickle names the callables that rebuild its objects; a plain ``pickle.load`` imports and calls
whatever a file asks for (``os.system``, ``builtins.exec``, ...). The dataset files are dicts of numpy
arrays, so this unpickler admits only the few numpy globals that rebuild arrays, dtypes and scalars,
and refuses every other global before it is imported.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

from symgnn.errors import SymgnnError, file_error

# (module, name) pairs numpy arrays need; numpy 2 moved numpy.core to numpy._core.
_ALLOWED_GLOBALS: frozenset[tuple[str, str]] = frozenset(
    {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        # protocol-5 array pickles rebuild data from a buffer with this (no code execution)
        ("numpy.core.numeric", "_frombuffer"),
        ("numpy._core.numeric", "_frombuffer"),
        # protocol <= 2 pickles encode bytes (array data) through this pure transform
        ("_codecs", "encode"),
    }
)


class _RestrictedUnpickler(pickle.Unpickler):
    """An unpickler whose ``find_class`` admits only :data:`_ALLOWED_GLOBALS`."""

    def __init__(self, file: Any, path: Path) -> None:
        super().__init__(file)
        self._path = path

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED_GLOBALS:
            raise file_error(
                self._path,
                f"refusing to load pickle: it asks for the forbidden global '{module}.{name}' "
                "(only numpy arrays are allowed)",
            )
        return super().find_class(module, name)


def load_pickle(path: str | Path) -> dict:
    """Load a pickled dict of numpy arrays from ``path`` safely.

    Raises :class:`SymgnnError` for a missing, truncated or corrupt file, a forbidden global, or a
    pickle whose top-level object is not a dict.
    """
    path = Path(path)
    try:
        handle = open(path, "rb")
    except FileNotFoundError:
        raise file_error(path, "file not found") from None
    except OSError as exc:
        raise file_error(path, f"cannot open file ({exc.strerror or exc})") from None
    with handle:
        try:
            obj = _RestrictedUnpickler(handle, path).load()
        except SymgnnError:
            raise
        except EOFError:
            raise file_error(path, "pickle is truncated (unexpected end of file)") from None
        except Exception as exc:  # UnpicklingError, ValueError, TypeError, MemoryError, ... on bad bytes
            raise file_error(path, f"not a valid pickle, or corrupt ({type(exc).__name__}: {exc})") from None
    if not isinstance(obj, dict):
        raise file_error(path, f"pickle holds a {type(obj).__name__}, expected a dict of arrays")
    return obj
