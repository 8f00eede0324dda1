"""``symgnn evaluate``: metrics of a trained model on a dataset split or on labelled structure files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from symgnn.cli.common import (
    DataOption, DeviceOption, FramesOption, LabelColumnOption, MaxAtomsOption, ModelArgument, OverwriteOption,
    TypesOption, load_predictor,
)
from symgnn.data.blocks import DEFAULT_MAX_ATOMS


def register(app: typer.Typer) -> None:
    @app.command()
    def evaluate(
        checkpoint: ModelArgument,
        structures: Optional[list[Path]] = typer.Argument(None, help="Labelled structure files (else --split)."),
        data: DataOption = None,
        split: str = typer.Option("val", "--split", help="train, val or test (when no files are given)."),
        label_column: LabelColumnOption = None,
        types: TypesOption = None,
        frame: FramesOption = None,
        max_atoms: MaxAtomsOption = DEFAULT_MAX_ATOMS,
        json_path: Optional[Path] = typer.Option(None, "--json", help="Write the metrics as JSON here."),
        plot: Optional[Path] = typer.Option(None, "--plot", help="Parity plot PNG (default: beside --json, or parity-<split>.png)."),
        overwrite: OverwriteOption = False,
        device: DeviceOption = "cpu",
    ) -> None:
        """Pearson, Spearman, MAE, RMSE and R², overall, per sample and per species, and a parity plot
        (with a frame range such as --frame all, every chosen frame of each file is a sample)."""
        from symgnn.cli.common import check_writable, load_labelled_structures
        from symgnn.io.frames import parse_frame_selection
        from symgnn.evaluate import check_labelled, parity_plot
        from symgnn.evaluate import evaluate as run_evaluation
        from symgnn.io.atomic import atomic_write

        predictor = load_predictor(checkpoint, device)
        dataset = predictor.metadata.get("config", {}).get("data", {}).get("dataset", "cuzr64")
        loaded = load_labelled_structures(structures, dataset, split, data, label_column, types,
                                          None if frame is None else parse_frame_selection(frame))
        check_labelled(loaded)
        plot_path = plot or (json_path.with_suffix(".png") if json_path else Path(f"parity-{split if not structures else 'files'}.png"))
        for path in (json_path, plot_path):
            if path is not None:
                check_writable(path, overwrite)
        result = run_evaluation(predictor, loaded, max_atoms=max_atoms)
        result.metadata.update(checkpoint=str(checkpoint), split=None if structures else split,
                               samples=[s.name for s in loaded])
        report = result.report()
        _print_report(report)
        if json_path:
            with atomic_write(json_path) as handle:
                json.dump(report, handle, indent=2)
            typer.echo(f"metrics written to {json_path}")
        parity_plot(result, plot_path)
        typer.echo(f"parity plot written to {plot_path}")


def _print_report(report: dict) -> None:
    from symgnn.cli.common import table_console
    from rich.table import Table

    table = Table(title="evaluation")
    for column in ("subset", "atoms", "Pearson", "Spearman", "MAE (eV)", "RMSE (eV)", "R²"):
        table.add_column(column, justify="right" if column != "subset" else "left")

    def row(name: str, m: dict) -> None:
        table.add_row(name, str(m["count"]), f"{m['pearson']:.4f}", f"{m['spearman']:.4f}", f"{m['mae']:.4f}",
                      f"{m['rmse']:.4f}", f"{m['r2']:.4f}")

    row("all", report)
    for name, m in report["per_sample"].items():
        row(f"sample {name}", m)
    for name, m in report["per_species"].items():
        row(f"species {name}", m)
    table_console().print(table)
