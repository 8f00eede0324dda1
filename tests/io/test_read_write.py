"""read_structure dispatch, extended XYZ round trips, write_predictions and atomic_write."""

from __future__ import annotations

import pickle
import warnings
from pathlib import Path

import ase.io
import numpy as np
import pytest
from ase import Atoms

from symgnn.data.structure import Structure
from symgnn.errors import InputWarning, SymgnnError
from symgnn.io.atomic import atomic_path, atomic_write
from symgnn.io.read import read_structure
from symgnn.io.write import write_predictions


def _structure(n: int = 12) -> Structure:
    rng = np.random.default_rng(7)
    cell = np.diag([8.0, 9.0, 10.0])
    return Structure(numbers=[29] * (n - 4) + [40] * 4, positions=rng.random((n, 3)) @ cell, cell=cell,
                     pbc=True, arrays={"barrier": rng.random(n) + 1}, name="s", label_key="barrier")


def test_extxyz_round_trip_with_label(tmp_path: Path) -> None:
    s = _structure()
    atoms = Atoms(numbers=s.numbers, positions=s.positions - 1.0, cell=s.cell, pbc=True)  # some outside
    atoms.new_array("barrier", s.labels)
    path = tmp_path / "in.xyz"
    ase.io.write(path, atoms, format="extxyz")
    back = read_structure(path, label_column="barrier")
    assert back.label_key == "barrier"
    np.testing.assert_allclose(back.labels, s.labels)
    assert np.all(back.positions >= 0) and np.all(back.positions < np.diag(s.cell))
    with pytest.raises(SymgnnError, match=r"no per-atom column 'nope' \(available: barrier\)"):
        read_structure(path, label_column="nope")


def test_multi_frame_files_read_the_last_frame_and_say_so(tmp_path: Path) -> None:
    """A trajectory (three extended-XYZ frames): the last frame by default with one warning naming the
    file, any frame on request without one; a pickle holds one structure."""
    frames = []
    for k in range(3):
        s = _structure()
        atoms = Atoms(numbers=s.numbers, positions=s.positions, cell=s.cell, pbc=True)
        atoms.new_array("barrier", np.full(len(s), float(k)))
        frames.append(atoms)
    path = tmp_path / "traj.xyz"
    ase.io.write(path, frames, format="extxyz")
    with pytest.warns(InputWarning, match=r"traj.xyz: holds several frames; reading the last") as record:
        assert read_structure(path, label_column="barrier").labels[0] == 2.0
    assert len(record) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert read_structure(path, label_column="barrier", index=0).labels[0] == 0.0
        assert read_structure(path, label_column="barrier", index=-2).labels[0] == 1.0
        ase.io.write(tmp_path / "one.xyz", frames[0], format="extxyz")
        assert read_structure(tmp_path / "one.xyz", label_column="barrier").labels[0] == 0.0
    with pytest.raises(SymgnnError, match="traj.xyz: frame index 3 is out of range"):
        read_structure(path, index=3)
    data = {"positions": np.zeros((1, 3)), "box": np.ones(3) * 4, "types": np.array([1])}
    (tmp_path / "d.pkl").write_bytes(pickle.dumps(data))
    with pytest.raises(SymgnnError, match="d.pkl: frame index 1 is out of range"):
        read_structure(tmp_path / "d.pkl", index=1)


