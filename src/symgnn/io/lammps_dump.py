"""Read and write LAMMPS text dump files, keeping every per-atom column.

ASE's dump reader drops custom columns (``v_barrier``, ``c_pe``, ...), which are exactly the labels
and descriptors this package needs, so the format is read here. Supported: orthogonal boxes
(``ITEM: BOX BOUNDS pp pp pp``), restricted triclinic boxes (``xy xz yz pp pp pp``, bounding box
converted to the cell as in the LAMMPS "Triclinic (non-orthogonal) simulation boxes" docs), general
triclinic boxes (``abc origin pp pp pp``: each line a cell vector followed by one origin component,
as written by LAMMPS since 2024 and by OVITO), Cartesian (``x y z``, ``xu yu zu``) and scaled
(``xs ys zs``, ``xsu ysu zsu``) coordinates, species from an ``element`` column or from ``type`` plus
a type map.
"""

from __future__ import annotations

import io
import re
from collections.abc import Container, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ase.data import atomic_numbers, chemical_symbols

from symgnn.data.structure import Structure
from symgnn.errors import SymgnnError, file_error, warn_several_frames
from symgnn.io.atomic import atomic_write

# Coordinate column triples, in order of preference, and whether they are fractional.
_COORDINATE_SETS: tuple[tuple[tuple[str, str, str], bool], ...] = (
    (("x", "y", "z"), False),
    (("xu", "yu", "zu"), False),
    (("xs", "ys", "zs"), True),
    (("xsu", "ysu", "zsu"), True),
)
_COORDINATE_COLUMNS = frozenset(name for names, _ in _COORDINATE_SETS for name in names)
_TYPES_HINT = "pass --types 1=Cu,2=Zr (type number = element symbol, comma separated)"


def parse_type_map(text: str) -> dict[int, str]:
    """Parse ``"1=Cu,2=Zr"`` into ``{1: "Cu", 2: "Zr"}``, refusing malformed entries and unknown elements."""
    where = f"--types '{text}'"
    entries = [part.strip() for part in text.split(",") if part.strip()]
    if not entries:
        raise SymgnnError(f"{where}: empty type map; {_TYPES_HINT}")
    mapping: dict[int, str] = {}
    for entry in entries:
        key, sep, symbol = (s.strip() for s in entry.partition("="))
        if not sep or not key or not symbol:
            raise SymgnnError(f"{where}: entry '{entry}' is not of the form TYPE=ELEMENT, e.g. 1=Cu")
        try:
            number = int(key)
        except ValueError:
            raise SymgnnError(f"{where}: type '{key}' is not an integer") from None
        if number <= 0:
            raise SymgnnError(f"{where}: type {number} must be a positive integer")
        symbol = symbol[:1].upper() + symbol[1:].lower()
        if symbol not in atomic_numbers or symbol == "X":
            raise SymgnnError(f"{where}: '{symbol}' is not a chemical element symbol")
        if number in mapping:
            raise SymgnnError(f"{where}: type {number} is given twice")
        mapping[number] = symbol
    return mapping


def as_type_map(types: dict[int, str] | str | None) -> dict[int, str] | None:
    """Accept a type map as a dict, the ``--types`` string form, or ``None``."""
    if types is None or isinstance(types, dict):
        return types
    return parse_type_map(types)


# ----------------------------------------------------------------------------------------------------
# reading


@dataclass
class _Box:
    cell: np.ndarray  # (3, 3) rows are cell vectors
    origin: np.ndarray  # (3,)
    pbc: np.ndarray  # (3,) bool


def _floats(line: str, count: tuple[int, ...], path: Path, what: str) -> list[float]:
    """Parse a line of numbers whose count is one of ``count``."""
    parts = line.split()
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) not in count or len(values) != len(parts):
        raise file_error(path, f"bad {what} line '{line.strip()}'")
    return values


def _parse_flags(flags: list[str], path: Path) -> np.ndarray:
    """Boundary flags (``pp``, ``fs``, ``m``...) to periodicity; absent flags mean periodic."""
    if not flags:
        return np.ones(3, dtype=bool)
    if len(flags) != 3 or not all(re.fullmatch(r"[pfsm]{1,2}", f) for f in flags):
        raise file_error(path, f"bad boundary flags '{' '.join(flags)}' in ITEM: BOX BOUNDS")
    return np.array([set(f) == {"p"} for f in flags])


