"""The benchmark never deletes or overwrites what it did not make, checks every record, the protocol,
the models and the data before it writes or trains anything, says when it is interrupted, states the
machine of every run, and benchmarks a model registered by the user."""

from __future__ import annotations

import json
import re

import pytest
import torch
from torch import nn
from typer.testing import CliRunner

from symgnn.benchmark.protocol import Protocol, parse_models
from symgnn.benchmark.runner import check_protocol, run_benchmark
from symgnn.benchmark.table import render_markdown
from symgnn.cli.main import app
from symgnn.errors import InputWarning, SymgnnError
from tests.helpers import SHARED_DATA

needs_data = pytest.mark.skipif(not (SHARED_DATA / "train0.pickle").is_file(),
                                reason=f"shared dataset not found at {SHARED_DATA}")


def quick_folder(tmp_path):
    """A benchmark directory of the quick protocol with no runs yet."""
    out = tmp_path / "bench"
    check_protocol(out, Protocol.make(None, quick=True))
    return out


def unfinished_run(tmp_path, files: dict[str, bytes]):
    """A quick benchmark folder whose mlp-seed0 run started (an empty metrics.jsonl, no last.pt)
    and holds ``files`` besides; the folder and the run's directory."""
    out = quick_folder(tmp_path)
    run_dir = out / "runs" / "mlp-seed0"
    run_dir.mkdir(parents=True)
    (run_dir / "metrics.jsonl").write_text("")
    for name, content in files.items():
        (run_dir / name).write_bytes(content)
    return out, run_dir


def quick(models, out, log=None, **kwargs):
    lines = [] if log is None else log
    return run_benchmark(models, 1, SHARED_DATA, out, quick=True, log=lines.append, **kwargs)


def test_non_benchmark_folder_is_refused_and_kept(tmp_path):
    (tmp_path / "results.csv").write_text("mine\n")
    (tmp_path / "runs" / "mlp-seed0").mkdir(parents=True)
    (tmp_path / "runs" / "mlp-seed0" / "notes.txt").write_text("precious\n")
    with pytest.raises(SymgnnError, match="not a benchmark directory"):
        quick(["mlp"], tmp_path)
    assert (tmp_path / "results.csv").read_text() == "mine\n"
    assert (tmp_path / "runs" / "mlp-seed0" / "notes.txt").read_text() == "precious\n"
    assert not (tmp_path / "protocol.json").exists()


@needs_data
def test_unfinished_run_with_foreign_files_is_refused_and_kept(tmp_path):
    out, run_dir = unfinished_run(tmp_path, {"notes.txt": b"precious\n"})
    lines = []
    with pytest.raises(SymgnnError, match=r"mlp-seed0: .*\(notes\.txt\)"):
        quick(["mlp"], out, lines)
    assert (run_dir / "notes.txt").read_text() == "precious\n" and (run_dir / "metrics.jsonl").is_file()
    assert not lines


@needs_data
def test_unfinished_run_of_training_files_only_is_restarted(tmp_path):
    out, run_dir = unfinished_run(tmp_path, {".last.pt.abc123.tmp": b"half"})  # left by a kill mid-write
    quick(["mlp"], out)
    assert (out / "runs" / "mlp-seed0.json").is_file() and not (run_dir / ".last.pt.abc123.tmp").exists()


@pytest.mark.parametrize("name, text, problem", [
    ("other.json", '{"foo": 1}', "not a benchmark run record"),
    ("mlp-seed0.json", '{"model": "mlp", ', "unreadable run record"),
    ("gcn-seed0.json", '{"model": "mlp", "seed": 0, "splits": {}}', "holds the record of mlp-seed0"),
])
def test_broken_or_foreign_records_are_refused_before_any_training(tmp_path, name, text, problem):
    out = quick_folder(tmp_path)
    (out / "runs").mkdir()
    (out / "runs" / name).write_text(text)
    lines = []
    with pytest.raises(SymgnnError, match=problem) as error:
        quick(["mlp", "gcn"], out, lines)
    assert name in str(error.value) and "\n" not in str(error.value)
    assert not lines and sorted(p.name for p in (out / "runs").iterdir()) == [name]


