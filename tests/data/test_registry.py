"""Dataset registry: data directory resolution, checksums, splits, downloads, and the real files."""

from __future__ import annotations

import dataclasses
import pickle
from pathlib import Path

import numpy as np
import pytest

from symgnn.data import registry
from symgnn.errors import SymgnnError

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "cuzr64"


def _shared() -> Path:
    if not (SHARED / "train0.pickle").is_file():
        pytest.skip("shared data ../shared/data/cuzr64 not found")
    return SHARED.resolve()


def test_splits() -> None:
    assert registry.split_names("train") == [f"train{k}" for k in range(6)]
    assert registry.split_names("val") == ["train6"]
    assert registry.split_names("test") == ["test0", "test1"]
    with pytest.raises(SymgnnError, match="unknown split"):
        registry.split_names("dev")
    names = [s.name for s in registry.CUZR64.samples]
    assert sorted(sum((registry.split_names(k) for k in ("train", "val", "test")), [])) == sorted(names)


def test_missing_data_dir_messages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(registry.DATA_ENV, raising=False)
    with pytest.raises(SymgnnError, match="--data DIR or set SYMGNN_DATA") as info:
        registry.resolve_data_dir(None)
    assert "symgnn download" in str(info.value) and "haoyuli02/SymGNN" in str(info.value)
    with pytest.raises(SymgnnError, match="data directory not found"):
        registry.resolve_data_dir(tmp_path / "nowhere")
    monkeypatch.setenv(registry.DATA_ENV, str(tmp_path))
    assert registry.resolve_data_dir(None) == tmp_path
    assert registry.available_samples(None) == []
    with pytest.raises(SymgnnError, match="train3.pickle: missing.*symgnn download"):
        registry.load_sample("train3")
    with pytest.raises(SymgnnError, match="unknown cuzr64 sample"):
        registry.load_sample("train9")


def test_wrong_size_is_corrupt(tmp_path: Path) -> None:
    (tmp_path / "train2.pickle").write_bytes(b"short")
    assert registry.available_samples(tmp_path) == ["train2"]
    with pytest.raises(SymgnnError, match="train2.pickle: corrupt or truncated"):
        registry.load_sample("train2", tmp_path)


def test_checksum_mismatch_on_corrupted_copy(tmp_path: Path) -> None:
    shared = _shared()
    copy = tmp_path / "train0.pickle"
    blob = bytearray((shared / "train0.pickle").read_bytes())
    blob[-100] ^= 0xFF  # same size, one flipped byte
    copy.write_bytes(bytes(blob))
    with pytest.raises(SymgnnError, match="train0.pickle: corrupt.*sha256"):
        registry.load_sample("train0", tmp_path)
    assert len(registry.load_sample("train0", tmp_path, verify=False)) == 8000


def test_load_real_train0() -> None:
    shared = _shared()
    s = registry.load_sample("train0.pickle", shared)
    assert s.name == "train0" and len(s) == 8000 and s.label_key == "barrier"
    counts = s.species_counts()
    assert counts == {"Cu": 5120, "Zr": 2880}  # 64 % / 36 %
    assert abs(float(s.labels.mean()) - 1.822) < 1e-3
    assert set(s.arrays) == {"barrier", "pot", "press", "von"}
    assert np.all(s.positions >= 0) and np.all(s.positions < np.diag(s.cell))
    assert registry.available_samples(shared) == [f"train{k}" for k in range(7)]


def test_download_from_file_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "upstream"
    source.mkdir()
    payload = pickle.dumps({"positions": np.zeros((1, 3)), "box": np.ones(3), "types": np.ones(1)})
    (source / "s1.pickle").write_bytes(payload)
    (source / "s2.pickle").write_bytes(b"tampered")
    import hashlib

    spec = dataclasses.replace(
        registry.CUZR64,
        name="tiny",
        samples=(registry.SampleSpec("s1", hashlib.sha256(payload).hexdigest(), len(payload)),
                 registry.SampleSpec("s2", hashlib.sha256(b"original").hexdigest())),
        url_pattern=source.as_uri() + "/{name}.pickle",
    )
    monkeypatch.setitem(registry.DATASETS, "tiny", spec)
    out = tmp_path / "data"
    paths = registry.download(out, names=["s1"], dataset="tiny")
    assert paths == [out / "s1.pickle"] and paths[0].read_bytes() == payload
    with pytest.raises(SymgnnError, match="does not match the recorded sha256"):
        registry.download(out, names=["s2"], dataset="tiny")
    assert sorted(p.name for p in out.iterdir()) == ["s1.pickle"]  # nothing half-written left


def test_download_without_network(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = dataclasses.replace(registry.CUZR64, url_pattern="http://127.0.0.1:9/{name}.pickle")
    monkeypatch.setitem(registry.DATASETS, "cuzr64", spec)
    with pytest.raises(SymgnnError, match="download failed.*copy the files by hand") as info:
        registry.download(tmp_path, names=["train0"], timeout=5)
    assert "\n" not in str(info.value)
    assert list(tmp_path.iterdir()) == []