def test_single_structure_formats_poscar_and_lammps_data(tmp_path: Path) -> None:
    """POSCAR and LAMMPS data files hold one structure (ASE cannot slice their frames, and cannot tell
    a LAMMPS data file from its content): both read, with elements from the file, from the data
    file's Masses, or from ``types`` when it has none; a frame other than the one is refused."""
    s = _structure()
    atoms = Atoms(numbers=s.numbers, positions=s.positions, cell=s.cell, pbc=True)
    ase.io.write(tmp_path / "POSCAR", atoms, format="vasp")
    ase.io.write(tmp_path / "glass.vasp", atoms, format="vasp")
    ase.io.write(tmp_path / "glass.data", atoms, format="lammps-data", masses=True, specorder=["Cu", "Zr"])
    ase.io.write(tmp_path / "untyped.lmp", atoms, format="lammps-data", specorder=["Cu", "Zr"])
    (tmp_path / "data.glass").write_bytes((tmp_path / "glass.data").read_bytes())
    (tmp_path / "glass.txt").write_bytes((tmp_path / "glass.data").read_bytes())  # told by its header
    for name, types in [("POSCAR", None), ("glass.vasp", None), ("glass.data", None), ("data.glass", None),
                        ("glass.txt", None), ("untyped.lmp", "1=Cu,2=Zr")]:
        back = read_structure(tmp_path / name, types=types)
        order = np.lexsort(s.positions.T[::-1])
        again = np.lexsort(back.positions.T[::-1])
        np.testing.assert_array_equal(back.numbers[again], s.numbers[order], err_msg=name)
        np.testing.assert_allclose(back.positions[again], s.positions[order], atol=1e-6, err_msg=name)
        np.testing.assert_allclose(back.cell, s.cell, atol=1e-9)
    ase.io.write(tmp_path / "data.xyz", atoms, format="extxyz")  # named like LAMMPS's data.<name>, but XYZ
    assert len(read_structure(tmp_path / "data.xyz")) == len(s)
    (tmp_path / "odd.xyz").write_text("2\n0 10 xlo xhi\nCu 0 0 0\nZr 2.7 0 0\n")  # a header-like comment line
    assert len(read_structure(tmp_path / "odd.xyz")) == 2
    with pytest.raises(SymgnnError, match=r"untyped\.lmp: atom type 2 is not in the type map \{1: 'Cu'\}"):
        read_structure(tmp_path / "untyped.lmp", types="1=Cu")
    with pytest.warns(InputWarning, match=r"untyped\.lmp: a LAMMPS data file without Masses.*pass --types"):
        assert set(read_structure(tmp_path / "untyped.lmp").numbers) == {1, 2}  # types left as they are
    swapped = read_structure(tmp_path / "glass.data", types="1=Zr,2=Cu")  # the user's map wins over Masses
    np.testing.assert_array_equal(swapped.numbers, np.where(read_structure(tmp_path / "glass.data").numbers == 29, 40, 29))
    with pytest.raises(SymgnnError, match=r"POSCAR: frame index 2 is out of range \(a vasp file holds one structure\)"):
        read_structure(tmp_path / "POSCAR", index=2)
    assert len(read_structure(tmp_path / "glass.data", index=0)) == len(s)


def test_type_map_remaps_placeholder_species(tmp_path: Path) -> None:
    atoms = Atoms(numbers=[1, 2, 1], positions=np.eye(3), cell=np.eye(3) * 5, pbc=True)
    path = tmp_path / "types.xyz"
    ase.io.write(path, atoms, format="extxyz")
    assert read_structure(path, types="1=Cu,2=Zr").numbers.tolist() == [29, 40, 29]
    assert read_structure(path).numbers.tolist() == [1, 2, 1]


