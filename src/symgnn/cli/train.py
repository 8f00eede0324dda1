"""``symgnn train``: train a model from a YAML config."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from symgnn.cli.common import DataOption, DeviceOption


def register(app: typer.Typer) -> None:
    @app.command()
    def train(
        config: Path = typer.Option(..., "--config", "-c", help="Training config (YAML); see configs/."),
        data: DataOption = None,
        out: Optional[Path] = typer.Option(None, "--out", help="Run directory (default: runs/<config name>)."),
        resume: bool = typer.Option(False, "--resume", help="Continue the interrupted run in --out."),
        device: DeviceOption = "cpu",
        seed: Optional[int] = typer.Option(None, "--seed", help="Override train.seed."),
        max_minutes: Optional[float] = typer.Option(
            None, "--max-minutes", help="Override train.max_minutes (0: no time limit; the budget is then --epochs)."
        ),
        epochs: Optional[int] = typer.Option(None, "--epochs", help="Override train.epochs."),
        compile_steps: Optional[bool] = typer.Option(
            None, "--compile/--no-compile",
            help="Override train.compile: run the training steps through torch.compile (faster; same numbers up to rounding).",
        ),
        keep_memory: Optional[bool] = typer.Option(
            None, "--keep-freed-memory/--no-keep-freed-memory",
            help="Override train.keep_freed_memory: let glibc keep freed memory for reuse (epochs about 3x faster "
                 "on CPU, each epoch's numbers unchanged; a time budget then fits more epochs, so another model).",
        ),
        quiet: bool = typer.Option(False, "--quiet", help="No progress bar; one line per epoch."),
    ) -> None:
        """Train on the config's training samples; select the best epoch by validation Pearson (keep the final
        model when the config has no validation samples, data.val: [])."""
        from symgnn.durations import format_duration
        from symgnn.errors import SymgnnError
        from symgnn.train.config import load_config
        from symgnn.train.loop import fit

        cfg = load_config(config)
        if seed is not None:
            cfg.train.seed = seed
        if max_minutes is not None:
            if max_minutes < 0:
                raise SymgnnError(f"--max-minutes {max_minutes:g}: must be >= 0 (0: no time limit)")
            cfg.train.max_minutes = max_minutes or None
        if epochs is not None:
            if epochs < 1:
                raise SymgnnError(f"--epochs {epochs}: must be at least 1")
            cfg.train.epochs = epochs
        if compile_steps is not None:
            cfg.train.compile = compile_steps
        if keep_memory is not None:
            cfg.train.keep_freed_memory = keep_memory
        run_dir = out or Path("runs") / config.stem
        result = fit(cfg, data, run_dir, resume=resume, device=device, progress=not quiet, log=typer.echo)
        chosen = (f"best validation Pearson {result.best_val_pearson:.4f}" if cfg.data.val
                  else "final model (no validation samples)")
        typer.echo(
            f"{chosen} at epoch {result.best_epoch} "
            f"({result.epochs_run} epochs, {format_duration(result.seconds)}, {result.seconds_per_epoch:.1f} s/epoch); "
            f"checkpoint {run_dir / 'best.pt'}"
        )
