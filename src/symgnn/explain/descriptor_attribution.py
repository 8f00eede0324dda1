r"""Which structure descriptors drive one atom's predicted barrier: swapping descriptor groups.

A GNNExplainer edge mask (:mod:`symgnn.explain.gnnexplainer`) explains the message-passing part of a
model. Models with descriptor inputs (``painn_desc``, the shipped ``cuzr64``) also read per-atom
structure descriptors (:mod:`symgnn.descriptors`: radial densities per neighbour species,
coordination, Steinhardt :math:`q_l`, and their averages over neighbours within 4 and 6 Å), and
those carry much of the prediction; silencing every edge leaves them untouched. This module asks
the descriptors directly. The contribution of a group :math:`g` of descriptor columns to target
atom :math:`t`'s prediction is

.. math::
    \Delta_g(t) = \hat y_t(x) - \frac{1}{R} \sum_{r=1}^{R}
    \hat y_t\big(x_{\lnot g},\; x^{(r)}_{g}\big)

in eV: on every atom of :math:`t`'s receptive field, the columns of :math:`g` are replaced by those
of an atom of the same species drawn at random from the whole structure (a fresh draw per atom, the
same :math:`R` draws for every group), and the change is averaged over the draws. Positive: what the
group says about this environment raises the predicted barrier above what a typical environment
would give. This is the interventional expectation that SHAP values and permutation importance use,
with the structure's own atoms as background: replacing a group by another real atom's values keeps
every input one the model has seen the like of, whereas setting many correlated columns to their
mean (an average radial density no atom has) asks the network to extrapolate.

Groups are single columns (the radial density of Zr neighbours at 3.0 Å, say) and coarse groups
(every radial density of one scale; everything coarse-grained over 6 Å; all descriptors). One more
figure comes with them: the change when *all* edges are silenced (``data.edge_mask`` = 0: the
target then sees only its own descriptors and species), the message-passing pathway. Effects are not
additive (groups overlap in what they say), so :math:`|\Delta_g|` ranks a group's importance; it is
not a share of the prediction.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch_geometric.data import Batch

from symgnn.errors import SymgnnError, file_error
from symgnn.explain.hooks import model_device
from symgnn.explain.stats import barrier_terciles
from symgnn.explain.subgraph import ReceptiveField
from symgnn.graph import graph_on
from symgnn.io.atomic import atomic_write, refuse_to_overwrite

#: kinds of descriptor, in the order tables and figures list them
KINDS = ("species", "radial", "coordination", "bond order")
#: copies of a receptive field predicted in one forward pass (bounds memory)
CHUNK = 64
CSV_COLUMNS = ("rank", "group", "kind", "scale", "neighbour", "distance", "degree", "columns", "delta_ev", "spread_ev")

_RADIAL = re.compile(r"^g_([A-Za-z]+)_([0-9.]+)$")
_COORDINATION = re.compile(r"^cn_([A-Za-z]+)$")
_SPECIES = re.compile(r"^is_([A-Za-z]+)$")
_BOND_ORDER = re.compile(r"^q([0-9]+)(?:_([A-Za-z]+))?$")


@dataclass(frozen=True)
class DescriptorGroup:
    """A set of descriptor columns occluded together.

    Attributes:
        name: readable label, e.g. ``"g_Zr 3.00 Å (cg6)"`` or ``"all radial (own)"``.
        kind: one of :data:`KINDS`, or ``"all"`` for groups across kinds.
        scale: ``"own"`` (the atom's own environment), ``"cg4"``/``"cg6"`` (averaged over neighbours
            within 4 or 6 Å) or ``"all"``.
        columns: the column indices.
        neighbour: the neighbour species of a radial, coordination or per-species bond-order column.
        distance: the radial density's centre (Å).
        degree: the Steinhardt degree :math:`l`.
    """

    name: str
    kind: str
    scale: str
    columns: tuple[int, ...]
    neighbour: str | None = None
    distance: float | None = None
    degree: int | None = None


def _parse(name: str) -> tuple[str, str, str | None, float | None, int | None]:
    """``(scale, kind, neighbour, distance, degree)`` of one column name of
    :meth:`~symgnn.descriptors.DescriptorConfig.feature_names`."""
    scale, base = "own", name
    if name.startswith("cg"):
        prefix, base = name.split("_", 1)
        scale = prefix
    if match := _RADIAL.match(base):
        return scale, "radial", match[1], float(match[2]), None
    if match := _COORDINATION.match(base):
        return scale, "coordination", match[1], None, None
    if match := _SPECIES.match(base):
        return scale, "species", match[1], None, None
    if match := _BOND_ORDER.match(base):
        return scale, "bond order", match[2], None, int(match[1])
    raise SymgnnError(f"descriptor column '{name}': not a known descriptor name")


def descriptor_groups(feature_names: Sequence[str]) -> list[DescriptorGroup]:
    """Fine groups (every column, except the species one-hots, which go together per coarse-graining
    scale as the local composition), then coarse groups: each kind at each scale, each scale, and all
    descriptors. An atom's own species one-hot has no group: a stand-in atom of the same species has
    the same one, so swapping it could only ever give 0."""
    parsed = [_parse(name) for name in feature_names]
    scales = list(dict.fromkeys(p[0] for p in parsed))
    groups: list[DescriptorGroup] = []
    for scale in scales:
        species = tuple(i for i, p in enumerate(parsed) if p[0] == scale and p[1] == "species")
        if species and scale != "own":
            groups.append(DescriptorGroup(f"species ({scale})", "species", scale, species))
    for i, (scale, kind, neighbour, distance, degree) in enumerate(parsed):
        if kind == "species":
            continue
        base = feature_names[i].split("_", 1)[1] if scale != "own" else feature_names[i]
        label = f"g_{neighbour} {distance:.2f} Å" if kind == "radial" else base
        groups.append(DescriptorGroup(f"{label} ({scale})", kind, scale, (i,), neighbour, distance, degree))
    for scale in scales:
        for kind in KINDS[1:]:
            columns = tuple(i for i, p in enumerate(parsed) if p[0] == scale and p[1] == kind)
            if len(columns) > 1:
                groups.append(DescriptorGroup(f"all {kind} ({scale})", kind, scale, columns))
        groups.append(DescriptorGroup(f"all descriptors ({scale})", "all", scale,
                                      tuple(i for i, p in enumerate(parsed) if p[0] == scale)))
    groups.append(DescriptorGroup("all descriptors", "all", "all", tuple(range(len(parsed)))))
    return groups


def descriptor_input(model: nn.Module):
    """The model's first :class:`~symgnn.nn.descriptor_input.DescriptorInput` (an ensemble's members
    share its settings), or ``None`` for a model without descriptor inputs."""
    from symgnn.nn.descriptor_input import DescriptorInput

    return next((m for m in model.modules() if isinstance(m, DescriptorInput)), None)


@dataclass
class DescriptorAttribution:
    """One atom's occlusion results.

    Attributes:
        atom: the target atom (index in the full structure).
        prediction: the unoccluded prediction (eV).
        deltas: :math:`\\Delta_g` (eV) for every group, aligned with ``groups``.
        spreads: standard deviation over the draws of the replaced prediction (eV), per group: how
            much :math:`\\Delta_g` depends on which atoms stood in (NaN for a single draw, which has
            no spread; written as an empty cell).
        without_edges: :math:`\\hat y(x) - \\hat y(\\text{all edges silenced})` (eV), or ``None``
            for a model that cannot silence edges.
    """

    atom: int
    prediction: float
    deltas: np.ndarray
    spreads: np.ndarray
    without_edges: float | None


#: random draws of replacement atoms per group (the spread over draws is reported beside the mean)
DEFAULT_DRAWS = 4


def _replacement_atoms(z: np.ndarray, field: ReceptiveField, draws: int, seed: int) -> np.ndarray:
    """(draws, n) indices into the structure: for each field node, random atoms of its species."""
    rng = np.random.default_rng([seed, field.atom])
    field_z = z[field.nodes]
    chosen = np.empty((draws, len(field_z)), dtype=np.int64)
    for species in np.unique(field_z):
        pool = np.flatnonzero(z == species)
        where = np.flatnonzero(field_z == species)
        chosen[:, where] = rng.choice(pool, size=(draws, len(where)))
    return chosen


@torch.no_grad()
def attribute_descriptors(model: nn.Module, data, fields: Sequence[ReceptiveField], groups: Sequence[DescriptorGroup],
                          label_std: float, draws: int = DEFAULT_DRAWS, seed: int = 0) -> list[DescriptorAttribution]:
    r""":math:`\Delta_g` of every group for each field's target (module docstring). ``data`` is the
    whole structure's graph with its descriptors cached (as
    :func:`~symgnn.explain.gnnexplainer.prepare_graph` leaves it); the fields are cut from it."""
    from symgnn.explain.hooks import predict_with_mask

    if draws < 1:
        raise SymgnnError(f"descriptor draws must be at least 1, got {draws}")
    model.eval()
    device = model_device(model)
    features = descriptor_input(model)
    if features is None:
        raise SymgnnError("the model reads no structure descriptors: nothing to attribute")
    everywhere = getattr(data, "descriptors", None)
    if everywhere is None or any(getattr(f.data, "descriptors", None) is None for f in fields):
        raise SymgnnError("the graph carries no descriptors: call prepare_graph(model, data) before cutting fields")
    z = data.z.cpu().numpy()
    masks = torch.ones(len(groups), features.num_features)
    for row, group in enumerate(groups):
        masks[row, list(group.columns)] = 0.0
    # Copy 0 of each field: nothing replaced; then every group under draw 0, every group under draw 1, ...
    copies = [(None, None)] + [(g, r) for r in range(draws) for g in range(len(groups))]
    results = []
    for field in fields:
        n = field.data.num_nodes
        fills = everywhere.cpu()[torch.from_numpy(_replacement_atoms(z, field, draws, seed))]  # (draws, n, F)
        outputs = []
        for start in range(0, len(copies), CHUNK):
            chunk = copies[start:start + CHUNK]
            batch = Batch.from_data_list([field.data] * len(chunk))
            keep = torch.stack([torch.ones(features.num_features) if g is None else masks[g] for g, _ in chunk])
            fill = torch.stack([field.data.descriptors.cpu() if r is None else fills[r] for _, r in chunk])
            batch.descriptor_mask = keep.repeat_interleave(n, dim=0)
            batch.descriptor_fill = fill.reshape(len(chunk) * n, -1)
            batch = batch.to(device)
            centers = torch.arange(len(chunk), device=device) * n + field.center
            outputs.append(model(batch)[centers, 0].double().cpu())
        values = torch.cat(outputs).numpy() * label_std
        replaced = values[1:].reshape(draws, len(groups))
        without_edges = None
        if getattr(model, "supports_edge_mask", False):
            silenced = predict_with_mask(model, graph_on(field.data, device), torch.zeros(field.num_edges))[field.center]
            without_edges = float(values[0] - float(silenced) * label_std)
        spreads = replaced.std(0) if draws > 1 else np.full(len(groups), np.nan)  # one draw has no spread
        results.append(DescriptorAttribution(field.atom, float(values[0]), values[0] - replaced.mean(0),
                                             spreads, without_edges))
    return results


def write_attribution(path: Path, attribution: DescriptorAttribution, groups: Sequence[DescriptorGroup],
                      overwrite: bool) -> Path:
    """``descriptors.csv`` of one atom: every group, largest :math:`|\\Delta|` first, then a row for
    the edges (kind ``edges``) when the model can silence them."""
    refuse_to_overwrite([path], overwrite)
    order = np.lexsort((np.arange(len(groups)), -np.abs(attribution.deltas)))
    with atomic_write(path) as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for rank, g in enumerate(order, start=1):
            group = groups[g]
            writer.writerow([rank, group.name, group.kind, group.scale, group.neighbour or "",
                             "" if group.distance is None else f"{group.distance:.2f}",
                             "" if group.degree is None else group.degree, len(group.columns),
                             f"{attribution.deltas[g]:.6g}",
                             "" if np.isnan(attribution.spreads[g]) else f"{attribution.spreads[g]:.6g}"])
        if attribution.without_edges is not None:
            writer.writerow(["", "all edges (message passing)", "edges", "all", "", "", "", "",
                             f"{attribution.without_edges:.6g}", ""])
    return path


@dataclass
class LoadedAttribution:
    """``descriptors.csv`` read back: one row per group, plus the edge pathway."""

    groups: list[dict]
    without_edges: float | None

    def delta(self, name: str) -> float | None:
        return next((row["delta_ev"] for row in self.groups if row["group"] == name), None)


def load_attribution(path: Path) -> LoadedAttribution:
    """Read one atom's ``descriptors.csv`` (written by :func:`write_attribution`). A truncated, edited
    or foreign file is one :class:`SymgnnError` naming it and the problem: the statistics must not
    average a half-read table, nor fail deep inside with a ``KeyError``."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise _broken(path, "not a text file") from None
    if not text.strip():
        raise _broken(path, "empty file")
    if not text.endswith("\n"):  # every row written ends in a line break: this one was cut off
        raise _broken(path, "truncated (the last row is incomplete)")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    missing = [c for c in CSV_COLUMNS if c != "spread_ev" and c not in (reader.fieldnames or ())]  # older files lack spread_ev
    if missing:
        raise _broken(path, f"missing column{'s' * (len(missing) > 1)} {', '.join(missing)} "
                            f"(expected {','.join(CSV_COLUMNS)})")
    groups, without_edges = [], None
    for row in reader:
        try:
            value, group = _parse_row(row)
        except ValueError as error:
            raise _broken(path, f"line {reader.line_num}: {error}") from None
        if group is None:
            without_edges = value
        else:
            groups.append(group)
    if not groups:
        raise _broken(path, "no descriptor groups")
    return LoadedAttribution(groups, without_edges)


