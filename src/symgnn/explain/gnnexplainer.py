r"""GNNExplainer for per-atom regression, many atoms per call, each on its receptive field.

For a target atom :math:`t` with unmasked prediction :math:`\hat y_t` the explainer learns edge logits
:math:`w` whose sigmoid :math:`m = \sigma(w)` scales every message (arXiv:2401.08627, Eq. 6):

.. math::
    \min_w\; \big(f_t(G \odot m) - \hat y_t\big)^2
        + \lambda_{size}\, \mathrm{reduce}(m) + \lambda_{ent}\, \overline{H(m)}, \qquad
    H(m) = -m \log m - (1-m)\log(1-m)

(prediction in the model's standardised units; the size penalty keeps the explanation small, the
entropy pushes each mask value towards 0 or 1).

PyG's :class:`~torch_geometric.explain.Explainer` with :class:`~torch_geometric.explain.algorithm.GNNExplainer`
(``explanation_type="model"``, regression mode, node level, ``edge_mask_type="object"``) runs the
optimisation; :class:`~symgnn.explain.hooks.ExplainableModel` adapts our models to it. One change
is needed to explain many atoms in one call: PyG's loss averages the squared error over the
explained nodes and takes the penalties over all masks together, so in a batch of ``B`` receptive
fields each atom's fit term would shrink by ``1/B`` against its penalties. :class:`PerAtomGNNExplainer`
overrides only the loss to the *sum over atoms* of each atom's own Eq. 6 objective. The receptive
fields are disjoint in the batch and Adam updates each mask entry on its own, so a batch gives the
same masks as explaining the atoms one at a time (tested with equal initial logits).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn
from torch_geometric.data import Data
from torch_geometric.explain import Explainer
from torch_geometric.explain.algorithm import GNNExplainer
from torch_geometric.explain.algorithm.utils import clear_masks

from symgnn.errors import SymgnnError
from symgnn.explain.hooks import ExplainableModel, model_device, predict_with_mask, receptive_hops
from symgnn.explain.subgraph import ReceptiveField, batch_fields, receptive_field
from symgnn.graph import graph_on


@dataclass
class ExplainConfig:
    """Settings of the explainer (defaults: PyG's GNNExplainer, except the learning rate).

    Attributes:
        epochs: optimisation steps per batch.
        lr: Adam learning rate on the mask logits (PyG: 0.01; 0.1 lets logits travel far enough in
            100 steps for masks to approach 0 and 1).
        edge_size: weight of the mask-size penalty.
        edge_reduction: ``"sum"`` or ``"mean"`` of the mask values for the size penalty.
        edge_ent: weight of the mask-entropy penalty (mean over the atom's edges).
        batch_size: receptive fields optimised together (same masks as one at a time; on one CPU
            thread batching saves nothing measurable, so 1).
        seed: seed of the random mask initialisation.
    """

    epochs: int = 100
    lr: float = 0.1
    edge_size: float = 0.005
    edge_reduction: str = "sum"
    edge_ent: float = 1.0
    batch_size: int = 1
    seed: int = 0

    def __post_init__(self) -> None:
        if self.edge_reduction not in ("sum", "mean"):
            raise SymgnnError(f"edge_reduction must be 'sum' or 'mean', got {self.edge_reduction!r}")
        for key in ("epochs", "batch_size"):
            if getattr(self, key) < 1:
                raise SymgnnError(f"--{key.replace('_', '-')} {getattr(self, key)}: must be at least 1")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise SymgnnError(f"--lr {self.lr}: must be a positive number")
        for key in ("edge_size", "edge_ent"):
            value = getattr(self, key)
            if not (math.isfinite(value) and value >= 0):
                raise SymgnnError(f"--{key.replace('_', '-')} {value}: must be a number of at least 0")

    def to_dict(self) -> dict:
        return asdict(self)


class PerAtomGNNExplainer(GNNExplainer):
    """PyG's GNNExplainer whose loss is the sum over explained atoms of each atom's own objective.

    ``edge_group`` maps each edge of the batch to its atom (position in ``index``); set it before
    calling the explainer.
    """

    edge_group: torch.Tensor | None = None

    def _initialize_homogeneous_masks(self, node_mask_type, edge_mask_type, N, F, E, device) -> None:
        """PyG's initial masks, drawn on the CPU and then moved to ``device``: with the same seed an
        explanation starts from the same logits on a CPU and on a GPU (the GPU's generator draws
        other numbers), so the two give the same masks up to round-off."""
        super()._initialize_homogeneous_masks(node_mask_type, edge_mask_type, N, F, E, torch.device("cpu"))
        for name in ("node_mask", "edge_mask"):
            mask = getattr(self, name)
            if mask is not None:
                setattr(self, name, nn.Parameter(mask.detach().to(device)))

    def _loss(self, y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if self.edge_group is None:
            raise RuntimeError("PerAtomGNNExplainer.edge_group must be set before explaining")
        eps = self.coeffs["EPS"]
        loss = ((y_hat - y) ** 2).sum()
        if self.hard_edge_mask is None:  # first step: PyG records which edges get a gradient after it
            return loss
        mask = self.edge_mask.sigmoid()
        keep = self.hard_edge_mask
        group = self.edge_group[keep]
        m = mask[keep]
        count = torch.bincount(group, minlength=len(y)).clamp_min(1).to(m)
        size = torch.zeros(len(y), dtype=m.dtype, device=m.device).index_add_(0, group, m)
        if self.coeffs["edge_reduction"] == "mean":
            size = size / count
        entropy = -m * torch.log(m + eps) - (1 - m) * torch.log(1 - m + eps)
        entropy = torch.zeros(len(y), dtype=m.dtype, device=m.device).index_add_(0, group, entropy) / count
        return loss + self.coeffs["edge_size"] * size.sum() + self.coeffs["edge_ent"] * entropy.sum()


@dataclass
class AtomExplanation:
    """The learned edge mask of one atom.

    Attributes:
        field: the atom's receptive field (the mask is aligned with ``field.data.edge_index``).
        mask: importance of every receptive-field edge, in [0, 1], (e,).
        prediction: the unmasked prediction in the model's standardised units.
        masked_prediction: the prediction with the soft mask applied (standardised units).
    """

    field: ReceptiveField
    mask: np.ndarray
    prediction: float
    masked_prediction: float

    def top_edges(self, k: int) -> np.ndarray:
        """Indices of the ``k`` most important edges, most important first (ties by index)."""
        return top_edges(self.mask, k)


def top_edges(importance: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` largest values of ``importance``, largest first, ties by index: the one
    ranking of edges that files, figures, fidelity and statistics share."""
    order = np.lexsort((np.arange(len(importance)), -np.asarray(importance)))
    return order[: min(k, len(order))]


def prepare_graph(model: nn.Module, data: Data) -> Data:
    """Compute per-graph inputs that must come from the *whole* structure before it is cut into
    receptive fields (descriptor inputs of descriptor-augmented models, members of an ensemble
    included), and cache them on ``data``."""
    from symgnn.nn.descriptor_input import DescriptorInput

    for module in model.modules():
        if isinstance(module, DescriptorInput):
            module.raw(data)  # the first computes and caches; members with the same settings reuse it
    return data


@torch.no_grad()
def field_predictions(model: nn.Module, fields: Sequence[ReceptiveField]) -> np.ndarray:
    """Each target's prediction (standardised units, column 0) computed on its receptive field."""
    model.eval()
    batch, centers, _ = batch_fields(list(fields), model_device(model))
    return model(batch)[centers, 0].double().cpu().numpy()


def check_exact(model: nn.Module, data: Data, fields: Sequence[ReceptiveField], atol: float = 1e-4) -> float:
    """Largest difference between the targets' predictions on their receptive fields and on the full
    graph; raises :class:`SymgnnError` above ``atol`` (standardised units) with the likely cause."""
    model.eval()
    with torch.no_grad():
        full = model(graph_on(data, model_device(model)))[:, 0].double().cpu().numpy()
    atoms = np.array([f.atom for f in fields])
    worst = float(np.abs(field_predictions(model, fields) - full[atoms]).max())
    if worst > atol:
        name = getattr(model, "registry_name", type(model).__name__)
        raise SymgnnError(
            f"model '{name}': its prediction on the {receptive_hops(model)}-hop receptive field differs from the "
            f"full graph by {worst:.2e}; the model uses information beyond its message-passing layers "
            "(e.g. global frames or absolute positions), so receptive-field explanations would not be faithful"
        )
    return worst


def explain_fields(model: nn.Module, fields: Sequence[ReceptiveField], config: ExplainConfig) -> list[AtomExplanation]:
    """Learn the edge masks of ``fields`` (batches of ``config.batch_size``)."""
    adapter = ExplainableModel(model).eval()
    algorithm = PerAtomGNNExplainer(
        epochs=config.epochs, lr=config.lr, edge_size=config.edge_size,
        edge_reduction=config.edge_reduction, edge_ent=config.edge_ent,
    )
    explainer = Explainer(
        model=adapter, algorithm=algorithm, explanation_type="model", edge_mask_type="object",
        node_mask_type=None, model_config=dict(mode="regression", task_level="node", return_type="raw"),
    )
    results: list[AtomExplanation] = []
    with seeded_random_state(config.seed, model_device(model)):
        try:
            for start in range(0, len(fields), config.batch_size):
                chunk = list(fields[start:start + config.batch_size])
                batch, centers, edge_group = batch_fields(chunk, model_device(model))
                algorithm.edge_group = edge_group
                explanation = explainer(
                    batch.z.unsqueeze(-1), batch.edge_index, index=centers, **ExplainableModel.inputs_of(batch)
                )
                mask = explanation.edge_mask.detach()
                masked = predict_with_mask(model, batch, mask)[centers]
                prediction = explanation.prediction[centers]
                for b, field in enumerate(chunk):
                    results.append(AtomExplanation(
                        field, mask[edge_group == b].double().cpu().numpy(), float(prediction[b]), float(masked[b])
                    ))
        finally:  # a failed explanation must not leave masks on the model's layers
            clear_masks(adapter)
            algorithm.edge_group = None
    return results


@contextmanager
def seeded_random_state(seed: int, device: torch.device) -> Iterator[None]:
    """Seed torch's generators (the CPU's and ``device``'s) for the block inside, and give the
    caller's generators back unchanged afterwards: an explanation is repeatable and does not shift
    the random draws of whatever the caller does next."""
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


def explain_atoms(
    model: nn.Module, data: Data, atoms: Sequence[int], config: ExplainConfig | None = None,
    hops: int | None = None, check: bool = True,
) -> list[AtomExplanation]:
    """Explain the predictions of ``atoms`` of graph ``data``: receptive fields, exactness check,
    masks. ``hops`` defaults to the model's number of message-passing layers."""
    config = config or ExplainConfig()
    hops = receptive_hops(model) if hops is None else int(hops)
    prepare_graph(model, data)
    fields = [receptive_field(data, int(a), hops) for a in atoms]
    if check:
        check_exact(model, data, fields)
    return explain_fields(model, fields, config)
