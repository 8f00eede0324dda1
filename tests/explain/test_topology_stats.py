"""H1 cycles with GUDHI, the statistics and the result files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from symgnn.explain.gnnexplainer import ExplainConfig, explain_atoms
from symgnn.explain.stats import StatsConfig, atom_stats, barrier_groups, compute_stats
from symgnn.explain.topology import h1_cycles, h1_participation
from symgnn.explain.writers import load_atom, node_importance, write_atom
from tests.explain.conftest import ZrNeighbourModel


def test_hexagon_has_one_cycle_through_its_sides():
    angle = np.arange(6) * np.pi / 3
    points = np.stack([np.cos(angle), np.sin(angle), np.zeros(6)], axis=1)
    cycles = h1_cycles(points, max_edge_length=3.0)
    assert len(cycles.cycles) == 1
    assert cycles.birth[0] == pytest.approx(1.0) and cycles.death[0] == pytest.approx(np.sqrt(3))
    sides = np.array([[i, (i + 1) % 6] for i in range(6)])
    assert cycles.participation(sides).tolist() == [1] * 6
    assert cycles.participation(np.array([[0, 3]])).tolist() == [0]  # a diagonal is on no cycle


def test_h1_participation_against_random_edges():
    """Target at the origin, a hexagonal ring (sides 2 Å) 1.5 Å above it; graph edges: the sides and
    the spokes to the target (2.5 Å). Below 2.2 Å only the sides exist, so the ring is one H1 class
    (alive at the limit): the sides lie on it, the spokes on none."""
    angle = np.arange(6) * np.pi / 3
    ring = np.stack([2 * np.cos(angle), 2 * np.sin(angle), np.full(6, 1.5)], axis=1)
    offsets = np.vstack([np.zeros((1, 3)), ring])
    pairs = [(i, i % 6 + 1) for i in range(1, 7)] + [(0, i) for i in range(1, 7)]
    source = np.array([a for a, b in pairs] + [b for a, b in pairs])
    target = np.array([b for a, b in pairs] + [a for a, b in pairs])
    result = h1_participation(offsets, source, target, np.arange(6), radius=3.0, max_edge_length=2.2, n_random=20)
    assert result["h1_classes"] == 1 and result["edges"] == 6 and result["local_atoms"] == 7
    assert result["important_mean_cycles"] == 1.0 and result["important_fraction_on_cycle"] == 1.0
    assert 0.2 < result["random_mean_cycles"] < 0.8
    spokes = h1_participation(offsets, source, target, np.arange(6, 12), radius=3.0, max_edge_length=2.2)
    assert spokes["important_mean_cycles"] == 0.0
    assert h1_participation(offsets, source, target, np.arange(6), radius=0.5, max_edge_length=2.2) is None


@pytest.fixture
def written(graph, tmp_path):
    model = ZrNeighbourModel()
    atoms = [a for a in range(60) if float(model(graph)[a, 0]) > 0.3][:4]
    results = explain_atoms(model, graph, atoms, ExplainConfig(epochs=60))
    for r in results:
        write_atom(tmp_path, r, label_mean=1.5, label_std=0.3, top_k=5, fidelity=None, label=None, overwrite=False)
    return tmp_path, results


def test_atom_files(written):
    out, results = written
    r = results[0]
    folder = out / f"atom_{r.field.atom:05d}"
    lines = (folder / "edges.csv").read_text().splitlines()
    assert lines[0].split(",") == ["rank", "source", "target", "source_species", "target_species", "pair", "length",
                                   "importance", "selected"]
    assert len(lines) == r.field.num_edges + 1
    first = lines[1].split(",")
    assert first[0] == "1" and first[-1] == "1" and float(first[7]) == pytest.approx(r.mask.max(), rel=1e-5)
    assert sum(int(l.split(",")[-1]) for l in lines[1:]) == 5
    payload = json.loads((folder / "explanation.json").read_text())
    assert payload["prediction"] == pytest.approx(1.5 + 0.3 * r.prediction)
    from ase.io import read

    atoms = read(folder / "importance.xyz")
    assert len(atoms) == r.field.data.num_nodes
    assert atoms.arrays["target"].sum() == 1 and atoms.arrays["target"][r.field.center] == 1
    assert np.allclose(atoms.arrays["importance"], node_importance(r), rtol=1e-5)
    assert np.allclose(atoms.positions[r.field.center], 0.0)
    with pytest.raises(Exception, match="already exists"):
        write_atom(out, r, 1.5, 0.3, 5, None, None, overwrite=False)


def test_stats_of_a_known_model(written):
    out, results = written
    loaded = [load_atom(out / f"atom_{r.field.atom:05d}" / "explanation.json") for r in results]
    assert np.allclose(loaded[0].importance, results[0].mask, rtol=1e-5)
    config = StatsConfig(top_k=5, local_radius=6.0, max_edge_length=4.0, n_random=3)
    stats = [atom_stats(a, config) for a in loaded]
    for s in stats:
        # The model only uses Zr neighbours within 3.2 Å: the important atoms sit in the first shell.
        assert np.median(s.touched_distances) < 3.3
        assert s.touched_distances.mean() < s.all_distances.mean()
        assert len(s.selected_lengths) == 5
    summary, _ = compute_stats(loaded, {"sanity": None}, config)
    assert summary["all"]["first_shell_fraction"]["enrichment"] > 1
    assert set(summary["by_barrier"]) == {"low", "mid", "high"}
    groups = barrier_groups(stats)
    assert sum(len(g) for g in groups.values()) == len(stats)
    json.dumps(summary)  # serialisable
