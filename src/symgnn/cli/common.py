"""Helpers shared by CLI commands: common options, loading the structures a user names, guarding outputs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from symgnn.data.structure import Structure
from symgnn.errors import SymgnnError
from symgnn.io.atomic import refuse_to_overwrite

if TYPE_CHECKING:
    from rich.console import Console

    from symgnn.predictor import Predictor

# Options that several commands take, declared once so that their names and help read the same everywhere.
ModelArgument = Annotated[str, typer.Argument(help="Checkpoint file (best.pt) or a shipped model name (cuzr64).")]
DataOption = Annotated[Optional[Path], typer.Option("--data", help="Dataset directory (default: $SYMGNN_DATA).")]
LabelColumnOption = Annotated[
    Optional[str], typer.Option("--label-column", help="Per-atom column holding the true barrier, if the file has one.")
]
TypesOption = Annotated[Optional[str], typer.Option("--types", help="Type map for numeric types, e.g. 1=Cu,2=Zr.")]
OverwriteOption = Annotated[bool, typer.Option("--overwrite", help="Replace existing output files.")]
DeviceOption = Annotated[str, typer.Option("--device", help="cpu, cuda, cuda:N or auto.")]
MaxAtomsOption = Annotated[
    int,
    typer.Option("--max-atoms", help="Structures above this many atoms are predicted in blocks of about this size, "
                 "with a halo (same predictions, bounded memory; about 80 kB per atom for cuzr64)."),
]
FrameOption = Annotated[
    Optional[int],
    typer.Option("--frame", help="Frame of a multi-frame file: 0 = the first, -1 = the last (default: the last, with a warning)."),
]
FramesOption = Annotated[
    Optional[str],
    typer.Option("--frame", help="Frames of a multi-frame file: N (0 = the first, -1 = the last), a range "
                 "START:STOP[:STEP] such as 0:50:5 or -5:, or all. Default: the last, with a warning."),
]


def read_user_structure(path: Path, label_column: str | None, types: str | None, frame: int | None = None) -> Structure:
    """Read one structure file the user named, with an optional label column, type map and frame."""
    from symgnn.io.lammps_dump import parse_type_map
    from symgnn.io.read import read_structure

    return read_structure(path, label_column=label_column, types=parse_type_map(types) if types else None, index=frame)


def read_file_or_sample(
    target: str, label_column: str | None, types: str | None, frame: int | None, data_dir: Path | None
) -> Structure:
    """A structure file, or else a dataset sample name such as ``train6`` (from ``--data``/$SYMGNN_DATA)."""
    from symgnn.data import registry
    from symgnn.io.read import apply_label_column

    name = target.removesuffix(".pickle")
    if Path(target).exists() or name not in registry.sample_names():
        _refuse_unknown_name(target)
        return read_user_structure(Path(target), label_column, types, frame)  # a missing file says so
    if frame not in (None, 0, -1):
        raise SymgnnError(f"--frame {frame}: the dataset sample {name} holds one structure")
    structure = registry.load_sample(name, data_dir)
    return structure if label_column is None else apply_label_column(structure, label_column, Path(target))


def _refuse_unknown_name(target: str | Path) -> None:
    """A bare word that is neither a file nor a sample name (``train9``) is named as both."""
    from symgnn.data import registry

    path = Path(target)
    if not path.exists() and not path.suffix and len(path.parts) == 1:
        raise SymgnnError(f"{target}: no such file, nor a dataset sample (samples: {', '.join(registry.sample_names())})")


def resolve_sample_paths(targets: list[Path], data_dir: Path | None) -> list[Path]:
    """Structure files as given, with dataset sample names (``train6``) replaced by their verified
    files in ``data_dir`` (default $SYMGNN_DATA), so every command takes both."""
    from symgnn.data import registry

    resolved = []
    for target in targets:
        name = str(target).removesuffix(".pickle")
        if not Path(target).exists() and name in registry.sample_names():
            resolved.append(registry.sample_path(name, data_dir))
        else:
            _refuse_unknown_name(target)
            resolved.append(Path(target))
    return resolved


def load_labelled_structures(
    files: list[Path] | None, dataset: str, split: str, data_dir: Path | None, label_column: str | None,
    types: str | None, frame: int | slice | None = None,
) -> list[Structure]:
    """The files given (with their label column; ``frame`` a slice: every frame it picks of each), or
    else the samples of a dataset split."""
    from symgnn.data import registry
    from symgnn.io.frames import read_frames

    if files and isinstance(frame, slice):
        return [f.structure for p in files for f in read_frames(p, frame, label_column, types)]
    if files:
        return [read_user_structure(p, label_column, types, frame) for p in files]
    if label_column or types or frame is not None:
        raise SymgnnError("--label-column, --types and --frame apply to structure files; a dataset split has its own")
    if split not in ("train", "val", "test"):
        raise SymgnnError(f"--split must be train, val or test, got {split!r}")
    return [registry.load_sample(n, data_dir, dataset=dataset) for n in registry.split_names(split, dataset=dataset)]


def table_console() -> "Console":
    """A rich console for result tables. Written to a pipe or a log, rich assumes 80 columns and
    cuts names and numbers short; there the tables get room for their full width instead."""
    from rich.console import Console

    console = Console()
    return console if console.is_terminal else Console(width=max(console.width, 160))


def output_directory(out: Path) -> Path:
    """``out``, created if missing and checked to take files, before any work is done (a long
    prediction must not end in a permission error); refused in one line if it is an existing file."""
    import tempfile

    if out.exists() and not out.is_dir():
        raise SymgnnError(f"{out}: exists and is not a directory (--out names a directory)")
    out.mkdir(parents=True, exist_ok=True)
    try:
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as error:
        raise SymgnnError(f"{out}: cannot write files here ({error.strerror})") from None
    return out


def check_unique_stems(paths: list[Path]) -> None:
    """Refuse inputs whose outputs would collide: ``<stem>.xyz``/``.csv`` are named by the file's stem,
    so ``a/s.xyz`` and ``b/s.dump`` would write the same files."""
    seen: dict[str, Path] = {}
    for path in paths:
        stem = Path(path).stem
        if stem in seen and Path(seen[stem]) != Path(path):
            raise SymgnnError(f"{seen[stem]} and {path}: both would write {stem}.xyz and {stem}.csv; "
                              "rename one or predict them into separate --out directories")
        seen[stem] = path


def check_writable(path: Path, overwrite: bool) -> None:
    """Refuse to replace an existing file unless ``--overwrite`` was given, and a directory always."""
    if path.is_dir():
        raise SymgnnError(f"{path}: is a directory; give a file name")
    refuse_to_overwrite([path], overwrite)
    if not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True)


def load_predictor(checkpoint: str, device: str) -> "Predictor":
    """The predictor of a checkpoint or shipped model, tuned for prediction: for structures of up to
    20,000 atoms glibc keeps freed memory for reuse (:func:`symgnn.runtime.tune_allocator_for`; same
    numbers, about twice as fast), larger ones keep glibc's defaults (less peak memory)."""
    from rich.console import Console

    from symgnn.predictor import Predictor

    predictor = Predictor.from_checkpoint(checkpoint, device)
    predictor.tune_allocator = True
    return predictor
