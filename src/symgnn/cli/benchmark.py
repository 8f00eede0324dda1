"""``symgnn benchmark``: train and evaluate every model under one protocol and tabulate the results."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def benchmark(
        models: str = typer.Option("all", "--models", help="Comma-separated model names, or all."),
        seeds: int = typer.Option(2, "--seeds", help="Seeds per model (0 .. N-1)."),
        budget_minutes: Optional[float] = typer.Option(
            None, "--budget-minutes", help="Training minutes per (model, seed) run (default 10)."),
        data: Optional[Path] = typer.Option(None, "--data", help="Dataset directory (default: $SYMGNN_DATA)."),
        out: Optional[Path] = typer.Option(
            None, "--out", help="Benchmark directory (default: runs/benchmark, or runs/benchmark-quick)."),
        quick: bool = typer.Option(False, "--quick", help="Smoke test: 2 epochs on small crops; not comparable."),
        threads: Optional[int] = typer.Option(None, "--threads", help="CPU threads for torch (default: torch's)."),
        keep_memory: bool = typer.Option(
            False, "--keep-freed-memory/--no-keep-freed-memory",
            help="Train every run with glibc keeping freed memory: the same numbers epoch by epoch, about 3x the "
                 "epochs in the budget on a CPU (part of the protocol; default off)."),
    ) -> None:
        """Train each model with each seed (train0-5, validation train6, best epoch by validation Pearson),
        evaluate on every split present, and write results.csv, results.md and one JSON per run.

        Resumable: runs already in --out are skipped and an interrupted run continues where it stopped."""
        import torch

        from symgnn.benchmark.protocol import parse_models
        from symgnn.benchmark.runner import run_benchmark
        from symgnn.errors import SymgnnError

        if threads is not None:
            if threads < 1:
                raise SymgnnError(f"--threads must be at least 1, got {threads}")
            torch.set_num_threads(threads)
        if quick and budget_minutes is not None:
            raise SymgnnError("--quick runs a fixed 2 epochs per model; drop --budget-minutes")
        names = parse_models(models)
        target = out or Path("runs") / ("benchmark-quick" if quick else "benchmark")
        result = run_benchmark(names, seeds, data, target, budget_minutes, quick, log=typer.echo,
                               keep_freed_memory=keep_memory)
        typer.echo("")
        typer.echo(result.markdown)
        typer.echo(f"{len(result.run_files)} run(s) in {result.seconds / 60:.1f} min; "
                   f"tables {result.csv_path} and {result.markdown_path}")
