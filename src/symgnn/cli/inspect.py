"""``symgnn inspect``: what a structure file holds, as the model will see it (species, cell, neighbours, labels)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import numpy as np
import typer

from symgnn.cli.common import FramesOption, LabelColumnOption, TypesOption, read_file_or_sample
from symgnn.data.structure import Structure

AMU_PER_A3_TO_G_PER_CM3 = 1.66053906660  # 1 amu/Å^3 in g/cm^3


def _stats(values: np.ndarray) -> dict[str, float]:
    values = np.asarray(values, dtype=np.float64)
    return {"mean": float(values.mean()), "std": float(values.std()), "min": float(values.min()),
            "max": float(values.max())}


def summarize(structure: Structure, cutoff: float = 5.0) -> dict[str, Any]:
    """A JSON-ready summary: atoms, species, cell, density, neighbour counts at ``cutoff``, label stats."""
    from ase.data import atomic_masses
    from ase.geometry import cell_to_cellpar

    from symgnn.graph import neighbour_pairs

    n = len(structure)
    structure = structure.wrapped()  # the positions the pairs' shifts refer to
    i, j, shift = neighbour_pairs(structure, cutoff)
    neighbours = np.bincount(i, minlength=n)
    lengths = np.linalg.norm(structure.positions[j] + shift - structure.positions[i], axis=1)
    closest = int(np.argmin(lengths)) if len(lengths) else None
    lengths_angles = cell_to_cellpar(structure.cell)
    periodic = bool(structure.pbc.all())
    volume = structure.volume
    mass = float(atomic_masses[structure.numbers].sum())
    summary: dict[str, Any] = {
        "name": structure.name,
        "atoms": n,
        "species": structure.species_counts(),
        "species_fraction": {k: v / n for k, v in structure.species_counts().items()},
        "cell_lengths": [float(x) for x in lengths_angles[:3]],
        "cell_angles": [float(x) for x in lengths_angles[3:]],
        "pbc": structure.pbc.tolist(),
        "volume": volume if periodic else None,
        "number_density": n / volume if periodic else None,
        "density_g_cm3": mass * AMU_PER_A3_TO_G_PER_CM3 / volume if periodic else None,
        "cutoff": float(cutoff),
        "directed_edges": int(len(i)),
        "neighbours": {"mean": float(neighbours.mean()), "min": int(neighbours.min()), "max": int(neighbours.max())},
        "isolated_atoms": int((neighbours == 0).sum()),
        # the closest pair (0-based indices): metals sit 2.2-3 Å apart; much less means a broken input
        "shortest_distance": None if closest is None else {
            "angstrom": float(lengths[closest]), "atoms": sorted((int(i[closest]), int(j[closest])))},
        "arrays": sorted(structure.arrays),
        "label": None,
    }
    if structure.labels is not None:
        label = {"column": structure.label_key, **_stats(structure.labels), "by_species": {}}
        for symbol, z in zip(*_species_numbers(structure)):
            label["by_species"][symbol] = _stats(structure.labels[structure.numbers == z])
        summary["label"] = label
    return summary


def _summarize_first_frame(target: str, selection: slice, label_column: str | None, types: str | None,
                            data: Path | None, cutoff: float) -> dict[str, Any]:
    """The summary of the first frame ``selection`` picks, with ``frames``: how many the file holds,
    how many the selection picks, and which one is shown."""
    from symgnn.io.frames import frame_count, picks_no_frame

    is_file = Path(target).exists()
    count = frame_count(target) if is_file else 1  # a dataset sample (read_file_or_sample checks the name)
    selected = range(*selection.indices(count))
    if not selected:
        raise picks_no_frame(target, selection, count)
    summary = summarize(read_file_or_sample(target, label_column, types, selected[0], data), cutoff)
    summary["frames"] = {"in_file": count, "selected": len(selected), "shown": selected[0]}
    return summary


def _species_numbers(structure: Structure) -> tuple[list[str], list[int]]:
    from ase.data import chemical_symbols

    numbers = sorted(set(structure.numbers.tolist()))
    return [chemical_symbols[z] for z in numbers], numbers


def _fmt(value: float | None, spec: str = ".4g") -> str:
    return "-" if value is None else format(value, spec)


def _print_table(summary: dict[str, Any]) -> None:
    from rich.table import Table

    from symgnn.cli.common import table_console

    table = Table(title=summary["name"], show_header=False)
    table.add_column("quantity")
    table.add_column("value")
    species = ", ".join(f"{k} {v} ({100 * summary['species_fraction'][k]:.1f} %)" for k, v in summary["species"].items())
    rows = [
        ("atoms", str(summary["atoms"])),
        ("species", species),
        ("cell lengths (Å)", " ".join(f"{x:.4f}" for x in summary["cell_lengths"]) if any(summary["pbc"]) else "- (no cell)"),
        ("cell angles (°)", " ".join(f"{x:.2f}" for x in summary["cell_angles"]) if any(summary["pbc"]) else "-"),
        ("periodic", " ".join("yes" if p else "no" for p in summary["pbc"])),
        ("volume (Å³)", _fmt(summary["volume"], ".6g")),
        ("density (atoms/Å³)", _fmt(summary["number_density"], ".5f")),
        ("density (g/cm³)", _fmt(summary["density_g_cm3"], ".4f")),
        (f"neighbours within {summary['cutoff']:g} Å (mean/min/max)",
         f"{summary['neighbours']['mean']:.2f} / {summary['neighbours']['min']} / {summary['neighbours']['max']}"),
        ("directed edges", str(summary["directed_edges"])),
        ("shortest distance (Å)", "-" if summary["shortest_distance"] is None else
         "{angstrom:.3f} (atoms {atoms[0]} and {atoms[1]})".format(**summary["shortest_distance"])),
        ("per-atom arrays", ", ".join(summary["arrays"]) or "-"),
    ]
    if "frames" in summary:
        frames = summary["frames"]
        rows.insert(0, ("frames in file / selected; shown: frame", f"{frames['in_file']} / {frames['selected']}; {frames['shown']}"))
    label = summary["label"]
    if label is not None:
        rows.append((f"label '{label['column']}' (mean ± std, min..max)",
                     f"{label['mean']:.4f} ± {label['std']:.4f}, {label['min']:.4f}..{label['max']:.4f}"))
        for symbol, stats in label["by_species"].items():
            rows.append((f"  label on {symbol}", f"{stats['mean']:.4f} ± {stats['std']:.4f}"))
    else:
        rows.append(("label", "none (use --label-column)"))
    for key, value in rows:
        table.add_row(key, value)
    table_console().print(table)


def register(app: typer.Typer) -> None:
    @app.command()
    def inspect(
        structure: str = typer.Argument(..., help="Structure file (dump, extended XYZ, pickle, ...) or a dataset sample name (train0)."),
        cutoff: float = typer.Option(5.0, "--cutoff", help="Neighbour cutoff in Å."),
        as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
        label_column: LabelColumnOption = None,
        types: TypesOption = None,
        frame: FramesOption = None,
        data: Optional[Path] = typer.Option(None, "--data", help="Dataset directory for sample names (default: $SYMGNN_DATA)."),
    ) -> None:
        """Show atoms, species, cell, density, neighbour counts and label statistics of a structure
        (with a frame range such as --frame all: of its first frame, and how many frames it picks)."""
        from symgnn.io.frames import parse_frame_selection

        selection = None if frame is None else parse_frame_selection(frame)
        if isinstance(selection, slice):
            summary = _summarize_first_frame(structure, selection, label_column, types, data, cutoff)
        else:
            summary = summarize(read_file_or_sample(structure, label_column, types, selection, data), cutoff)
        if as_json:
            typer.echo(json.dumps(summary, indent=2))
        else:
            _print_table(summary)