def _parse_box(header: str, body: list[str], path: Path) -> _Box:
    """Turn ``ITEM: BOX BOUNDS ...`` and its three lines into a cell, an origin and periodicity."""
    tokens = header.split()[3:]
    if len(body) < 3:
        raise file_error(path, "ITEM: BOX BOUNDS needs 3 lines; file is truncated")
    if tokens[:2] == ["abc", "origin"]:
        rows = np.array([_floats(line, (4,), path, "BOX BOUNDS abc origin") for line in body[:3]])
        return _Box(cell=rows[:, :3], origin=rows[:, 3], pbc=_parse_flags(tokens[2:], path))
    tilt_names = [t for t in tokens if t in ("xy", "xz", "yz")]
    pbc = _parse_flags([t for t in tokens if t not in ("xy", "xz", "yz")], path)
    width = (3,) if tilt_names else (2, 3)
    rows = [_floats(line, width, path, "BOX BOUNDS") for line in body[:3]]
    if len({len(row) for row in rows}) != 1:
        raise file_error(path, "ITEM: BOX BOUNDS lines have different numbers of values")
    bounds = np.array([row[:2] for row in rows])
    tilt = {"xy": 0.0, "xz": 0.0, "yz": 0.0}
    if len(rows[0]) == 3:  # tilt factors in the third column, in the order the header names them
        names = tilt_names if len(tilt_names) == 3 else ["xy", "xz", "yz"]
        tilt.update({name: row[2] for name, row in zip(names, rows)})
    xy, xz, yz = tilt["xy"], tilt["xz"], tilt["yz"]
    # LAMMPS writes the bounding box of a tilted cell; undo that to get xlo..xhi etc.
    xlo = bounds[0, 0] - min(0.0, xy, xz, xy + xz)
    xhi = bounds[0, 1] - max(0.0, xy, xz, xy + xz)
    ylo = bounds[1, 0] - min(0.0, yz)
    yhi = bounds[1, 1] - max(0.0, yz)
    zlo, zhi = bounds[2]
    cell = np.array([[xhi - xlo, 0.0, 0.0], [xy, yhi - ylo, 0.0], [xz, yz, zhi - zlo]])
    return _Box(cell=cell, origin=np.array([xlo, ylo, zlo]), pbc=pbc)


def _sections(lines: list[str]) -> list[tuple[str, list[str]]]:
    """Split one frame into ``(ITEM header, body lines)`` pairs; blank lines are dropped."""
    sections: list[tuple[str, list[str]]] = []
    for line in lines:
        if line.startswith("ITEM:"):
            sections.append((line.strip(), []))
        elif line.strip() and sections:
            sections[-1][1].append(line)
    return sections


def _open_dump_text(path: Path) -> Iterator[str]:
    """The lines of a dump, read lazily; unreadable or binary files are one error line naming ``path``."""
    try:
        with open(path, encoding="utf-8") as handle:
            yield from handle
    except FileNotFoundError:
        raise file_error(path, "file not found") from None
    except UnicodeDecodeError:
        raise file_error(path, "not a text LAMMPS dump (binary content)") from None
    except OSError as exc:
        raise file_error(path, f"cannot read file ({exc.strerror or exc})") from None


def count_dump_frames(path: str | Path) -> int:
    """How many frames (``ITEM: TIMESTEP`` lines) a dump holds, by one pass over its text."""
    return sum(1 for line in _open_dump_text(Path(path)) if line.strip() == "ITEM: TIMESTEP")


