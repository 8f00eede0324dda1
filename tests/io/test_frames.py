"""Trajectories: choosing frames (``--frame all``, ``0:10:2``), streaming them, and writing one
multi-frame output per format."""

from __future__ import annotations

import ase.io
import numpy as np
import pytest

from symgnn.errors import SymgnnError
from symgnn.io.frames import Frame, frame_count, parse_frame_selection, read_frames
from symgnn.io.lammps_dump import dump_frame_text, read_lammps_dump
from symgnn.io.write import TrajectoryWriter, write_predictions
from tests.helpers import random_structure


@pytest.mark.parametrize("text, expected", [
    ("all", slice(None)), ("ALL", slice(None)), (":", slice(None)), ("3", 3), ("-1", -1), ("2:", slice(2, None)),
    ("-3:", slice(-3, None)), ("0:10:2", slice(0, 10, 2)), ("::5", slice(None, None, 5)), (" 1:4 ", slice(1, 4)),
])
def test_frame_selections_parse(text, expected):
    assert parse_frame_selection(text) == expected


@pytest.mark.parametrize("text, problem", [
    ("x", "expected N"), ("1.5", "expected N"), ("", "--frame '': expected N"), (":::", "expected N"),
    ("0:4:0", "the step must be positive"), ("4:0:-1", "the step must be positive"),
])
def test_bad_frame_selections_are_one_line(text, problem):
    with pytest.raises(SymgnnError, match=problem):
        parse_frame_selection(text)


def _frames(count: int = 4, atoms: int = 30) -> list:
    """``count`` different labelled structures, the last one smaller (trajectories may change size)."""
    return [random_structure(atoms if k < count - 1 else atoms - 5, seed=k) for k in range(count)]


def _write_dump(path, structures) -> None:
    path.write_text("".join(dump_frame_text(s, {"v_barrier": s.arrays["barrier"]}, timestep=1000 * k)
                            for k, s in enumerate(structures)))


def _write_xyz(path, structures) -> None:
    from symgnn.io.write import _columns, _xyz_atoms

    with open(path, "w") as handle:
        for s in structures:
            ase.io.write(handle, _xyz_atoms(s, _columns(s, {})), format="extxyz")


@pytest.mark.parametrize("suffix", ["dump", "xyz"])
def test_read_frames_streams_the_selected_frames_in_order(tmp_path, suffix):
    structures = _frames()
    path = tmp_path / f"t.{suffix}"
    (_write_dump if suffix == "dump" else _write_xyz)(path, structures)
    label = "v_barrier" if suffix == "dump" else "barrier"
    assert frame_count(path) == 4
    for selection, indices in [(slice(None), [0, 1, 2, 3]), (slice(1, 3), [1, 2]), (slice(-2, None), [2, 3]),
                               (slice(None, None, 2), [0, 2]), (slice(3, 99), [3])]:
        frames = list(read_frames(path, selection, label_column=label))
        assert [f.index for f in frames] == indices
        assert [f.structure.name for f in frames] == [f"{path} frame {k}" for k in indices]
        for frame in frames:
            original = structures[frame.index]
            assert len(frame.structure) == len(original)
            np.testing.assert_allclose(frame.structure.labels, original.arrays["barrier"], rtol=1e-8)
            np.testing.assert_allclose(frame.structure.positions, original.wrapped().positions, atol=1e-6)
            assert frame.timestep == (1000 * frame.index if suffix == "dump" else None)
    with pytest.raises(SymgnnError, match=r"t\.\w+: the frame selection 4: picks no frame \(the file holds 4 frames\)"):
        list(read_frames(path, slice(4, None)))
    with pytest.raises(SymgnnError, match=r"the frame selection 5:8 picks no frame \(the file holds 4 frames\)"):
        list(read_frames(path, slice(5, 8)))  # for extended XYZ, streamed without a count first
    with pytest.raises(SymgnnError, match="step must be positive"):
        list(read_frames(path, slice(None, None, -1)))


