"""``scripts/run.sh``, the README's main-job command, on a user's own file."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from ase.io import read

from symgnn.io.lammps_dump import write_lammps_dump
from tests.test_pretrained import glass_like

RUN_SH = Path(__file__).resolve().parents[1] / "scripts" / "run.sh"


def test_run_sh_own_dump_with_options_from_another_directory(tmp_path):
    """A LAMMPS dump with numeric types and no element column, named relative to the caller's directory
    (not the repository), with --types, --label-column and --out: inspect and predict both read it."""
    structure = glass_like(seed=3)
    dump = write_lammps_dump(tmp_path / "own.dump", structure, {"v_barrier": np.linspace(1.0, 2.0, len(structure))})
    lines = dump.read_text().splitlines()
    header = lines.index(next(line for line in lines if line.startswith("ITEM: ATOMS")))
    columns = lines[header].split()[2:]
    keep = [k for k, name in enumerate(columns) if name != "element"]
    rows = [" ".join(line.split()[k] for k in keep) for line in lines[header + 1:]]
    dump.write_text("\n".join(lines[:header] + ["ITEM: ATOMS " + " ".join(columns[k] for k in keep)] + rows) + "\n")
    result = subprocess.run(["bash", str(RUN_SH), "own.dump", "--types", "1=Cu,2=Zr", "--label-column", "v_barrier",
                             "--out", "out"], cwd=tmp_path, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "label 'v_barrier'" in result.stdout  # inspect read the label column
    predicted = read(tmp_path / "out" / "own.xyz")
    assert sorted(set(predicted.get_chemical_symbols())) == ["Cu", "Zr"]
    assert np.isfinite(predicted.arrays["predicted_barrier"]).all()
    assert (tmp_path / "out" / "own_parity.png").is_file() and (tmp_path / "out" / "own.dump").is_file()


def test_run_sh_refuses_unknown_options_in_one_line():
    result = subprocess.run(["bash", str(RUN_SH), "glass.dump", "--typos", "1=Cu"], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: unknown option --typos (run.sh takes --out, --types, --label-column, --frame, --device, --overwrite)"]


TRAIN_SH = RUN_SH.parent / "train_cuzr64.sh"


@pytest.mark.parametrize("mode", ["refit", "split"])
def test_train_cuzr64_sh_trains_two_seeds_and_combines_them(shared_data, tmp_path, mode):
    """The shipped models' recipes end to end on a few seconds' budget: seeds 0 and 1 side by side, their
    kept epochs averaged into one ensemble checkpoint that predicts and is scored on train6 (a training
    sample of the refit, the held-out validation sample of the paper's split); run again, it reuses the
    finished runs instead of retraining."""
    import json

    import torch

    out = tmp_path / "ens"
    name = "cuzr64" if mode == "refit" else "cuzr64-split"
    command = ["bash", str(TRAIN_SH), "--data", str(shared_data), "--out", str(out), "--max-minutes", "0.05",
               *(["--split"] if mode == "split" else [])]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    payload = torch.load(out / f"{name}.pt", map_location="cpu", weights_only=True)
    assert payload["model_name"] == "ensemble" and payload["model_hparams"]["member"] == "painn_desc"
    assert [m["seed"] for m in payload["members"]] == [0, 1]
    report = json.loads((out / "val.json").read_text())
    assert report["samples"] == ["train6"] and -1 <= report["pearson"] <= 1
    if mode == "refit":  # every labelled sample trains; nothing is validated, so train6's score is a fit
        assert payload["train_names"] == ["train0+train1", "train2", "train3", "train4", "train5", "train6"]
        assert payload["val_names"] == [] and report["trained_on"] == ["train6"]
        assert "train6: in this model's training data" in result.stdout + result.stderr
    else:
        assert payload["val_names"] == ["train6"] and report["trained_on"] == []
    again = subprocess.run(command, capture_output=True, text=True, check=False)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "seed 0: finished run" in again.stdout and "seed 1: finished run" in again.stdout


def test_train_cuzr64_sh_refuses_bad_arguments_in_one_line(tmp_path):
    result = subprocess.run(["bash", str(TRAIN_SH), "--epochs", "3"], capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: unknown argument --epochs (train_cuzr64.sh takes --split, --data, --out, --device, --max-minutes)"]
    missing = subprocess.run(["bash", str(TRAIN_SH), "--data", str(tmp_path / "nowhere")], capture_output=True, text=True,
                             check=False)
    assert missing.returncode == 2 and len(missing.stderr.strip().splitlines()) == 1
    assert "nowhere/train0.pickle not found" in missing.stderr
