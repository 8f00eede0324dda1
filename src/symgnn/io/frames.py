"""Read chosen frames of a trajectory one at a time (``symgnn predict --frame all``, ``--frame 0:100:10``).

A frame selection is an ``int`` (one frame, as :func:`symgnn.io.read.read_structure` reads it) or a
``slice`` over the file's frames in file order (0 = the first, negatives count from the end, the step
is positive). :func:`read_frames` streams the selected frames, so a long trajectory never sits in
memory: LAMMPS dumps are scanned as text (frames outside the selection are not parsed), other
multi-frame formats go through ``ase.io.iread``. Files that hold one structure (dataset pickles,
POSCAR, LAMMPS data files) are a trajectory of one frame.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from symgnn.data.structure import Structure
from symgnn.errors import SymgnnError, file_error
from symgnn.io.lammps_dump import as_type_map, count_dump_frames, iter_dump_frames
from symgnn.io.read import (
    PICKLE_SUFFIXES, UNKNOWN_FORMAT, apply_label_column, ase_format, check_file, is_lammps_dump, remap_types,
    structure_from_atoms,
)

FRAME_SYNTAX = "N (one frame, 0 = the first, -1 = the last), START:STOP[:STEP] (Python slice) or all"


@dataclass(frozen=True)
class Frame:
    """One frame of a trajectory: its 0-based position in the file, its LAMMPS ``TIMESTEP`` (dumps
    only) and the structure, wrapped, with real element species and its label column set."""

    index: int
    timestep: int | None
    structure: Structure


def parse_frame_selection(text: str) -> int | slice:
    """``"3"`` -> 3, ``"-1"`` -> -1, ``"all"`` -> ``slice(None)``, ``"10:"`` / ``"0:100:10"`` -> a slice.
    Anything else, and a step that is not positive, is one error line naming ``--frame``."""
    text = text.strip()
    shown = text or "''"
    if text.lower() == "all":
        return slice(None)
    parts = text.split(":")
    try:
        values = [int(part) if part.strip() else None for part in parts]
    except ValueError:
        values = []
    if not values or len(values) > 3 or (len(values) == 1 and values[0] is None):
        raise SymgnnError(f"--frame {shown}: expected {FRAME_SYNTAX}")
    if len(values) == 1:
        return values[0]
    if len(values) == 3 and values[2] is not None and values[2] <= 0:
        raise SymgnnError(f"--frame {shown}: the step must be positive (frames are read in file order)")
    return slice(*values)


def frame_count(path: str | Path) -> int:
    """How many frames ``path`` holds (a full pass over the file for formats other than dumps)."""
    import ase.io
    from ase.io.formats import ioformats

    path = Path(path)
    check_file(path)
    if path.suffix.lower() in PICKLE_SUFFIXES:
        return 1
    if is_lammps_dump(path):
        return count_dump_frames(path)
    fmt = _format_or_error(path)
    if ioformats[fmt].single:
        return 1
    frames = ase.io.iread(path, index=":", format=fmt)
    count = 0
    while _ase_errors(path, lambda: next(frames, None), count) is not None:  # an unreadable frame is named
        count += 1
    return count


def read_frames(
    path: str | Path,
    frames: slice | int = slice(None),
    label_column: str | None = None,
    types: dict[int, str] | str | None = None,
) -> Iterator[Frame]:
    """The frames of ``path`` that ``frames`` selects (a slice, or one index), one at a time, in file order.

    A selection that picks no frame is one error line saying how many the file holds; so is a frame
    that cannot be read (naming its index). ``label_column`` and ``types`` act as in
    :func:`~symgnn.io.read.read_structure`, on every frame.
    """
    path = Path(path)
    if isinstance(frames, int) and not isinstance(frames, bool):  # one frame, as --frame N
        frames = slice(frames, frames + 1 or None)
    if not isinstance(frames, slice):
        raise SymgnnError(f"{path}: frames must be a slice or an int (a frame index), got {frames!r}")
    if frames.step is not None and frames.step <= 0:
        raise SymgnnError(f"{path}: the frame step must be positive (frames are read in file order)")
    type_map = as_type_map(types)
    count = None if _streams_without_count(path, frames) else frame_count(path)
    selected = range(*frames.indices(count)) if count is not None else range(frames.start or 0, frames.stop,
                                                                              frames.step or 1)
    if not selected:
        raise picks_no_frame(path, frames, count)
    several = count is None or count > 1
    frames_read = _raw_frames(path, selected, count, type_map)
    for expected in selected:  # the frame being read, for an error message
        try:
            index, timestep, structure = next(frames_read)
            structure.name = f"{path} frame {index}" if several else str(path)
            labelled = apply_label_column(structure, label_column, path)
        except StopIteration:
            if expected == selected[0]:  # the file ended before the selection began
                raise picks_no_frame(path, frames, count) from None
            return
        except SymgnnError as error:  # which frame, for a file of several
            raise _in_frame(error, path, expected if several else None) from None
        yield Frame(index, timestep, labelled.wrapped())


def _streams_without_count(path: Path, frames: slice) -> bool:
    """Whether the frames ``frames`` selects are known without counting the file's frames first: a
    multi-frame format read through ASE, with a start and stop that do not count from the end. Then
    reading stops at the selection's end, so a long or cut-short trajectory is not parsed past it.
    (Dumps are counted by a cheap text scan; one-frame formats need no count.)"""
    from ase.io.formats import ioformats

    check_file(path)
    if path.suffix.lower() in PICKLE_SUFFIXES or is_lammps_dump(path) or ioformats[_format_or_error(path)].single:
        return False
    return (frames.start is None or frames.start >= 0) and frames.stop is not None and frames.stop >= 0


def picks_no_frame(path: str | Path, frames: slice, count: int | None = None) -> SymgnnError:
    """The error for a selection that picks none of the ``count`` frames of ``path`` (counted when ``None``)."""
    count = frame_count(path) if count is None else count
    return file_error(path, f"the frame selection {spelled_selection(frames)} picks no frame "
                            f"(the file holds {count} frame{'' if count == 1 else 's'})")


def _in_frame(error: SymgnnError, path: Path, index: int | None) -> SymgnnError:
    """``error`` about ``path`` with the frame it concerns after the file name."""
    message, prefix = str(error), f"{path}: "
    if index is None or f"frame {index}" in message:
        return error
    return SymgnnError(f"{prefix}frame {index}: {message.removeprefix(prefix)}")


def _raw_frames(
    path: Path, selected: range, count: int | None, type_map: dict[int, str] | None
) -> Iterator[tuple[int, int | None, Structure]]:
    """``(index, timestep, structure)`` of the selected frames, before labels and wrapping; ``count``
    ``None`` when the file's frames were not counted (the selection may run past its end)."""
    import ase.io

    if is_lammps_dump(path):  # before one-frame files: a dump's frames keep their TIMESTEP
        yield from iter_dump_frames(path, selected, type_map)
        return
    if count == 1:  # dataset pickles, POSCAR, LAMMPS data, ...: read_structure knows their options
        from symgnn.io.read import read_structure

        yield 0, None, read_structure(path, types=type_map, index=0)
        return
    fmt = ase_format(path)
    frames = iter(ase.io.iread(path, index=slice(selected.start, selected.stop, selected.step), format=fmt))
    for index in selected:  # ASE skips the frames in between
        if count is None:  # uncounted: a selection past the file's end stops there, as a slice would
            atoms = _ase_errors(path, lambda: next(frames, None), index)
            if atoms is None:
                return
        else:
            atoms = _ase_errors(path, lambda: next(frames), index)
        yield index, None, remap_types(structure_from_atoms(atoms, path), type_map)


def _format_or_error(path: Path) -> str:
    from ase.io.formats import UnknownFileTypeError

    try:
        return ase_format(path)
    except UnknownFileTypeError:
        raise file_error(path, UNKNOWN_FORMAT) from None
    except Exception as exc:  # ASE's format sniffing fails in many ways on malformed files
        raise file_error(path, f"cannot read as a structure ({_first_line(exc)})") from None


def _ase_errors(path: Path, action, index: int | None = None):
    """Run ``action`` (an ASE read), turning its failures into one line naming ``path`` (and the frame)."""
    try:
        return action()
    except SymgnnError:
        raise
    except StopIteration:
        raise file_error(path, f"frame {index} is missing (the file ended)") from None
    except Exception as exc:
        where = "" if index is None else f"frame {index}: "
        raise file_error(path, f"{where}cannot read as a structure (malformed: {_first_line(exc)})") from None


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def spelled_selection(frames: slice) -> str:
    """A slice as the user typed it: ``10:20``, ``::5``."""
    text = ":".join("" if v is None else str(v) for v in (frames.start, frames.stop))
    return text if frames.step is None else f"{text}:{frames.step}"
