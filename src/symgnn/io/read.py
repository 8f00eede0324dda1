"""Read any supported structure file into a :class:`Structure`.

Dispatch: ``.pickle``/``.pkl`` -> the Cu64Zr36 dataset dict (safe unpickler); LAMMPS text dumps
(``.dump``, ``.lammpstrj``, or a file starting with ``ITEM: TIMESTEP``) -> this package's dump reader,
which keeps custom columns; anything else -> ``ase.io.read`` (extended XYZ, CIF, POSCAR, LAMMPS data
files, which are recognised by suffix or header since ASE cannot tell them; their type numbers become
elements through the ``Masses`` section or ``types``).
"""

from __future__ import annotations

import functools
import re
import warnings
from pathlib import Path

import numpy as np
from ase.data import atomic_numbers

from symgnn.data.structure import Structure
from symgnn.errors import InputWarning, SymgnnError, file_error, warn_several_frames
from symgnn.io.cuzr64 import cuzr64_to_structure
from symgnn.io.lammps_dump import as_type_map, read_lammps_dump
from symgnn.io.safe_pickle import load_pickle

PICKLE_SUFFIXES = frozenset({".pickle", ".pkl"})
DUMP_SUFFIXES = frozenset({".dump", ".lammpstrj"})
LAMMPS_DATA_SUFFIXES = frozenset({".data", ".lmp", ".lammps"})
_LAMMPS_DATA_HEADER = re.compile(rb"^\s*\S+\s+\S+\s+xlo\s+xhi\s*(#.*)?$", re.MULTILINE)


def _head(path: Path, size: int) -> bytes:
    """The first ``size`` bytes of ``path`` (empty when it cannot be read: the readers then say why)."""
    try:
        with open(path, "rb") as handle:
            return handle.read(size)
    except OSError:
        return b""


def is_lammps_dump(path: str | Path) -> bool:
    """Whether ``path`` is a LAMMPS text dump, by suffix or by its first line."""
    path = Path(path)
    return path.suffix.lower() in DUMP_SUFFIXES or _head(path, 64).lstrip().startswith(b"ITEM: TIMESTEP")


