"""``symgnn explain`` and ``symgnn explain-stats`` end to end on a small box and on a crop of a
shared sample."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from ase import Atoms
from ase.io import write
from typer.testing import CliRunner

from symgnn.cli.main import app
from symgnn.data.crop import crop_sphere
from symgnn.train.checkpoint import save_checkpoint
from tests.helpers import random_structure
from tests.explain.conftest import tiny


def _checkpoint(path: Path, name: str = "symgnn", cutoff: float = 4.0) -> Path:
    model = tiny(name)
    hparams = dict(width=8, heads=[2, 1], decoder_layers=1, edge_input="vector+length")
    return save_checkpoint(path, {"model_name": name, "model_hparams": hparams, "state_dict": model.state_dict(),
                                  "label_mean": 1.6, "label_std": 0.3, "cutoff": cutoff})


def _xyz(structure, path: Path) -> Path:
    atoms = Atoms(numbers=structure.numbers, positions=structure.positions, cell=structure.cell, pbc=structure.pbc)
    write(path, atoms, format="extxyz")
    return path


def _run(tmp_path: Path, structure_file: Path, checkpoint: Path, extra: list[str]) -> Path:
    out = tmp_path / "explained"
    runner = CliRunner()
    result = runner.invoke(app, ["explain", str(checkpoint), str(structure_file), "--out", str(out), "--top-k", "10",
                                 "--epochs", "10", "--sanity-atoms", "2", *extra])
    assert result.exit_code == 0, result.output
    assert "fid+" in result.output
    stats = runner.invoke(app, ["explain-stats", str(out), "--local-radius", "6", "--random-sets", "3"])
    assert stats.exit_code == 0, stats.output
    return out


def test_explain_and_stats_commands(tmp_path):
    structure_file = _xyz(random_structure(150, seed=4), tmp_path / "box.xyz")
    out = _run(tmp_path, structure_file, _checkpoint(tmp_path / "model.pt"), ["--sample", "3"])
    manifest = json.loads((out / "manifest.json").read_text())
    assert len(manifest["atoms"]) == 3 and manifest["hops"] == 2
    assert manifest["descriptors"] is None  # SymGNN reads no structure descriptors
    assert manifest["speed"]["atoms_per_minute"] > 0
    assert manifest["receptive_field"]["max_deviation_from_full_graph"] < 1e-4
    assert set(manifest["sanity"]) >= {"mean_trained_reseeded", "mean_trained_randomised"}
    for atom in manifest["atoms"]:
        folder = out / f"atom_{atom:05d}"
        for name in ("edges.csv", "explanation.json", "importance.xyz", "global.png", "local.png"):
            assert (folder / name).stat().st_size > 0, name
    stats = out / "stats"
    for name in ("distance_histogram.png", "edge_lengths.png", "bond_angles.png", "h1_cycles.png",
                 "barrier_groups.png", "fidelity.png"):
        assert (stats / name).stat().st_size > 0, name
    summary = json.loads((stats / "summary.json").read_text())
    assert summary["atoms"] == 3
    assert summary["fidelity"]["k"][0] == 10
    assert summary["sanity"]["atoms"] == manifest["atoms"][:2]
    # Outputs are never replaced silently.
    again = CliRunner().invoke(app, ["explain", str(tmp_path / "model.pt"), str(structure_file), "--out", str(out),
                                     "--atoms", "1"])
    assert again.exit_code != 0 and "already exists" in str(again.exception)


def test_descriptor_model_gets_descriptor_attributions(tmp_path):
    """A model with descriptor inputs (like the shipped cuzr64) also gets descriptors.csv per atom,
    and explain-stats ranks the descriptor groups and plots them against distance; a model without
    them (test above) gets neither."""
    import torch

    from symgnn.explain.run import STATS_FILES
    from symgnn.graph import build_graph

    model = tiny("painn_desc").train()
    with torch.no_grad():
        model(build_graph(random_structure(150, seed=11), 4.0))  # fits the descriptor standardisation
    checkpoint = save_checkpoint(tmp_path / "painn.pt", {
        "model_name": "painn_desc", "model_hparams": dict(hidden=8, num_layers=2, num_rbf=8),
        "state_dict": model.state_dict(), "label_mean": 1.6, "label_std": 0.3, "cutoff": 4.0})
    structure_file = _xyz(random_structure(150, seed=4), tmp_path / "box.xyz")
    out = _run(tmp_path, structure_file, checkpoint, ["--atoms", "2,7", "--descriptor-draws", "2"])
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["descriptors"]["draws"] == 2 and manifest["descriptors"]["groups"] > 100
    rows = (out / "atom_00002" / "descriptors.csv").read_text().splitlines()
    assert rows[0].startswith("rank,group,kind,scale") and rows[-1].split(",")[1] == "all edges (message passing)"
    summary = json.loads((out / "stats" / "summary.json").read_text())
    assert summary["descriptors"]["atoms"] == 2
    assert {p.name for p in (out / "stats").iterdir()} == set(STATS_FILES)  # what explain --overwrite removes
    for name in ("descriptor_groups.png", "descriptor_distances.png"):
        assert (out / "stats" / name).stat().st_size > 0, name
    skipped = CliRunner().invoke(app, ["explain", str(checkpoint), str(structure_file), "--atoms", "2", "--epochs", "2",
                                       "--sanity-atoms", "0", "--no-figures", "--descriptor-draws", "0",
                                       "--out", str(tmp_path / "plain")])
    assert skipped.exit_code == 0, skipped.output
    assert json.loads((tmp_path / "plain" / "manifest.json").read_text())["descriptors"] is None
    assert not (tmp_path / "plain" / "atom_00002" / "descriptors.csv").exists()


def test_cli_defaults_are_the_api_defaults():
    """The CLI spells some defaults out (importing the explain modules would load torch for every
    ``symgnn`` call); they must stay those of the API."""
    import typer.main

    from symgnn.explain.descriptor_attribution import DEFAULT_DRAWS

    command = typer.main.get_command(app).commands["explain"]
    defaults = {parameter.name: parameter.default for parameter in command.params}
    assert defaults["descriptor_draws"] == DEFAULT_DRAWS


def test_explain_rejects_bad_arguments(tmp_path):
    structure_file = _xyz(random_structure(60, seed=5), tmp_path / "box.xyz")
    checkpoint = _checkpoint(tmp_path / "model.pt")
    runner = CliRunner()
    both = runner.invoke(app, ["explain", str(checkpoint), str(structure_file), "--atoms", "1", "--sample", "2"])
    assert both.exit_code != 0 and "exactly one of" in str(both.exception)
    outside = runner.invoke(app, ["explain", str(checkpoint), str(structure_file), "--atoms", "999",
                                  "--out", str(tmp_path / "o")])
    assert outside.exit_code != 0 and "outside" in str(outside.exception)
    # Sample names resolve against --data, the option every other command uses for the dataset.
    missing = runner.invoke(app, ["explain", str(checkpoint), "train6", "--data", str(tmp_path / "nowhere"),
                                  "--atoms", "1"])
    assert missing.exit_code != 0 and "nowhere: data directory not found" in str(missing.exception)


@pytest.mark.data
def test_explain_crop_of_shared_sample(tmp_path, shared_data):
    from symgnn.data.registry import load_sample

    crop, _ = crop_sphere(load_sample("train6", shared_data), 100, 9.0)
    structure_file = _xyz(crop, tmp_path / "crop.xyz")
    out = _run(tmp_path, structure_file, _checkpoint(tmp_path / "model.pt", cutoff=5.0), ["--atoms", "0,5"])
    summary = json.loads((out / "stats" / "summary.json").read_text())
    assert summary["atoms"] == 2
    # Shells are real here: the nearest neighbours of the targets sit beyond 2 Å.
    first = json.loads((out / f"atom_{json.loads((out / 'manifest.json').read_text())['atoms'][0]:05d}" /
                        "explanation.json").read_text())
    distances = np.linalg.norm(np.array(first["nodes"]["offset"]), axis=1)
    assert np.sort(distances)[1] > 2.0


def test_explaining_a_slab_with_the_shipped_model_warns_like_predict(tmp_path):
    """Explanations of atoms near a free surface explain extrapolations: the same warnings as
    ``predict`` (open axes for a model trained on bulk glass; barriers outside the training range)."""
    import warnings

    from symgnn.data.structure import Structure
    from symgnn.explain.gnnexplainer import ExplainConfig
    from symgnn.explain.run import ExplainRun, explain_structure
    from symgnn.predictor import Predictor

    box = random_structure(300, seed=1)
    slab = Structure(box.numbers, box.positions, box.cell, [True, True, False], name="slab")
    run = ExplainRun(top_k=5, ks=(5,), n_random=1, sanity_atoms=0, figures=False, descriptor_draws=0,
                     explainer=ExplainConfig(epochs=2))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        manifest = explain_structure(Predictor.from_checkpoint("cuzr64"), slab, [0, 1], None, tmp_path / "out", run,
                                     log=lambda *_: None)
    messages = [str(w.message) for w in caught]
    assert any(m.startswith("slab: open along z, but the model was trained on bulk") for m in messages)
    # each said once, naming the structure (not again for every receptive field), and kept in the manifest
    descriptors = [m for m in messages if "structure descriptors far outside" in m]
    assert len(descriptors) == 1 and descriptors[0].startswith("slab: ")
    assert manifest["warnings"] == list(dict.fromkeys(messages))
    assert json.loads((tmp_path / "out" / "manifest.json").read_text())["warnings"] == manifest["warnings"]


def test_requests_that_cannot_be_explained_are_refused_before_any_work(tmp_path):
    """Out-of-range atoms, --top-k below 1, --hops below the model's layers and an empty --atoms are
    one error line each, and nothing is written; repeated atoms are explained once."""
    structure_file = _xyz(random_structure(60, seed=5), tmp_path / "box.xyz")
    checkpoint = _checkpoint(tmp_path / "model.pt")
    runner = CliRunner()

    def explain(*extra: str, out: str = "o"):
        return runner.invoke(app, ["explain", str(checkpoint), str(structure_file), "--out", str(tmp_path / out),
                                   "--epochs", "2", "--sanity-atoms", "0", "--no-figures", *extra])

    for extra, message in [
        (["--atoms", "3,60"], "--atoms: 60 is outside 0..59 (0-based indices: the index column of predict's CSV)"),
        (["--atoms", ""], "--atoms: no atom index given"),
        (["--sample", "61"], "--sample 61: must be between 1 and the 60 atoms of the structure"),
        (["--atoms", "3", "--top-k", "0"], "--top-k 0: must be at least 1 (edges kept as the explanation)"),
        (["--atoms", "3", "--hops", "1"], "--hops 1: smaller than the model's 2 message-passing layers"),
        (["--atoms", "3", "--epochs", "0"], "--epochs 0: must be at least 1"),
        (["--atoms", "3", "--lr", "-1"], "--lr -1.0: must be a positive number"),
        (["--atoms", "3", "--lr", "inf"], "--lr inf: must be a positive number"),
        (["--atoms", "3", "--edge-ent", "nan"], "--edge-ent nan: must be a number of at least 0"),
        (["--atoms", "3", "--edge-size", "-1"], "--edge-size -1.0: must be a number of at least 0"),
        (["--atoms", "3", "--random-sets", "0"], "--random-sets 0: must be at least 1"),
        (["--atoms", "3", "--sanity-atoms", "-1"], "--sanity-atoms -1: must be 0 (skip) or more"),
    ]:
        result = explain(*extra)
        assert result.exit_code != 0 and str(result.exception).startswith(message), (extra, result.exception)
        assert not (tmp_path / "o" / "manifest.json").exists() and not list((tmp_path / "o").glob("atom_*"))
    repeated = explain("--atoms", "3,3,5", out="repeated")
    assert repeated.exit_code == 0, repeated.output
    assert "1 repeated index dropped" in repeated.output
    assert json.loads((tmp_path / "repeated" / "manifest.json").read_text())["atoms"] == [3, 5]
    stats = runner.invoke(app, ["explain-stats", str(tmp_path / "repeated"), "--top-k", "-3"])
    assert str(stats.exception) == "--top-k -3: must be at least 1 (selected edges per atom)"


@pytest.mark.filterwarnings("ignore::symgnn.errors.InputWarning")  # given on purpose; the manifest keeps it
def test_hops_beyond_the_whole_structure_are_capped_with_a_warning(tmp_path):
    """--hops past the point where the fields hold the whole connected structure would only repeat
    work (10**5 hops took half a minute per atom of this box): it is capped there, with a warning kept
    in the manifest. Fewer hops are used as given."""
    structure_file = _xyz(random_structure(150, seed=3), tmp_path / "box.xyz")
    checkpoint = _checkpoint(tmp_path / "model.pt")
    runner = CliRunner()

    def explain(hops: int) -> dict:
        out = tmp_path / f"hops{hops}"
        result = runner.invoke(app, ["explain", str(checkpoint), str(structure_file), "--atoms", "0,7", "--hops",
                                     str(hops), "--out", str(out), "--epochs", "2", "--sanity-atoms", "0",
                                     "--no-figures"])
        assert result.exit_code == 0, result.output
        return json.loads((out / "manifest.json").read_text())

    capped = explain(100_000)
    assert capped["hops"] == 5  # the fields of atoms 0 and 7 stop growing at 5 hops (test_subgraph)
    assert capped["receptive_field"]["mean_edges"] == capped["receptive_field"]["full_graph_edges"]
    assert capped["warnings"] == ["--hops 100000: the receptive fields hold the whole connected structure from 5 hops "
                                  "on; 5 are used (more give the same fields)"]
    kept = explain(4)
    assert kept["hops"] == 4 and kept["warnings"] == []
    assert kept["receptive_field"]["mean_edges"] < kept["receptive_field"]["full_graph_edges"]


def test_overwrite_replaces_the_earlier_run_and_keeps_the_users_files(tmp_path):
    """--overwrite into a directory holding another run's atoms leaves one run there: the earlier
    atoms' files go (a file the user added stays); the manifest names the checkpoint; the xyz and
    JSON name atoms by 0-based index and by the file's own id."""
    from ase.io import read

    from symgnn.io.lammps_dump import write_lammps_dump
    from symgnn.io.read import read_structure

    structure = random_structure(60, seed=5)
    structure.arrays["id"] = np.arange(100, 160)[::-1].astype(float)  # a dump whose ids run backwards
    dump = write_lammps_dump(tmp_path / "box.dump", structure)
    checkpoint = _checkpoint(tmp_path / "model.pt")
    out = tmp_path / "o"
    common = ["--out", str(out), "--epochs", "2", "--sanity-atoms", "0", "--no-figures"]
    runner = CliRunner()
    stats = ["explain-stats", str(out), "--random-sets", "1", "--local-radius", "5"]
    first = runner.invoke(app, ["explain", str(checkpoint), str(dump), "--atoms", "2,5", *common])
    assert first.exit_code == 0, first.output
    assert runner.invoke(app, stats).exit_code == 0
    (out / "atom_00005" / "notes.txt").write_text("mine")
    (out / "stats" / "notes.txt").write_text("mine")
    second = runner.invoke(app, ["explain", str(checkpoint), str(dump), "--atoms", "7", "--overwrite", *common])
    assert second.exit_code == 0, second.output
    assert sorted(p.name for p in out.glob("atom_*")) == ["atom_00005", "atom_00007"]
    assert [p.name for p in (out / "atom_00005").iterdir()] == ["notes.txt"]
    assert [p.name for p in (out / "stats").iterdir()] == ["notes.txt"]  # the earlier run's statistics went
    assert runner.invoke(app, stats).exit_code == 0
    (out / "stats" / "notes.txt").unlink()
    third = runner.invoke(app, ["explain", str(checkpoint), str(dump), "--atoms", "7", "--overwrite", *common])
    assert third.exit_code == 0, third.output
    assert not (out / "stats").exists()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["atoms"] == [7] and manifest["model"]["checkpoint"] == str(checkpoint)
    assert manifest["warnings"] == []
    loaded = read_structure(dump)
    xyz = read(out / "atom_00007" / "importance.xyz")
    np.testing.assert_array_equal(xyz.arrays["id"], loaded.atom_ids()[xyz.arrays["index"]])
    explanation = json.loads((out / "atom_00007" / "explanation.json").read_text())
    assert explanation["id"] == int(loaded.atom_ids()[7])
    assert explanation["nodes"]["index"][explanation["center"]] == 7


