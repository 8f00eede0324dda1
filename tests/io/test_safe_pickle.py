"""The restricted unpickler loads numpy dicts and refuses code-running pickles."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from symgnn.errors import SymgnnError
from symgnn.io.safe_pickle import load_pickle


class _WritesFile:
    """Pickles to a call of ``builtins.open`` that would create ``target`` when loaded."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self):
        return (open, (str(self.target), "w"))


class _RunsShell:
    """Pickles to ``os.system("touch target")``."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self):
        return (os.system, (f"touch {self.target}",))


def test_loads_numpy_dict_every_protocol(tmp_path: Path) -> None:
    data = {"a": np.arange(5, dtype=np.int32), "b": np.ones((2, 3), np.float32), "s": np.float64(2.5),
            "meta": [b"x", "y", 1, (2.0, None)]}
    for protocol in range(2, pickle.HIGHEST_PROTOCOL + 1):
        path = tmp_path / f"ok{protocol}.pickle"
        path.write_bytes(pickle.dumps(data, protocol=protocol))
        loaded = load_pickle(path)
        np.testing.assert_array_equal(loaded["a"], data["a"])
        np.testing.assert_array_equal(loaded["b"], data["b"])
        assert loaded["s"] == 2.5 and loaded["meta"] == data["meta"]


class _Execs:
    """Pickles to ``builtins.exec`` of code that writes ``target``."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self):
        import builtins

        return (builtins.exec, (f"open({str(self.target)!r}, 'w').write('x')",))


@pytest.mark.parametrize("payload", [_WritesFile, _RunsShell, _Execs])
def test_malicious_pickle_is_refused_and_runs_nothing(tmp_path: Path, payload) -> None:
    target = tmp_path / "pwned.txt"
    path = tmp_path / "evil.pickle"
    path.write_bytes(pickle.dumps({"positions": np.zeros((1, 3)), "x": payload(target)}))
    with pytest.raises(SymgnnError) as info:
        load_pickle(path)
    message = str(info.value)
    assert str(path) in message and "forbidden global" in message
    assert any(name in message for name in ("open'", "system'", "exec'"))
    assert "\n" not in message
    assert not target.exists()


def test_truncated_and_garbage_files(tmp_path: Path) -> None:
    blob = pickle.dumps({"a": np.arange(1000.0)}, protocol=4)
    truncated = tmp_path / "cut.pickle"
    truncated.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(SymgnnError, match="cut.pickle"):
        load_pickle(truncated)
    garbage = tmp_path / "junk.pickle"
    garbage.write_bytes(b"this is not a pickle at all")
    with pytest.raises(SymgnnError, match="junk.pickle"):
        load_pickle(garbage)
    empty = tmp_path / "empty.pickle"
    empty.write_bytes(b"")
    with pytest.raises(SymgnnError, match="truncated"):
        load_pickle(empty)


def test_non_dict_and_missing(tmp_path: Path) -> None:
    path = tmp_path / "list.pickle"
    path.write_bytes(pickle.dumps([1, 2, 3]))
    with pytest.raises(SymgnnError, match="expected a dict"):
        load_pickle(path)
    with pytest.raises(SymgnnError, match="file not found"):
        load_pickle(tmp_path / "nope.pickle")
