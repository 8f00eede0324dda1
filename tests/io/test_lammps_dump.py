"""LAMMPS text dump reader and writer."""

from __future__ import annotations

import warnings
from pathlib import Path

import ase.io
import numpy as np
import pytest

from symgnn.data.structure import Structure
from symgnn.errors import InputWarning, SymgnnError
from symgnn.io.lammps_dump import parse_type_map, read_lammps_dump, write_lammps_dump

ORTHO = """ITEM: TIMESTEP
100
ITEM: NUMBER OF ATOMS
3
ITEM: BOX BOUNDS pp pp pp
-5 5
0 10
0 10
ITEM: ATOMS id type x y z c_pe v_barrier
3 2 4.0 1.0 1.0 -6.1 2.5
1 1 -4.0 2.0 3.0 -3.5 1.5
2 1 6.0 9.0 9.5 -3.4 1.7
"""


def _write(tmp_path: Path, text: str, name: str = "a.dump") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_orthogonal_sorted_wrapped_custom_columns(tmp_path: Path) -> None:
    s = read_lammps_dump(_write(tmp_path, ORTHO), types={1: "Cu", 2: "Zr"})
    assert s.numbers.tolist() == [29, 29, 40]  # sorted by id
    np.testing.assert_allclose(s.cell, np.diag([10.0, 10.0, 10.0]))
    assert s.pbc.all()
    # origin (-5, 0, 0) moved to zero; id 2 at x=6 lies outside the box and wraps
    np.testing.assert_allclose(s.positions, [[1.0, 2.0, 3.0], [1.0, 9.0, 9.5], [9.0, 1.0, 1.0]])
    np.testing.assert_allclose(s.arrays["v_barrier"], [1.5, 1.7, 2.5])
    np.testing.assert_allclose(s.arrays["c_pe"], [-3.5, -3.4, -6.1])
    assert s.arrays["id"].tolist() == [1, 2, 3] and s.arrays["type"].tolist() == [1, 1, 2]


def test_numeric_types_without_map_refused(tmp_path: Path) -> None:
    with pytest.raises(SymgnnError, match="--types 1=Cu,2=Zr"):
        read_lammps_dump(_write(tmp_path, ORTHO))
    with pytest.raises(SymgnnError, match=r"types \[2\] are not in the type map"):
        read_lammps_dump(_write(tmp_path, ORTHO), types="1=Cu")


def test_element_column_and_scaled_coordinates(tmp_path: Path) -> None:
    text = """ITEM: TIMESTEP
0
ITEM: NUMBER OF ATOMS
2
ITEM: BOX BOUNDS pp pp fs
0 4
0 5
-1 5
ITEM: ATOMS id element xs ys zs q
1 Cu 0.5 0.5 0.5 0.1
2 Zr 0.25 0.0 1.0 0.2
"""
    s = read_lammps_dump(_write(tmp_path, text))
    assert s.numbers.tolist() == [29, 40]
    assert s.pbc.tolist() == [True, True, False]
    np.testing.assert_allclose(s.positions, [[2.0, 2.5, 3.0], [1.0, 0.0, 6.0]])
    assert "element" not in s.arrays and "q" in s.arrays


def test_triclinic_bounding_box(tmp_path: Path) -> None:
    # cell a=(10,0,0) b=(2,9,0) c=(-1.5,1,8) with origin 0: bounding box x in [-1.5, 12], y in [0, 10]
    text = """ITEM: TIMESTEP
0
ITEM: NUMBER OF ATOMS
1
ITEM: BOX BOUNDS xy xz yz pp pp pp
-1.5 12 2
0 10 -1.5
0 8 1
ITEM: ATOMS id type xs ys zs
1 1 0.5 0.5 0.5
"""
    s = read_lammps_dump(_write(tmp_path, text), types={1: "Cu"})
    cell = np.array([[10.0, 0, 0], [2, 9, 0], [-1.5, 1, 8]])
    np.testing.assert_allclose(s.cell, cell)
    np.testing.assert_allclose(s.positions[0], 0.5 * cell.sum(axis=0))


