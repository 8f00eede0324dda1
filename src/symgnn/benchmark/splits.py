"""The structures a benchmark trains, validates and evaluates on.

A normal benchmark uses the dataset's own split (train0–train5 train, train6 validation, test0 and
test1 test when the data directory holds them). A quick benchmark uses small spherical crops of
train0, train1 and train6 (and of the test samples when present), written once as extended XYZ
files with a ``barrier`` column into ``<out>/quick-data/`` so that training reads them like any
user file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from symgnn.data import registry
from symgnn.data.crop import crop_sphere
from symgnn.data.dataset import load_structure
from symgnn.data.structure import Structure
from symgnn.errors import SymgnnError
from symgnn.data.config import DataConfig

QUICK_TRAIN = ("train0", "train1")
QUICK_VAL = ("train6",)


@dataclass
class BenchmarkData:
    """Names (dataset samples or file paths) per role, and a cache of the loaded structures.

    Attributes:
        data_dir: the dataset directory (always the full samples; crops are made from them).
        train, val: names for the training config.
        evaluation: every split the data holds, ``train``/``val``/``test`` → names, evaluated per run.
        label_column: the label column of file inputs (``None`` for dataset samples).
        note: how the data was chosen, for the table's header.
    """

    data_dir: Path
    train: list[str]
    val: list[str]
    evaluation: dict[str, list[str]]
    label_column: str | None = None
    note: str = ""
    _cache: dict[str, Structure] = field(default_factory=dict, repr=False)

    def load(self, name: str) -> Structure:
        """The labelled structure ``name`` (loaded once per benchmark invocation)."""
        if name not in self._cache:
            config = DataConfig(label_column=self.label_column)
            self._cache[name] = load_structure(name, config, self.data_dir)
        return self._cache[name]

    def structures(self, split: str) -> list[Structure]:
        """The structures of evaluation split ``split``."""
        return [self.load(name) for name in self.evaluation[split]]


def check_data(data_dir: str | Path | None, quick: bool) -> Path:
    """The resolved dataset directory, once it holds every sample a (quick) benchmark needs; called
    before the benchmark writes anything, so that missing data leaves no output behind."""
    root = registry.resolve_data_dir(data_dir).resolve()
    present = set(registry.available_samples(root))
    if quick:
        missing = [name for name in QUICK_TRAIN + QUICK_VAL if name not in present]
        if missing:
            raise SymgnnError(f"{root}: missing {', '.join(missing)}; the quick benchmark crops them")
        return root
    train, val = registry.split_names("train"), registry.split_names("val")
    missing = [name for name in train + val if name not in present]
    if missing:
        raise SymgnnError(
            f"{root}: missing {', '.join(missing)} (the benchmark trains on {', '.join(train)} and validates on "
            f"{', '.join(val)}); get them with `symgnn download --data {root}`"
        )
    return root


def full_data(data_dir: str | Path | None) -> BenchmarkData:
    """The dataset's split: train0–train5 / train6, and the test samples the directory holds."""
    root = check_data(data_dir, quick=False)
    present = set(registry.available_samples(root))
    train, val = registry.split_names("train"), registry.split_names("val")
    evaluation = {"train": train, "val": val}
    test = [name for name in registry.split_names("test") if name in present]
    if test:
        evaluation["test"] = test
    note = f"test samples: {', '.join(test)}" if test else "test samples not in the data directory: no test figures"
    return BenchmarkData(root, train, val, evaluation, note=note)


def quick_data(data_dir: str | Path | None, out: Path, radius: float) -> BenchmarkData:
    """Crops of radius ``radius`` Å around atom 0 of train0, train1, train6 (and test samples present)."""
    root = check_data(data_dir, quick=True)
    present = set(registry.available_samples(root))
    crops = out / "quick-data"
    test = [name for name in registry.split_names("test") if name in present]
    paths: dict[str, str] = {}
    for name in (*QUICK_TRAIN, *QUICK_VAL, *test):
        path = crops / f"{name}.xyz"
        if not path.is_file():
            from symgnn.io.write import write_predictions

            crop, _ = crop_sphere(registry.load_sample(name, root), 0, radius)
            write_predictions(crop, {}, crops, name)
            (crops / f"{name}.csv").unlink(missing_ok=True)  # only the XYZ file is read
        paths[name] = str(path)
    evaluation = {"train": [paths[n] for n in QUICK_TRAIN], "val": [paths[n] for n in QUICK_VAL]}
    if test:
        evaluation["test"] = [paths[n] for n in test]
    note = f"quick mode: crops of radius {radius:g} Å around atom 0 of {', '.join(paths)}"
    return BenchmarkData(root, evaluation["train"], evaluation["val"], evaluation, label_column="barrier", note=note)
