"""Fidelity against random and nearest edge sets; the model-randomisation sanity check."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from symgnn.explain.fidelity import atom_fidelity, summarise_fidelity
from symgnn.explain.gnnexplainer import ExplainConfig, explain_atoms
from symgnn.explain.sanity import randomised_copy, rank_correlation, sanity_check
from tests.explain.conftest import ZrNeighbourModel, tiny


def test_fidelity_of_a_known_model_beats_random(graph):
    model = ZrNeighbourModel()
    atoms = [a for a in range(40) if float(model(graph)[a, 0]) > 0.3][:3]
    results = explain_atoms(model, graph, atoms, ExplainConfig(epochs=100))
    per_atom = [atom_fidelity(model, r, label_std=1.0, ks=(2, 5, 10), n_random=3) for r in results]
    for r, fid in zip(results, per_atom):
        # Removing the top edges removes the whole output; keeping them alone keeps it.
        assert fid["plus"][-1] == np.float64(fid["plus"][-1])
        assert abs(fid["plus"][-1] - abs(r.prediction)) < 1e-5
        assert fid["minus"][-1] < 1e-5
    summary = summarise_fidelity(per_atom)
    assert summary["k"] == [2, 5, 10] and summary["atoms"] == len(atoms)
    assert np.all(np.array(summary["plus"]) > np.array(summary["plus_random"]))
    assert np.all(np.array(summary["minus"]) < np.array(summary["minus_random"]) + 1e-9)
    assert summary["beats_random_plus"][-1] == 1.0


def test_fidelity_caps_k_at_the_field_size(graph):
    model = tiny("symgnn")
    (r,) = explain_atoms(model, graph, [0], ExplainConfig(epochs=5))
    fid = atom_fidelity(model, r, 1.0, ks=(5, 10**6), n_random=1)
    assert fid["k"] == [5, 10**6] and fid["k_effective"] == [5, r.field.num_edges]
    assert fid["plus"][-1] == fid["plus_random"][-1]  # every edge removed either way


def test_atoms_with_fields_of_different_sizes_are_all_averaged(graph):
    """A k larger than some fields must not drop those atoms from the summary."""
    model = tiny("symgnn")
    results = explain_atoms(model, graph, [0, 7, 42], ExplainConfig(epochs=5))
    sizes = {r.field.num_edges for r in results}
    per_atom = [atom_fidelity(model, r, 1.0, ks=(5, min(sizes) + 1), n_random=1) for r in results]
    summary = summarise_fidelity(per_atom)
    assert summary["atoms"] == 3 and summary["k"] == [5, min(sizes) + 1]
    used = np.mean([min(r.field.num_edges, min(sizes) + 1) for r in results])
    assert summary["k_effective_mean"] == [5.0, round(float(used), 1)]  # says where k stops mattering


def test_randomised_copy_changes_parameters_keeps_buffers():
    model = tiny("symgnn")
    with torch.no_grad():  # as after training: no parameter at its initial value
        for parameter in model.parameters():
            parameter.add_(0.1)
    model.layers[0].node_norm.running_mean.fill_(0.5)
    clone = randomised_copy(model, seed=3)
    changed = [not torch.equal(a, b) for a, b in zip(model.parameters(), clone.parameters()) if a.numel() > 1]
    assert all(changed)
    assert torch.equal(clone.layers[0].node_norm.running_mean, model.layers[0].node_norm.running_mean)
    assert clone is not model and not clone.training


def test_rank_correlation_bounds():
    a = np.arange(10.0)
    assert rank_correlation(a, a) == pytest.approx(1.0)
    assert rank_correlation(a, -a) == pytest.approx(-1.0)
    assert rank_correlation(a, np.ones(10)) == 0.0


def test_sanity_check_reports_both_references(graph):
    model = tiny("symgnn")
    config = ExplainConfig(epochs=10)
    results = explain_atoms(model, graph, [0, 1], config)
    report = sanity_check(model, results, config)
    assert report["atoms"] == [0, 1]
    assert len(report["spearman_trained_randomised"]) == 2
    assert -1 <= report["mean_trained_randomised"] <= 1 and -1 <= report["mean_trained_reseeded"] <= 1
