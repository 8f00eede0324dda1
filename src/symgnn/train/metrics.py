"""A run's ``metrics.jsonl``: one JSON record per epoch, appended as training goes.

Appending is not atomic: a run killed while writing leaves a torn last line. Readers skip such a line
(the epoch it described is trained again on resume, since ``last.pt`` is saved after it) and refuse
damage anywhere else in one line naming the file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from symgnn.errors import SymgnnError
from symgnn.io.atomic import atomic_write


def append_metrics(path: Path, record: dict[str, Any]) -> None:
    """Append one epoch's record (one line)."""
    with path.open("a") as handle:
        handle.write(json.dumps(record) + "\n")


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """Every epoch's record in ``path``; a torn last line (an interrupted append) is skipped."""
    lines = [line for line in Path(path).read_text().splitlines() if line.strip()]
    records = []
    for number, line in enumerate(lines, start=1):
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            if number == len(lines):
                break  # the run stopped while writing this line
            raise SymgnnError(f"{path}: line {number} is not a JSON record; the metrics file is damaged") from None
        if not isinstance(record, dict) or "epoch" not in record:
            raise SymgnnError(f"{path}: line {number} is not an epoch record")
        records.append(record)
    return records


def truncate_metrics(path: Path, last_epoch: int) -> None:
    """Keep only the records up to ``last_epoch``, the checkpoint a run resumes from (a crash between
    writing the metrics and the checkpoint leaves records of epochs the resumed run will redo)."""
    if not path.exists():
        return
    kept = [record for record in read_metrics(path) if record["epoch"] <= last_epoch]
    with atomic_write(path) as handle:
        handle.write("".join(json.dumps(record) + "\n" for record in kept))
