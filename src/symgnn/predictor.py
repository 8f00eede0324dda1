"""A trained model ready to predict: network, label scaling and graph cutoff together.

Everything that uses a trained model (``evaluate``, ``predict``, ``explain``, the benchmark) goes
through :class:`Predictor`, so a checkpoint is interpreted in exactly one place.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch_geometric.data import Data

from symgnn.data.blocks import DEFAULT_MAX_ATOMS, plan_blocks, spatial_blocks
from symgnn.data.structure import Structure
from symgnn.errors import InputWarning, SymgnnError
from symgnn.graph import build_graph, graph_on
from symgnn.models import build_model
from symgnn.models.receptive import dependency_radius
from symgnn.nn.descriptor_input import OutOfDistributionWarning, warn_extrapolation
from symgnn.runtime import tune_allocator_for
from symgnn.train.checkpoint import load_checkpoint

PRETRAINED_DIR = Path(__file__).parent / "pretrained"
#: predictions further than this many training-label standard deviations from the training mean are
#: flagged as meaningless (:meth:`Predictor.check_plausible`)
PLAUSIBLE_STDS = 6.0


def resolve_device(device: str | None) -> torch.device:
    """``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``None``/``"auto"`` (CUDA when available)."""
    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if str(device).startswith("cuda") and not torch.cuda.is_available():
        raise SymgnnError(f"--device {device}: CUDA is not available on this machine (use --device cpu)")
    try:
        return torch.device(device)
    except RuntimeError:
        raise SymgnnError(f"--device {device}: not a device name (cpu, cuda, cuda:0, ...)") from None


def resolve_checkpoint(name_or_path: str | Path) -> Path:
    """A checkpoint path, or the name of a model shipped with the package (e.g. ``cuzr64``)."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    shipped = PRETRAINED_DIR / f"{name_or_path}.pt"
    if shipped.is_file():
        return shipped
    available = sorted(p.stem for p in PRETRAINED_DIR.glob("*.pt"))
    hint = f"; shipped models: {', '.join(available)}" if available else ""
    raise SymgnnError(f"{name_or_path}: no such checkpoint file or shipped model{hint}")


def trained_species(graphs: list[Data]) -> list[int]:
    """The atomic numbers present in a model's training graphs, sorted (stored in its checkpoint)."""
    return sorted({int(z) for graph in graphs for z in torch.unique(graph.z).tolist()})


def check_species(structure: Structure, species: list[int] | None) -> None:
    """Refuse a structure holding an element the model never saw in training: the embedding of such an
    element is untrained, so its atoms' predictions (and their neighbours') would be meaningless."""
    if species is None:  # a checkpoint from before species were recorded
        return
    from ase.data import chemical_symbols

    unknown = sorted(set(np.unique(structure.numbers).tolist()) - set(species))
    if unknown:
        names = ", ".join(chemical_symbols[z] for z in unknown)
        known = ", ".join(chemical_symbols[z] for z in species)
        raise SymgnnError(f"{structure.name}: holds {names}, which the model never saw in training (it knows {known}); "
                          "its predictions there would be meaningless (LAMMPS dumps, and data files without Masses, need --types, e.g. 1=Cu,2=Zr)")


