"""Statistics over many explained atoms (``symgnn explain-stats``).

For each atom the *selected* edges are its ``top_k`` most important ones. Measured:

* **distances**: distance from the target of the atoms touched by selected edges versus all atoms
  of the receptive field, per target species; the fraction inside the target's first shell (radius
  from the partial pair distributions of Cu64Zr36, :data:`FIRST_SHELL`) and its enrichment;
* **edge lengths**: selected edges versus the other edges of the same atoms (edges received by the
  atoms that receive a selected edge, not selected);
* **bond angles**: at each atom receiving at least two selected bonds, the angles between selected
  bonds versus the angles between all its bonds (a bond is selected when either direction is);
* **H1 cycles**: :func:`symgnn.explain.topology.h1_participation` on the local structure;
* **barrier groups**: the above per tercile of the predicted barrier (low, mid, high);
* **fidelity** and **sanity**: from the explain run (per-atom files and manifest).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from ase.data import chemical_symbols
from scipy.stats import ks_2samp

from symgnn.descriptors import CUZR_SHELLS
from symgnn.explain.fidelity import summarise_fidelity
from symgnn.explain.topology import h1_participation
from symgnn.explain.writers import LoadedAtom



def _first_shell_radii(pair_shells: dict[str, float]) -> dict[str, float]:
    """First-shell radius around a target of each species (Å): the largest first minimum of the
    partial pair distributions it takes part in (pairs keyed ``"Z1-Z2"``)."""
    radii: dict[str, float] = {}
    for pair, radius in pair_shells.items():
        for z in pair.split("-"):
            name = chemical_symbols[int(z)]
            radii[name] = max(radii.get(name, 0.0), radius)
    return radii


# Cu: 3.75 Å (Cu–Cu 3.3, Cu–Zr 3.75), Zr: 3.95 Å (Zr–Cu 3.75, Zr–Zr 3.95).
FIRST_SHELL = _first_shell_radii(CUZR_SHELLS)
DEFAULT_SHELL = 3.9


@dataclass
class StatsConfig:
    """Settings of :func:`compute_stats`."""

    top_k: int = 50
    local_radius: float = 7.0
    max_edge_length: float = 5.0
    n_random: int = 10
    min_persistence: float = 0.0
    seed: int = 0


@dataclass
class AtomStats:
    """Per-atom measurements kept for plots and group summaries."""

    atom: int
    species: str
    prediction: float
    touched_distances: np.ndarray
    all_distances: np.ndarray
    selected_lengths: np.ndarray
    other_lengths: np.ndarray
    selected_angles: np.ndarray
    all_angles: np.ndarray
    topology: dict | None = field(default=None)


def _angles(vectors: np.ndarray) -> np.ndarray:
    """All pairwise angles (degrees) between the rows of ``vectors``."""
    if len(vectors) < 2:
        return np.zeros(0)
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    cos = np.clip(unit @ unit.T, -1.0, 1.0)
    i, j = np.triu_indices(len(vectors), k=1)
    return np.degrees(np.arccos(cos[i, j]))


def atom_stats(atom: LoadedAtom, config: StatsConfig) -> AtomStats:
    """The measurements of one atom (see module docstring)."""
    selected = atom.top_edges(config.top_k)
    is_selected = np.zeros(len(atom.importance), dtype=bool)
    is_selected[selected] = True
    distances = atom.distances
    touched = np.setdiff1d(np.union1d(atom.source[selected], atom.target[selected]), [atom.center])
    all_nodes = np.setdiff1d(np.arange(len(distances)), [atom.center])
    vectors = atom.edge_vectors
    lengths = np.linalg.norm(vectors, axis=1)
    receivers = np.unique(atom.target[selected])
    same_atoms = np.isin(atom.target, receivers) & ~is_selected
    # Undirected selection: a bond is selected when either of its directions is.
    selected_pairs = {(min(a, b), max(a, b)) for a, b in zip(atom.source[selected], atom.target[selected])}
    sel_angles, all_angles = [], []
    for v in receivers:
        incoming = np.flatnonzero(atom.target == v)
        chosen = np.array([(min(atom.source[e], v), max(atom.source[e], v)) in selected_pairs for e in incoming])
        if chosen.sum() >= 2:
            sel_angles.append(_angles(vectors[incoming[chosen]]))
            all_angles.append(_angles(vectors[incoming]))
    topology = h1_participation(
        atom.offsets, atom.source, atom.target, selected, config.local_radius, config.max_edge_length,
        config.n_random, config.min_persistence, config.seed + atom.atom,
    )
    return AtomStats(
        atom=atom.atom, species=atom.species, prediction=atom.prediction,
        touched_distances=distances[touched], all_distances=distances[all_nodes],
        selected_lengths=lengths[selected], other_lengths=lengths[same_atoms],
        selected_angles=np.concatenate(sel_angles) if sel_angles else np.zeros(0),
        all_angles=np.concatenate(all_angles) if all_angles else np.zeros(0),
        topology=topology,
    )


def _concat(values: Sequence[np.ndarray]) -> np.ndarray:
    return np.concatenate(list(values)) if values else np.zeros(0)


def _describe(values: np.ndarray) -> dict[str, float]:
    if len(values) == 0:
        return {"n": 0}
    return {"n": int(len(values)), "mean": round(float(values.mean()), 4), "median": round(float(np.median(values)), 4),
            "std": round(float(values.std()), 4)}


def _compare(a: np.ndarray, b: np.ndarray) -> dict[str, object]:
    out: dict[str, object] = {"selected": _describe(a), "reference": _describe(b)}
    if len(a) > 1 and len(b) > 1:
        test = ks_2samp(a, b)
        out["ks_statistic"], out["ks_pvalue"] = round(float(test.statistic), 4), float(f"{test.pvalue:.3g}")
    return out


def group_summary(stats: Sequence[AtomStats]) -> dict[str, object]:
    """Distances, lengths, angles and H1 participation pooled over ``stats``."""
    if not stats:
        return {"atoms": 0}
    touched, every = _concat([s.touched_distances for s in stats]), _concat([s.all_distances for s in stats])
    shell_touched = np.mean(_concat([s.touched_distances <= FIRST_SHELL.get(s.species, DEFAULT_SHELL) for s in stats]))
    shell_all = np.mean(_concat([s.all_distances <= FIRST_SHELL.get(s.species, DEFAULT_SHELL) for s in stats]))
    topo = [s.topology for s in stats if s.topology is not None]
    summary: dict[str, object] = {
        "atoms": len(stats),
        "distance": _compare(touched, every),
        "first_shell_fraction": {"touched": round(float(shell_touched), 4), "all": round(float(shell_all), 4),
                                 "enrichment": round(float(shell_touched / max(shell_all, 1e-12)), 3)},
        "edge_length": _compare(_concat([s.selected_lengths for s in stats]), _concat([s.other_lengths for s in stats])),
        "bond_angle": _compare(_concat([s.selected_angles for s in stats]), _concat([s.all_angles for s in stats])),
    }
    if topo:
        summary["h1"] = {
            "atoms": len(topo),
            **{key: round(float(np.mean([t[key] for t in topo])), 4) for key in
               ("local_atoms", "h1_classes", "edges", "important_mean_cycles", "random_mean_cycles",
                "important_fraction_on_cycle", "random_fraction_on_cycle")},
        }
    return summary


def barrier_terciles(predictions: Sequence[float]) -> dict[str, np.ndarray]:
    """Masks of the explained atoms in the low, mid and high third of their predicted barriers."""
    predictions = np.asarray(predictions, dtype=float)
    if len(predictions) == 0:
        return {name: np.zeros(0, dtype=bool) for name in ("low", "mid", "high")}
    low, high = np.quantile(predictions, [1 / 3, 2 / 3])
    return {"low": predictions <= low, "mid": (predictions > low) & (predictions <= high), "high": predictions > high}


def barrier_groups(stats: Sequence[AtomStats]) -> dict[str, list[AtomStats]]:
    """Atoms split into terciles of the predicted barrier (:func:`barrier_terciles`)."""
    masks = barrier_terciles([s.prediction for s in stats])
    return {name: [s for s, chosen in zip(stats, mask) if chosen] for name, mask in masks.items()}


def compute_stats(atoms: Sequence[LoadedAtom], manifest: dict, config: StatsConfig) -> tuple[dict, list[AtomStats]]:
    """The JSON summary and per-atom measurements of an explain run."""
    stats = [atom_stats(a, config) for a in atoms]
    species = sorted({s.species for s in stats})
    groups = barrier_groups(stats)
    summary: dict[str, object] = {
        "config": config.__dict__,
        "atoms": len(stats),
        "all": group_summary(stats),
        "by_species": {sp: group_summary([s for s in stats if s.species == sp]) for sp in species},
        "by_barrier": {
            name: {"predicted_range_eV": [round(min(s.prediction for s in g), 4), round(max(s.prediction for s in g), 4)]
                   if g else None, **group_summary(g)}
            for name, g in groups.items()
        },
        "fidelity": summarise_fidelity([a.fidelity for a in atoms if a.fidelity]),
        "sanity": manifest.get("sanity"),
        "speed": manifest.get("speed"),
        "model": manifest.get("model"),
        "structure": manifest.get("structure"),
    }
    return summary, stats