@pytest.mark.filterwarnings("ignore::symgnn.errors.InputWarning")  # given on purpose; the manifest keeps it
def test_manifest_records_the_frame_and_the_several_frames_warning(tmp_path):
    """Of a multi-frame file, the manifest says which frame was explained (as --frame counts: -1,
    the last, by default) and keeps the warning that the file holds several frames."""
    frames = [random_structure(60, seed=seed) for seed in (5, 6)]
    trajectory = tmp_path / "trajectory.xyz"
    write(trajectory, [Atoms(numbers=s.numbers, positions=s.positions, cell=s.cell, pbc=s.pbc) for s in frames],
          format="extxyz")
    checkpoint = _checkpoint(tmp_path / "model.pt")
    runner = CliRunner()
    for extra, frame, warned in [([], -1, True), (["--frame", "0"], 0, False)]:
        out = tmp_path / f"frame{frame}"
        result = runner.invoke(app, ["explain", str(checkpoint), str(trajectory), "--atoms", "3", "--out", str(out),
                                     "--epochs", "2", "--sanity-atoms", "0", "--no-figures", *extra])
        assert result.exit_code == 0, result.output
        manifest = json.loads((out / "manifest.json").read_text())
        assert manifest["frame"] == frame
        several = f"{trajectory}: holds several frames; reading the last (choose one with --frame N, 0 = the first)"
        assert manifest["warnings"] == ([several] if warned else [])