@dataclass
class Predictor:
    """A model with the label scaling it was trained with and the cutoff of its graphs."""

    model: nn.Module
    label_mean: float
    label_std: float
    cutoff: float
    model_name: str
    model_hparams: dict[str, Any]
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    metadata: dict[str, Any] = field(default_factory=dict)
    #: atomic numbers of the training data; structures with other elements are refused (None: unknown)
    species: list[int] | None = None
    #: let each prediction choose glibc's allocator settings for its size
    #: (:func:`symgnn.runtime.tune_allocator_for`; process-wide, so off for the API, on in the CLI)
    tune_allocator: bool = False

    @classmethod
    def from_checkpoint(cls, name_or_path: str | Path, device: str | None = "cpu") -> "Predictor":
        path = resolve_checkpoint(name_or_path)
        payload = load_checkpoint(path)
        model = build_model(payload["model_name"], **payload["model_hparams"])
        try:
            model.load_state_dict(payload["state_dict"])
        except RuntimeError as error:
            raise SymgnnError(f"{path}: weights do not fit model '{payload['model_name']}' ({str(error).splitlines()[0]})") from None
        target = resolve_device(device)
        model.to(target).eval()
        return cls(
            model=model,
            label_mean=float(payload["label_mean"]),
            label_std=float(payload["label_std"]),
            cutoff=float(payload["cutoff"]),
            model_name=payload["model_name"],
            model_hparams=dict(payload["model_hparams"]),
            device=target,
            metadata={"checkpoint": str(name_or_path), "checkpoint_file": str(path),
                      **{k: payload[k] for k in ("config", "epoch", "best_val_pearson", "data_dir_samples", "train_names",
                                                 "trained_on_bulk") if k in payload}},
            species=[int(z) for z in payload["species"]] if "species" in payload else None,
        )

    def trained_on(self, structure: Structure) -> bool:
        """Whether a structure of this name was among the model's training samples (a group of
        averaged samples such as ``train0+train1`` counts for each of its members; a dataset sample's
        own file, ``.../train6.pickle``, counts as the sample). Its scores are then no measure of
        generalisation. ``False`` for checkpoints that do not record their training data."""
        trained = [str(name) for name in self.metadata.get("train_names", [])]
        names = set(trained) | {member for name in trained for member in name.split("+")}
        path = Path(structure.name)  # a dataset sample read from its file is named by the file's path
        if structure.name in names or (path.suffix == ".pickle" and path.stem in names):
            return True
        # a training file named another way (./a.xyz, ../run/a.xyz, its absolute path)
        files = {str(Path(name).resolve()) for name in names if Path(name).is_file()}
        return path.is_file() and str(path.resolve()) in files

    def graph(self, structure: Structure) -> Data:
        """The graph of ``structure`` at this model's cutoff (refused if it holds an element the model
        never saw in training)."""
        check_species(structure, self.species)
        if self.tune_allocator:
            tune_allocator_for(len(structure))
        return build_graph(structure, self.cutoff)

    @torch.no_grad()
    def predict_graph(self, data: Data) -> np.ndarray:
        """Barrier per atom in label units (eV) for a graph built at this model's cutoff."""
        return self._forward(data)[0]

    @torch.no_grad()
    def _forward(self, data: Data) -> tuple[np.ndarray, Data]:
        """Predictions (eV) and the graph the model ran on (what it cached there, e.g. which atoms
        lie outside the training data, stays readable)."""
        self.model.eval()
        moved = graph_on(data, self.device)
        output = self.model(moved)[:, 0]
        return (output.double().cpu().numpy() * self.label_std) + self.label_mean, moved

    def predict(self, structure: Structure, max_atoms: int | None = DEFAULT_MAX_ATOMS) -> np.ndarray:
        """Barrier per atom (eV) for ``structure``.

        A structure of more than ``max_atoms`` atoms is predicted block by block
        (:mod:`symgnn.data.blocks`): each block carries a halo as wide as the model's dependency
        radius, so the predictions are the whole structure's while memory stays that of a block of
        about ``max_atoms`` atoms. ``None`` predicts any structure whole, as do models that declare
        ``blockwise = False``.
        """
        if max_atoms is not None and max_atoms < 1:
            raise SymgnnError(f"--max-atoms must be positive, got {max_atoms}")
        self.warn_free_surfaces(structure)
        with warnings.catch_warnings(record=True) as caught:  # raised deep inside the network's forward pass
            warnings.simplefilter("always")
            prediction = self._predict_whole_or_in_blocks(structure, max_atoms)
        for warning in caught:  # re-raised here, so that they point at the caller's line, not into torch
            warnings.warn(warning.message, warning.category, stacklevel=2)
        self.check_plausible(structure.name, prediction)
        return prediction

    def trained_on_bulk(self) -> bool:
        """Whether every training structure was periodic along all axes: recorded in checkpoints
        (``trained_on_bulk``); for older ones, whether all were samples of a registered (bulk)
        dataset, as for the shipped models; ``False`` when unknown."""
        if "trained_on_bulk" in self.metadata:
            return bool(self.metadata["trained_on_bulk"])
        from symgnn.data.registry import DATASETS

        names = [member for name in self.metadata.get("train_names", []) for member in str(name).split("+")]
        dataset = DATASETS.get(self.metadata.get("config", {}).get("data", {}).get("dataset", ""))
        known = {sample.name for sample in dataset.samples} if dataset is not None else set()
        return bool(names) and all(name in known for name in names)

    def warn_free_surfaces(self, structure: Structure) -> None:
        """A model trained on bulk glass has never seen a free surface: say so for structures with
        open axes (slabs, clusters), whose atoms near the surface are extrapolations."""
        if structure.pbc.all() or not self.trained_on_bulk():
            return
        axes = ", ".join(axis for axis, periodic in zip("xyz", structure.pbc) if not periodic)
        reach = dependency_radius(self.model, self.cutoff)
        warnings.warn(f"{structure.name}: open along {axes}, but the model was trained on bulk (fully periodic) structures: "
                      f"atoms within about {reach:g} Å of a free surface see surroundings it never saw, and their "
                      "predictions are extrapolations", OutOfDistributionWarning, stacklevel=3)

    def plausible_range(self) -> tuple[float, float]:
        """Barriers (eV) within :data:`PLAUSIBLE_STDS` training-label standard deviations of the
        training mean: the shipped model's training labels lie within 5 of them, its predictions on
        held-out glasses within 3.5."""
        return (self.label_mean - PLAUSIBLE_STDS * self.label_std, self.label_mean + PLAUSIBLE_STDS * self.label_std)

    def check_plausible(self, name: str, prediction: np.ndarray) -> None:
        """Refuse non-finite predictions, and warn (:class:`OutOfDistributionWarning`) when any lies
        outside :meth:`plausible_range`: a network far outside its training data extrapolates without
        bound (thousands of eV for a free surface or an unrelaxed snapshot), and such values must not
        pass silently into a user's analysis."""
        finite = np.isfinite(prediction)
        if not finite.all():
            raise SymgnnError(f"{name}: {int((~finite).sum())} of {len(prediction)} predictions are not finite numbers "
                              "(atoms on top of each other, or coordinates that are NaN or huge?)")
        low, high = self.plausible_range()
        outside = (prediction < low) | (prediction > high)
        if outside.any():
            warnings.warn(
                f"{name}: {int(outside.sum())} of {len(prediction)} predicted barriers ({outside.mean():.1%}) lie outside "
                f"{low:.2f} to {high:.2f} eV, the training barriers' mean ± {PLAUSIBLE_STDS:g} standard deviations "
                f"(here {prediction.min():.3g} to {prediction.max():.3g} eV): the structure is unlike the training data "
                "(not energy-minimised? a free surface? overlapping atoms? another material?) and those values are "
                "meaningless", OutOfDistributionWarning, stacklevel=3,
            )

    def _predict_whole_or_in_blocks(self, structure: Structure, max_atoms: int | None) -> np.ndarray:
        """:meth:`predict` without its checks of the result."""
        if max_atoms is None or len(structure) <= max_atoms or not getattr(self.model, "blockwise", True):
            return self.predict_graph(self.graph(structure))
        check_species(structure, self.species)
        halo = dependency_radius(self.model, self.cutoff)
        counts = plan_blocks(structure, halo, max_atoms)
        if counts == (1, 1, 1):
            warnings.warn(f"{structure.name}: {len(structure)} atoms, more than {max_atoms}, but its periodic axes cannot "
                          f"be cut into blocks of that size with a {halo:g} Å halo at a sensible cost: predicted whole", InputWarning, stacklevel=2)
            return self.predict_graph(self.graph(structure))
        if self.tune_allocator:  # by the whole structure's size (whole predictions tune in graph())
            tune_allocator_for(len(structure))
        prediction = np.full(len(structure), np.nan)
        outside: list[np.ndarray] = []
        for block in spatial_blocks(structure, halo, counts):
            with warnings.catch_warnings():  # the halo's cut neighbourhoods look out of distribution
                warnings.simplefilter("ignore", OutOfDistributionWarning)
                values, ran_on = self._forward(build_graph(block.structure, self.cutoff))
            prediction[block.atoms[block.inner]] = values[block.inner]
            flags = getattr(ran_on, "outside_training", None)
            if flags is not None:
                outside.append(flags.cpu().numpy()[block.inner])
        if outside:
            warn_extrapolation(structure.name, float(np.concatenate(outside).mean()))
        return prediction