def _parse_row(row: dict) -> tuple[float, dict | None]:
    """``(delta_ev, group)`` of one row of ``descriptors.csv``; the group is ``None`` for the edge
    pathway's row. A row with too few or too many fields or a non-number is a ``ValueError``."""
    extra = row.pop(None, [])  # csv.DictReader files surplus fields under None and pads short rows with None
    given = sum(v is not None for v in row.values()) + len(extra)
    if given != len(row):
        raise ValueError(f"{given} fields where the header has {len(row)}")
    value = float(row["delta_ev"])
    if row["kind"] == "edges":
        return value, None
    return value, {"group": row["group"], "kind": row["kind"], "scale": row["scale"],
                   "neighbour": row["neighbour"] or None,
                   "distance": float(row["distance"]) if row["distance"] else None,
                   "degree": int(row["degree"]) if row["degree"] else None,
                   "columns": int(row["columns"]), "delta_ev": value,
                   "spread_ev": float(row["spread_ev"]) if row.get("spread_ev") else None}


def _broken(path: Path, problem: str) -> SymgnnError:
    return file_error(path, f"{problem}; re-run symgnn explain with --overwrite")


def summarise_attributions(attributions: Sequence[LoadedAttribution], predictions: Sequence[float]) -> dict:
    """Mean :math:`|\\Delta|` and mean :math:`\\Delta` per group over atoms, the coarse groups ranked,
    the radial profiles (per scale and neighbour species, against distance), the two pathways, and
    the mean :math:`\\Delta` of the coarse groups per tercile of the predicted barrier."""
    if not attributions:
        return {"atoms": 0}
    names = [row["group"] for row in attributions[0].groups]
    rows = {row["group"]: row for row in attributions[0].groups}
    table = np.array([[a.delta(name) for name in names] for a in attributions], dtype=float)
    mean_abs, mean = np.abs(table).mean(0), table.mean(0)

    def entry(j: int) -> dict:
        return {"group": names[j], "mean_abs_ev": round(float(mean_abs[j]), 5), "mean_ev": round(float(mean[j]), 5)}

    coarse = [j for j, name in enumerate(names) if rows[name]["columns"] > 1 or rows[name]["kind"] == "all"]
    fine = [j for j in range(len(names)) if j not in coarse]
    profiles: dict[str, dict] = {}
    for j, name in enumerate(names):
        row = rows[name]
        if row["kind"] == "radial" and row["columns"] == 1:
            key = f"{row['scale']} g_{row['neighbour']}"
            profile = profiles.setdefault(key, {"distance": [], "mean_abs_ev": [], "mean_ev": []})
            profile["distance"].append(row["distance"])
            profile["mean_abs_ev"].append(round(float(mean_abs[j]), 5))
            profile["mean_ev"].append(round(float(mean[j]), 5))
    for profile in profiles.values():  # rows come ranked by importance: order them by distance
        order = np.argsort(profile["distance"], kind="stable")
        for key in profile:
            profile[key] = [profile[key][i] for i in order]
    terciles = barrier_terciles(predictions)
    all_descriptors = names.index("all descriptors") if "all descriptors" in names else None
    edges = [a.without_edges for a in attributions if a.without_edges is not None]
    return {
        "atoms": len(attributions),
        "pathways": {
            "all_descriptors_mean_abs_ev": None if all_descriptors is None else round(float(mean_abs[all_descriptors]), 5),
            "all_edges_mean_abs_ev": round(float(np.mean(np.abs(edges))), 5) if edges else None,
        },
        "coarse": sorted((entry(j) for j in coarse), key=lambda e: -e["mean_abs_ev"]),
        "top_columns": sorted((entry(j) for j in fine), key=lambda e: -e["mean_abs_ev"])[:15],
        "radial_profiles": profiles,
        "by_barrier": {name: {"atoms": int(chosen.sum()),
                              **{names[j]: round(float(table[chosen, j].mean()), 5) for j in coarse if chosen.any()}}
                       for name, chosen in terciles.items()},
    }