def test_corrupt_protocol_is_one_error_naming_it(tmp_path):
    (tmp_path / "protocol.json").write_text("{bad")
    with pytest.raises(SymgnnError, match=r"protocol\.json: unreadable benchmark protocol"):
        quick(["mlp"], tmp_path)
    assert (tmp_path / "protocol.json").read_text() == "{bad"


def test_missing_data_writes_nothing(tmp_path):
    out = tmp_path / "bench"
    with pytest.raises(SymgnnError, match="missing train0"):
        run_benchmark(["mlp"], 1, tmp_path, out, log=lambda line: None)
    assert not out.exists()


@needs_data
def test_protocol_without_runs_does_not_lock_the_folder(tmp_path):
    """A protocol.json left by a command that failed before any run is replaced by the next one's."""
    out = tmp_path / "bench"
    check_protocol(out, Protocol.make(10, quick=False))
    lines = []
    quick(["mlp"], out, lines)
    assert json.loads((out / "protocol.json").read_text())["quick"] is True
    assert any("no runs were made under it yet" in line for line in lines)
    assert any(re.search(r"done mlp-seed0: val Pearson .*, wall \d+\.\d s$", line) for line in lines)  # not "0.0 min"


def test_protocol_mismatch_names_recorded_and_requested_values(tmp_path):
    check_protocol(tmp_path, Protocol.make(10, quick=False))
    with pytest.raises(SymgnnError, match=r"budget_minutes recorded 10\.0, requested 1\.0"):
        check_protocol(tmp_path, Protocol.make(1, quick=False))


def _record(seed: int, threads: int) -> dict:
    split = {"pearson": 0.5, "spearman": 0.5, "mae": 0.2}
    return {"model": "mlp", "seed": seed, "quick": False, "budget_minutes": 3.0, "splits": {"val": split},
            "protocol": Protocol.make(3, quick=False).to_dict(),
            "environment": {"machine": "x86_64", "cpu_count": 2, "torch_threads": threads, "torch": "2.0"}}


def test_machine_line_states_every_runs_thread_count():
    same = render_markdown([_record(0, 2), _record(1, 2)], None)
    assert "torch threads 2," in same and "differ" not in same
    mixed = render_markdown([_record(0, 1), _record(1, 4)], None)
    assert "torch threads 1 or 4 (differ between runs)" in mixed


def test_more_threads_than_cpus_warns(tmp_path):
    from symgnn.cli.benchmark import usable_cpus

    before, threads = torch.get_num_threads(), usable_cpus() + 1
    try:
        with pytest.warns(InputWarning, match=f"--threads {threads} is more than the {threads - 1} CPU"):
            CliRunner().invoke(app, ["benchmark", "--threads", str(threads), "--models", "nonsense",
                                     "--out", str(tmp_path)])
    finally:
        torch.set_num_threads(before)


def test_interrupt_says_how_to_resume(tmp_path, monkeypatch):
    import symgnn.benchmark.runner as runner

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "run_benchmark", interrupted)
    result = CliRunner().invoke(app, ["benchmark", "--quick", "--models", "mlp", "--out", str(tmp_path)])
    assert result.exit_code == 130
    assert "interrupted; rerun the same command to resume" in result.output


def test_sigterm_says_how_to_resume_and_ends_as_terminated(tmp_path, monkeypatch, capsys):
    """A scheduler's SIGTERM (raised as Terminated by `symgnn`) gets the same advice, then exit 143."""
    import sys

    import symgnn.benchmark.runner as runner
    from symgnn.cli.main import main
    from symgnn.errors import Terminated

    def terminated(*args, **kwargs):
        raise Terminated

    monkeypatch.setattr(runner, "run_benchmark", terminated)
    monkeypatch.setattr(sys, "argv", ["symgnn", "benchmark", "--quick", "--models", "mlp", "--out", str(tmp_path)])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 143
    err = capsys.readouterr().err.splitlines()
    assert err[-2:] == [f"rerun the same command to resume (finished runs in {tmp_path} are kept)", "terminated"]


