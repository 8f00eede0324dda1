"""The paper's explanation figures and the plots of ``symgnn explain-stats`` (matplotlib).

* global view: the target's ``top_k`` edges drawn in the actual (unwrapped) 3-D coordinates of the
  receptive field, line width and opacity by importance, other atoms faint;
* local view: the target and its 10 nearest atoms, with the selected edges among them;
atoms coloured by species in both.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from symgnn.explain.stats import FIRST_SHELL, AtomStats
from symgnn.explain.writers import LoadedAtom, symbol
from symgnn.io.atomic import atomic_path

SPECIES_COLOURS = {"Cu": "#d9822b", "Zr": "#2b6cb0"}


def _colour(z: int) -> str:
    return SPECIES_COLOURS.get(symbol(z), "#777777")


def _subplots(*grid: int, figsize: tuple[float, float], **options):
    """A figure and its axes, made without pyplot: library code must not switch the backend of a
    notebook or GUI session that imports it, and figures made this way need no closing."""
    figure = Figure(figsize=figsize)
    return figure, figure.subplots(*grid, **options)


def _save(fig: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as temp:
        fig.savefig(temp, dpi=130, bbox_inches="tight")
    return path


def _legend(ax) -> None:
    for name, colour in SPECIES_COLOURS.items():
        ax.scatter([], [], [], c=colour, label=name)
    ax.legend(loc="upper left", fontsize=8)


def _draw_edges(ax, atom: LoadedAtom, edges: np.ndarray) -> None:
    if len(edges) == 0:
        return
    weights = atom.importance[edges]
    scale = weights / max(weights.max(), 1e-12)
    for e, s in zip(edges, scale):
        a, b = atom.offsets[atom.source[e]], atom.offsets[atom.target[e]]
        ax.plot(*zip(a, b), color="crimson", alpha=0.25 + 0.75 * s, linewidth=0.5 + 2.5 * s)


def global_view(atom: LoadedAtom, top_k: int, path: Path) -> Path:
    """Top-``top_k`` edges in 3-D around the target."""
    edges = atom.top_edges(top_k)
    involved = np.unique(np.concatenate([atom.source[edges], atom.target[edges], [atom.center]]))
    fig = Figure(figsize=(6, 6))
    ax = fig.add_subplot(projection="3d")
    rest = np.setdiff1d(np.arange(len(atom.z)), involved)
    near = rest[np.linalg.norm(atom.offsets[rest], axis=1) <= max(np.abs(atom.offsets[involved]).max(), 1.0)]
    ax.scatter(*atom.offsets[near].T, c=[_colour(z) for z in atom.z[near]], s=6, alpha=0.08, depthshade=False)
    _draw_edges(ax, atom, edges)
    ax.scatter(*atom.offsets[involved].T, c=[_colour(z) for z in atom.z[involved]], s=40, edgecolors="k",
               linewidths=0.3, depthshade=False)
    ax.scatter(*atom.offsets[atom.center], c=_colour(atom.z[atom.center]), s=220, marker="*", edgecolors="k")
    ax.set_title(f"atom {atom.atom} ({atom.species}), {atom.prediction:.3f} eV: top {len(edges)} edges")
    ax.set_xlabel("x (Å)"), ax.set_ylabel("y (Å)"), ax.set_zlabel("z (Å)")
    _legend(ax)
    return _save(fig, path)


def local_view(atom: LoadedAtom, top_k: int, path: Path, neighbours: int = 10) -> Path:
    """The target and its ``neighbours`` nearest atoms with the selected edges among them."""
    order = np.argsort(atom.distances)
    shown = order[: neighbours + 1]  # the target (distance 0) and its nearest atoms
    chosen = set(shown.tolist())
    edges = np.array([e for e in atom.top_edges(top_k) if atom.source[e] in chosen and atom.target[e] in chosen],
                     dtype=np.int64)
    fig = Figure(figsize=(5.5, 5.5))
    ax = fig.add_subplot(projection="3d", computed_zorder=False)  # labels above markers, markers above edges
    _draw_edges(ax, atom, edges)
    around = shown[shown != atom.center]  # the target is drawn as a star only, so nothing hides it
    ax.scatter(*atom.offsets[around].T, c=[_colour(z) for z in atom.z[around]], s=160, edgecolors="k",
               depthshade=False, zorder=2)
    ax.scatter(*atom.offsets[atom.center], c=_colour(atom.z[atom.center]), s=420, marker="*", edgecolors="k", zorder=3)
    for n in around:  # each neighbour's distance from the target, beside its marker
        ax.text(*(atom.offsets[n] * 1.22), f"{atom.distances[n]:.2f}", fontsize=7, ha="center", va="center", zorder=4)
    ax.set_title(f"atom {atom.atom} ({atom.species}): {len(edges)} of top {top_k} edges among its {neighbours} "
                 "nearest atoms\n(labels: distance from the target, Å)", fontsize=10)
    ax.set_xlabel("x (Å)"), ax.set_ylabel("y (Å)"), ax.set_zlabel("z (Å)")
    _legend(ax)
    return _save(fig, path)


def distance_histogram(stats: Sequence[AtomStats], path: Path, bins: int = 90) -> Path:
    """Distance from the target of atoms touched by selected edges vs all receptive-field atoms, per
    target species, as radial densities (counts per atom per shell volume 4πr²dr, like g(r)), so the
    coordination shells show as peaks rather than being swamped by the r² growth of shell volume."""
    species = sorted({s.species for s in stats})
    fig, axes = _subplots(1, len(species), figsize=(6 * len(species), 4), squeeze=False)
    for ax, sp in zip(axes[0], species):
        group = [s for s in stats if s.species == sp]
        every = np.concatenate([s.all_distances for s in group])
        touched = np.concatenate([s.touched_distances for s in group])
        edges = np.linspace(0, every.max() if len(every) else 1, bins + 1)
        centres, width = 0.5 * (edges[1:] + edges[:-1]), edges[1] - edges[0]
        shell = 4 * np.pi * centres**2 * width * len(group)
        ax.plot(centres, np.histogram(every, edges)[0] / shell, color="grey", label="all atoms of the receptive field")
        ax.set_ylabel("all atoms per Å³ (grey)")
        twin = ax.twinx()
        twin.bar(centres, np.histogram(touched, edges)[0] / shell, width, color="crimson", alpha=0.6,
                 label="atoms on important edges")
        twin.set_ylabel("atoms on important edges per Å³ (red)")
        ax.axvline(FIRST_SHELL.get(sp, 3.9), color="k", linestyle=":", label="first-shell radius")
        ax.set_xlabel("distance from target (Å)")
        ax.set_title(f"target {sp} ({len(group)} atoms)")
        lines, labels = ax.get_legend_handles_labels()
        more, more_labels = twin.get_legend_handles_labels()
        ax.legend(lines + more, labels + more_labels, fontsize=8, loc="upper right")
    fig.tight_layout()
    return _save(fig, path)


def compare_histogram(selected: np.ndarray, reference: np.ndarray, xlabel: str, labels: tuple[str, str], path: Path,
                      bins: int = 40) -> Path:
    fig, ax = _subplots(figsize=(6, 4))
    data = np.concatenate([selected, reference]) if len(selected) + len(reference) else np.zeros(1)
    edges = np.linspace(data.min(), data.max() + 1e-9, bins + 1)
    ax.hist(reference, edges, density=True, histtype="step", color="grey", label=labels[1])
    ax.hist(selected, edges, density=True, alpha=0.6, color="crimson", label=labels[0])
    ax.set_xlabel(xlabel), ax.set_ylabel("density"), ax.legend(fontsize=8)
    return _save(fig, path)


def fidelity_plot(summary: dict, path: Path) -> Path:
    """fid+ and fid- against k for the explanation and the random and nearest-edge references."""
    fig, axes = _subplots(1, 2, figsize=(10, 4))
    k = summary["k"]
    for ax, sign, title in ((axes[0], "plus", "fidelity+ (top-k removed), higher is better"),
                            (axes[1], "minus", "fidelity− (only top-k kept), lower is better")):
        ax.plot(k, summary[sign], "o-", color="crimson", label="explanation")
        ax.plot(k, summary[f"{sign}_random"], "s--", color="grey", label="random edges")
        ax.plot(k, summary[f"{sign}_nearest"], "^:", color="tab:blue", label="nearest edges")
        ax.set_xscale("log"), ax.set_xlabel("k (edges)"), ax.set_ylabel("|Δ prediction| (eV)")
        ax.set_title(title, fontsize=9), ax.legend(fontsize=8)
    return _save(fig, path)


def topology_plot(summary: dict, path: Path) -> Path:
    """Mean H1 cycles per edge, important vs random, per barrier group."""
    names = [n for n in ("low", "mid", "high") if "h1" in summary["by_barrier"].get(n, {})]
    fig, ax = _subplots(figsize=(6, 4))
    x = np.arange(len(names) + 1)
    rows = [summary["all"]["h1"]] + [summary["by_barrier"][n]["h1"] for n in names] if "h1" in summary["all"] else []
    if rows:
        ax.bar(x - 0.2, [r["important_mean_cycles"] for r in rows], 0.4, color="crimson", label="important edges")
        ax.bar(x + 0.2, [r["random_mean_cycles"] for r in rows], 0.4, color="grey", label="random edges")
    ax.set_xticks(x, ["all"] + [f"{n} barrier" for n in names])
    ax.set_ylabel("H1 cycles per edge (Vietoris–Rips)"), ax.legend(fontsize=8)
    return _save(fig, path)


def barrier_plot(summary: dict, path: Path) -> Path:
    """Per barrier tercile: mean distance of touched atoms and first-shell enrichment."""
    names = [n for n in ("low", "mid", "high") if summary["by_barrier"][n].get("atoms")]
    fig, axes = _subplots(1, 3, figsize=(12, 3.6))
    groups = [summary["by_barrier"][n] for n in names]
    axes[0].bar(names, [g["distance"]["selected"].get("mean", np.nan) for g in groups], color="crimson")
    axes[0].set_ylabel("mean distance of touched atoms (Å)")
    axes[1].bar(names, [g["first_shell_fraction"]["enrichment"] for g in groups], color="tab:green")
    axes[1].set_ylabel("first-shell enrichment")
    axes[2].bar(names, [g["edge_length"]["selected"].get("mean", np.nan) for g in groups], color="tab:purple")
    axes[2].set_ylabel("mean selected edge length (Å)")
    for ax in axes:
        ax.set_xlabel("predicted barrier tercile")
    return _save(fig, path)


def descriptor_groups_plot(summary: dict, path: Path) -> Path:
    """Mean |change| of the prediction (eV) when each coarse descriptor group is occluded, beside
    silencing every edge: which kinds of structural information, at which scale, the model leans on."""
    entries = list(reversed(summary["coarse"]))
    labels = [e["group"] for e in entries]
    values = [e["mean_abs_ev"] for e in entries]
    edges = summary["pathways"].get("all_edges_mean_abs_ev")
    if edges is not None:
        labels.append("all edges (message passing)")
        values.append(edges)
    fig, ax = _subplots(figsize=(6.5, 0.28 * len(labels) + 1.2))
    colours = ["#888888" if label.startswith("all edges") else "#2b6cb0" for label in labels]
    ax.barh(range(len(labels)), values, color=colours)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.set_xlabel("mean |change of the predicted barrier| when swapped (eV)")
    ax.set_title(f"descriptor groups, {summary['atoms']} atoms", fontsize=9)
    return _save(fig, path)


def radial_profile_plot(summary: dict, path: Path) -> Path:
    """Mean |change| (eV) when one radial-density column is swapped, against its distance, one panel
    per scale (the atom's own environment, averaged over 4 Å, over 6 Å): at which neighbour
    distances, of which species, the model reads the structure."""
    profiles = summary["radial_profiles"]
    found = {key.split(" g_")[0] for key in profiles}  # "own" first, then by coarse-graining radius
    scales = sorted(found, key=lambda scale: -1.0 if scale == "own" else float(scale[2:] or 0))
    fig, axes = _subplots(1, len(scales), figsize=(3.2 * len(scales), 3.4), sharey=True, squeeze=False)
    for ax, scale in zip(axes[0], scales):
        for key, profile in sorted(profiles.items()):
            if key.split(" g_")[0] != scale:
                continue
            species = key.split(" g_")[1]
            ax.plot(profile["distance"], profile["mean_abs_ev"], marker="o", markersize=3,
                    color=SPECIES_COLOURS.get(species, "#777777"), label=f"{species} neighbours")
        ax.set_title(scale if scale != "own" else "own environment", fontsize=9)
        ax.set_xlabel("radial density centre (Å)")
    axes[0][0].set_ylabel("mean |change| when swapped (eV)")
    axes[0][0].legend(fontsize=7)
    fig.suptitle(f"radial descriptors, {summary['atoms']} atoms", fontsize=9)
    return _save(fig, path)
