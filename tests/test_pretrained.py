"""The shipped Cu64Zr36 model: loads by name without executing code, is small, is invariant, predicts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from ase.io import read
from typer.testing import CliRunner

from symgnn.cli.main import app
from symgnn.data.registry import load_sample
from symgnn.data.structure import Structure
from symgnn.errors import SymgnnError
from symgnn.nn.descriptor_input import OutOfDistributionWarning
from symgnn.nn.rotations import random_orthogonal
from symgnn.predictor import PRETRAINED_DIR, Predictor
from tests.helpers import random_structure

SHIPPED = PRETRAINED_DIR / "cuzr64.pt"
SHEAR = np.array([[1.0, 0.0, 0.0], [0.25, 1.0, 0.0], [-0.15, 0.2, 1.0]])


def glass_like(seed: int = 0, shear: bool = False) -> Structure:
    """A disordered Cu64Zr36-like box: a jittered fcc lattice (4x4x4 cells, 256 atoms) at a glass-like
    density, optionally in a sheared (triclinic) cell. No overlapping atoms, unlike uniform noise."""
    rng = np.random.default_rng(seed)
    basis = np.array([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])
    grid = np.array([[i, j, k] for i in range(4) for j in range(4) for k in range(4)])
    fractional = ((grid[:, None, :] + basis[None]).reshape(-1, 3) + rng.normal(0, 0.04, (256, 3))) / 4
    cell = np.eye(3) * 4 * 3.95 @ (SHEAR if shear else np.eye(3))
    numbers = rng.permutation(np.array([29] * 164 + [40] * 92))
    return Structure(numbers, fractional @ cell, cell, np.array([True] * 3), name="glass-like")


def test_shipped_file_is_small_and_plain_tensors():
    assert SHIPPED.is_file(), "the package must ship src/symgnn/pretrained/cuzr64.pt"
    assert sum(p.stat().st_size for p in PRETRAINED_DIR.glob("*.pt")) < 5 * 1024**2  # every shipped model together
    assert SHIPPED.stat().st_size < 5 * 1024**2
    payload = torch.load(SHIPPED, map_location="cpu", weights_only=True)  # refuses anything executable
    assert payload["model_name"] and payload["label_std"] > 0
    assert (PRETRAINED_DIR / "cuzr64.md").is_file(), "model card missing"


@pytest.fixture(scope="module")
def shipped() -> Predictor:
    return Predictor.from_checkpoint("cuzr64")


def test_predictions_are_invariant_under_rotations_and_reflections(shipped, shared_data):
    structure = load_sample("train6", shared_data)
    reference = shipped.predict(structure)
    assert 0.5 < reference.mean() < 3.0  # barriers in eV
    matrices = random_orthogonal(2, torch.Generator().manual_seed(2)).double().numpy()
    for matrix in matrices:
        for transform in (matrix, -matrix):  # a rotation and a reflection each time
            moved = Structure(structure.numbers, structure.positions @ transform.T, structure.cell @ transform.T,
                              structure.pbc, name="moved")
            change = np.abs(shipped.predict(moved) - reference).max()
            assert change < 0.01 * shipped.label_std, (change, shipped.label_std)


def test_invariance_without_data(shipped):
    """The same on a small disordered box, with a sheared (triclinic) cell, relative to the output."""
    for shear in (False, True):
        structure = glass_like(seed=11, shear=shear)
        with pytest.warns(OutOfDistributionWarning):
            reference = shipped.predict(structure)
        matrix = random_orthogonal(1, torch.Generator().manual_seed(3))[0].double().numpy()
        moved = Structure(structure.numbers, structure.positions @ -matrix.T, structure.cell @ -matrix.T,
                          structure.pbc, name="moved")
        with pytest.warns(OutOfDistributionWarning):
            change = np.abs(shipped.predict(moved) - reference).max()
        assert change <= 1e-3 * np.abs(reference).max()


def test_elements_outside_the_training_data_are_refused(shipped, tmp_path):
    """Cu64Zr36 only: a LAMMPS dump read without its type map (H, He) or a ternary glass is one error line."""
    from ase import Atoms
    from ase.io import write

    assert shipped.species == [29, 40]
    structure = glass_like(seed=4)
    numbers = structure.numbers.copy()
    numbers[numbers == 40] = 2
    numbers[numbers == 29] = 1
    path = tmp_path / "untyped.xyz"
    write(path, Atoms(numbers=numbers, positions=structure.positions, cell=structure.cell, pbc=True))
    result = CliRunner().invoke(app, ["predict", "cuzr64", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code != 0 and not (tmp_path / "out" / "untyped.xyz").exists()
    assert str(result.exception).startswith(f"{path}: holds H, He, which the model never saw in training (it knows Cu, Zr)")
    assert "--types" in str(result.exception)


def test_cell_in_the_wrong_units_is_refused(tmp_path):
    """A box of 0.5 Å (say, a cell written in nm) is one error line naming the file, and nothing is
    written, instead of a prediction of thousands of overlapping images."""
    from ase import Atoms
    from ase.io import write

    path = tmp_path / "nm.xyz"
    write(path, Atoms("Cu", positions=[[0, 0, 0]], cell=np.eye(3) * 0.5, pbc=True))
    result = CliRunner().invoke(app, ["predict", "cuzr64", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code != 0 and not list((tmp_path / "out").glob("*"))
    assert str(result.exception) == (f"{path}: the periodic cell repeats every 0.5 Å, so each atom would overlap "
                                     "its own images (cell lengths must be in Å)")


def test_outputs_that_would_collide_or_cannot_be_written_are_refused(tmp_path, monkeypatch, capsys):
    """Two inputs with one stem would write the same files: refused before anything is written. An
    --out that is a file, or lies under one, is one error line from the console script."""
    from ase import Atoms
    from ase.io import write

    from symgnn.cli.main import main

    structure = glass_like(seed=4)
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        write(tmp_path / folder / "s.xyz", Atoms(numbers=structure.numbers, positions=structure.positions,
                                                 cell=structure.cell, pbc=True))
    first, second = tmp_path / "a" / "s.xyz", tmp_path / "b" / "s.xyz"
    result = CliRunner().invoke(app, ["predict", "cuzr64", str(first), str(second), "--out", str(tmp_path / "out")])
    assert str(result.exception).startswith(f"{first} and {second}: both would write s.xyz and s.csv")
    assert not (tmp_path / "out").exists()
    blocker = tmp_path / "blocker"
    blocker.write_text("a file the user keeps")
    for out, message in [(blocker, f"error: {blocker}: exists and is not a directory (--out names a directory)"),
                         (blocker / "sub", f"error: {blocker / 'sub'}: Not a directory")]:
        monkeypatch.setattr("sys.argv", ["symgnn", "predict", "cuzr64", str(first), "--out", str(out)])
        with pytest.raises(SystemExit) as stop:
            main()
        assert stop.value.code == 2
        assert capsys.readouterr().err.strip().splitlines() == [message]
    assert blocker.read_text() == "a file the user keeps"


def test_unphysical_input_stays_finite(shipped):
    """Uniformly random positions (overlapping atoms): finite predictions and a warning that they are
    extrapolations."""
    with pytest.warns(OutOfDistributionWarning, match="extrapolations"):
        prediction = shipped.predict(random_structure(300, seed=1))
    assert np.all(np.isfinite(prediction))


def test_implausible_predictions_are_flagged_and_non_finite_ones_refused(shipped, shared_data):
    """A free surface (train6 opened along z) drives a network far outside its training data to
    barriers of thousands of eV: a warning names the structure, the count and the range, and another
    says that the shipped model never saw a surface. The held-out
    glass train6 itself gives none. NaN predictions are refused."""
    import warnings

    structure = load_sample("train6", shared_data)
    low, high = shipped.plausible_range()
    assert low < 0.4 and 2.9 < high  # every training barrier lies inside
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        shipped.check_plausible("train6", shipped.predict(structure, max_atoms=None))
    slab = Structure(structure.numbers, structure.positions, structure.cell, [True, True, False], name="slab")
    with pytest.warns(OutOfDistributionWarning, match=r"^slab: \d+ of 8000 predicted barriers \(.*\) lie outside "
                                                      r".* eV.*free surface") as record:
        shipped.predict(slab)
    assert {Path(w.filename) for w in record} == {Path(__file__)}  # the caller's line, not torch's
    assert any(str(w.message).startswith("slab: open along z, but the model was trained on bulk") for w in record)
    with pytest.raises(SymgnnError, match=r"^x: 1 of 3 predictions are not finite numbers"):
        shipped.check_plausible("x", np.array([1.0, np.nan, 1.2]))


def test_cli_warns_in_one_line_naming_the_file(tmp_path):
    """The console script prints an out-of-distribution warning as one ``warning: FILE: ...`` line,
    not Python's two-line warning pointing inside torch."""
    import subprocess
    import sys

    from ase import Atoms
    from ase.io import write

    structure = random_structure(300, seed=1, label=False)
    path = tmp_path / "overlapping.xyz"
    write(path, Atoms(numbers=structure.numbers, positions=structure.positions, cell=structure.cell, pbc=True))
    result = subprocess.run(
        [sys.executable, "-m", "symgnn.cli.main", "predict", "cuzr64", str(path), "--out", str(tmp_path / "out")],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stderr
    warning_lines = [line for line in result.stderr.splitlines() if "extrapolations" in line]
    assert len(warning_lines) == 1
    assert warning_lines[0].startswith("warning: ") and "overlapping.xyz: " in warning_lines[0]
    assert "forward_call" not in result.stderr


def test_predict_and_evaluate_by_name(shared_data, tmp_path):
    runner = CliRunner()
    out = tmp_path / "pred"
    result = runner.invoke(app, ["predict", "cuzr64", str(shared_data / "train6.pickle"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    atoms = read(out / "train6.xyz")
    assert np.isfinite(atoms.arrays["predicted_barrier"]).all()
    assert (out / "train6_parity.png").is_file()
    report_path = tmp_path / "val.json"
    result = runner.invoke(app, ["evaluate", "cuzr64", "--data", str(shared_data), "--split", "val", "--json", str(report_path)])
    assert result.exit_code == 0, result.output
    report = json.loads(report_path.read_text())
    card = (PRETRAINED_DIR / "cuzr64.md").read_text()
    # The model card states the Pearson this file reaches on train6, which it was trained on (refitted on
    # every labelled sample), and the report says so.
    assert f"{report['pearson']:.3f}" in card
    assert report["trained_on"] == ["train6"]


def test_split_model_is_shipped_with_its_held_out_validation_score(shared_data, tmp_path):
    """``cuzr64-split``, the same recipe on the paper's split (train6 held out): small, plain tensors, and
    its card states the validation Pearson it reaches on train6, which it never trained on."""
    path = PRETRAINED_DIR / "cuzr64-split.pt"
    assert path.stat().st_size < 5 * 1024**2
    payload = torch.load(path, map_location="cpu", weights_only=True)
    assert payload["val_names"] == ["train6"] and "train6" not in payload["train_names"]
    report_path = tmp_path / "val.json"
    result = CliRunner().invoke(app, ["evaluate", "cuzr64-split", "--data", str(shared_data), "--split", "val",
                                      "--json", str(report_path)])
    assert result.exit_code == 0, result.output
    report = json.loads(report_path.read_text())
    assert report["trained_on"] == []
    assert f"{report['pearson']:.4f}" in (PRETRAINED_DIR / "cuzr64-split.md").read_text()


def test_evaluate_test_split_as_measured_outside(shared_data, tmp_path, monkeypatch):
    """The command that measures the project's test score, ``symgnn evaluate cuzr64 --data DIR --split
    test --json FILE``, on a directory holding only ``test0``/``test1``. The real files are held out, so
    stand-ins in the upstream format take their place (train6's arrays; one file without the auxiliary
    keys and with an (N, 1) label column) and the registry's checksums are pointed at them."""
    import dataclasses
    import hashlib
    import pickle

    from symgnn.data import registry
    from symgnn.io.safe_pickle import load_pickle

    upstream = load_pickle(shared_data / "train6.pickle")  # every key, MATLAB metadata included
    variants = {
        "test0": upstream,
        "test1": {**{k: upstream[k] for k in ("positions", "box", "types")},
                  "trajectory_start_velocities": upstream["trajectory_start_velocities"].reshape(-1, 1)},
    }
    data_dir = tmp_path / "heldout"
    data_dir.mkdir()
    checksums = {}
    for name, arrays in variants.items():
        path = data_dir / f"{name}.pickle"
        path.write_bytes(pickle.dumps(arrays))
        checksums[name] = hashlib.sha256(path.read_bytes()).hexdigest()
    spec = registry.get_dataset("cuzr64")
    samples = tuple(dataclasses.replace(s, sha256=checksums.get(s.name, s.sha256)) for s in spec.samples)
    monkeypatch.setitem(registry.DATASETS, "cuzr64", dataclasses.replace(spec, samples=samples))

    report_path = tmp_path / "test.json"
    result = CliRunner().invoke(app, ["evaluate", "cuzr64", "--data", str(data_dir), "--split", "test",
                                      "--json", str(report_path)])
    assert result.exit_code == 0, result.output
    report = json.loads(report_path.read_text())
    assert report["split"] == "test" and report["samples"] == ["test0", "test1"]
    assert set(report["per_sample"]) == {"test0", "test1"}
    # Both stand-ins hold train6: the same Pearson as the card's validation figure, whatever the file layout.
    card = (PRETRAINED_DIR / "cuzr64.md").read_text()
    for name in ("test0", "test1"):
        assert f"{report['per_sample'][name]['pearson']:.3f}" in card
    assert report["per_sample"]["test0"]["pearson"] == pytest.approx(report["per_sample"]["test1"]["pearson"], abs=1e-9)


def test_predict_a_trajectory_frame_by_frame(tmp_path):
    """``--frame all`` predicts every frame of a dump into one multi-frame output per format, each frame
    exactly as ``--frame K`` predicts it alone; a range picks frames; a selection that picks none, or
    cannot be parsed, is one error line and writes nothing."""
    from symgnn.io.frames import read_frames
    from symgnn.io.lammps_dump import dump_frame_text

    frames = [glass_like(seed=seed) for seed in (21, 22, 23)]
    path = tmp_path / "quench.dump"
    rng = np.random.default_rng(0)
    path.write_text("".join(dump_frame_text(s, {"v_barrier": rng.normal(1.6, 0.3, len(s))}, timestep=500 * k)
                            for k, s in enumerate(frames)))
    runner = CliRunner()
    out = tmp_path / "all"
    result = runner.invoke(app, ["predict", "cuzr64", str(path), "--frame", "all", "--label-column", "v_barrier",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "frame 2" in result.output and "all 3 frames" in result.output
    assert sorted(p.name for p in out.iterdir()) == ["quench.csv", "quench.dump", "quench.xyz", "quench_parity.png"]
    predicted = [a.arrays["predicted_barrier"] for a in read(out / "quench.xyz", index=":")]
    assert [f.timestep for f in read_frames(out / "quench.dump")] == [0, 500, 1000]
    for k in range(3):
        alone = tmp_path / f"frame{k}"
        result = runner.invoke(app, ["predict", "cuzr64", str(path), "--frame", str(k), "--out", str(alone)])
        assert result.exit_code == 0, result.output
        np.testing.assert_allclose(predicted[k], read(alone / "quench.xyz").arrays["predicted_barrier"], atol=1e-12)
    assert not np.allclose(predicted[0], predicted[1])
    rows = (out / "quench.csv").read_text().splitlines()
    assert rows[0].startswith("frame,index,id,") and len(rows) == 1 + 3 * 256
    report_path = tmp_path / "frames.json"  # evaluate: every frame a sample, and the pooled scores
    result = runner.invoke(app, ["evaluate", "cuzr64", str(path), "--frame", "all", "--label-column", "v_barrier",
                                 "--json", str(report_path)])
    assert result.exit_code == 0, result.output
    report = json.loads(report_path.read_text())
    assert list(report["per_sample"]) == [f"{path} frame {k}" for k in range(3)]
    labels = np.concatenate([f.structure.labels for f in read_frames(path, label_column="v_barrier")])
    assert report["pearson"] == pytest.approx(np.corrcoef(np.concatenate(predicted), labels)[0, 1], abs=1e-6)
    result = runner.invoke(app, ["predict", "cuzr64", str(path), "--frame", "1:", "--out", str(tmp_path / "last")])
    assert result.exit_code == 0, result.output
    assert len(read(tmp_path / "last" / "quench.xyz", index=":")) == 2
    for selection, message in [("3:", f"{path}: the frame selection 3: picks no frame (the file holds 3 frames)"),
                               ("every", "--frame every: expected N (one frame, 0 = the first, -1 = the last), "
                                         "START:STOP[:STEP] (Python slice) or all")]:
        result = runner.invoke(app, ["predict", "cuzr64", str(path), "--frame", selection, "--out", str(tmp_path / "none")])
        assert result.exit_code != 0 and str(result.exception) == message
        assert not list((tmp_path / "none").glob("*"))


def test_predict_takes_dataset_sample_names(shared_data, tmp_path):
    """``symgnn predict cuzr64-split train6 --data DIR`` as ``explain`` and ``inspect`` take it; a bare
    word that is neither a file nor a sample is named as both."""
    runner = CliRunner()
    out = tmp_path / "by-name"
    result = runner.invoke(app, ["predict", "cuzr64-split", "train6", "--data", str(shared_data), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["train6.csv", "train6.xyz", "train6_parity.png"]
    for command in (["predict", "cuzr64", "train9", "--out", str(tmp_path / "none")], ["explain", "cuzr64", "train9", "--atoms", "1"]):
        refused = runner.invoke(app, command)
        assert str(refused.exception).startswith("train9: no such file, nor a dataset sample (samples: train0, ")
    assert not (tmp_path / "none").exists()


def test_sigterm_during_a_trajectory_leaves_no_files(tmp_path):
    """``kill`` or ``timeout`` sending SIGTERM mid-trajectory ends ``symgnn predict`` as Ctrl-C does:
    one ``terminated`` line, exit status 143, and no output nor hidden temporary file left behind.
    (A subprocess: without the handler, SIGTERM would end the test run itself.)"""
    import subprocess
    import sys

    from symgnn.io.lammps_dump import dump_frame_text

    path = tmp_path / "quench.dump"
    path.write_text("".join(dump_frame_text(glass_like(seed=30 + k), {}, timestep=k) for k in range(3)))
    out = tmp_path / "out"
    script = (
        "import os, signal, sys\n"
        "from symgnn.predictor import Predictor\n"
        "from symgnn.cli.main import main\n"
        "predict, calls = Predictor.predict, []\n"
        "def predict_then_terminate(self, *args, **kwargs):\n"
        "    calls.append(1)\n"
        "    if len(calls) == 2:  # the second frame: the first is already in the hidden temporary files\n"
        "        os.kill(os.getpid(), signal.SIGTERM)\n"
        "    return predict(self, *args, **kwargs)\n"
        "Predictor.predict = predict_then_terminate\n"
        f"sys.argv = ['symgnn', 'predict', 'cuzr64', {str(path)!r}, '--frame', 'all', '--out', {str(out)!r}]\n"
        "main()\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                            env={**__import__("os").environ, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 143, result.stderr
    assert result.stderr.strip().splitlines()[-1] == "terminated"
    assert out.is_dir() and not list(out.iterdir())  # no .quench.xyz.*.tmp left


@pytest.mark.parametrize("frames", [[], ["--frame", "all"]])
def test_an_unlabelled_rerun_removes_the_earlier_parity_plot(tmp_path, frames):
    """With --overwrite, a rerun without labels replaces the outputs and removes the earlier run's
    parity plot, which showed other predictions; without --overwrite the plot is refused like the rest."""
    from symgnn.io.lammps_dump import dump_frame_text

    path = tmp_path / "glass.dump"
    rng = np.random.default_rng(1)
    path.write_text("".join(dump_frame_text(glass_like(seed=40 + k), {"v_barrier": rng.normal(1.6, 0.3, 256)},
                                            timestep=k) for k in range(2)))
    out = tmp_path / "out"
    runner = CliRunner()
    command = ["predict", "cuzr64", str(path), *frames, "--out", str(out)]
    result = runner.invoke(app, [*command, "--label-column", "v_barrier"])
    assert result.exit_code == 0, result.output
    assert (out / "glass_parity.png").is_file()
    for name in ("glass.xyz", "glass.csv", "glass.dump"):  # the plot alone still blocks a rerun without --overwrite
        (out / name).unlink()
    refused = runner.invoke(app, command)
    assert refused.exit_code != 0 and "glass_parity.png: already exists" in str(refused.exception)
    result = runner.invoke(app, [*command, "--overwrite"])
    assert result.exit_code == 0, result.output
    assert "removed" in result.output and not (out / "glass_parity.png").exists()
    assert sorted(p.name for p in out.iterdir()) == ["glass.csv", "glass.dump", "glass.xyz"]
