r"""Persistent homology of the local structure: do important edges sit on rings (H1 cycles)?

The local structure of a target is the set of atoms within ``radius`` of it (unwrapped positions).
GUDHI builds the Vietoris–Rips filtration up to ``max_edge_length`` (2-skeleton, enough for H1) and
computes its persistence; :meth:`gudhi.SimplexTree.flag_persistence_generators` gives, for every H1
class, the edge whose entry creates the loop (birth edge) and the edge whose entry fills it (death
edge). A concrete cycle representative of each class is the birth edge closed by the shortest path
between its ends through the other edges present at the birth value (no longer than it), found
with SciPy's Dijkstra. An edge *takes part* in a class when it lies on that cycle.

For the explained edges (undirected atom pairs inside the local structure) and for random sets of
the same number of graph edges from the same local structure, :func:`h1_participation` reports the
mean number of cycles per edge and the fraction of edges on at least one cycle.
"""

from __future__ import annotations

from dataclasses import dataclass

import gudhi
import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra


@dataclass
class H1Cycles:
    """H1 classes of a point cloud: birth/death values and a cycle (list of vertex pairs) each."""

    birth: np.ndarray
    death: np.ndarray
    cycles: list[list[tuple[int, int]]]

    def participation(self, pairs: np.ndarray) -> np.ndarray:
        """How many cycles each undirected pair ``(a, b)`` (rows of ``pairs``) lies on."""
        counts: dict[tuple[int, int], int] = {}
        for cycle in self.cycles:
            for a, b in cycle:
                key = (min(a, b), max(a, b))
                counts[key] = counts.get(key, 0) + 1
        return np.array([counts.get((min(a, b), max(a, b)), 0) for a, b in pairs], dtype=np.int64)


def h1_cycles(points: np.ndarray, max_edge_length: float, min_persistence: float = 0.0) -> H1Cycles:
    """H1 classes of the Vietoris–Rips filtration of ``points`` (GUDHI), with persistence above
    ``min_persistence`` (classes still alive at ``max_edge_length`` count as infinite)."""
    points = np.asarray(points, dtype=np.float64)
    tree = gudhi.RipsComplex(points=points, max_edge_length=max_edge_length).create_simplex_tree(max_dimension=2)
    tree.compute_persistence(persistence_dim_max=True)  # H1 even when no triangle exists
    generators = tree.flag_persistence_generators()
    regular, essential = generators[1], generators[3]
    rows: list[tuple[int, int, float]] = []
    if len(regular) > 0 and len(regular[0]) > 0:
        for b1, b2, d1, d2 in np.asarray(regular[0]):
            rows.append((int(b1), int(b2), float(np.linalg.norm(points[d1] - points[d2]))))
    if len(essential) > 0 and len(essential[0]) > 0:
        for b1, b2 in np.asarray(essential[0]):
            rows.append((int(b1), int(b2), float("inf")))
    # The 1-skeleton, for cycle representatives.
    diff = points[:, None, :] - points[None, :, :]
    dist = np.linalg.norm(diff, axis=-1)
    births, deaths, cycles = [], [], []
    for b1, b2, death in rows:
        birth = dist[b1, b2]
        if death - birth <= min_persistence:
            continue
        # Edges present when the loop closes (ties included), minus the closing edge itself.
        before = (dist <= birth + 1e-9) & (dist > 0)
        before[b1, b2] = before[b2, b1] = False
        i, j = np.nonzero(before)
        graph = coo_matrix((dist[i, j], (i, j)), shape=dist.shape).tocsr()
        _, predecessors = dijkstra(graph, indices=b1, return_predecessors=True)
        path, node = [], b2
        while node != b1 and node >= 0:
            parent = predecessors[node]
            if parent < 0:
                break
            path.append((int(parent), int(node)))
            node = parent
        if node != b1:  # no earlier path: cannot happen for a genuine H1 birth, skip defensively
            continue
        births.append(birth)
        deaths.append(death)
        cycles.append(path + [(b1, b2)])
    return H1Cycles(np.array(births), np.array(deaths), cycles)


def h1_participation(
    offsets: np.ndarray, source: np.ndarray, target: np.ndarray, selected: np.ndarray, radius: float,
    max_edge_length: float, n_random: int = 10, min_persistence: float = 0.0, seed: int = 0,
) -> dict[str, float] | None:
    """H1 participation of the ``selected`` edges (indices into ``source``/``target``) that lie
    inside the local structure (atoms within ``radius`` of the origin, the target), against
    ``n_random`` random draws of as many graph edges from the same local structure. ``None`` when no
    selected edge lies inside."""
    inside = np.flatnonzero(np.linalg.norm(offsets, axis=1) <= radius)
    local = -np.ones(len(offsets), dtype=np.int64)
    local[inside] = np.arange(len(inside))

    def pairs_of(edges: np.ndarray) -> np.ndarray:
        a, b = local[source[edges]], local[target[edges]]
        keep = (a >= 0) & (b >= 0)
        p = np.sort(np.stack([a[keep], b[keep]], axis=1), axis=1)
        return np.unique(p, axis=0) if len(p) else p.reshape(0, 2)

    chosen = pairs_of(np.asarray(selected))
    candidates = pairs_of(np.arange(len(source)))
    if len(chosen) == 0 or len(candidates) < len(chosen):
        return None
    cycles = h1_cycles(offsets[inside], max_edge_length, min_persistence)
    important = cycles.participation(chosen)
    rng = np.random.default_rng(seed)
    random_counts = [cycles.participation(candidates[rng.choice(len(candidates), len(chosen), replace=False)])
                     for _ in range(n_random)]
    return {
        "local_atoms": int(len(inside)),
        "h1_classes": int(len(cycles.cycles)),
        "edges": int(len(chosen)),
        "important_mean_cycles": float(important.mean()),
        "random_mean_cycles": float(np.mean([r.mean() for r in random_counts])),
        "important_fraction_on_cycle": float((important > 0).mean()),
        "random_fraction_on_cycle": float(np.mean([(r > 0).mean() for r in random_counts])),
    }
