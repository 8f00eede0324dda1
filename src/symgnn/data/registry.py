"""Known datasets: file names, sizes, checksums, splits and where to get them.

The data files are never part of the package (the upstream repository states no licence for them);
users point the package at a directory holding them, with ``--data DIR`` or the ``SYMGNN_DATA``
environment variable, or fetch them with ``symgnn download``. Every file is checked against its
recorded sha256 before use, so a truncated download or a different file is caught early.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from symgnn.data.structure import Structure
from symgnn.errors import SymgnnError, file_error
from symgnn.io.atomic import atomic_write

DATA_ENV = "SYMGNN_DATA"


@dataclass(frozen=True)
class SampleSpec:
    """One file of a dataset: its sample name, byte size (``None`` when unknown) and sha256."""

    name: str
    sha256: str
    size: int | None = None


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset: its files, its named splits and the URL pattern of upstream copies."""

    name: str
    suffix: str
    samples: tuple[SampleSpec, ...]
    splits: dict[str, tuple[str, ...]]
    url_pattern: str  # formatted with name=<sample name>
    source: str  # shown to users who need to get the files
    _by_name: dict[str, SampleSpec] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {s.name: s for s in self.samples})

    def sample(self, name: str) -> SampleSpec:
        """The spec of sample ``name`` (``train0`` or ``train0.pickle``)."""
        key = name[: -len(self.suffix)] if name.endswith(self.suffix) else name
        if key not in self._by_name:
            known = ", ".join(self._by_name)
            raise SymgnnError(f"unknown {self.name} sample '{name}' (known: {known})")
        return self._by_name[key]

    def file_name(self, name: str) -> str:
        """The file that holds sample ``name`` in a data directory (``train0`` -> ``train0.pickle``)."""
        return self.sample(name).name + self.suffix

    def url(self, name: str) -> str:
        return self.url_pattern.format(name=self.sample(name).name)


_TRAIN_SIZE = 368735
CUZR64 = DatasetSpec(
    name="cuzr64",
    suffix=".pickle",
    samples=(
        SampleSpec("train0", "17e71d9599ea0efc0a30470a492d85b0cfcb301060cb7762dff0127b8ee214ac", _TRAIN_SIZE),
        SampleSpec("train1", "c9feb236ca670b16269d493ac1a78ee7940bb1b309f8ab3cb093d3e68fdfaddb", _TRAIN_SIZE),
        SampleSpec("train2", "8b80667c6fbc7365c834a6d10e252dfcb24601ab975be6e83883cf8abccdce87", _TRAIN_SIZE),
        SampleSpec("train3", "733dbee48fe37b0c8ddcc1918e342bf34ade80d3d5fffd8c51a5218cf622d019", _TRAIN_SIZE),
        SampleSpec("train4", "9517cb1de08afc103001f37151a95f33e18032063eba72ae9935c9f8fc41d1f6", _TRAIN_SIZE),
        SampleSpec("train5", "f2d3f706fa01209ecb3d54a48a564418a340a70eaf5b1a956f4838a1ce0f3986", _TRAIN_SIZE),
        SampleSpec("train6", "bfd476cbcce8e8bf83990b42e94d1d771249d5f417f9798eeb0152f6b11c3b8f", _TRAIN_SIZE),
        # 3000-atom held-out test files: size not recorded, the sha256 decides.
        SampleSpec("test0", "0828b3128532ff6e4e2bcf2fb4cb1976258d327fd68a5f43910390baf2dc45f0"),
        SampleSpec("test1", "e7a0b757fda235617e9565dac4e3f60575a03dbca548a709ce72b451cb0443d5"),
    ),
    # train0 and train1 hold the same structure: they must stay on the same side of any split.
    splits={
        "train": ("train0", "train1", "train2", "train3", "train4", "train5"),
        "val": ("train6",),
        "test": ("test0", "test1"),
    },
    url_pattern="https://raw.githubusercontent.com/haoyuli02/SymGNN/main/datasets/raw_data/{name}.pickle",
    source="the GitHub repository haoyuli02/SymGNN, folder datasets/raw_data/",
)

DATASETS: dict[str, DatasetSpec] = {CUZR64.name: CUZR64}

# (resolved path, size, mtime_ns) of files whose sha256 matched; avoids rehashing on every load.
_VERIFIED: set[tuple[str, int, int]] = set()


def get_dataset(dataset: str = "cuzr64") -> DatasetSpec:
    if dataset not in DATASETS:
        raise SymgnnError(f"unknown dataset '{dataset}' (known: {', '.join(DATASETS)})")
    return DATASETS[dataset]


def _where_to_get(spec: DatasetSpec) -> str:
    return f"get the {spec.name} files with `symgnn download --data DIR` or by hand from {spec.source}"


def resolve_data_dir(data_dir: str | Path | None, must_exist: bool = True, dataset: str = "cuzr64") -> Path:
    """The data directory: ``data_dir`` if given, else ``$SYMGNN_DATA``; refused when unset or missing."""
    spec = get_dataset(dataset)
    if data_dir is None or str(data_dir) == "":
        data_dir = os.environ.get(DATA_ENV) or None
    if data_dir is None:
        raise SymgnnError(
            f"no data directory: pass --data DIR or set {DATA_ENV}=DIR to a folder holding the "
            f"{spec.name} files (train0{spec.suffix}, ...); {_where_to_get(spec)}"
        )
    path = Path(data_dir).expanduser()
    if must_exist and not path.is_dir():
        raise file_error(path, f"data directory not found; {_where_to_get(spec)}")
    return path