def test_dispatch_pickle_and_dump_by_content(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    data = {"positions": rng.random((4, 3)) - 0.5, "box": np.ones(3, np.float32) * 4,
            "types": np.array([1, 2, 1, 1]), "trajectory_start_velocities": np.ones(4, np.float32)}
    (tmp_path / "d.pkl").write_bytes(pickle.dumps(data))
    s = read_structure(tmp_path / "d.pkl")
    assert s.label_key == "barrier" and s.numbers.tolist() == [29, 40, 29, 29]
    dump = ("ITEM: TIMESTEP\n0\nITEM: NUMBER OF ATOMS\n1\nITEM: BOX BOUNDS pp pp pp\n0 3\n0 3\n0 3\n"
            "ITEM: ATOMS id element x y z v_b\n1 Cu 1 1 1 0.5\n")
    (tmp_path / "frame.txt").write_text(dump)  # no dump suffix: detected by its first line
    s = read_structure(tmp_path / "frame.txt", label_column="v_b")
    assert s.labels.tolist() == [0.5]


def test_unreadable_inputs(tmp_path: Path) -> None:
    with pytest.raises(SymgnnError, match="missing.xyz: file not found"):
        read_structure(tmp_path / "missing.xyz")
    with pytest.raises(SymgnnError, match="is a directory"):
        read_structure(tmp_path)
    for name in ("empty.xyz", "empty.pickle", "empty.dump"):  # each reader: one plain message
        (tmp_path / name).write_bytes(b"")
        with pytest.raises(SymgnnError, match=f"{name}: file is empty"):
            read_structure(tmp_path / name)
    bad = tmp_path / "weird.qqq"
    bad.write_text("nothing to see\n")
    with pytest.raises(SymgnnError, match="weird.qqq") as info:
        read_structure(bad)
    assert "\n" not in str(info.value)
    broken = tmp_path / "broken.xyz"
    broken.write_text("3\ncomment\nCu 0 0\n")
    with pytest.raises(SymgnnError, match="broken.xyz"):
        read_structure(broken)


def test_write_predictions_round_trip(tmp_path: Path) -> None:
    s = _structure()
    pred = s.labels * 0.5
    out = tmp_path / "out"
    paths = write_predictions(s, {"barrier_pred": pred}, out, "s")
    assert [p.name for p in paths] == ["s.xyz", "s.csv"]
    atoms = ase.io.read(out / "s.xyz")
    np.testing.assert_allclose(atoms.arrays["barrier_pred"], pred)
    np.testing.assert_allclose(atoms.arrays["barrier"], s.labels)
    np.testing.assert_allclose(atoms.positions, s.positions)
    assert atoms.get_chemical_symbols() == ["Cu"] * 8 + ["Zr"] * 4
    lines = (out / "s.csv").read_text().splitlines()
    assert lines[0] == "index,id,species,x,y,z,barrier,barrier_pred" and len(lines) == 13
    assert lines[1].startswith("0,1,Cu,") and lines[12].startswith("11,12,Zr,")
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temp files left
    with pytest.raises(SymgnnError, match="s.xyz: already exists"):
        write_predictions(s, {"barrier_pred": pred}, out, "s")
    write_predictions(s, {"barrier_pred": pred + 1}, out, "s", overwrite=True)
    np.testing.assert_allclose(ase.io.read(out / "s.xyz").arrays["barrier_pred"], pred + 1)


def test_write_predictions_adds_dump_for_dump_source(tmp_path: Path) -> None:
    dump = ("ITEM: TIMESTEP\n0\nITEM: NUMBER OF ATOMS\n2\nITEM: BOX BOUNDS pp pp pp\n0 3\n0 3\n0 3\n"
            "ITEM: ATOMS id type x y z c_pe\n7 2 1 1 1 -1\n5 1 2 2 2 -2\n")
    source = tmp_path / "in.lammpstrj"
    source.write_text(dump)
    s = read_structure(source, types={1: "Cu", 2: "Zr"})
    paths = write_predictions(s, {"pred": np.array([0.1, 0.2])}, tmp_path, "p", source_path=source)
    assert paths[-1].name == "p.dump"
    back = read_structure(paths[-1], label_column="pred")
    assert back.arrays["id"].tolist() == [5, 7] and back.arrays["type"].tolist() == [1, 2]
    np.testing.assert_allclose(back.labels, [0.1, 0.2])
    np.testing.assert_allclose(back.arrays["c_pe"], [-2, -1])
    assert (tmp_path / "p.csv").read_text().splitlines()[1].startswith("0,5,Cu,")


def test_atomic_write_keeps_target_on_error(tmp_path: Path) -> None:
    target = tmp_path / "a.json"
    with atomic_write(target) as handle:
        handle.write("{}")
    assert target.read_text() == "{}"
    with pytest.raises(RuntimeError):
        with atomic_write(target, "wb") as handle:
            handle.write(b"partial")
            raise RuntimeError("boom")
    assert target.read_text() == "{}"
    with atomic_path(tmp_path / "b.txt") as temp:
        assert temp.suffix == ".txt" and temp.parent == tmp_path
        temp.write_text("ok")
    assert (tmp_path / "b.txt").read_text() == "ok"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "b.txt"]