def test_explain_stats_reports_broken_results_in_one_line(tmp_path):
    from symgnn.errors import SymgnnError
    from symgnn.explain.writers import load_results

    structure_file = _xyz(random_structure(60, seed=5), tmp_path / "box.xyz")
    out = tmp_path / "o"
    result = CliRunner().invoke(app, ["explain", str(_checkpoint(tmp_path / "model.pt")), str(structure_file), "--atoms",
                                      "3", "--out", str(out), "--epochs", "2", "--sanity-atoms", "0", "--no-figures"])
    assert result.exit_code == 0, result.output
    explanation = out / "atom_00003" / "explanation.json"
    explanation.write_text(explanation.read_text()[:500])
    with pytest.raises(SymgnnError, match=r"atom_00003/explanation.json: truncated or corrupt \(.*\); re-run"):
        load_results(out)
    (out / "manifest.json").write_text("{bad")
    with pytest.raises(SymgnnError, match="manifest.json: truncated or corrupt"):
        load_results(out)
    with pytest.raises(SymgnnError, match="nowhere: directory not found"):
        load_results(tmp_path / "nowhere")


def test_explain_stats_names_a_file_given_for_the_directory(tmp_path):
    """A file given where the results directory belongs is said to be a file, with the directory
    meant when the file lies in one (not "directory not found", which it was)."""
    from symgnn.errors import SymgnnError

    structure_file = _xyz(random_structure(60, seed=5), tmp_path / "box.xyz")
    out = tmp_path / "o"
    result = CliRunner().invoke(app, ["explain", str(_checkpoint(tmp_path / "model.pt")), str(structure_file), "--atoms",
                                      "3", "--out", str(out), "--epochs", "2", "--sanity-atoms", "0", "--no-figures"])
    assert result.exit_code == 0, result.output
    for given in (out / "manifest.json", out / "atom_00003" / "edges.csv"):
        stats = CliRunner().invoke(app, ["explain-stats", str(given)])
        assert isinstance(stats.exception, SymgnnError)
        assert str(stats.exception) == (f"{given}: is a file, not a directory (give the --out directory of symgnn "
                                        f"explain: {out}?)")
    stats = CliRunner().invoke(app, ["explain-stats", str(structure_file)])
    assert str(stats.exception) == (f"{structure_file}: is a file, not a directory (give the --out directory of "
                                    "symgnn explain)")