def iter_dump_frames(
    path: str | Path, indices: Container[int], types: dict[int, str] | str | None = None
) -> Iterator[tuple[int, int | None, Structure]]:
    """``(frame index, TIMESTEP, structure)`` for each frame of a dump whose 0-based index is in
    ``indices``, in file order. The file is streamed: one frame's text is held at a time, and frames
    outside ``indices`` are skipped without parsing. A trajectory's frames may differ in atoms and box."""
    path = Path(path)
    type_map = as_type_map(types)
    index, lines = -1, None

    def parsed(k: int, frame_lines: list[str]) -> tuple[int, int | None, Structure]:
        return k, _timestep(frame_lines), _parse_frame(frame_lines, path, type_map)

    for line in _open_dump_text(path):
        if line.strip() == "ITEM: TIMESTEP":
            if lines is not None:
                yield parsed(index, lines)
            index += 1
            lines = [line] if index in indices else None
        elif lines is not None:
            lines.append(line)
    if index < 0:
        raise file_error(path, "no 'ITEM: TIMESTEP' line; not a LAMMPS text dump")
    if lines is not None:
        yield parsed(index, lines)


def _timestep(lines: list[str]) -> int | None:
    """The number after a frame's ``ITEM: TIMESTEP`` line, when it is an integer."""
    try:
        return int(lines[1].split()[0])
    except (IndexError, ValueError):
        return None


def _species(columns: dict[str, np.ndarray], type_map: dict[int, str] | None, path: Path) -> np.ndarray:
    """Atomic numbers from the ``element`` column, else from ``type`` through ``type_map``."""
    if "element" in columns:
        symbols = columns["element"]
        unknown = sorted({s for s in set(symbols.tolist()) if s not in atomic_numbers or s == "X"})
        if unknown:
            raise file_error(path, f"unknown element symbols in the element column: {', '.join(unknown[:5])}")
        return np.array([atomic_numbers[s] for s in symbols.tolist()], dtype=np.int64)
    if "type" not in columns:
        raise file_error(path, "ITEM: ATOMS has neither a 'type' nor an 'element' column")
    try:
        types = columns["type"].astype(np.int64)
    except ValueError:
        raise file_error(path, "the 'type' column holds non-integer values") from None
    present = sorted(set(types.tolist()))
    if type_map is None:
        raise file_error(path, f"atoms have numeric types {present} and no element column; {_TYPES_HINT}")
    missing = [t for t in present if t not in type_map]
    if missing:
        raise file_error(path, f"atom types {missing} are not in the type map {type_map}; {_TYPES_HINT}")
    lookup = {t: atomic_numbers[s] for t, s in type_map.items()}
    return np.array([lookup[t] for t in types.tolist()], dtype=np.int64)


def _atom_table(header: str, body: list[str], n: int, path: Path) -> dict[str, np.ndarray]:
    """The ``ITEM: ATOMS`` block as string columns keyed by column name."""
    names = header.split()[2:]
    if not names:
        raise file_error(path, "ITEM: ATOMS line names no columns")
    if len(set(names)) != len(names):
        raise file_error(path, f"ITEM: ATOMS names a column twice: {' '.join(names)}")
    if len(body) < n:
        raise file_error(path, f"ITEM: ATOMS has {len(body)} lines for {n} atoms; file is truncated")
    rows = [line.split() for line in body[:n]]
    for k, row in enumerate(rows):
        if len(row) != len(names):
            raise file_error(path, f"atom line {k + 1} has {len(row)} values for {len(names)} columns")
    table = np.array(rows, dtype=str).reshape(n, len(names))
    return {name: table[:, k] for k, name in enumerate(names)}


def _to_float(values: np.ndarray, name: str, path: Path) -> np.ndarray:
    try:
        return values.astype(np.float64)
    except ValueError:
        raise file_error(path, f"column '{name}' holds non-numeric values") from None


def _positions(columns: dict[str, np.ndarray], box: _Box, path: Path) -> np.ndarray:
    """Cartesian positions relative to the box origin from the first coordinate set present."""
    for names, scaled in _COORDINATE_SETS:
        if all(name in columns for name in names):
            coords = np.stack([_to_float(columns[name], name, path) for name in names], axis=1)
            return coords @ box.cell if scaled else coords - box.origin
    raise file_error(path, "ITEM: ATOMS has no coordinate columns (x y z, xu yu zu, xs ys zs or xsu ysu zsu)")


