"""Descriptor attribution of descriptor-input models: groups, swaps, and known answers."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from ase.build import bulk

from symgnn.data.structure import Structure
from symgnn.errors import SymgnnError
from symgnn.explain.descriptor_attribution import (
    attribute_descriptors, descriptor_groups, load_attribution, summarise_attributions, write_attribution,
)
from symgnn.explain.gnnexplainer import prepare_graph
from symgnn.explain.hooks import predict_with_mask
from symgnn.explain.subgraph import receptive_field
from symgnn.graph import build_graph
from symgnn.descriptors import DescriptorConfig
from tests.explain.conftest import example_attribution, tiny

NAMES = DescriptorConfig().feature_names()


def _fitted(name: str = "painn_desc"):
    """A tiny descriptor model whose standardisation is fitted (as training would)."""
    from tests.helpers import random_structure

    model = tiny(name).train()
    with torch.no_grad():
        model(build_graph(random_structure(150, seed=11), 4.0))
    return model.eval()


def test_groups_cover_every_column_once_and_name_the_physics():
    groups = descriptor_groups(NAMES)
    fine = [g for g in groups if g.kind != "all" and not g.name.startswith("all ")]
    covered = sorted(c for g in fine for c in g.columns)
    own_species = [NAMES.index("is_Cu"), NAMES.index("is_Zr")]  # same-species stand-ins: nothing to swap
    assert covered == [c for c in range(len(NAMES)) if c not in own_species]  # the rest in exactly one group
    radial = next(g for g in fine if g.name == "g_Zr 3.00 Å (cg6)")
    assert NAMES[radial.columns[0]] == "cg6_g_Zr_3.00"
    assert (radial.kind, radial.scale, radial.neighbour, radial.distance) == ("radial", "cg6", "Zr", 3.0)
    q6 = next(g for g in fine if g.name == "q6_Cu (own)")
    assert (q6.kind, q6.degree, q6.neighbour) == ("bond order", 6, "Cu")
    assert next(g for g in groups if g.name == "species (cg4)").columns == (NAMES.index("cg4_is_Cu"), NAMES.index("cg4_is_Zr"))
    whole = next(g for g in groups if g.name == "all descriptors")
    assert whole.columns == tuple(range(len(NAMES)))
    assert len(next(g for g in groups if g.name == "all radial (own)").columns) == 42
    with pytest.raises(SymgnnError, match="not a known descriptor"):
        descriptor_groups(["g_Cu_2.00", "volume"])


@pytest.mark.parametrize("name", ["painn_desc", "ensemble"])
def test_a_column_the_model_ignores_gets_zero_and_the_rest_do_not(box, name):
    model = _fitted(name)
    members = model.members if name == "ensemble" else [model]
    ignored = NAMES.index("g_Zr_3.00")
    with torch.no_grad():
        for member in members:  # the encoder's first layer no longer reads this column
            member.descriptor_encoder[0].weight[:, ignored] = 0.0
    data = prepare_graph(model, build_graph(box, 4.0))
    fields = [receptive_field(data, atom, 2) for atom in (0, 17)]
    groups = descriptor_groups(NAMES)
    results = attribute_descriptors(model, data, fields, groups, label_std=0.3, draws=3, seed=1)
    column = [g.name for g in groups].index("g_Zr 3.00 Å (own)")
    with torch.no_grad():
        full = model(data)[:, 0].double().numpy() * 0.3
    for result, field in zip(results, fields):
        assert result.prediction == pytest.approx(full[field.atom], abs=1e-5)
        assert result.deltas[column] == pytest.approx(0.0, abs=1e-6)
        assert result.spreads[column] == pytest.approx(0.0, abs=1e-6)
        assert np.abs(result.deltas).max() > 1e-3  # other groups move the prediction
        silenced = predict_with_mask(model, field.data, torch.zeros(field.num_edges))[field.center] * 0.3
        assert result.without_edges == pytest.approx(result.prediction - float(silenced), abs=1e-5)
    again = attribute_descriptors(model, data, fields, groups, label_std=0.3, draws=3, seed=1)
    assert np.array_equal(again[0].deltas, results[0].deltas)  # seeded draws


@pytest.mark.filterwarnings("ignore::symgnn.nn.descriptor_input.OutOfDistributionWarning")  # a crystal, on purpose
def test_identical_environments_have_nothing_to_swap():
    """In a perfect crystal every Cu atom has the same descriptors: swapping changes nothing."""
    crystal = bulk("Cu", "fcc", a=3.61, cubic=True).repeat(3)
    structure = Structure(crystal.numbers, crystal.positions, np.asarray(crystal.cell), np.array([True] * 3))
    model = _fitted()
    data = prepare_graph(model, build_graph(structure, 4.0))
    groups = descriptor_groups(NAMES)
    (result,) = attribute_descriptors(model, data, [receptive_field(data, 0, 2)], groups, 0.3, draws=2)
    assert np.abs(result.deltas).max() < 1e-5


def test_model_without_descriptors_and_graph_without_cache_are_refused(box):
    data = build_graph(box, 4.0)
    field = receptive_field(data, 0, 2)
    with pytest.raises(SymgnnError, match="reads no structure descriptors"):
        attribute_descriptors(tiny("schnet"), data, [field], descriptor_groups(NAMES), 0.3)
    with pytest.raises(SymgnnError, match="prepare_graph"):
        attribute_descriptors(_fitted(), data, [field], descriptor_groups(NAMES), 0.3)


def test_csv_round_trip_and_summary(box, tmp_path):
    model = _fitted()
    data = prepare_graph(model, build_graph(box, 4.0))
    groups = descriptor_groups(NAMES)
    results = attribute_descriptors(model, data, [receptive_field(data, a, 2) for a in (0, 5, 9)], groups, 0.3, draws=2)
    loaded = []
    for result in results:
        path = write_attribution(tmp_path / f"{result.atom}.csv", result, groups, overwrite=False)
        with pytest.raises(SymgnnError, match="already exists"):
            write_attribution(path, result, groups, overwrite=False)
        loaded.append(load_attribution(path))
    assert loaded[0].without_edges == pytest.approx(results[0].without_edges, rel=1e-5)
    assert loaded[0].delta("all descriptors") == pytest.approx(results[0].deltas[-1], rel=1e-5, abs=1e-9)
    summary = summarise_attributions(loaded, [r.prediction for r in results])
    assert summary["atoms"] == 3
    expected = np.mean([abs(r.deltas[-1]) for r in results])
    assert summary["pathways"]["all_descriptors_mean_abs_ev"] == pytest.approx(expected, abs=1e-4)
    profile = summary["radial_profiles"]["cg6 g_Zr"]
    assert profile["distance"] == sorted(profile["distance"]) and len(profile["distance"]) == 21
    ranked = [e["mean_abs_ev"] for e in summary["top_columns"]]
    assert ranked == sorted(ranked, reverse=True)


def test_a_single_draw_has_no_spread(box, tmp_path):
    """One draw gives no spread to report: an empty cell, not 0 (which would read as certainty)."""
    model = _fitted()
    data = prepare_graph(model, build_graph(box, 4.0))
    groups = descriptor_groups(NAMES)
    (result,) = attribute_descriptors(model, data, [receptive_field(data, 0, 2)], groups, 0.3, draws=1)
    assert np.isnan(result.spreads).all()
    loaded = load_attribution(write_attribution(tmp_path / "one.csv", result, groups, overwrite=False))
    assert {row["spread_ev"] for row in loaded.groups} == {None}
    (two,) = attribute_descriptors(model, data, [receptive_field(data, 0, 2)], groups, 0.3, draws=2)
    assert np.isfinite(two.spreads).all() and two.spreads.max() > 0


@pytest.mark.parametrize("broken, problem", [
    (lambda text: text[: len(text) // 2], "truncated"),
    (lambda text: text.replace("delta_ev", "change", 1), "missing column delta_ev"),
    (lambda text: text.replace("0.2,0.01", "big,0.01", 1), "line 2: could not convert string to float: 'big'"),
    (lambda text: text.replace("0.2,0.01\n", "0.2,0.01,extra\n", 1), "line 2: 11 fields where the header has 10"),
    (lambda text: text.replace(",0.2,0.01\n", "\n", 1), "line 2: 8 fields where the header has 10"),
    (lambda text: text.splitlines(keepends=True)[0], "no descriptor groups"),
    (lambda text: "", "empty file"),
], ids=["truncated", "renamed column", "non-numeric", "extra field", "short row", "header only", "empty"])
def test_a_broken_csv_is_one_error_naming_it(tmp_path, broken, problem):
    """A truncated, edited or foreign descriptors.csv is a SymgnnError naming the file and the
    problem (explain-stats shows it as one line), not a KeyError or ValueError from deep inside."""
    path = example_attribution(tmp_path / "descriptors.csv")
    text = path.read_text()
    assert len(load_attribution(path).groups) > 100
    path.write_text(broken(text))
    with pytest.raises(SymgnnError) as error:
        load_attribution(path)
    message = str(error.value)
    assert message.startswith(f"{path}: ") and problem in message and "re-run symgnn explain" in message, message
