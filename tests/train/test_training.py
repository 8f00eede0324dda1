"""End to end: a small SymGNN trains on a crop of a shared sample, resumes, and its checkpoint
serves evaluate and predict."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch
import yaml
from typer.testing import CliRunner

from symgnn.cli.main import app
from symgnn.data.crop import crop_sphere
from symgnn.errors import SymgnnError
from symgnn.train.config import config_from_dict, load_config
from symgnn.train.loop import fit
from tests.helpers import random_structure

SMALL_MODEL = {"name": "symgnn", "width": 8, "heads": [2, 1], "decoder_layers": 1, "dropout": 0.0}


def write_crops(shared_data, tmp_path):
    """Two extended-XYZ crops of train0 (train) and train6 (val) with their barrier column."""
    from ase.io import read

    from symgnn.data.registry import load_sample
    from symgnn.io.write import write_predictions

    paths = []
    for name in ("train0", "train6"):
        crop, _ = crop_sphere(load_sample(name, shared_data), 0, 11.0)
        write_predictions(crop, {}, tmp_path, name)
        paths.append(tmp_path / f"{name}.xyz")
        assert "barrier" in read(paths[-1]).arrays
    return paths


def config_for(train, val, epochs, **train_options):
    return config_from_dict({
        "data": {"train": [str(train)], "val": [str(val)], "label_column": "barrier"},
        "model": SMALL_MODEL,
        "train": {"epochs": epochs, "lr": 0.01, **train_options},
    })


@pytest.mark.slow
def test_loss_falls_and_run_resumes(shared_data, tmp_path):
    train, val = write_crops(shared_data, tmp_path)
    run = tmp_path / "run"
    result = fit(config_for(train, val, 30), None, run, progress=False, log=lambda *_: None)
    losses = [json.loads(line)["train_loss"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert len(losses) == 30
    assert np.mean(losses[-5:]) < 0.8 * np.mean(losses[:3])
    assert (run / "best.pt").exists() and result.best_epoch >= 1
    # Asking again without --resume must not touch the run; with it, training continues.
    with pytest.raises(SymgnnError, match="--resume"):
        fit(config_for(train, val, 30), None, run, progress=False, log=lambda *_: None)
    resumed = fit(config_for(train, val, 33), None, run, resume=True, progress=False, log=lambda *_: None)
    assert resumed.epochs_run == 33
    assert len((run / "metrics.jsonl").read_text().splitlines()) == 33


@pytest.fixture
def one_thread():
    """Multi-threaded CPU scatter sums in a different order each run; one thread is bit-reproducible."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_resumed_run_matches_unbroken_run(tmp_path, one_thread):
    structure = random_structure(70, seed=2)
    other = random_structure(70, seed=3)
    from symgnn.io.write import write_predictions

    write_predictions(structure, {}, tmp_path, "a")
    write_predictions(other, {}, tmp_path, "b")
    a, b = tmp_path / "a.xyz", tmp_path / "b.xyz"
    whole = fit(config_for(a, b, 4), None, tmp_path / "whole", progress=False, log=lambda *_: None)
    fit(config_for(a, b, 2), None, tmp_path / "split", progress=False, log=lambda *_: None)
    with (tmp_path / "split" / "metrics.jsonl").open("a") as handle:
        handle.write('{"epoch": 3, "train_lo')  # killed while appending epoch 3's record
    split = fit(config_for(a, b, 4), None, tmp_path / "split", resume=True, progress=False, log=lambda *_: None)
    records = [json.loads(line) for line in (tmp_path / "split" / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records] == [1, 2, 3, 4]
    w = torch.load(tmp_path / "whole" / "last.pt", weights_only=True)["state_dict"]
    s = torch.load(tmp_path / "split" / "last.pt", weights_only=True)["state_dict"]
    assert all(torch.equal(w[k], s[k]) for k in w)
    assert whole.best_val_pearson == split.best_val_pearson
    # Seeds are derived from (seed, epoch): resuming with another seed would mix two runs.
    with pytest.raises(SymgnnError, match="started with seed 0, not 1"):
        fit(config_for(a, b, 5, seed=1), None, tmp_path / "split", resume=True, progress=False, log=lambda *_: None)
    # Another model section than the run was started with: one line, not load_state_dict's traceback.
    wider = config_for(a, b, 5)
    wider.model = {**wider.model, "width": 2 * wider.model.get("width", 8)}
    with pytest.raises(SymgnnError, match=r"last\.pt: the run was started with other settings \(model\.width 8 -> 16\)"):
        fit(wider, None, tmp_path / "split", resume=True, progress=False, log=lambda *_: None)
    # Another recipe would mix two runs under one record: refused. Only the budget may change.
    with pytest.raises(SymgnnError, match=r"last\.pt: the run was started with other settings \(train\.lr 0\.01 -> 0\.05\)"):
        fit(config_for(a, b, 5, lr=0.05), None, tmp_path / "split", resume=True, progress=False, log=lambda *_: None)
    # A finished run resumed with its own budget has nothing to do, and says so.
    messages = []
    done = fit(config_for(a, b, 4), None, tmp_path / "split", resume=True, progress=False, log=messages.append)
    assert done.epochs_run == 4 and any("already trained 4 of 4 epochs; nothing to do" in m for m in messages)
    summary = json.loads((tmp_path / "split" / "summary.json").read_text())  # valid JSON: no NaN
    assert summary["epochs_run"] == 4 and summary["seconds_per_epoch"] > 0
    with pytest.raises(SymgnnError, match=r"already trained 4 epochs, more than train\.epochs 3"):  # records kept
        fit(config_for(a, b, 3), None, tmp_path / "split", resume=True, progress=False, log=lambda *_: None)


def test_cli_train_evaluate_predict(shared_data, tmp_path):
    from ase.io import read

    train, val = write_crops(shared_data, tmp_path)
    config = tmp_path / "small.yaml"
    config.write_text(yaml.safe_dump(config_for(train, val, 2).to_dict()))
    runner = CliRunner()
    result = runner.invoke(app, ["train", "--config", str(config), "--out", str(tmp_path / "run"), "--quiet"])
    assert result.exit_code == 0, result.output
    checkpoint = str(tmp_path / "run" / "best.pt")

    metrics = tmp_path / "metrics.json"
    result = runner.invoke(app, ["evaluate", checkpoint, str(val), "--label-column", "barrier", "--json", str(metrics)])
    assert result.exit_code == 0, result.output
    report = json.loads(metrics.read_text())
    assert -1 <= report["pearson"] <= 1 and {"Cu", "Zr"} <= set(report["per_species"])
    assert metrics.with_suffix(".png").stat().st_size > 1000

    out = tmp_path / "pred"
    result = runner.invoke(app, ["predict", checkpoint, str(val), "--out", str(out)])
    assert result.exit_code == 0, result.output
    atoms = read(out / "train6.xyz")
    assert atoms.arrays["predicted_barrier"].shape == (len(atoms),)
    assert np.isfinite(atoms.arrays["predicted_barrier"]).all()
    # A second run must not overwrite what the user has.
    before = (out / "train6.csv").read_bytes()
    result = runner.invoke(app, ["predict", checkpoint, str(val), "--out", str(out)])
    assert result.exit_code != 0 and "exists" in str(result.exception or result.output)
    assert (out / "train6.csv").read_bytes() == before
    # With labels, predict also scores and draws the parity plot.
    result = runner.invoke(app, ["predict", checkpoint, str(val), "--label-column", "barrier", "--out", str(tmp_path / "pred2")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "pred2" / "train6_parity.png").stat().st_size > 1000


def test_cli_epoch_budget_without_time_limit(tmp_path, one_thread):
    """``--max-minutes 0 --epochs N`` trains exactly N epochs with the cosine decay spread over them
    (the machine-independent budget used for GPU runs of a time-budgeted recipe)."""
    from symgnn.io.write import write_predictions

    write_predictions(random_structure(60, seed=4), {}, tmp_path, "a")
    write_predictions(random_structure(60, seed=5), {}, tmp_path, "b")
    config = config_for(tmp_path / "a.xyz", tmp_path / "b.xyz", 50, max_minutes=30, lr_schedule="cosine")
    path = tmp_path / "timed.yaml"
    path.write_text(yaml.safe_dump(config.to_dict()))
    runner = CliRunner()
    result = runner.invoke(app, ["train", "--config", str(path), "--out", str(tmp_path / "run"), "--quiet",
                                 "--epochs", "2", "--max-minutes", "0"])
    assert result.exit_code == 0, result.output
    saved = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    assert saved["train"]["max_minutes"] is None and saved["train"]["epochs"] == 2
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["lr"] for r in records] == pytest.approx([0.01, 0.005])  # cosine over 2 epochs, not 30 minutes
    refused = runner.invoke(app, ["train", "--config", str(path), "--out", str(tmp_path / "neg"), "--max-minutes", "-1"])
    assert refused.exit_code != 0 and "--max-minutes" in str(refused.exception)


def test_config_errors_name_the_problem(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("train: {lr: 0.1, learning_rate: 3}\n")
    with pytest.raises(SymgnnError, match="learning_rate"):
        load_config(bad)
    with pytest.raises(SymgnnError, match="not found"):
        load_config(tmp_path / "missing.yaml")
    # The model section is checked when the config is read, and the error names the file.
    bad.write_text("model: {name: painn_desc, dropout: 1.5}\n")
    with pytest.raises(SymgnnError, match=r"bad\.yaml: model 'painn_desc': bad hyper-parameters \(dropout"):
        load_config(bad)
    bad.write_text("model: {name: painn_desc, hiden: 8}\n")
    with pytest.raises(SymgnnError, match=r"bad\.yaml: .*hiden"):
        load_config(bad)
    bad.write_text("model: {name: transformer}\n")
    with pytest.raises(SymgnnError, match=r"bad\.yaml: unknown model 'transformer'"):
        load_config(bad)
    # label and crop_atoms were written into every resolved config and never read: old run
    # directories and checkpoints still load, but setting either to something else is refused.
    assert load_config(_write(bad, "data: {label: barrier, crop_atoms: null}\n")).data.cutoff == 5.0
    with pytest.raises(SymgnnError, match=r"bad\.yaml: data\.crop_atoms is not read \(training on crops"):
        load_config(_write(bad, "data: {crop_atoms: 2000}\n"))
    with pytest.raises(SymgnnError, match=r"bad\.yaml: data\.label is not read .*data\.label_column"):
        load_config(_write(bad, "data: {label: pot}\n"))
    # Values of the right kind that no run could use, and lists given as strings or flat lists
    # (which would be read letter by letter, or silently average nothing).
    for text, message in [
        ("train: {lr_schedule: linear}", r"train\.lr_schedule must be one of none, cosine, got 'linear'"),
        ("train: {eval_every: 0}", r"train\.eval_every must be positive, got 0"),
        ("train: {epochs: -3}", r"train\.epochs must be positive"),
        ("train: {lr: 0}", r"train\.lr must be positive"),
        ("train: {max_minutes: 0}", r"train\.max_minutes must be positive, got 0 \(use null for no time limit\)"),
        ("train: {patience: 0}", r"train\.patience must be positive, got 0 \(use null for no early stopping\)"),
        ("train: {aux_weight: -1}", r"train\.aux_weight must be non-negative"),
        ("data: {cutoff: 0}", r"data\.cutoff must be positive"),
        ("data: {train: train0}", r"data\.train must be a list of names, e\.g\. \[train0, train1\], got 'train0'"),
        ("data: {val: [train6, 3]}", r"data\.val must be a list of names"),
        ("data: {average_labels: [train0, train1]}", r"data\.average_labels must be a list of groups of names"),
        ("data: {train: []}", r"data\.train is empty"),
        ("data: {train: [train0, train2, train0]}", r"data\.train names train0 more than once"),
        ("data: {train: [train0, train6]}", r"train6 in both data\.train and data\.val"),
        ("data: {average_labels: [[train0, train6]]}", r"data\.average_labels group \[train0, train6\]: train6 not in data\.train"),
        ("data: {average_labels: [[train0]]}", r"data\.average_labels group \[train0\]: a group needs two or more members"),
        ("model: {name: painn_desc, hidden: -4}", r"model 'painn_desc': bad hyper-parameters \(hidden must be a positive integer, got -4\)"),
        ("model: {name: painn_desc, cutoff: 6.0}", r"model\.cutoff 6 Å differs from data\.cutoff 5 Å"),
        ("data: {dataset: cuzr65}", r"data\.dataset: unknown dataset 'cuzr65'"),
    ]:
        with pytest.raises(SymgnnError, match=r"bad\.yaml: " + message):
            load_config(_write(bad, text + "\n"))
    # A model that reads edges up to its own cutoff follows the graph's unless told otherwise.
    wide = load_config(_write(bad, "data: {cutoff: 6.0}\nmodel: {name: painn_desc}\n"))
    assert wide.model["cutoff"] == 6.0
    assert "cutoff" not in load_config(_write(bad, "data: {cutoff: 6.0}\nmodel: {name: symgnn}\n")).model


def _write(path, text):
    path.write_text(text)
    return path


def test_weight_average_is_validated_saved_and_resumed(tmp_path, one_thread):
    """With ``ema_decay`` the saved best weights are the average, not the live weights, and a resumed
    run continues the same average as an unbroken one."""
    from symgnn.io.write import write_predictions

    write_predictions(random_structure(70, seed=2), {}, tmp_path, "a")
    write_predictions(random_structure(70, seed=3), {}, tmp_path, "b")
    a, b = tmp_path / "a.xyz", tmp_path / "b.xyz"
    options = {"ema_decay": 0.5, "offset_weight": 0.2}
    whole = fit(config_for(a, b, 4, **options), None, tmp_path / "whole", progress=False, log=lambda *_: None)
    fit(config_for(a, b, 2, **options), None, tmp_path / "split", progress=False, log=lambda *_: None)
    split = fit(config_for(a, b, 4, **options), None, tmp_path / "split", resume=True, progress=False, log=lambda *_: None)
    assert whole.best_val_pearson == split.best_val_pearson
    last = torch.load(tmp_path / "whole" / "last.pt", weights_only=True)
    averaged = {k.removeprefix("module."): v for k, v in last["ema_state_dict"].items() if k.startswith("module.")}
    resumed = torch.load(tmp_path / "split" / "last.pt", weights_only=True)["ema_state_dict"]
    assert all(torch.equal(v, resumed[k]) for k, v in last["ema_state_dict"].items())
    live = last["state_dict"]
    differs = [k for k in averaged if averaged[k].is_floating_point() and not torch.equal(averaged[k], live[k])]
    assert differs, "the averaged weights equal the live weights: no averaging happened"
    # Validated only at its last epoch, a run's best.pt holds the average of that epoch.
    fit(config_for(a, b, 3, eval_every=3, **options), None, tmp_path / "once", progress=False, log=lambda *_: None)
    best = torch.load(tmp_path / "once" / "best.pt", weights_only=True)
    final = torch.load(tmp_path / "once" / "last.pt", weights_only=True)["ema_state_dict"]
    assert best["epoch"] == 3
    assert all(torch.equal(v, final["module." + k]) for k, v in best["state_dict"].items() if "module." + k in final)
    # A run started without averaging cannot be resumed with it.
    fit(config_for(a, b, 1), None, tmp_path / "plain", progress=False, log=lambda *_: None)
    with pytest.raises(SymgnnError, match="ema_decay"):
        fit(config_for(a, b, 2, **options), None, tmp_path / "plain", resume=True, progress=False, log=lambda *_: None)


def test_bad_averaging_options_are_refused():
    with pytest.raises(SymgnnError, match="ema_decay"):
        config_from_dict({"train": {"ema_decay": 1.5}})
    with pytest.raises(SymgnnError, match="offset_weight"):
        config_from_dict({"train": {"offset_weight": -1}})


def test_label_column_without_files_is_refused(tmp_path):
    from typer.testing import CliRunner

    from symgnn.cli.main import app

    result = CliRunner().invoke(app, ["evaluate", "cuzr64", "--split", "val", "--label-column", "nope"])
    assert result.exit_code != 0
    assert "apply to structure files" in str(result.exception)


def test_checkpoint_records_species_and_predictor_refuses_others(tmp_path, one_thread):
    """A checkpoint records the elements of its training data; its predictor refuses a structure with
    another element (an untrained embedding) in one line naming the file, and takes the known ones."""
    from symgnn.data.structure import Structure
    from symgnn.io.write import write_predictions
    from symgnn.predictor import Predictor

    write_predictions(random_structure(70, seed=2), {}, tmp_path, "a")
    write_predictions(random_structure(70, seed=3), {}, tmp_path, "b")
    fit(config_for(tmp_path / "a.xyz", tmp_path / "b.xyz", 1), None, tmp_path / "run", progress=False,
        log=lambda *_: None)
    assert torch.load(tmp_path / "run" / "best.pt", weights_only=True)["species"] == [29, 40]
    predictor = Predictor.from_checkpoint(tmp_path / "run" / "best.pt")
    known = random_structure(40, seed=5)
    assert np.isfinite(predictor.predict(known)).all()
    numbers = known.numbers.copy()
    numbers[:3] = 13  # aluminium
    ternary = Structure(numbers, known.positions, known.cell, known.pbc, name="cuzral.xyz")
    with pytest.raises(SymgnnError, match=r"^cuzral.xyz: holds Al, which the model never saw in training \(it knows Cu, Zr\)"):
        predictor.predict(ternary)


def test_position_noise_changes_training_and_resumes_exactly(tmp_path, one_thread):
    """Displacement noise changes what is learned, and the per-epoch seeding makes a resumed run draw
    the same displacements as an unbroken one."""
    from symgnn.io.write import write_predictions

    write_predictions(random_structure(70, seed=2), {}, tmp_path, "a")
    write_predictions(random_structure(70, seed=3), {}, tmp_path, "b")
    a, b = tmp_path / "a.xyz", tmp_path / "b.xyz"
    fit(config_for(a, b, 3), None, tmp_path / "clean", progress=False, log=lambda *_: None)
    fit(config_for(a, b, 3, position_noise=0.1), None, tmp_path / "whole", progress=False, log=lambda *_: None)
    fit(config_for(a, b, 2, position_noise=0.1), None, tmp_path / "split", progress=False, log=lambda *_: None)
    fit(config_for(a, b, 3, position_noise=0.1), None, tmp_path / "split", resume=True, progress=False, log=lambda *_: None)
    weights = {name: torch.load(tmp_path / name / "last.pt", weights_only=True)["state_dict"] for name in ("clean", "whole", "split")}
    assert all(torch.equal(weights["whole"][k], weights["split"][k]) for k in weights["whole"])
    assert not all(torch.equal(weights["whole"][k], weights["clean"][k]) for k in weights["whole"])
    with pytest.raises(SymgnnError, match="position_noise"):
        config_from_dict({"train": {"position_noise": -0.1}})


def test_settings_of_the_wrong_kind_are_refused_in_one_line():
    with pytest.raises(SymgnnError, match=r"train\.position_noise must be a number, got 'abc'"):
        config_from_dict({"train": {"position_noise": "abc"}})
    with pytest.raises(SymgnnError, match=r"train\.epochs must be an integer, got 3\.5"):
        config_from_dict({"train": {"epochs": 3.5}})
    with pytest.raises(SymgnnError, match=r"data\.cutoff must be a number, got True"):
        config_from_dict({"data": {"cutoff": True}})
    accepted = config_from_dict({"data": {"cutoff": 4}, "train": {"max_minutes": None, "grad_clip": 1}})
    assert accepted.data.cutoff == 4 and accepted.train.max_minutes is None


def test_without_validation_samples_the_final_model_is_kept(tmp_path, one_thread):
    """``data.val: []`` (a chosen recipe refitted on all labelled data): nothing is selected, best.pt is
    the final epoch's model, and the command says so instead of printing a validation score."""
    from symgnn.io.write import write_predictions
    from symgnn.train.checkpoint import load_checkpoint

    write_predictions(random_structure(60, seed=6), {}, tmp_path, "a")
    config = config_for(tmp_path / "a.xyz", tmp_path / "unused.xyz", 3).to_dict()
    config["data"]["val"] = []
    path = tmp_path / "refit.yaml"
    path.write_text(yaml.safe_dump(config))
    result = CliRunner().invoke(app, ["train", "--config", str(path), "--out", str(tmp_path / "run"), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "no validation samples" in result.output and "final model (no validation samples) at epoch 3" in result.output
    assert re.search(r"\(3 epochs, \d+\.\d s, ", result.output), result.output  # seconds, not "0.0 min"
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert len(records) == 3 and not any("val_pearson" in r for r in records)
    best, last = load_checkpoint(tmp_path / "run" / "best.pt"), load_checkpoint(tmp_path / "run" / "last.pt")
    assert best["epoch"] == last["epoch"] == 3 and best["val_names"] == []
    for name, tensor in last["state_dict"].items():
        assert torch.equal(best["state_dict"][name], tensor), name


def test_scores_on_training_structures_are_flagged(tmp_path, one_thread):
    """Evaluating (or predicting with labels) a structure the model was trained on warns in one line and
    the report lists it under ``trained_on``; a structure it never saw gets neither."""
    import warnings

    from symgnn.errors import InputWarning
    from symgnn.evaluate import evaluate
    from symgnn.io.read import read_structure
    from symgnn.io.write import write_predictions
    from symgnn.predictor import Predictor

    for name, seed in (("a", 7), ("b", 8)):
        write_predictions(random_structure(60, seed=seed), {}, tmp_path, name)
    fit(config_for(tmp_path / "a.xyz", tmp_path / "b.xyz", 1), None, tmp_path / "run", progress=False, log=lambda *_: None)
    predictor = Predictor.from_checkpoint(tmp_path / "run" / "best.pt")
    seen, unseen = (read_structure(tmp_path / f"{n}.xyz", label_column="barrier") for n in ("a", "b"))
    with pytest.warns(InputWarning, match=r"a\.xyz: in this model's training data, so its scores measure the fit"):
        report = evaluate(predictor, [seen, unseen]).report()
    assert report["trained_on"] == [str(tmp_path / "a.xyz")]
    with warnings.catch_warnings():
        warnings.simplefilter("error", InputWarning)
        assert evaluate(predictor, [unseen]).report()["trained_on"] == []
    with pytest.warns(InputWarning, match=r"a\.xyz: in this model's training data"):
        result = CliRunner().invoke(app, ["predict", str(tmp_path / "run" / "best.pt"), str(tmp_path / "a.xyz"),
                                          "--label-column", "barrier", "--out", str(tmp_path / "pred")])
    assert result.exit_code == 0, result.output
    # A dataset sample's own file counts as the sample.
    from symgnn.data.structure import Structure

    predictor.metadata["train_names"] = ["train0+train1", "train6"]
    as_file = Structure(seen.numbers, seen.positions, seen.cell, seen.pbc, name="/data/cuzr64/train1.pickle")
    assert predictor.trained_on(as_file) and not predictor.trained_on(unseen)


def test_full_batch_steps_compute_descriptors_once(tmp_path, one_thread, monkeypatch):
    """``batch: full`` takes one step per epoch on a batch of every training structure; the batch is
    built once, so the descriptors cached on it are computed once per structure, not every epoch."""
    import symgnn.nn.descriptor_input as descriptor_input
    from symgnn.io.write import write_predictions

    calls = []
    compute = descriptor_input.compute_descriptors
    monkeypatch.setattr(descriptor_input, "compute_descriptors", lambda structure, config: calls.append(1) or compute(structure, config))
    paths = []
    for seed, name in ((2, "a"), (3, "b"), (4, "c")):
        write_predictions(random_structure(70, seed=seed), {}, tmp_path, name)
        paths.append(str(tmp_path / f"{name}.xyz"))
    config = config_for(paths[0], paths[2], 4, batch="full")
    config.data.train = paths[:2]
    config.model = {"name": "painn_desc", "hidden": 8, "num_layers": 1,
                    "descriptors": {"radial_cutoff": 3.0, "coarse_grain": [3.0], "default_shell_cutoff": 3.0, "shell_cutoffs": {}}}
    result = fit(config, None, tmp_path / "run", progress=False, log=lambda *_: None)
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert result.epochs_run == 4 and all(np.isfinite(r["train_loss"]) for r in records)
    assert len(calls) == 3  # two training structures and the validation structure, once each


def test_config_paths_are_relative_to_the_config_and_recorded_absolute(tmp_path, one_thread, monkeypatch):
    """Files in a config are found from the config's folder, whatever the working directory; two
    spellings of one file are one file (refused in train and val); the run records absolute paths, so
    it resumes from anywhere, and predicting a training file by another path is flagged as a fit."""
    from symgnn.io.write import write_predictions
    from symgnn.predictor import Predictor

    (tmp_path / "s").mkdir()
    (tmp_path / "cfg").mkdir()
    write_predictions(random_structure(70, seed=2), {}, tmp_path / "s", "a")
    write_predictions(random_structure(70, seed=3), {}, tmp_path / "s", "b")
    config = config_for("../s/a.xyz", "../s/b.xyz", 2).to_dict()
    path = _write(tmp_path / "cfg" / "run.yaml", yaml.safe_dump(config))
    monkeypatch.chdir(tmp_path / "s")  # not the config's folder
    loaded = load_config(path)
    assert loaded.data.train == [str(tmp_path / "s" / "a.xyz")] and loaded.data.val == [str(tmp_path / "s" / "b.xyz")]
    fit(path, None, tmp_path / "run", progress=False, log=lambda *_: None)  # fit also takes the YAML path
    monkeypatch.chdir(tmp_path)
    resumed = fit(load_config(tmp_path / "run" / "config.yaml"), None, tmp_path / "run", resume=True, progress=False,
                  log=lambda *_: None)
    assert resumed.epochs_run == 2
    predictor = Predictor.from_checkpoint(tmp_path / "run" / "best.pt")
    from symgnn.io.read import read_structure

    assert predictor.trained_on(read_structure("s/a.xyz")) and not predictor.trained_on(read_structure("s/b.xyz"))
    config["data"]["val"] = ["./../s/a.xyz"]
    with pytest.raises(SymgnnError, match=r"run\.yaml: .*a\.xyz in both data\.train and data\.val"):
        load_config(_write(path, yaml.safe_dump(config)))


def test_a_run_started_with_relative_paths_resumes_with_absolute_ones(tmp_path, one_thread, monkeypatch):
    """Runs from before configs recorded absolute paths (or started with another spelling of the same
    files) resume: the files are compared, not their spelling."""
    from symgnn.io.write import write_predictions

    write_predictions(random_structure(70, seed=2), {}, tmp_path, "a")
    write_predictions(random_structure(70, seed=3), {}, tmp_path, "b")
    monkeypatch.chdir(tmp_path)
    fit(config_for("a.xyz", "b.xyz", 2), None, tmp_path / "run", progress=False, log=lambda *_: None)
    resumed = fit(config_for(tmp_path / "a.xyz", tmp_path / "b.xyz", 3), None, tmp_path / "run", resume=True,
                  progress=False, log=lambda *_: None)
    assert resumed.epochs_run == 3


def test_checkpoints_record_whether_training_was_bulk(tmp_path, one_thread):
    """A model trained on fully periodic files warns about a slab; one trained with a slab does not."""
    import warnings

    from symgnn.data.structure import Structure
    from symgnn.io.write import write_predictions
    from symgnn.predictor import Predictor

    bulk = random_structure(70, seed=2)
    slab = Structure(bulk.numbers, bulk.positions, bulk.cell, [True, True, False], dict(bulk.arrays), "slab", "barrier")
    write_predictions(bulk, {}, tmp_path, "bulk")
    write_predictions(slab, {}, tmp_path, "slab")
    write_predictions(random_structure(70, seed=3), {}, tmp_path, "val")
    for name, expected in (("bulk", True), ("slab", False)):
        fit(config_for(tmp_path / f"{name}.xyz", tmp_path / "val.xyz", 1), None, tmp_path / name, progress=False,
            log=lambda *_: None)
        predictor = Predictor.from_checkpoint(tmp_path / name / "best.pt")
        assert predictor.trained_on_bulk() is expected
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            predictor.predict(slab)
        assert any("open along z" in str(w.message) for w in caught) is expected


def test_a_time_budget_that_will_cut_the_epochs_is_said_once_early():
    """On a machine too slow for ``train.epochs`` within ``train.max_minutes`` the decay follows the
    clock and the run ends early: after the third epoch timed, one line says so and how to avoid it."""
    from symgnn.train.loop import time_budget_note

    config = config_for("a.xyz", "b.xyz", 205, max_minutes=30)
    slow, fast = [20.0, 12.0, 12.5], [9.0, 4.5, 4.4]
    note = time_budget_note(config, 3, 44.5, slow)
    assert note is not None and "12.5 s per epoch" in note and "205 epochs need about 42.8 min" in note  # 44.5 s + 202 × 12.5 s
    assert "train.max_minutes (30 min)" in note and "--max-minutes 0" in note
    assert time_budget_note(config, 3, 17.9, fast) is None  # 205 epochs at 4.5 s fit in 30 minutes
    assert time_budget_note(config, 2, 32.0, slow[:2]) is None and time_budget_note(config, 4, 57.0, [*slow, 12.0]) is None
    untimed = config_for("a.xyz", "b.xyz", 205, max_minutes=None)
    assert time_budget_note(untimed, 3, 44.5, slow) is None


def test_training_says_when_its_time_budget_will_cut_it_short(tmp_path, one_thread):
    from symgnn.io.write import write_predictions

    write_predictions(random_structure(40, seed=4), {}, tmp_path, "a")
    write_predictions(random_structure(40, seed=5), {}, tmp_path, "b")
    config = config_for(tmp_path / "a.xyz", tmp_path / "b.xyz", 10_000_000, max_minutes=0.03)
    lines: list[str] = []
    result = fit(config, None, tmp_path / "run", progress=False, log=lines.append)
    assert 3 <= result.epochs_run < 10_000_000
    notes = [line for line in lines if "--max-minutes 0 trains every epoch" in line]
    assert len(notes) == 1 and "10000000 epochs need about" in notes[0]
    assert any("time budget of 0.03 min reached" in line for line in lines)
