"""The benchmark command end to end in quick mode (crops of the shared samples, 2 epochs), its
resumability, the table it rebuilds from run records, and the noise ceiling of the data."""

from __future__ import annotations

import json
import math

import pytest
from typer.testing import CliRunner

from symgnn.benchmark.protocol import ALL_MODELS, Protocol, parse_models
from symgnn.benchmark.table import aggregate, markdown_table, noise_ceiling, write_tables
from symgnn.cli.main import app
from symgnn.errors import SymgnnError

MODELS = ("egat_length", "mlp", "descriptors")


def invoke(*args: str):
    result = CliRunner().invoke(app, ["benchmark", *args])
    return result


@pytest.fixture(scope="module")
def quick_bench(tmp_path_factory):
    """One quick benchmark of three models with one seed, shared by the tests below."""
    from tests.helpers import SHARED_DATA

    if not (SHARED_DATA / "train0.pickle").is_file():
        pytest.skip(f"shared dataset not found at {SHARED_DATA} (needs ../shared/data/cuzr64 beside the checkout)")
    out = tmp_path_factory.mktemp("bench")
    result = invoke("--models", ",".join(MODELS), "--seeds", "1", "--quick", "--data", str(SHARED_DATA),
                    "--out", str(out))
    assert result.exit_code == 0, result.output + repr(result.exception)
    return out, SHARED_DATA, result.output


def test_quick_benchmark_writes_runs_and_tables(quick_bench):
    out, _, output = quick_bench
    assert "QUICK MODE" in output
    for model in MODELS:
        record = json.loads((out / "runs" / f"{model}-seed0.json").read_text())
        assert record["model"] == model and record["quick"] is True
        assert set(record["splits"]) == {"train", "val"}  # no test samples in the shared directory
        assert -1 <= record["splits"]["val"]["pearson"] <= 1
        assert math.isfinite(record["invariance_error_ev"]) and record["invariance_error_ev"] >= 0
    assert (out / "runs" / "mlp-seed0" / "best.pt").is_file()
    markdown = (out / "results.md").read_text()
    assert "QUICK MODE" in markdown and "Noise ceiling" in markdown
    assert all(f"`{model}`" in markdown for model in MODELS)
    header = (out / "results.csv").read_text().splitlines()[0]
    assert "val_pearson_mean" in header and "noise_ceiling" in header
    # Exactly invariant inputs (lengths, descriptors): the spread under O(3) is rounding noise.
    egat = json.loads((out / "runs" / "egat_length-seed0.json").read_text())
    assert egat["invariance_error_ev"] < 1e-4