def is_lammps_data(path: str | Path) -> bool:
    """Whether ``path`` is a LAMMPS data file (``write_data``; ``read_data`` input), by suffix
    (``.data``, ``.lmp``, ``.lammps``) or by an ``xlo xhi`` line in its header (LAMMPS's own
    ``data.<name>`` files; a name alone would also catch a ``data.xyz``). ASE cannot tell this format
    from the file alone."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in LAMMPS_DATA_SUFFIXES:
        return True
    if suffix in _other_ase_suffixes():  # an .xyz whose comment line happens to read "... xlo xhi"
        return False
    return _LAMMPS_DATA_HEADER.search(_head(path, 4096)) is not None


@functools.cache
def _other_ase_suffixes() -> frozenset[str]:
    """File suffixes that ASE reads as formats other than LAMMPS data (``.xyz``, ``.cif``, ...)."""
    from ase.io.formats import ioformats

    return frozenset(f".{e}" for name, f in ioformats.items() if name != "lammps-data" for e in f.extensions) - LAMMPS_DATA_SUFFIXES


def _has_masses(path: Path) -> bool:
    """Whether a LAMMPS data file has a ``Masses`` section (ASE then guesses elements from them).
    LAMMPS allows its sections in any order, so the whole file is scanned (only when no type map
    was given)."""
    with open(path, "rb") as handle:
        return any(line.split(b"#")[0].strip() == b"Masses" for line in handle)


def check_file(path: Path) -> None:
    if not path.exists():
        raise file_error(path, "file not found")
    if path.is_dir():
        raise file_error(path, "is a directory, expected a structure file")
    if path.stat().st_size == 0:
        raise file_error(path, "file is empty (0 bytes): an interrupted copy or download?")


def _per_atom_results(atoms, n: int) -> dict[str, np.ndarray]:
    """Numeric per-atom arrays of an ASE ``Atoms``: ``atoms.arrays``, then per-atom info and calculator results."""
    arrays: dict[str, np.ndarray] = {}
    sources = [atoms.arrays, dict(atoms.info)]
    if atoms.calc is not None:
        sources.append(dict(getattr(atoms.calc, "results", {})))
    for source in sources:
        for key, value in source.items():
            if key in ("numbers", "positions") or key in arrays:
                continue
            value = np.asarray(value) if isinstance(value, (np.ndarray, list)) else None
            if value is None or value.ndim == 0 or value.shape[0] != n:
                continue
            if np.issubdtype(value.dtype, np.number) or value.dtype == bool:
                arrays[key] = value.astype(np.float64) if value.dtype.kind in "fb" else value
    return arrays


def ase_format(path: Path) -> str:
    """The ASE format name to read ``path`` with (``lammps-data`` by suffix or header, else ASE's
    guess); ``UnknownFileTypeError`` when ASE has no reader for it."""
    from ase.io.formats import UnknownFileTypeError, filetype, ioformats

    fmt = "lammps-data" if is_lammps_data(path) else filetype(str(path))
    if fmt not in ioformats:  # ASE guessed a format from the suffix alone that it has no reader for
        raise UnknownFileTypeError(fmt)
    return fmt


UNKNOWN_FORMAT = "unknown file format (use .pickle, a LAMMPS dump, extended XYZ .xyz, or another format ASE reads)"


def _read_with_ase(path: Path, index: int | None, type_map: dict[int, str] | None = None) -> Structure:
    """Read one frame with ``ase.io.read``, turning every failure into a one-line SymgnnError.

    ``index`` ``None``: the last frame, with a warning when the file holds more than one (the last two
    frames are read to tell, which costs one frame more than reading the last alone).
    """
    import ase.io
    from ase.io.formats import UnknownFileTypeError, ioformats

    try:
        fmt = ase_format(path)
        if ioformats[fmt].single:  # POSCAR, LAMMPS data, ...: one structure, no frame slicing
            if index not in (None, 0, -1):
                raise file_error(path, f"frame index {index} is out of range (a {fmt} file holds one structure)")
            options = {}
            if fmt == "lammps-data":
                if type_map:  # the user's map wins over elements guessed from Masses
                    options["Z_of_type"] = {t: atomic_numbers[symbol] for t, symbol in type_map.items()}
                elif not _has_masses(path):
                    warnings.warn(f"{path}: a LAMMPS data file without Masses: its atom types 1, 2, ... are read "
                                  "as H, He, ...; pass --types (e.g. 1=Cu,2=Zr)", InputWarning, stacklevel=2)
            try:
                atoms = ase.io.read(path, format=fmt, **options)
            except KeyError as missing:  # a type the map does not name
                raise file_error(path, f"atom type {missing.args[0]} is not in the type map {type_map}; pass --types "
                                       "naming every type, e.g. 1=Cu,2=Zr") from None
        elif index is None:
            frames = ase.io.read(path, index="-2:", format=fmt)
            if not frames:
                raise file_error(path, "file holds no structure")
            if len(frames) > 1:
                warn_several_frames(path)
            atoms = frames[-1]
        else:
            atoms = ase.io.read(path, index=index, format=fmt)
    except SymgnnError:
        raise
    except UnknownFileTypeError:
        raise file_error(path, UNKNOWN_FORMAT) from None
    except (StopIteration, IndexError):  # ASE's readers signal a frame past the end either way
        problem = "file holds no structure" if index is None else f"frame index {index} is out of range"
        raise file_error(path, problem) from None
    except Exception as exc:  # ASE raises many types for unknown or malformed formats
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise file_error(path, f"cannot read as a structure (unknown or malformed format: {message})") from None
    return structure_from_atoms(atoms, path)


def structure_from_atoms(atoms, path: Path) -> Structure:
    """An ASE ``Atoms`` read from ``path`` as a Structure, with its numeric per-atom arrays."""
    n = len(atoms)
    if n == 0:
        raise file_error(path, "the structure has no atoms")
    return Structure(
        numbers=atoms.numbers,
        positions=atoms.positions,
        cell=np.asarray(atoms.cell[:]),
        pbc=atoms.pbc,
        arrays=_per_atom_results(atoms, n),
        name=str(path),
    )


def remap_types(structure: Structure, type_map: dict[int, str] | None) -> Structure:
    """Turn placeholder species (atomic numbers 1..k standing for LAMMPS types) into real elements."""
    if type_map is None:
        return structure
    present = set(np.unique(structure.numbers).tolist())
    if not present <= set(type_map):
        return structure  # real elements already (or types the map does not cover)
    lookup = np.zeros(max(type_map) + 1, dtype=np.int64)
    for t, symbol in type_map.items():
        lookup[t] = atomic_numbers[symbol]
    structure.numbers = lookup[structure.numbers]
    return structure


def apply_label_column(structure: Structure, label_column: str | None, path: Path) -> Structure:
    """Set ``label_key`` to ``label_column``, refusing names that are not a per-atom array."""
    if label_column is None:
        return structure
    if label_column not in structure.arrays:
        available = ", ".join(sorted(structure.arrays)) or "none"
        raise file_error(path, f"no per-atom column '{label_column}' (available: {available})")
    if np.asarray(structure.arrays[label_column]).ndim != 1:
        raise file_error(path, f"column '{label_column}' is not a scalar per-atom quantity")
    structure.arrays[label_column] = np.asarray(structure.arrays[label_column], dtype=np.float64)
    structure.label_key = label_column
    structure.validate()
    return structure


def read_structure(
    path: str | Path,
    label_column: str | None = None,
    types: dict[int, str] | str | None = None,
    index: int | None = None,
) -> Structure:
    """Read frame ``index`` of ``path`` as a wrapped Structure with real element species.

    ``label_column`` names the per-atom array to use as the label (dataset pickles default to
    ``barrier``). ``types`` maps LAMMPS type numbers to elements (``{1: "Cu"}`` or ``"1=Cu,2=Zr"``).
    ``index`` picks a frame of a multi-frame file (0 = the first, negative counts from the end);
    ``None`` reads the last and warns (:class:`~symgnn.errors.InputWarning`) when there are several.
    """
    path = Path(path)
    type_map = as_type_map(types)
    check_file(path)
    if path.suffix.lower() in PICKLE_SUFFIXES:
        if index not in (None, 0, -1):
            raise file_error(path, f"frame index {index} is out of range (a dataset pickle holds one structure)")
        structure = cuzr64_to_structure(load_pickle(path), name=str(path))
    elif is_lammps_dump(path):
        structure = read_lammps_dump(path, types=type_map, index=index)
    else:
        structure = remap_types(_read_with_ase(path, index, type_map), type_map)
    return apply_label_column(structure, label_column, path).wrapped()
