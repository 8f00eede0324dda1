"""``symgnn inspect`` and ``symgnn download`` on a throwaway Typer app."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from symgnn.cli import download, inspect
from symgnn.data.structure import Structure
from symgnn.errors import SymgnnError
from symgnn.io.lammps_dump import write_lammps_dump


def _app() -> typer.Typer:
    app = typer.Typer()
    inspect.register(app)
    download.register(app)
    return app


def _fcc_dump(tmp_path: Path) -> Path:
    """A 4x4x4 fcc Cu crystal (a = 3.6 Å): 12 neighbours at 2.55 Å, with a label column."""
    a, reps = 3.6, 4
    basis = np.array([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])
    grid = np.array([[i, j, k] for i in range(reps) for j in range(reps) for k in range(reps)])
    positions = ((grid[:, None, :] + basis[None]).reshape(-1, 3)) * a
    n = len(positions)
    s = Structure(numbers=np.full(n, 29), positions=positions, cell=np.eye(3) * a * reps, pbc=True)
    return write_lammps_dump(tmp_path / "fcc.dump", s, {"v_barrier": np.linspace(1, 2, n)})


def test_summary_fcc(tmp_path: Path) -> None:
    from symgnn.io.read import read_structure

    s = read_structure(_fcc_dump(tmp_path), label_column="v_barrier")
    summary = inspect.summarize(s, cutoff=3.0)
    assert summary["atoms"] == 256 and summary["species"] == {"Cu": 256}
    assert summary["neighbours"] == {"mean": 12.0, "min": 12, "max": 12}
    assert summary["directed_edges"] == 256 * 12
    assert summary["cell_angles"] == pytest.approx([90, 90, 90])
    assert summary["density_g_cm3"] == pytest.approx(4 * 63.546 * 1.66053906660 / 3.6**3, rel=1e-4)
    assert summary["label"]["mean"] == pytest.approx(1.5)
    assert summary["shortest_distance"]["angstrom"] == pytest.approx(3.6 / 2**0.5)  # fcc nearest neighbours
    assert len(set(summary["shortest_distance"]["atoms"])) == 2


def test_cli_json_and_table(tmp_path: Path) -> None:
    path = _fcc_dump(tmp_path)
    runner = CliRunner()
    result = runner.invoke(_app(), ["inspect", str(path), "--cutoff", "3", "--json", "--label-column", "v_barrier"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["directed_edges"] == 3072 and data["label"]["column"] == "v_barrier"
    result = runner.invoke(_app(), ["inspect", str(path), "--cutoff", "3"])
    assert result.exit_code == 0 and "directed edges" in result.output


def test_cli_errors_are_symgnn_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    result = runner.invoke(_app(), ["inspect", str(tmp_path / "missing.xyz")])
    assert isinstance(result.exception, SymgnnError) and "file not found" in str(result.exception)
    monkeypatch.delenv("SYMGNN_DATA", raising=False)
    result = runner.invoke(_app(), ["download"])
    assert isinstance(result.exception, SymgnnError) and "--data DIR" in str(result.exception)


def test_console_multi_frame_dump_warns_in_one_line_and_frame_picks(tmp_path: Path) -> None:
    """Through the console entry point: a two-frame dump reads the last frame with one ``warning:``
    line naming the file; ``--frame 0`` reads the first, silently; ``--frame`` on a dataset sample name
    that holds one structure is refused."""
    import subprocess
    import sys

    one = _fcc_dump(tmp_path).read_text()
    second = one.replace("ITEM: TIMESTEP\n0", "ITEM: TIMESTEP\n1000")
    second = "\n".join(line if not line[:1].isdigit() or len(line.split()) < 7 else
                       " ".join(line.split()[:-1] + ["5"]) for line in second.splitlines()) + "\n"
    path = tmp_path / "traj.dump"
    path.write_text(one + second)

    def run(*extra: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "symgnn.cli.main", "inspect", str(path), "--cutoff", "3",
                               "--json", "--label-column", "v_barrier", *extra],
                              capture_output=True, text=True, check=False)

    last = run()
    assert last.returncode == 0, last.stderr
    assert json.loads(last.stdout)["label"]["mean"] == pytest.approx(5.0)
    warnings = [line for line in last.stderr.splitlines() if line.strip()]
    assert warnings == [f"warning: {path}: holds 2 frames; reading the last (choose one with --frame N, 0 = the first)"]
    first = run("--frame", "0")
    assert first.returncode == 0 and first.stderr.strip() == ""
    assert json.loads(first.stdout)["label"]["mean"] == pytest.approx(1.5)
    refused = CliRunner().invoke(_app(), ["inspect", "train0", "--frame", "2"])
    assert isinstance(refused.exception, SymgnnError)
    assert str(refused.exception) == "--frame 2: the dataset sample train0 holds one structure"

    def inspect_frames(selection: str):  # in-process: a range (as `symgnn predict --frame 1:` takes)
        return CliRunner().invoke(_app(), ["inspect", str(path), "--cutoff", "3", "--json", "--label-column",
                                           "v_barrier", "--frame", selection])

    ranged = inspect_frames("1:")  # its first frame, and how many frames it picks
    assert ranged.exit_code == 0, ranged.output
    summary = json.loads(ranged.stdout)
    assert summary["frames"] == {"in_file": 2, "selected": 1, "shown": 1}
    assert summary["label"]["mean"] == pytest.approx(5.0)
    assert json.loads(inspect_frames("all").stdout)["frames"] == {"in_file": 2, "selected": 2, "shown": 0}
    assert str(inspect_frames("5:").exception) == f"{path}: the frame selection 5: picks no frame (the file holds 2 frames)"


def test_output_directory_is_checked_before_any_work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--out is created, refused when it is a file, and refused when it takes no files (checked by
    writing a temporary file; permissions cannot be denied to root, so the refusal is simulated)."""
    import tempfile

    from symgnn.cli.common import output_directory

    assert output_directory(tmp_path / "new" / "out").is_dir()
    (tmp_path / "file").write_text("kept")
    with pytest.raises(SymgnnError, match=r"file: exists and is not a directory"):
        output_directory(tmp_path / "file")

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "TemporaryFile", refuse)
    with pytest.raises(SymgnnError, match=r"locked: cannot write files here \(Permission denied\)"):
        output_directory(tmp_path / "locked")