def test_one_structure_files_are_a_trajectory_of_one_frame(tmp_path):
    structure = random_structure(20, seed=3)
    ase.io.write(tmp_path / "POSCAR", ase.Atoms(numbers=structure.numbers, positions=structure.positions,
                                                cell=structure.cell, pbc=True), format="vasp")
    frames = list(read_frames(tmp_path / "POSCAR"))
    assert [(f.index, f.timestep, f.structure.name) for f in frames] == [(0, None, str(tmp_path / "POSCAR"))]
    with pytest.raises(SymgnnError, match="picks no frame"):
        list(read_frames(tmp_path / "POSCAR", slice(1, None)))


def test_unreadable_frames_name_the_file_and_frame(tmp_path):
    path = tmp_path / "broken.xyz"
    _write_xyz(path, _frames(2))
    path.write_text(path.read_text() + "3\ncomment\nCu 0 0\n")  # a third frame cut short
    with pytest.raises(SymgnnError, match="broken.xyz: frame 2: cannot read"):
        list(read_frames(path))
    with pytest.raises(SymgnnError, match="broken.xyz: frame 2: cannot read"):
        frame_count(path)
    # a selection that ends before the cut-short frame is read without parsing it (no count needed)
    assert [f.index for f in read_frames(path, slice(0, 2))] == [0, 1]
    assert [f.index for f in read_frames(path, slice(None, 1))] == [0]
    with pytest.raises(SymgnnError, match="broken.xyz: frame 2: cannot read"):
        list(read_frames(path, slice(1, 10)))
    with pytest.raises(SymgnnError, match="missing.xyz: file not found"):
        list(read_frames(tmp_path / "missing.xyz"))
    dump = tmp_path / "broken.dump"
    _write_dump(dump, _frames(2))
    dump.write_text(dump.read_text() + "ITEM: TIMESTEP\n5\nITEM: NUMBER OF ATOMS\n3\n")
    with pytest.raises(SymgnnError, match="broken.dump: frame 2: frame has no 'ITEM: BOX BOUNDS' section"):
        list(read_frames(dump))
    assert len(list(read_frames(dump, slice(0, 2)))) == 2  # frames outside the selection are not parsed
    unlabelled = tmp_path / "unlabelled.dump"  # the label column missing from one frame only
    structures = _frames(3)
    unlabelled.write_text("".join(dump_frame_text(s, {"v_barrier": s.arrays["barrier"]} if k != 1 else {})
                                  for k, s in enumerate(structures)))
    with pytest.raises(SymgnnError, match=r"unlabelled.dump: frame 1: no per-atom column 'v_barrier'"):
        list(read_frames(unlabelled, label_column="v_barrier"))


def test_an_output_that_is_the_input_is_refused_even_with_overwrite(tmp_path):
    """Predicting a.dump into its own folder would write a.dump over it: refused, whatever --overwrite says."""
    structure = random_structure(20, seed=1)
    source = tmp_path / "a.dump"
    source.write_text(dump_frame_text(structure))
    before = source.read_bytes()
    for writer in (lambda: write_predictions(structure, {"p": structure.labels}, tmp_path, "a", overwrite=True,
                                             source_path=source),
                   lambda: TrajectoryWriter(tmp_path, "a", overwrite=True, source_path=source)):
        with pytest.raises(SymgnnError, match=r"a.dump: is also an output \(a.dump\); give another --out"):
            writer()
    assert source.read_bytes() == before


def test_read_lammps_dump_still_reads_one_frame_by_index(tmp_path):
    structures = _frames(3)
    path = tmp_path / "t.dump"
    _write_dump(path, structures)
    assert len(read_lammps_dump(path, index=-1)) == len(structures[-1])
    np.testing.assert_allclose(read_lammps_dump(path, index=1).arrays["v_barrier"], structures[1].arrays["barrier"])
    with pytest.raises(SymgnnError, match=r"frame index -4 is out of range \(the dump has 3 frames\)"):
        read_lammps_dump(path, index=-4)


