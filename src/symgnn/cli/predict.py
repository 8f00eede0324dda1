"""``symgnn predict``: per-atom barriers for structure files, written for OVITO, ASE and spreadsheets."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from symgnn.cli.common import (
    DataOption, DeviceOption, FramesOption, LabelColumnOption, MaxAtomsOption, ModelArgument, OverwriteOption, TypesOption, load_predictor,
)
from symgnn.data.blocks import DEFAULT_MAX_ATOMS

if TYPE_CHECKING:
    from rich.table import Table

    from symgnn.predictor import Predictor

COLUMNS = ("structure", "atoms", "mean", "std", "min", "max", "seconds", "Pearson vs label")


def register(app: typer.Typer) -> None:
    @app.command()
    def predict(
        checkpoint: ModelArgument,
        structures: list[Path] = typer.Argument(..., help="Structure files: LAMMPS dump or data file, extended XYZ, POSCAR, any ASE format, dataset pickle; or dataset sample names (train6)."),
        out: Path = typer.Option(Path("predictions"), "--out", help="Output directory."),
        label_column: LabelColumnOption = None,
        types: TypesOption = None,
        frame: FramesOption = None,
        max_atoms: MaxAtomsOption = DEFAULT_MAX_ATOMS,
        overwrite: OverwriteOption = False,
        device: DeviceOption = "cpu",
        data: DataOption = None,
    ) -> None:
        """Predict the barrier of every atom; write <name>.xyz, <name>.csv (and <name>.dump for dumps)."""
        from rich.table import Table

        from symgnn.cli.common import check_unique_stems, output_directory, resolve_sample_paths, table_console
        from symgnn.io.frames import parse_frame_selection

        selection = None if frame is None else parse_frame_selection(frame)
        structures = resolve_sample_paths(structures, data)
        check_unique_stems(structures)
        predictor = load_predictor(checkpoint, device)
        table = Table(title=f"predicted barriers (eV), model {checkpoint}")
        for column in COLUMNS:
            table.add_column(column, justify="left" if column == "structure" else "right")
        output_directory(out)
        written: list[Path] = []
        for path in structures:
            if isinstance(selection, slice):
                written += _predict_frames(predictor, path, selection, label_column, types, out, max_atoms, overwrite, table)
            else:
                written += _predict_one(predictor, path, selection, label_column, types, out, max_atoms, overwrite, table)
        table_console().print(table)
        for path in written:
            typer.echo(f"wrote {path}")


def _predict_one(predictor: "Predictor", path: Path, frame: int | None, label_column: str | None, types: str | None,
                 out: Path, max_atoms: int, overwrite: bool, table: "Table") -> list[Path]:
    """One structure (one frame) of ``path``: predictions, outputs, a table row; the paths written."""
    from symgnn.cli.common import check_writable, read_user_structure
    from symgnn.evaluate import training_structures
    from symgnn.io.write import write_predictions

    structure = read_user_structure(path, label_column, types, frame)
    if structure.labels is not None:
        training_structures(predictor, [structure])
    start = time.perf_counter()
    prediction = predictor.predict(structure, max_atoms=max_atoms)
    seconds = time.perf_counter() - start
    plot = out / f"{path.stem}_parity.png"
    check_writable(plot, overwrite)  # unlabelled too: an earlier run's plot is replaced or removed
    written = write_predictions(structure, {"predicted_barrier": prediction}, out, path.stem,
                                overwrite=overwrite, source_path=path)
    table.add_row(*_row(str(path), prediction, seconds, structure.labels))
    if structure.labels is not None:
        written.append(_parity_plot([(structure.labels, structure.numbers, structure.name)], [prediction], plot,
                                    path.name))
    else:
        _remove_stale_plot(plot)
    return written


def _predict_frames(predictor: "Predictor", path: Path, frames: slice, label_column: str | None, types: str | None,
                    out: Path, max_atoms: int, overwrite: bool, table: "Table") -> list[Path]:
    """The chosen frames of ``path``, one at a time, into one multi-frame output per format; one table
    row per frame, and a last row over all frames when there are several."""
    import numpy as np

    from symgnn.cli.common import check_writable
    from symgnn.evaluate import training_structures
    from symgnn.io.frames import read_frames
    from symgnn.io.write import TrajectoryWriter

    writer = TrajectoryWriter(out, path.stem, overwrite=overwrite, source_path=path)
    plot = out / f"{path.stem}_parity.png"
    check_writable(plot, overwrite)  # unlabelled too: an earlier run's plot is replaced or removed
    predictions: list[np.ndarray] = []
    labelled: list[tuple[np.ndarray, np.ndarray, str]] = []  # labels, species, name: not whole structures
    total_seconds = 0.0
    with writer:
        for frame in read_frames(path, frames, label_column, types):
            structure = frame.structure
            if structure.labels is not None:
                training_structures(predictor, [structure])
            start = time.perf_counter()
            prediction = predictor.predict(structure, max_atoms=max_atoms)
            seconds = time.perf_counter() - start
            total_seconds += seconds
            writer.write(frame, {"predicted_barrier": prediction})
            table.add_row(*_row(structure.name, prediction, seconds, structure.labels))
            predictions.append(prediction)
            if structure.labels is not None:
                labelled.append((structure.labels, structure.numbers, structure.name))
    if len(predictions) > 1:
        pooled_labels = np.concatenate([labels for labels, _, _ in labelled]) if labelled else None
        table.add_row(*_row(f"{path}, all {len(predictions)} frames", np.concatenate(predictions), total_seconds,
                            pooled_labels), end_section=True)
    written = list(writer.targets)
    if labelled:
        written.append(_parity_plot(labelled, predictions, plot, f"{path.name}, {len(labelled)} frames"))
    else:
        _remove_stale_plot(plot)
    return written


def _remove_stale_plot(plot: Path) -> None:
    """Remove the parity plot an earlier, labelled run left (only reached with ``--overwrite``): it
    showed other predictions than the ones just written."""
    if plot.is_file():
        plot.unlink()
        typer.echo(f"removed {plot}: it was from an earlier run (this input has no labels to plot)")

def _row(name: str, prediction, seconds: float, labels) -> list[str]:
    """A table row: name, atoms, mean, std, min, max of the prediction, seconds, Pearson vs the label."""
    from symgnn.metrics import regression_metrics

    score = "-" if labels is None else f"{regression_metrics(prediction, labels)['pearson']:.4f}"
    return [name, str(len(prediction)), f"{prediction.mean():.3f}", f"{prediction.std():.3f}",
            f"{prediction.min():.3f}", f"{prediction.max():.3f}", f"{seconds:.2f}", score]


def _parity_plot(labelled: list[tuple], predictions: list, plot: Path, title: str) -> Path:
    """Predicted against labelled barriers, pooled over ``labelled`` (labels, species, name) and their
    ``predictions``, with the pooled Pearson in the title."""
    import numpy as np

    from symgnn.evaluate import Evaluation, parity_plot
    from symgnn.metrics import regression_metrics

    evaluation = Evaluation(np.concatenate(predictions), np.concatenate([labels for labels, _, _ in labelled]),
                            np.concatenate([numbers for _, numbers, _ in labelled]),
                            np.concatenate([np.full(len(labels), name) for labels, _, name in labelled]))
    score = regression_metrics(evaluation.prediction, evaluation.truth)["pearson"]
    return parity_plot(evaluation, plot, title=f"{title}: Pearson {score:.4f}")
