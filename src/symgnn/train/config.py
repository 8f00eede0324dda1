"""Training configuration: a YAML file with sections ``data``, ``model`` and ``train``.

Every field has a default, so a config only states what differs. Unknown keys are refused (a typo
must not silently fall back to a default).
"""

from __future__ import annotations

import types
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, get_args, get_type_hints

import yaml

from symgnn.data.config import DataConfig
from symgnn.errors import SymgnnError


#: data keys that earlier versions wrote into every resolved config (run directories, checkpoints)
#: and never read, with the value they always held there and what to use instead. Read with that
#: value, they are dropped; with any other, refused, since nothing would act on them.
_RETIRED_DATA_KEYS = {
    "label": ("barrier", "the label of a dataset sample is its barrier; for files use data.label_column"),
    "crop_atoms": (None, "training on crops is not implemented"),
}


def _without_retired_keys(data: Any, where: str) -> Any:
    """The data section without :data:`_RETIRED_DATA_KEYS`; one error line if one holds a value that
    someone chose (it would be ignored). Anything but a mapping is left to :func:`_section` to refuse."""
    if not isinstance(data, dict):
        return data
    for key, (inert, instead) in _RETIRED_DATA_KEYS.items():
        if key in data and data[key] != inert:
            raise SymgnnError(f"{where}: data.{key} is not read ({instead}); remove it")
    return {k: v for k, v in data.items() if k not in _RETIRED_DATA_KEYS}


@dataclass
class TrainConfig:
    """Optimisation and model selection. Selection uses validation Pearson only.

    ``ema_decay`` keeps an exponential moving average of the weights (updated after every optimiser
    step); when set, validation, ``best.pt`` and the final model use the averaged weights.
    ``offset_weight`` splits each structure's squared error into its within-structure part (what
    Pearson measures) and the squared mean error (the structure's offset) and weighs the latter:
    1 is plain MSE, 0 ignores offsets (predictions then carry no calibrated level in eV).
    ``position_noise`` (Å) displaces every atom at random in the edge vectors of each training step
    (:mod:`symgnn.train.augment`); validation and prediction use the clean structure.
    ``compile`` runs the training steps through ``torch.compile`` (the same model and numbers up to
    rounding; on one CPU core the shipped model's steps take about half the time after a compilation
    of under a minute); validation and saved checkpoints use the plain model.
    ``keep_freed_memory`` lets glibc keep freed memory for reuse during the run
    (:func:`symgnn.runtime.keep_freed_memory`, process-wide): on a CPU an epoch of the shipped recipe
    takes a third of the time with every number unchanged. With a time budget (``max_minutes``) it
    fits more epochs, which trains another model; the shipped recipe is budgeted in epochs.
    """

    seed: int = 0
    epochs: int = 1000
    max_minutes: float | None = None
    batch: str = "sample"  # "sample": one step per training structure; "full": one step per epoch on all
    optimizer: str = "amsgrad"  # "amsgrad" (Adam with AMSGrad, the paper's), "adam", "adamw"
    lr: float = 1e-3
    weight_decay: float = 0.0
    grad_clip: float | None = None
    lr_schedule: str = "none"  # "none" or "cosine" (over max_minutes or epochs)
    aux_weight: float = 0.1
    patience: int | None = None
    eval_every: int = 1
    standardise_labels: bool = True
    ema_decay: float | None = None  # validate and save an exponential moving average of the weights (per step)
    offset_weight: float = 1.0  # weight of each structure's mean error in the loss; 1: plain MSE, 0: centred
    position_noise: float = 0.0  # Å: random per-atom displacement of the edge vectors in every training step
    compile: bool = False  # torch.compile the training steps (faster; needs a C++ compiler on CPU)
    keep_freed_memory: bool = False  # glibc keeps freed memory for reuse: same numbers, about 3x faster on CPU


