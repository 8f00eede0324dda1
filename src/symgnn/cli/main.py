"""The ``symgnn`` command: thin commands that parse arguments and call the Python API.

Each command lives in its own module with a ``register(app)`` function. Input problems surface as
:class:`~symgnn.errors.SymgnnError` and are printed as a single ``error: ...`` line (exit code 2), as
are the file system's refusals (``OSError``: permissions, a full disk), with the path they name.
SIGTERM ends a command as Ctrl-C does, cleaning up after itself (``terminated``, exit code 143).
"""

from __future__ import annotations

import importlib
import signal
import sys
import warnings

import typer

from symgnn.errors import SymgnnError, Terminated

COMMAND_MODULES = ("train", "ensemble", "evaluate", "predict", "inspect", "download", "benchmark", "explain")

app = typer.Typer(
    name="symgnn",
    help="Predict and explain per-atom energy barriers of disordered materials with graph neural networks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for _name in COMMAND_MODULES:
    try:
        _module = importlib.import_module(f"symgnn.cli.{_name}")
    except ModuleNotFoundError as error:
        if error.name != f"symgnn.cli.{_name}":
            raise
        continue
    _module.register(app)


def _one_line_warning(message, category, filename, lineno, line=None) -> str:
    """Warnings as ``warning: <message>``: where inside a library they fired means nothing to a user."""
    return f"warning: {message}\n"


def _raise_terminated(signum: int, frame) -> None:
    raise Terminated


def main() -> None:
    """Entry point of the console script."""
    warnings.formatwarning = _one_line_warning
    previous_handler = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        app()
    except SymgnnError as error:
        typer.echo(f"error: {error}", err=True)
        sys.exit(2)
    except OSError as error:  # a file system refusal (permissions, a file where a folder should be, a full disk)
        where = f"{error.filename}: " if error.filename else ""
        typer.echo(f"error: {where}{error.strerror or error}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except Terminated:
        typer.echo("terminated", err=True)
        sys.exit(128 + signal.SIGTERM)
    finally:
        signal.signal(signal.SIGTERM, previous_handler)


if __name__ == "__main__":
    main()