def _extra_arrays(columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Every non-coordinate, non-species column that parses as numbers (ids and types as int64)."""
    arrays: dict[str, np.ndarray] = {}
    for name, values in columns.items():
        if name in _COORDINATE_COLUMNS or name == "element":
            continue
        try:
            parsed = values.astype(np.float64)
        except ValueError:
            continue  # a non-numeric column (e.g. a label string) is no per-atom quantity
        if name in ("id", "type") and np.all(parsed == np.round(parsed)):
            parsed = parsed.astype(np.int64)
        arrays[name] = parsed
    return arrays


def _parse_frame(lines: list[str], path: Path, type_map: dict[int, str] | None) -> Structure:
    by_kind: dict[str, tuple[str, list[str]]] = {}
    for header, body in _sections(lines):
        for kind in ("NUMBER OF ATOMS", "BOX BOUNDS", "ATOMS", "TIMESTEP"):
            if header.startswith(f"ITEM: {kind}"):
                by_kind.setdefault(kind, (header, body))
                break
    for kind in ("NUMBER OF ATOMS", "BOX BOUNDS", "ATOMS"):
        if kind not in by_kind:
            raise file_error(path, f"frame has no 'ITEM: {kind}' section; not a complete LAMMPS dump")
    count_lines = by_kind["NUMBER OF ATOMS"][1]
    try:
        n = int(count_lines[0])
    except (IndexError, ValueError):
        raise file_error(path, "bad or missing number after ITEM: NUMBER OF ATOMS") from None
    if n <= 0:
        raise file_error(path, "the frame has no atoms")
    box = _parse_box(*by_kind["BOX BOUNDS"], path)
    columns = _atom_table(*by_kind["ATOMS"], n, path)
    if "id" in columns:
        ids = _to_float(columns["id"], "id", path).astype(np.int64)
        if len(np.unique(ids)) != n:
            raise file_error(path, "atom ids are not unique")
        order = np.argsort(ids, kind="stable")
        columns = {name: values[order] for name, values in columns.items()}
    numbers = _species(columns, type_map, path)
    structure = Structure(
        numbers=numbers,
        positions=_positions(columns, box, path),
        cell=box.cell,
        pbc=box.pbc,
        arrays=_extra_arrays(columns),
        name=str(path),
    )
    return structure.wrapped()


def read_lammps_dump(
    path: str | Path, types: dict[int, str] | str | None = None, index: int | None = None
) -> Structure:
    """Read frame ``index`` of a LAMMPS text dump as a wrapped Structure.

    ``index`` counts from 0 (negative: from the end). ``None`` reads the last frame and, when the dump
    holds several, says so with an :class:`~symgnn.errors.InputWarning`.

    Positions are shifted so the box origin is at zero. Every non-coordinate column that holds numbers
    (``id``, ``type``, ``v_barrier``, ``c_pe``, ...) is kept in ``structure.arrays`` under its dump name.
    """
    path = Path(path)
    count = count_dump_frames(path)
    if count == 0:
        raise file_error(path, "no 'ITEM: TIMESTEP' line; not a LAMMPS text dump")
    if index is None:
        index = -1
        if count > 1:
            warn_several_frames(path, count)
    if not -count <= index < count:
        raise file_error(path, f"frame index {index} is out of range (the dump has {count} frame{'' if count == 1 else 's'})")
    _, _, structure = next(iter_dump_frames(path, {index % count}, types))
    return structure


# ----------------------------------------------------------------------------------------------------
# writing


def _is_restricted(cell: np.ndarray) -> bool:
    """Whether ``cell`` follows the LAMMPS convention: a along x, b in the xy plane, positive diagonal."""
    scale = max(float(np.abs(cell).max()), 1.0)
    upper = np.abs([cell[0, 1], cell[0, 2], cell[1, 2]])
    return bool(np.all(upper <= 1e-12 * scale) and np.all(np.diag(cell) > 0))


def _box_lines(cell: np.ndarray, pbc: np.ndarray) -> list[str]:
    """``ITEM: BOX BOUNDS`` header and lines for ``cell`` with its origin at zero."""
    flags = " ".join("pp" if p else "ff" for p in pbc)
    if not _is_restricted(cell):
        rows = [f"{v[0]:.10g} {v[1]:.10g} {v[2]:.10g} 0" for v in cell]
        return [f"ITEM: BOX BOUNDS abc origin {flags}", *rows]
    lx, ly, lz = cell[0, 0], cell[1, 1], cell[2, 2]
    xy, xz, yz = cell[1, 0], cell[2, 0], cell[2, 1]
    if xy == 0.0 and xz == 0.0 and yz == 0.0:
        return [f"ITEM: BOX BOUNDS {flags}", f"0 {lx:.10g}", f"0 {ly:.10g}", f"0 {lz:.10g}"]
    x_lo = min(0.0, xy, xz, xy + xz)
    x_hi = lx + max(0.0, xy, xz, xy + xz)
    y_lo, y_hi = min(0.0, yz), ly + max(0.0, yz)
    return [
        f"ITEM: BOX BOUNDS xy xz yz {flags}",
        f"{x_lo:.10g} {x_hi:.10g} {xy:.10g}",
        f"{y_lo:.10g} {y_hi:.10g} {xz:.10g}",
        f"0 {lz:.10g} {yz:.10g}",
    ]


def _type_column(structure: Structure) -> np.ndarray:
    """LAMMPS types: the structure's own ``type`` array if it has one, else 1.. by atomic number."""
    existing = structure.arrays.get("type")
    if existing is not None and np.asarray(existing).ndim == 1:
        values = np.asarray(existing, dtype=np.float64)
        if np.all(values == np.round(values)) and np.all(values > 0):
            return values.astype(np.int64)
    _, inverse = np.unique(structure.numbers, return_inverse=True)
    return inverse.astype(np.int64) + 1


def _output_columns(structure: Structure, extra_columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per-atom scalar columns written after ``id type element x y z``; ``extra_columns`` win clashes."""
    n = len(structure)
    columns: dict[str, np.ndarray] = {}
    for name, values in [*structure.arrays.items(), *extra_columns.items()]:
        values = np.asarray(values)
        if name in ("id", "type", "element") or name in _COORDINATE_COLUMNS:
            continue
        if values.shape != (n,):
            if name in extra_columns:
                raise SymgnnError(f"column '{name}' has shape {values.shape}, expected ({n},)")
            continue  # vector arrays (e.g. forces) have no single dump column
        if not name or any(c.isspace() for c in name):
            raise SymgnnError(f"column name '{name}' is empty or contains white space")
        columns[name] = values.astype(np.float64)
    return columns


def dump_frame_text(structure: Structure, extra_columns: dict[str, np.ndarray] | None = None, timestep: int = 0) -> str:
    """One LAMMPS dump frame for ``structure``: columns ``id type element x y z``, then the structure's
    scalar per-atom arrays, then ``extra_columns`` (e.g. predictions). Frames concatenate into a trajectory."""
    n = len(structure)
    ids = structure.atom_ids()
    types = _type_column(structure)
    symbols = [chemical_symbols[z] for z in structure.numbers.tolist()]
    columns = _output_columns(structure, extra_columns or {})
    buffer = io.StringIO()
    buffer.write(f"ITEM: TIMESTEP\n{int(timestep)}\nITEM: NUMBER OF ATOMS\n{n}\n")
    buffer.write("\n".join(_box_lines(structure.cell, structure.pbc)) + "\n")
    buffer.write("ITEM: ATOMS " + " ".join(["id", "type", "element", "x", "y", "z", *columns]) + "\n")
    values = np.column_stack([structure.positions, *columns.values()]) if columns else structure.positions
    for k in range(n):
        numbers = " ".join(f"{v:.10g}" for v in values[k])
        buffer.write(f"{ids[k]} {types[k]} {symbols[k]} {numbers}\n")
    return buffer.getvalue()


def write_lammps_dump(
    path: str | Path,
    structure: Structure,
    extra_columns: dict[str, np.ndarray] | None = None,
    timestep: int = 0,
) -> Path:
    """Write ``structure`` as a one-frame LAMMPS text dump (:func:`dump_frame_text`), atomically.
    Readable by :func:`read_lammps_dump`, ASE and OVITO."""
    path = Path(path)
    text = dump_frame_text(structure, extra_columns, timestep)
    with atomic_write(path, "w") as handle:
        handle.write(text)
    return path