@dataclass
class Config:
    data: DataConfig = field(default_factory=DataConfig)
    model: dict[str, Any] = field(default_factory=lambda: {"name": "symgnn"})
    train: TrainConfig = field(default_factory=TrainConfig)

    @property
    def model_name(self) -> str:
        return str(self.model.get("name", "symgnn"))

    @property
    def model_hparams(self) -> dict[str, Any]:
        return {k: v for k, v in self.model.items() if k != "name"}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _section(cls, values: dict[str, Any] | None, where: str):
    values = values or {}
    if not isinstance(values, dict):
        raise SymgnnError(f"{where}: must be a mapping")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise SymgnnError(f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    hints = get_type_hints(cls)
    for key, value in values.items():
        _check_scalar(value, hints[key], f"{where}.{key}")
    return cls(**values)


_SCALARS = {float: ("a number", (int, float)), int: ("an integer", (int,)), bool: ("true or false", (bool,)),
            str: ("a string", (str,))}


def _is_names(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _check_scalar(value: Any, hint: Any, where: str) -> None:
    """Refuse a value of the wrong kind in one line, instead of a TypeError from deep inside training
    (or, worse, a string read letter by letter as a list of names): scalar settings (``float``,
    ``int``, ``bool``, ``str``, optionally ``| None``), lists of names (``list[str]``) and lists of
    groups of names (``list[list[str]]``)."""
    if hint == list[str]:
        if not _is_names(value):
            raise SymgnnError(f"{where} must be a list of names, e.g. [train0, train1], got {value!r}")
        return
    if hint == list[list[str]]:
        if not (isinstance(value, list) and all(_is_names(group) for group in value)):
            raise SymgnnError(f"{where} must be a list of groups of names, e.g. [[train0, train1]], got {value!r}")
        return
    options = set(get_args(hint)) if isinstance(hint, types.UnionType) else {hint}
    if value is None and type(None) in options:
        return
    scalars = [_SCALARS[t] for t in options if t in _SCALARS]
    if not scalars:
        return  # mappings are checked where they are used
    accepted = tuple(kind for _, kinds in scalars for kind in kinds)
    if (isinstance(value, bool) and bool not in accepted) or not isinstance(value, accepted):
        raise SymgnnError(f"{where} must be {' or '.join(name for name, _ in scalars)}, got {value!r}")


#: settings that null turns off, and what it means (a 0 on the command line, e.g. --max-minutes 0, may
#: mean the same, but in a config 0 is refused: it reads as a budget of nothing)
_NULL_MEANS = {"train.max_minutes": "no time limit", "train.grad_clip": "no gradient clipping",
               "train.patience": "no early stopping"}


def _check_ranges(config: Config, source: str) -> None:
    """Refuse values of the right kind that no run could use (a zero validation interval, an unknown
    schedule that would otherwise fall back to another), naming the key."""
    t, d = config.train, config.data
    choices = {"batch": ("sample", "full"), "optimizer": ("amsgrad", "adam", "adamw"), "lr_schedule": ("none", "cosine")}
    for key, allowed in choices.items():
        if getattr(t, key) not in allowed:
            raise SymgnnError(f"{source}: train.{key} must be one of {', '.join(allowed)}, got {getattr(t, key)!r}")
    positive = {"train.epochs": t.epochs, "train.eval_every": t.eval_every, "train.lr": t.lr, "data.cutoff": d.cutoff,
                "train.max_minutes": t.max_minutes, "train.grad_clip": t.grad_clip, "train.patience": t.patience}
    for key, value in positive.items():
        if value is not None and not value > 0:
            off = f" (use null for {_NULL_MEANS[key]})" if key in _NULL_MEANS else ""
            raise SymgnnError(f"{source}: {key} must be positive, got {value}{off}")
    for key, value in {"train.weight_decay": t.weight_decay, "train.aux_weight": t.aux_weight,
                       "train.offset_weight": t.offset_weight}.items():
        if value < 0:
            raise SymgnnError(f"{source}: {key} must be non-negative, got {value}")
    if t.ema_decay is not None and not 0.0 < t.ema_decay < 1.0:
        raise SymgnnError(f"{source}: train.ema_decay must lie strictly between 0 and 1, got {t.ema_decay}")
    if not 0.0 <= t.position_noise <= 1.0:
        raise SymgnnError(f"{source}: train.position_noise must lie between 0 and 1 Å, got {t.position_noise}")


def config_from_dict(raw: dict[str, Any], source: str = "config") -> Config:
    """Build a :class:`Config` from a plain dict (parsed YAML or a checkpoint's copy)."""
    if not isinstance(raw, dict):
        raise SymgnnError(f"{source}: the config must be a YAML mapping with data/model/train sections")
    unknown = sorted(set(raw) - {"data", "model", "train"})
    if unknown:
        raise SymgnnError(f"{source}: unknown section(s) {', '.join(unknown)}; expected data, model, train")
    model = dict(raw.get("model") or {"name": "symgnn"})
    config = Config(
        data=_section(DataConfig, _without_retired_keys(raw.get("data"), source), f"{source}: data"),
        model=model,
        train=_section(TrainConfig, raw.get("train"), f"{source}: train"),
    )
    _check_ranges(config, source)
    _check_data(config, source)
    _check_model(config, source)
    return config


def _check_data(config: Config, source: str) -> None:
    """Refuse sample lists that would train on nothing, twice on one structure, or validate on a
    training structure, and label groups that would silently average nothing."""
    from symgnn.data import registry

    d = config.data
    try:
        registry.get_dataset(d.dataset)
    except SymgnnError as error:
        raise SymgnnError(f"{source}: data.dataset: {error}") from None
    if not d.train:
        raise SymgnnError(f"{source}: data.train is empty; name at least one training sample or file")
    for key in ("train", "val"):
        repeated = sorted({name for name in getattr(d, key) if getattr(d, key).count(name) > 1})
        if repeated:
            raise SymgnnError(f"{source}: data.{key} names {', '.join(repeated)} more than once")
    overlap = sorted(set(d.train) & set(d.val))
    if overlap:
        raise SymgnnError(f"{source}: {', '.join(overlap)} in both data.train and data.val (validation must be held out)")
    for group in d.average_labels:
        outside = [name for name in group if name not in d.train]
        if len(group) < 2 or outside:
            why = "a group needs two or more members" if len(group) < 2 else f"{', '.join(outside)} not in data.train"
            raise SymgnnError(f"{source}: data.average_labels group [{', '.join(group)}]: {why} "
                              "(a group names training structures that hold one structure with several label sets)")


def _check_model(config: Config, source: str) -> None:
    """Build the model section once, so an unknown model or a bad hyper-parameter is reported with the
    config's name now rather than from deep inside training. A model that reads edges up to its own
    ``cutoff`` takes the graph's (``data.cutoff``) unless the config sets it; set to another value,
    one of the two would be wasted or cut short, so that is refused."""
    from symgnn.models import build_model  # the model registry imports torch; configs need not

    out_dim = {"out_dim": 1 + len(config.data.aux_targets)}  # as training passes it
    try:
        model = build_model(config.model_name, **{**config.model_hparams, **out_dim})
        own = getattr(model, "cutoff", None)
        if own is not None and "cutoff" not in config.model and float(own) != config.data.cutoff:
            config.model = {**config.model, "cutoff": config.data.cutoff}
            build_model(config.model_name, **{**config.model_hparams, **out_dim})
        elif own is not None and float(own) != config.data.cutoff:
            raise SymgnnError(f"model.cutoff {own:g} Å differs from data.cutoff {config.data.cutoff:g} Å (the graph's): "
                              "set them equal, or leave model.cutoff out to follow data.cutoff")
    except SymgnnError as error:
        raise SymgnnError(f"{source}: {error}") from None


def load_config(path: str | Path) -> Config:
    """Read a YAML training config; errors name the file."""
    path = Path(path)
    if not path.is_file():
        raise SymgnnError(f"{path}: config file not found")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise SymgnnError(f"{path}: not valid YAML ({str(error).splitlines()[0]})") from None
    if isinstance(raw, dict) and isinstance(raw.get("data"), dict):
        raw = {**raw, "data": files_from(raw["data"], path.parent)}
    return config_from_dict(raw, str(path))


def files_from(data: dict[str, Any], folder: Path) -> dict[str, Any]:
    """The data section with structure files made absolute (one spelling per file): a relative path
    is read relative to ``folder``, the config's (else, as before, to the working directory), so a config and its files can move
    together, and the run's own config.yaml (absolute) resumes from anywhere. Dataset sample names
    (``train0``) and paths that exist nowhere are left as they are (the latter for a one-line error
    when training starts)."""
    from symgnn.data import registry

    try:
        samples = set(registry.sample_names(str(data.get("dataset", DataConfig.dataset))))
    except SymgnnError:
        samples = set()

    def absolute(name: Any) -> Any:
        if not isinstance(name, str) or name in samples:
            return name
        candidates = [Path(name)] if Path(name).is_absolute() else [folder / name, Path(name)]
        for candidate in candidates:
            if candidate.exists():
                return str(candidate.resolve())  # one spelling per file: /a/../b/s.xyz is /b/s.xyz
        return name

    resolved = dict(data)
    for key in ("train", "val"):
        if isinstance(data.get(key), list):
            resolved[key] = [absolute(name) for name in data[key]]
    if isinstance(data.get("average_labels"), list):
        resolved["average_labels"] = [[absolute(n) for n in g] if isinstance(g, list) else g for g in data["average_labels"]]
    return resolved