def test_abc_origin_layout(tmp_path: Path) -> None:
    text = """ITEM: TIMESTEP
0
ITEM: NUMBER OF ATOMS
2
ITEM: BOX BOUNDS abc origin pp pp pp
0 6 0 1
-6 0 0 2
0 0 7 3
ITEM: ATOMS id element x y z
1 Cu 0 4 4
2 Zr -1 3 5
"""
    s = read_lammps_dump(_write(tmp_path, text))
    np.testing.assert_allclose(s.cell, [[0, 6, 0], [-6, 0, 0], [0, 0, 7]])
    # relative to the origin (1, 2, 3); already inside the rotated cell, so unchanged by wrapping
    np.testing.assert_allclose(s.positions, [[-1.0, 2.0, 1.0], [-2.0, 1.0, 2.0]], atol=1e-12)


def test_frames_and_truncation(tmp_path: Path) -> None:
    second = ORTHO.replace("100", "200").replace("2.5", "9.5")
    path = _write(tmp_path, ORTHO + second)
    with pytest.warns(InputWarning, match=r"a.dump: holds 2 frames; reading the last \(choose one with --frame"):
        assert read_lammps_dump(path, "1=Cu,2=Zr").arrays["v_barrier"][2] == 9.5
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a frame asked for, or a one-frame dump: no warning
        assert read_lammps_dump(path, "1=Cu,2=Zr", index=0).arrays["v_barrier"][2] == 2.5
        assert read_lammps_dump(path, "1=Cu,2=Zr", index=-1).arrays["v_barrier"][2] == 9.5
        assert read_lammps_dump(_write(tmp_path, ORTHO, "one.dump"), "1=Cu,2=Zr").arrays["v_barrier"][2] == 2.5
    with pytest.raises(SymgnnError, match="out of range"):
        read_lammps_dump(path, "1=Cu,2=Zr", index=5)
    cut = _write(tmp_path, ORTHO[: ORTHO.rindex("2 1")], "cut.dump")
    with pytest.raises(SymgnnError, match="cut.dump.*truncated"):
        read_lammps_dump(cut, "1=Cu,2=Zr")
    with pytest.raises(SymgnnError, match="not a LAMMPS text dump"):
        read_lammps_dump(_write(tmp_path, "hello\n", "x.dump"))


def test_parse_type_map() -> None:
    assert parse_type_map("1=Cu,2=Zr") == {1: "Cu", 2: "Zr"}
    assert parse_type_map(" 1 = cu , 2=ZR ") == {1: "Cu", 2: "Zr"}
    for bad, match in [("", "empty"), ("1Cu", "TYPE=ELEMENT"), ("a=Cu", "not an integer"),
                       ("0=Cu", "positive"), ("1=Qq", "not a chemical element"), ("1=Cu,1=Zr", "twice")]:
        with pytest.raises(SymgnnError, match=match):
            parse_type_map(bad)


@pytest.mark.parametrize("rotate", [False, True])
@pytest.mark.parametrize("tilted", [False, True])
def test_write_round_trip_with_ase(tmp_path: Path, tilted: bool, rotate: bool) -> None:
    rng = np.random.default_rng(3)
    cell = np.array([[10.0, 0, 0], [2, 9, 0], [-1.5, 1, 8]]) if tilted else np.diag([10.0, 9, 8])
    if rotate:
        cell = cell @ np.linalg.qr(rng.normal(size=(3, 3)))[0].T
    structure = Structure(numbers=[29] * 6 + [40] * 4, positions=rng.random((10, 3)) @ cell, cell=cell,
                          pbc=True, arrays={"barrier": rng.random(10)}, label_key="barrier").wrapped()
    pred = rng.random(10)
    path = write_lammps_dump(tmp_path / "out.dump", structure, {"barrier_pred": pred})
    back = read_lammps_dump(path)
    np.testing.assert_allclose(back.cell, structure.cell, atol=1e-8)
    np.testing.assert_allclose(back.positions, structure.positions, atol=1e-8)
    np.testing.assert_allclose(back.arrays["barrier_pred"], pred, atol=1e-9)
    np.testing.assert_allclose(back.arrays["barrier"], structure.labels, atol=1e-9)
    assert back.numbers.tolist() == structure.numbers.tolist()
    atoms = ase.io.read(path, format="lammps-dump-text")
    assert atoms.get_chemical_symbols() == ["Cu"] * 6 + ["Zr"] * 4
    np.testing.assert_allclose(atoms.cell[:], structure.cell, atol=1e-8)
    np.testing.assert_allclose(atoms.positions, structure.positions, atol=1e-8)
