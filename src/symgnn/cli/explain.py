"""``symgnn explain`` and ``symgnn explain-stats``: why the model predicts an atom's barrier."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

from symgnn.cli.common import (
    DeviceOption, FrameOption, LabelColumnOption, ModelArgument, OverwriteOption, TypesOption, load_predictor,
)

if TYPE_CHECKING:
    from symgnn.data.structure import Structure


def _echo_fidelity(fidelity: dict) -> None:
    """One line per k: how much removing (fid+) or keeping only (fid-) the top-k edges changes the
    prediction, beside random edge sets of the same size."""
    effective = fidelity.get("k_effective_mean")
    for i, k in enumerate(fidelity.get("k", [])):
        capped = f"  (fields have fewer edges: {effective[i]:g} on average, all of them)" if effective and effective[i] < k else ""
        typer.echo(f"k={k:4d}  fid+ {fidelity['plus'][i]:.4f} (random {fidelity['plus_random'][i]:.4f})  "
                   f"fid- {fidelity['minus'][i]:.4f} (random {fidelity['minus_random'][i]:.4f}) eV{capped}")


def _parse_atoms(text: str) -> list[int]:
    from symgnn.errors import SymgnnError

    try:
        atoms = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise SymgnnError(f"--atoms {text}: expected comma-separated atom indices, e.g. 12,40,311") from None
    if not atoms:
        raise SymgnnError("--atoms: no atom index given")
    return atoms


def _read_structure(structure: str, label_column: str | None, types: str | None, frame: int | None,
                    data_dir: Path | None) -> tuple["Structure", list[str]]:
    """The structure file or sample to explain, and the warnings reading it gave (shown here, and
    kept for the manifest: a file of several frames, of which one was read, is one of them)."""
    import warnings

    from symgnn.cli.common import read_file_or_sample

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loaded = read_file_or_sample(structure, label_column, types, frame, data_dir)
    distinct = {str(w.message): w.category for w in caught}
    for message, category in distinct.items():
        warnings.warn(message, category, stacklevel=2)
    return loaded, list(distinct)


def register(app: typer.Typer) -> None:
    @app.command()
    def explain(
        checkpoint: ModelArgument,
        structure: str = typer.Argument(..., help="Structure file, or a dataset sample name (train6)."),
        atoms: Optional[str] = typer.Option(None, "--atoms", help="Atom indices (0-based: the index column of predict's CSV), e.g. 12,40,311."),
        sample: Optional[int] = typer.Option(None, "--sample", help="Explain N atoms spread over low/mid/high predicted barriers."),
        top_k: int = typer.Option(50, "--top-k", help="Edges kept as the explanation (files, figures, statistics)."),
        out: Optional[Path] = typer.Option(None, "--out", help="Output directory (default explain_<structure>)."),
        epochs: int = typer.Option(100, "--epochs", help="Optimisation steps of the mask."),
        lr: float = typer.Option(0.1, "--lr", help="Learning rate of the mask logits."),
        edge_size: float = typer.Option(0.005, "--edge-size", help="Weight of the mask-size penalty."),
        edge_reduction: str = typer.Option("sum", "--edge-reduction", help="sum or mean of the mask for the size penalty."),
        edge_ent: float = typer.Option(1.0, "--edge-ent", help="Weight of the mask-entropy penalty."),
        batch_size: int = typer.Option(1, "--batch-size", help="Atoms optimised together."),
        hops: Optional[int] = typer.Option(
            None, "--hops", help="Receptive field in hops (default: the model's layers; capped, with a warning, "
                                 "where the fields hold the whole connected structure)."),
        random_sets: int = typer.Option(2, "--random-sets", help="Random edge sets per k for the fidelity reference."),
        sanity_atoms: int = typer.Option(6, "--sanity-atoms", help="Atoms re-explained for the randomised-model check (0: skip)."),
        no_figures: bool = typer.Option(False, "--no-figures", help="Skip the per-atom global/local figures."),
        descriptor_draws: int = typer.Option(
            4, "--descriptor-draws", help="Models with descriptor inputs: random stand-in atoms per descriptor group "
                                          "(descriptors.csv; 0: skip)."),
        seed: int = typer.Option(0, "--seed", help="Seed of atom sampling and mask initialisation."),
        data_dir: Optional[Path] = typer.Option(None, "--data", "--data-dir", help="Dataset directory for sample names (default: $SYMGNN_DATA)."),
        label_column: LabelColumnOption = None,
        types: TypesOption = None,
        frame: FrameOption = None,
        overwrite: OverwriteOption = False,
        device: DeviceOption = "cpu",
    ) -> None:
        """Explain per-atom predictions with GNNExplainer: edge masks, OVITO files, figures, fidelity."""
        from symgnn.errors import SymgnnError
        from symgnn.explain.gnnexplainer import ExplainConfig
        from symgnn.explain.run import ExplainRun, explain_structure

        if (atoms is None) == (sample is None):
            raise SymgnnError("give exactly one of --atoms and --sample")
        if descriptor_draws < 0:
            raise SymgnnError(f"--descriptor-draws must be 0 or more, got {descriptor_draws}")
        predictor = load_predictor(checkpoint, device)
        path = Path(structure)
        from symgnn.cli.common import output_directory

        loaded, read_warnings = _read_structure(structure, label_column, types, frame, data_dir)
        target = output_directory(out or Path(f"explain_{path.stem}"))
        run = ExplainRun(
            top_k=top_k, n_random=random_sets, sanity_atoms=sanity_atoms, figures=not no_figures, hops=hops,
            overwrite=overwrite, descriptor_draws=descriptor_draws,
            explainer=ExplainConfig(epochs=epochs, lr=lr, edge_size=edge_size, edge_reduction=edge_reduction,
                                    edge_ent=edge_ent, batch_size=batch_size, seed=seed),
        )
        manifest = explain_structure(predictor, loaded, None if atoms is None else _parse_atoms(atoms), sample, target, run,
                                     log=typer.echo, frame=frame, input_warnings=read_warnings)
        _echo_fidelity(manifest["fidelity"])
        typer.echo(f"wrote {target}")

    @app.command("explain-stats")
    def explain_stats_command(
        results: Path = typer.Argument(..., help="Output directory of 'symgnn explain'."),
        out: Optional[Path] = typer.Option(None, "--out", help="Where to write (default RESULTS/stats)."),
        top_k: Optional[int] = typer.Option(None, "--top-k", help="Selected edges per atom (default: the run's)."),
        local_radius: float = typer.Option(7.0, "--local-radius", help="Radius of the local structure for H1 (Å)."),
        max_edge_length: float = typer.Option(5.0, "--max-edge-length", help="Vietoris–Rips filtration limit (Å)."),
        random_sets: int = typer.Option(10, "--random-sets", help="Random edge sets for the H1 reference."),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing summary."),
    ) -> None:
        """Statistics over explained atoms: distances, edge lengths, bond angles, H1 cycles, fidelity."""
        from symgnn.errors import SymgnnError
        from symgnn.explain.run import explain_stats
        from symgnn.explain.stats import StatsConfig
        from symgnn.explain.writers import load_results

        if top_k is not None and top_k < 1:
            raise SymgnnError(f"--top-k {top_k}: must be at least 1 (selected edges per atom)")
        manifest, _ = load_results(results)
        config = StatsConfig(top_k=top_k or int(manifest.get("top_k", 50)), local_radius=local_radius,
                             max_edge_length=max_edge_length, n_random=random_sets)
        summary, written = explain_stats(results, out, config, overwrite=overwrite)
        whole = summary["all"]
        typer.echo(f"{summary['atoms']} atoms; first-shell fraction touched {whole['first_shell_fraction']['touched']} "
                   f"vs all {whole['first_shell_fraction']['all']}")
        if "h1" in whole:
            typer.echo(f"H1 cycles per edge: important {whole['h1']['important_mean_cycles']} vs random "
                       f"{whole['h1']['random_mean_cycles']}")
        _echo_fidelity(summary.get("fidelity", {}))
        if "descriptors" in summary:
            ranked = summary["descriptors"]["top_columns"][:5]
            typer.echo("descriptor columns that change the prediction most when swapped (mean |change|, eV): "
                       + ", ".join(f"{e['group']} {e['mean_abs_ev']:.3f}" for e in ranked))
        for path in written:
            typer.echo(f"wrote {path}")
