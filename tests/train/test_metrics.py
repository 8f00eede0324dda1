"""metrics.jsonl: a torn last line (a run killed while appending) is skipped; damage elsewhere is refused."""

from __future__ import annotations

import pytest

from symgnn.errors import SymgnnError
from symgnn.train.metrics import append_metrics, read_metrics, truncate_metrics


def test_torn_last_line_is_skipped_and_truncation_keeps_whole_records(tmp_path):
    path = tmp_path / "metrics.jsonl"
    for epoch in (1, 2, 3):
        append_metrics(path, {"epoch": epoch, "train_loss": 1.0 / epoch})
    with path.open("a") as handle:
        handle.write('{"epoch": 4, "tra')
    assert [r["epoch"] for r in read_metrics(path)] == [1, 2, 3]
    truncate_metrics(path, 2)
    assert path.read_text() == '{"epoch": 1, "train_loss": 1.0}\n{"epoch": 2, "train_loss": 0.5}\n'


def test_damage_before_the_last_line_is_refused(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"epoch": 1}\nnot json\n{"epoch": 3}\n')
    with pytest.raises(SymgnnError, match=r"metrics\.jsonl: line 2 is not a JSON record"):
        read_metrics(path)
    path.write_text('{"epoch": 1}\n[1, 2]\n')
    with pytest.raises(SymgnnError, match="line 2 is not an epoch record"):
        read_metrics(path)
