"""``symgnn predict``: per-atom barriers for structure files, written for OVITO, ASE and spreadsheets."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from symgnn.cli.common import (
    DeviceOption, FrameOption, LabelColumnOption, MaxAtomsOption, ModelArgument, OverwriteOption, TypesOption,
    load_predictor,
)
from symgnn.data.blocks import DEFAULT_MAX_ATOMS


def register(app: typer.Typer) -> None:
    @app.command()
    def predict(
        checkpoint: ModelArgument,
        structures: list[Path] = typer.Argument(..., help="Structure files: LAMMPS dump or data file, extended XYZ, POSCAR, any ASE format, dataset pickle."),
        out: Path = typer.Option(Path("predictions"), "--out", help="Output directory."),
        label_column: LabelColumnOption = None,
        types: TypesOption = None,
        frame: FrameOption = None,
        max_atoms: MaxAtomsOption = DEFAULT_MAX_ATOMS,
        overwrite: OverwriteOption = False,
        device: DeviceOption = "cpu",
    ) -> None:
        """Predict the barrier of every atom; write <name>.xyz, <name>.csv (and <name>.dump for dumps)."""
        from rich.table import Table

        import numpy as np

        from symgnn.cli.common import check_unique_stems, check_writable, output_directory, read_user_structure, table_console
        from symgnn.evaluate import Evaluation, parity_plot, training_structures
        from symgnn.io.write import write_predictions
        from symgnn.metrics import regression_metrics

        check_unique_stems(structures)
        predictor = load_predictor(checkpoint, device)
        table = Table(title=f"predicted barriers (eV), model {checkpoint}")
        for column in ("structure", "atoms", "mean", "std", "min", "max", "seconds", "Pearson vs label"):
            table.add_column(column, justify="left" if column == "structure" else "right")
        output_directory(out)
        written: list[Path] = []
        for path in structures:
            structure = read_user_structure(path, label_column, types, frame)
            if structure.labels is not None:
                training_structures(predictor, [structure])
            start = time.perf_counter()
            prediction = predictor.predict(structure, max_atoms=max_atoms)
            seconds = time.perf_counter() - start
            score = "-"
            plot = out / f"{Path(path).stem}_parity.png"
            if structure.labels is not None:
                check_writable(plot, overwrite)
            written += write_predictions(structure, {"predicted_barrier": prediction}, out, Path(path).stem,
                                         overwrite=overwrite, source_path=path)
            if structure.labels is not None:
                score = f"{regression_metrics(prediction, structure.labels)['pearson']:.4f}"
                evaluation = Evaluation(prediction, structure.labels, structure.numbers, np.full(len(structure), structure.name))
                written.append(parity_plot(evaluation, plot, title=f"{Path(path).name}: Pearson {score}"))
            table.add_row(str(path), str(len(structure)), f"{prediction.mean():.3f}", f"{prediction.std():.3f}",
                          f"{prediction.min():.3f}", f"{prediction.max():.3f}", f"{seconds:.2f}", score)
        table_console().print(table)
        for path in written:
            typer.echo(f"wrote {path}")