def test_trajectory_writer_writes_every_frame_or_nothing(tmp_path):
    structures = _frames(3)
    source = tmp_path / "t.dump"
    _write_dump(source, structures)
    frames = list(read_frames(source, label_column="v_barrier"))
    out = tmp_path / "out"
    with TrajectoryWriter(out, "t", source_path=source) as writer:
        for frame in frames:
            writer.write(frame, {"predicted_barrier": frame.structure.labels + frame.index})
    assert [p.name for p in writer.targets] == ["t.xyz", "t.csv", "t.dump"]
    back = ase.io.read(out / "t.xyz", index=":")
    assert [len(a) for a in back] == [len(s) for s in structures]
    assert [(a.info["frame"], a.info["timestep"]) for a in back] == [(0, 0), (1, 1000), (2, 2000)]
    for k, atoms in enumerate(back):
        np.testing.assert_allclose(atoms.arrays["predicted_barrier"], structures[k].arrays["barrier"] + k, rtol=1e-8)
    dumped = list(read_frames(out / "t.dump", label_column="predicted_barrier"))
    assert [f.timestep for f in dumped] == [0, 1000, 2000]
    np.testing.assert_allclose(dumped[2].structure.labels, structures[2].arrays["barrier"] + 2, rtol=1e-8)
    rows = (out / "t.csv").read_text().splitlines()
    assert rows[0] == "frame,index,id,species,x,y,z,v_barrier,predicted_barrier"
    assert len(rows) == 1 + sum(len(s) for s in structures)
    assert rows[1].startswith("0,0,") and rows[-1].startswith(f"2,{len(structures[2]) - 1},")
    with pytest.raises(SymgnnError, match="t.xyz: already exists"):
        TrajectoryWriter(out, "t", source_path=source)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with pytest.raises(RuntimeError):
        with TrajectoryWriter(out, "t", overwrite=True, source_path=source) as writer:
            writer.write(frames[0], {"predicted_barrier": frames[0].structure.labels})
            raise RuntimeError("interrupted after one frame")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # nothing replaced, no temporary files left


def test_one_frame_outputs_are_unchanged_by_the_trajectory_writer(tmp_path):
    """A trajectory of one frame differs from write_predictions only by the CSV's frame column."""
    structure = random_structure(25, seed=5)
    prediction = {"predicted_barrier": structure.labels * 2}
    write_predictions(structure, prediction, tmp_path / "single", "s")
    with TrajectoryWriter(tmp_path / "trajectory", "s") as writer:
        writer.write(Frame(0, None, structure), prediction)
    single = (tmp_path / "single" / "s.csv").read_text().splitlines()
    trajectory = (tmp_path / "trajectory" / "s.csv").read_text().splitlines()
    assert trajectory[0] == "frame," + single[0]
    assert [row.removeprefix("0,") for row in trajectory[1:]] == single[1:]


def test_read_frames_takes_one_index_too(tmp_path):
    path = tmp_path / "t.dump"
    _write_dump(path, _frames(3))
    assert [f.index for f in read_frames(path, -1)] == [2]
    assert [f.index for f in read_frames(path, 0)] == [0]
    with pytest.raises(SymgnnError, match="frames must be a slice or an int"):
        list(read_frames(path, "all"))


def test_counts_are_spelled_in_the_singular_for_one_frame(tmp_path):
    from symgnn.io.read import read_structure

    path = tmp_path / "one.dump"
    _write_dump(path, _frames(1))
    with pytest.raises(SymgnnError, match=r"frame index 3 is out of range \(the dump has 1 frame\)"):
        read_structure(path, index=3)
    with pytest.raises(SymgnnError, match=r"picks no frame \(the file holds 1 frame\)"):
        list(read_frames(path, slice(1, None)))