def sample_names(dataset: str = "cuzr64") -> list[str]:
    """All sample names of ``dataset`` (``train0``, ..., ``test1``), in registry order."""
    return [s.name for s in get_dataset(dataset).samples]


def split_names(split: str, dataset: str = "cuzr64") -> list[str]:
    """Sample names of ``split`` (``train``, ``val`` or ``test``)."""
    spec = get_dataset(dataset)
    if split not in spec.splits:
        raise SymgnnError(f"unknown split '{split}' (known: {', '.join(spec.splits)})")
    return list(spec.splits[split])


def available_samples(data_dir: str | Path | None, dataset: str = "cuzr64") -> list[str]:
    """Registry samples whose files exist in ``data_dir`` (not verified), in registry order."""
    spec = get_dataset(dataset)
    root = resolve_data_dir(data_dir, dataset=dataset)
    return [s.name for s in spec.samples if (root / spec.file_name(s.name)).is_file()]


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_file(path: Path, sample: SampleSpec, spec: DatasetSpec) -> None:
    """Check ``path`` against the sample's size and sha256 (cached per path, size and mtime)."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key in _VERIFIED:
        return
    fix = f"delete it and run `symgnn download`, or copy it again from {spec.source}"
    if sample.size is not None and stat.st_size != sample.size:
        raise file_error(path, f"corrupt or truncated: {stat.st_size} bytes, expected {sample.size}; {fix}")
    if sha256_file(path) != sample.sha256:
        raise file_error(path, f"corrupt or not the {spec.name} file: sha256 does not match; {fix}")
    _VERIFIED.add(key)


def sample_path(name: str, data_dir: str | Path | None = None, verify: bool = True, dataset: str = "cuzr64") -> Path:
    """Path of sample ``name`` in the data directory, checked to exist (and verified by default)."""
    spec = get_dataset(dataset)
    sample = spec.sample(name)
    root = resolve_data_dir(data_dir, dataset=dataset)
    path = root / spec.file_name(sample.name)
    if not path.is_file():
        raise file_error(path, f"missing; {_where_to_get(spec)}")
    if verify:
        verify_file(path, sample, spec)
    return path


def load_sample(name: str, data_dir: str | Path | None = None, verify: bool = True, dataset: str = "cuzr64") -> Structure:
    """Load dataset sample ``name`` (e.g. ``train0``) as a labelled Structure named after the sample."""
    from symgnn.io.cuzr64 import cuzr64_to_structure
    from symgnn.io.safe_pickle import load_pickle

    path = sample_path(name, data_dir, verify=verify, dataset=dataset)
    structure = cuzr64_to_structure(load_pickle(path), name=str(path))
    structure.name = get_dataset(dataset).sample(name).name
    return structure


def _fetch(url: str, target: Path, sample: SampleSpec, spec: DatasetSpec, timeout: float) -> None:
    """Download ``url`` into a temporary file next to ``target`` and verify it; only a verified file
    replaces ``target`` (atomically), so an interrupted or corrupt download leaves nothing behind."""
    digest = hashlib.sha256()
    size = 0
    try:
        with atomic_write(target, "wb") as handle, urllib.request.urlopen(url, timeout=timeout) as response:
            for block in iter(lambda: response.read(1 << 16), b""):
                digest.update(block)
                size += len(block)
                handle.write(block)
            if digest.hexdigest() != sample.sha256 or (sample.size is not None and size != sample.size):
                raise SymgnnError(f"{url}: downloaded file ({size} bytes) does not match the recorded sha256; not saved")
    except (OSError, http.client.HTTPException) as exc:  # URLError, HTTPError, timeouts are OSErrors
        reason = getattr(exc, "reason", None) or exc
        raise SymgnnError(
            f"{url}: download failed ({reason}); check the network, or copy the files by hand from "
            f"{spec.source} into {target.parent}"
        ) from None


def download(
    data_dir: str | Path | None,
    names: list[str] | None = None,
    dataset: str = "cuzr64",
    timeout: float = 60.0,
) -> list[Path]:
    """Fetch missing or corrupt samples (default: all) into ``data_dir``; returns the verified paths."""
    spec = get_dataset(dataset)
    root = resolve_data_dir(data_dir, must_exist=False, dataset=dataset)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise file_error(root, f"cannot create data directory ({exc.strerror or exc})") from None
    paths = []
    for name in names or [s.name for s in spec.samples]:
        sample = spec.sample(name)
        target = root / spec.file_name(sample.name)
        if target.is_file():
            try:
                verify_file(target, sample, spec)
                paths.append(target)
                continue
            except SymgnnError:
                pass  # corrupt copy: fetch it again
        _fetch(spec.url(sample.name), target, sample, spec, timeout)
        verify_file(target, sample, spec)
        paths.append(target)
    return paths