class TinyModel(nn.Module):
    """A per-atom model of a user: an embedding of the atomic number and a linear read-out."""

    def __init__(self, *, hidden: int = 4, out_dim: int = 1) -> None:
        super().__init__()
        self.embedding = nn.Embedding(100, hidden)
        self.readout = nn.Linear(hidden, out_dim)

    def forward(self, data) -> torch.Tensor:
        return self.readout(self.embedding(data.z))


@pytest.fixture
def user_model(monkeypatch):
    """``TinyModel`` registered through the public registry, for this test only."""
    from symgnn.models import registry

    registry.available_models()  # the built-in models in the registry first
    monkeypatch.setattr(registry, "_MODELS", dict(registry._MODELS))
    registry.register("tiny_user_model")(TinyModel)
    return "tiny_user_model"


@needs_data
def test_a_registered_user_model_is_benchmarked(tmp_path, user_model):
    assert parse_models(f"mlp,{user_model}") == ["mlp", user_model]
    out = tmp_path / "bench"
    quick([user_model], out, model_hparams={user_model: {"hidden": 8}})
    record = json.loads((out / "runs" / f"{user_model}-seed0.json").read_text())
    assert record["config"]["model"] == {"name": user_model, "hidden": 8}
    assert record["parameters"] == 100 * 8 + 8 + 1
    assert f"`{user_model}`" in (out / "results.md").read_text()


def test_unknown_model_or_bad_hyper_parameters_write_nothing(tmp_path, user_model):
    out = tmp_path / "bench"
    with pytest.raises(SymgnnError, match="unknown model"):
        quick(["no_such_model"], out)
    with pytest.raises(SymgnnError, match="hidden"):
        quick([user_model], out, model_hparams={user_model: {"hidden": 0}})
    with pytest.raises(SymgnnError, match="not among the models"):
        quick(["mlp"], out, model_hparams={user_model: {}})
    assert not out.exists()


def test_cli_imports_a_module_that_registers_a_model(tmp_path, monkeypatch):
    """``--import file.py`` runs the user's registration, after which ``--models`` accepts the name
    (checked without training: an unknown second model stops the command before any output)."""
    from symgnn.models import registry

    registry.available_models()
    monkeypatch.setattr(registry, "_MODELS", dict(registry._MODELS))
    plugin = tmp_path / "my_models.py"
    plugin.write_text("from tests.benchmark.test_benchmark_safety import TinyModel\n"
                      "from symgnn.models.registry import register\n"
                      "register('cli_user_model')(TinyModel)\n")
    out = tmp_path / "bench"
    result = CliRunner().invoke(app, ["benchmark", "--import", str(plugin), "--models", "cli_user_model,nope",
                                      "--quick", "--out", str(out)])
    assert isinstance(result.exception, SymgnnError) and "unknown model(s) nope;" in str(result.exception)
    assert not out.exists()
    result = CliRunner().invoke(app, ["benchmark", "--import", str(tmp_path / "missing.py"), "--out", str(out)])
    assert isinstance(result.exception, SymgnnError) and "no such file" in str(result.exception)


