"""``symgnn ensemble``: one checkpoint predicting the mean of several runs of one recipe."""

from __future__ import annotations

from pathlib import Path

import typer

from symgnn.cli.common import OverwriteOption


def register(app: typer.Typer) -> None:
    @app.command()
    def ensemble(
        checkpoints: list[Path] = typer.Argument(..., help="best.pt of each run (same model, data and cutoff; other seeds)."),
        out: Path = typer.Option(..., "--out", help="The ensemble checkpoint to write."),
        overwrite: OverwriteOption = False,
    ) -> None:
        """Combine runs of one recipe trained with different seeds into a seed ensemble (mean prediction)."""
        from symgnn.cli.common import check_writable
        from symgnn.train.ensemble import combine_checkpoints

        check_writable(out, overwrite)
        path = combine_checkpoints(checkpoints, out)
        typer.echo(f"ensemble of {len(checkpoints)} models written to {path}")
