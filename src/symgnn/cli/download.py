"""``symgnn download``: fetch the dataset files from upstream into a data directory, checksum-verified."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def download(
        data: Optional[Path] = typer.Option(None, "--data", help="Target directory (default: $SYMGNN_DATA)."),
        names: Optional[list[str]] = typer.Option(None, "--names", help="Samples to fetch (repeatable, or comma separated); default all."),
        dataset: str = typer.Option("cuzr64", "--dataset", help="Dataset name."),
    ) -> None:
        """Download missing or corrupt dataset files, verify their sha256, and place them atomically."""
        from symgnn.data import registry

        wanted = [n.strip() for item in names or [] for n in item.split(",") if n.strip()] or None
        for path in registry.download(data, names=wanted, dataset=dataset):
            typer.echo(f"ok {path}")