@pytest.mark.parametrize("file, text, problem", [
    ("broken.py", "x = 1\n\ndef f(:\n    pass\n", r"SyntaxError at line 3: "),
    ("raises.py", "import math\nraise RuntimeError('no GPU\\nhere')\n", r"RuntimeError at line 2: no GPU here$"),
    ("needs.py", "import no_such_package_for_symgnn\n", r"ModuleNotFoundError at line 1: .*no_such_package_for_symgnn"),
    ("exits.py", "import sys\nsys.exit(3)\n", r"exits on import"),
    ("missing.py", None, r"no such file$"),
    ("notes.txt", "hello\n", r"not a \.py file"),
])
def test_cli_import_of_a_broken_file_is_one_error_line_before_any_work(tmp_path, monkeypatch, capsys, file, text,
                                                                       problem):
    """A file that does not parse, raises, exits or is missing: one ``error:`` line naming it and the
    problem (with the line in the user's file), exit status 2, no traceback, nothing written."""
    import sys

    from symgnn.cli.main import main

    if text is not None:
        (tmp_path / file).write_text(text)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    out = tmp_path / "bench"
    monkeypatch.setattr(sys, "argv", ["symgnn", "benchmark", "--import", file, "--models", "mlp", "--quick",
                                      "--out", str(out)])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in captured.out + captured.err, captured.err
    assert lines[0].startswith(f"error: cannot import models from {file}: ")
    assert re.search(problem, lines[0]), lines[0]
    assert not out.exists() and file.removesuffix(".py") not in sys.modules


def test_cli_import_of_a_file_named_like_a_loaded_module_is_refused(tmp_path, monkeypatch):
    """``json.py`` must not replace the standard library's json for the rest of the run."""
    import json
    import sys

    (tmp_path / "json.py").write_text("raise RuntimeError('must not run')\n")
    monkeypatch.setattr(sys, "path", list(sys.path))
    result = CliRunner().invoke(app, ["benchmark", "--import", str(tmp_path / "json.py"), "--quick",
                                      "--out", str(tmp_path / "bench")])
    assert isinstance(result.exception, SymgnnError)
    assert str(result.exception) == (f"cannot import models from {tmp_path / 'json.py'}: its name is that of the "
                                     "module 'json' already in use; rename the file")
    assert sys.modules["json"] is json and not (tmp_path / "bench").exists()


def test_cli_import_of_a_module_name_that_raises_names_its_file(tmp_path, monkeypatch):
    import sys

    (tmp_path / "user_models_that_raise.py").write_text("x = 1\nraise ValueError('bad setting')\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    result = CliRunner().invoke(app, ["benchmark", "--import", "user_models_that_raise", "--quick",
                                      "--out", str(tmp_path / "bench")])
    assert isinstance(result.exception, SymgnnError)
    assert str(result.exception) == (f"cannot import models from user_models_that_raise: ValueError at "
                                     f"{tmp_path / 'user_models_that_raise.py'} line 2: bad setting")
    result = CliRunner().invoke(app, ["benchmark", "--import", "no_such_user_module", "--quick",
                                      "--out", str(tmp_path / "bench")])
    assert isinstance(result.exception, SymgnnError)
    assert str(result.exception).startswith("cannot import models from no_such_user_module: no such module")
    assert not (tmp_path / "bench").exists()


def test_cli_imported_file_imports_the_modules_beside_it(tmp_path, monkeypatch):
    """As when Python runs a script, a ``--import`` file finds its own helper modules in its folder."""
    import sys

    from symgnn.models import registry

    registry.available_models()
    monkeypatch.setattr(registry, "_MODELS", dict(registry._MODELS))
    monkeypatch.setattr(sys, "path", list(sys.path))
    (tmp_path / "plugin").mkdir()
    (tmp_path / "plugin" / "sibling_layers_for_symgnn.py").write_text(
        "from tests.benchmark.test_benchmark_safety import TinyModel\n")
    (tmp_path / "plugin" / "my_sibling_models.py").write_text(
        "from sibling_layers_for_symgnn import TinyModel\n"
        "from symgnn.models.registry import register\n"
        "register('sibling_user_model')(TinyModel)\n")
    result = CliRunner().invoke(app, ["benchmark", "--import", str(tmp_path / "plugin" / "my_sibling_models.py"),
                                      "--models", "sibling_user_model,nope", "--quick",
                                      "--out", str(tmp_path / "bench")])
    assert isinstance(result.exception, SymgnnError) and "unknown model(s) nope;" in str(result.exception)
    for name in ("my_sibling_models", "sibling_layers_for_symgnn"):
        sys.modules.pop(name, None)