def test_second_invocation_redoes_nothing(quick_bench):
    out, data, _ = quick_bench
    records = sorted((out / "runs").glob("*.json"))
    stamps = {p: p.stat().st_mtime_ns for p in records}
    result = invoke("--models", ",".join(MODELS), "--seeds", "1", "--quick", "--data", str(data), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert all(f"skip {model}-seed0" in result.output for model in MODELS)
    assert not [line for line in result.output.splitlines() if line.startswith(("train ", "fit ", "resume "))]
    assert {p: p.stat().st_mtime_ns for p in records} == stamps


def test_interrupted_run_resumes_from_its_checkpoint(quick_bench):
    out, data, _ = quick_bench
    (out / "runs" / "mlp-seed0.json").unlink()  # as if killed after training, before the record
    result = invoke("--models", "mlp", "--seeds", "1", "--quick", "--data", str(data), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "resume mlp-seed0" in result.output
    assert len((out / "runs" / "mlp-seed0" / "metrics.jsonl").read_text().splitlines()) == 2
    assert (out / "runs" / "mlp-seed0.json").is_file()


def test_table_is_rebuilt_from_existing_records(quick_bench):
    out, data, _ = quick_bench
    (out / "results.md").unlink()
    (out / "results.csv").unlink()
    _, _, markdown = write_tables(out, data)
    assert (out / "results.md").read_text() == markdown
    assert all(f"`{model}`" in markdown for model in MODELS)
    assert len((out / "results.csv").read_text().splitlines()) == 1 + len(MODELS)


def test_other_protocol_in_the_same_directory_is_refused(quick_bench):
    out, data, _ = quick_bench
    result = invoke("--models", "mlp", "--seeds", "1", "--budget-minutes", "1", "--data", str(data), "--out", str(out))
    assert result.exit_code != 0
    assert isinstance(result.exception, SymgnnError) and "protocol" in str(result.exception)


def test_noise_ceiling_of_the_data(shared_data):
    ceiling = noise_ceiling(shared_data)
    assert ceiling["label_pearson"] == pytest.approx(0.775, abs=0.005)
    assert ceiling["ceiling"] == pytest.approx(math.sqrt(ceiling["label_pearson"]))


@pytest.mark.slow
def test_all_models_quick(shared_data, tmp_path):
    """The CI check of the issue: every model through the whole command (about 20 s on 2 cores)."""
    result = invoke("--models", "all", "--seeds", "1", "--quick", "--data", str(shared_data), "--out", str(tmp_path))
    assert result.exit_code == 0, result.output + repr(result.exception)
    markdown = (tmp_path / "results.md").read_text()
    assert all(f"`{model}`" in markdown for model in ALL_MODELS)
    assert len(list((tmp_path / "runs").glob("*.json"))) == len(ALL_MODELS)


def test_parse_models():
    assert parse_models("all") == list(ALL_MODELS)
    assert parse_models("mlp, symgnn,mlp") == ["mlp", "symgnn"]
    with pytest.raises(SymgnnError, match="unknown model"):
        parse_models("symgnn,transformer")
    with pytest.raises(SymgnnError, match="budget"):
        Protocol.make(-1, quick=False)


def _record(model: str, seed: int, val: float) -> dict:
    split = {"pearson": val, "spearman": val, "mae": 0.2}
    return {"model": model, "seed": seed, "quick": False, "budget_minutes": 3.0, "epochs": 4, "parameters": 10,
            "seconds_per_epoch": 30.0, "wall_seconds": 200.0, "invariance_error_ev": 0.0,
            "splits": {"train": split, "val": split}}


def test_aggregate_mean_and_std_over_seeds():
    rows = aggregate([_record("schnet", 0, 0.5), _record("schnet", 1, 0.7), _record("mlp", 0, 0.1)])
    schnet = rows[0]
    assert schnet["seeds"] == 2 and schnet["val_pearson_mean"] == pytest.approx(0.6)
    assert schnet["val_pearson_std"] == pytest.approx(math.sqrt(0.02))
    assert schnet["test_pearson_mean"] is None and schnet["paper_test_pearson"] == 0.759
    table = markdown_table(rows)
    assert "0.600 ± 0.141" in table and "| `mlp` | 1 |" in table and "test Spearman" not in table
    assert "| 3.3 min |" in table  # wall time at a readable scale (200 s), not minutes to 3 digits


def test_keep_freed_memory_reaches_every_runs_config_and_the_table():
    from symgnn.benchmark.protocol import training_config
    from symgnn.benchmark.table import render_markdown

    for keep in (False, True):
        protocol = Protocol.make(3, quick=False, keep_freed_memory=keep)
        config = training_config("schnet", 0, protocol, ["train0"], ["train6"])
        assert config.train.keep_freed_memory is keep
        record = {**_record("schnet", 0, 0.5), "protocol": protocol.to_dict(), "finished": "2026-12-03T09:00:00+00:00"}
        header = render_markdown([record], None)
        assert ("glibc kept freed memory" in header) is keep
        assert ("glibc's default allocator settings" in header) is not keep


def test_directory_made_before_the_allocator_setting_is_still_accepted(tmp_path):
    """A protocol.json without ``keep_freed_memory`` was made with glibc's defaults: the default
    protocol continues it, and --keep-freed-memory is refused naming the setting."""
    from symgnn.benchmark.runner import check_protocol

    old = Protocol.make(3, quick=False).to_dict()
    del old["train_recipe"]["keep_freed_memory"]
    (tmp_path / "protocol.json").write_text(json.dumps(old))
    check_protocol(tmp_path, Protocol.make(3, quick=False))
    with pytest.raises(SymgnnError, match=r"train_recipe\.keep_freed_memory recorded False, requested True"):
        check_protocol(tmp_path, Protocol.make(3, quick=False, keep_freed_memory=True))


def test_summary_line_gives_seconds_for_a_fast_benchmark_and_says_what_was_skipped(tmp_path, monkeypatch):
    """A benchmark of a few seconds used to end with "3 run(s) in 0.0 min"."""
    import symgnn.benchmark.runner as runner
    from symgnn.benchmark.runner import BenchmarkResult

    def fast(*args, **kwargs):
        return BenchmarkResult(tmp_path, [tmp_path / f"r{i}.json" for i in range(3)], tmp_path / "results.csv",
                               tmp_path / "results.md", "| table |", 4.2, skipped=2)

    monkeypatch.setattr(runner, "run_benchmark", fast)
    result = invoke("--quick", "--models", "mlp", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "3 run(s) (2 already done, not rerun) in 4.2 s; tables " in result.output