def test_explain_stats_reports_a_broken_descriptors_csv_in_one_line(tmp_path):
    """A truncated, edited or foreign descriptors.csv in the results is one error naming it (it was
    a traceback, or, cut at a line break, a summary of fewer groups for that atom)."""
    from symgnn.errors import SymgnnError
    from tests.explain.conftest import example_attribution

    structure_file = _xyz(random_structure(60, seed=5), tmp_path / "box.xyz")
    out = tmp_path / "o"
    result = CliRunner().invoke(app, ["explain", str(_checkpoint(tmp_path / "model.pt")), str(structure_file), "--atoms",
                                      "3,5", "--out", str(out), "--epochs", "2", "--sanity-atoms", "0", "--no-figures"])
    assert result.exit_code == 0, result.output
    first, second = (example_attribution(out / f"atom_{a:05d}" / "descriptors.csv", a) for a in (3, 5))
    text = second.read_text()
    for broken, problem in [
        (text[:-10], "truncated (the last row is incomplete)"),
        (text.replace("delta_ev", "delta"), "missing column delta_ev"),
        (text.replace(",0.2,", ",high,"), "line 2: could not convert string to float: 'high'"),
        ("".join(text.splitlines(keepends=True)[:50]), f"49 descriptor groups, where {first} has 192"),
    ]:
        second.write_text(broken)
        stats = CliRunner().invoke(app, ["explain-stats", str(out), "--random-sets", "1"])
        assert isinstance(stats.exception, SymgnnError), stats.exception
        assert str(stats.exception).startswith(f"{second}: {problem}"), stats.exception
        assert not (out / "stats").exists()  # refused before any statistics were computed
