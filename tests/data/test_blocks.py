"""Block-wise prediction of large structures: the cut is a partition, and predictions do not change."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from symgnn.data.blocks import plan_blocks, plane_spacings, spatial_blocks
from symgnn.errors import SymgnnError
from symgnn.models import build_model
from symgnn.models.receptive import dependency_radius
from symgnn.models.registry import available_models
from symgnn.predictor import Predictor
from tests.helpers import random_structure

SHEARED = np.array([[40.0, 0.0, 0.0], [6.0, 38.0, 0.0], [-4.0, 5.0, 41.0]])


def test_blocks_partition_the_atoms_and_halos_reach_far_enough():
    structure = random_structure(4000, seed=1, cell=SHEARED)
    halo = 6.0
    counts = plan_blocks(structure, halo, 2500)
    assert counts != (1, 1, 1) and max(counts) <= 32
    blocks = list(spatial_blocks(structure, halo, counts))
    assert len(blocks) == int(np.prod(counts))
    owner = np.concatenate([b.atoms[b.inner] for b in blocks])
    assert np.array_equal(np.sort(owner), np.arange(len(structure)))  # each atom inner in exactly one block
    assert max(len(b.structure) for b in blocks) <= 2500 * 1.15  # planned at uniform density
    spacing = plane_spacings(structure.cell)
    whole = structure.wrapped()
    for block in blocks:
        assert len(np.unique(block.atoms)) == len(block.atoms)  # no atom twice in a block
        cut = ~block.structure.pbc
        assert np.array_equal(cut, np.array(counts) > 1)
        # The block keeps every atom within the halo of its inner atoms (same image, distances kept).
        frac = np.linalg.solve(block.structure.cell.T, block.structure.positions.T).T
        inner = frac[block.inner]
        low, high = inner.min(0), inner.max(0)
        for axis in np.flatnonzero(cut):
            margin = halo / spacing[axis]
            assert frac[:, axis].min() <= low[axis] - margin + 0.02 and frac[:, axis].max() >= high[axis] + margin - 0.02
        moved = block.structure.positions - whole.positions[block.atoms]
        lattice = np.linalg.solve(structure.cell.T, moved.T).T
        np.testing.assert_allclose(lattice, np.round(lattice), atol=1e-9)  # only whole-cell shifts


def test_small_structures_and_uncuttable_cells_are_not_cut():
    small = random_structure(500, seed=2)
    assert plan_blocks(small, 10.0, 1000) == (1, 1, 1)
    thin = random_structure(3000, seed=2)  # a 36 Å box cannot hold a block and two 20 Å halos
    assert plan_blocks(thin, 20.0, 1000) == (1, 1, 1)
    cluster = random_structure(3000, seed=2, pbc=False)  # no periodic axis to cut
    assert plan_blocks(cluster, 5.0, 1000) == (1, 1, 1)
    slab = random_structure(4000, seed=2, cell=SHEARED, pbc=[True, True, False])
    assert plan_blocks(slab, 5.0, 2000)[2] == 1 and plan_blocks(slab, 5.0, 2000) != (1, 1, 1)


SMALL_DESCRIPTORS = {"radial_cutoff": 3.0, "coarse_grain": [3.0], "default_shell_cutoff": 3.0, "shell_cutoffs": {}}
# Every registered model at a small size (two layers, narrow; descriptors of short reach), so that a
# 4,000-atom box can be cut. A new model must be added here (see the last test).
SMALL_HPARAMS = {
    "egat_desc": {"width": 8, "heads": [2, 1], "descriptors": SMALL_DESCRIPTORS},
    "egat_length": {"width": 8, "heads": [2, 1]},
    "egnn": {"hidden": 8, "num_layers": 2},
    "gcn_edge": {"hidden": 8, "num_layers": 2},
    "mgcn": {"hidden": 8, "num_layers": 2},
    "mlp": {"hidden": 8},
    "painn": {"hidden": 8, "num_layers": 2},
    "painn_desc": {"hidden": 8, "num_layers": 1, "descriptors": SMALL_DESCRIPTORS},
    "schnet": {"hidden": 8, "num_filters": 8, "num_interactions": 2},
    "symgnn": {"width": 8, "heads": [2, 1]},
    "symgnn_aug": {"width": 8, "heads": [2, 1]},
    "symgnn_edgewise": {"width": 8, "heads": [2, 1]},
    "symgnn_nosym": {"width": 8, "heads": [2, 1]},
    "dimenet": {"hidden": 8, "num_blocks": 1, "int_emb_size": 4, "basis_emb_size": 4, "out_emb_channels": 8,
                "cutoff": 2.5},
}
# Predicted whole: gcn's degree-normalised messages reach a shell past its layers (and it may read
# absolute positions), faenet's frames are the principal axes of all positions.
NOT_BLOCKWISE = {"gcn": {"hidden": 8, "num_layers": 2}, "faenet": {"hidden": 8, "num_layers": 2}}


def _small_predictor(name: str) -> Predictor:
    torch.manual_seed(0)
    model = build_model(name, **SMALL_HPARAMS[name]).eval()
    if name == "dimenet":  # PyG starts its output layers at zero: an all-zero prediction would prove nothing
        for block in model.net.output_blocks:
            torch.nn.init.normal_(block.lin.weight, std=0.3)
    return Predictor(model, 1.5, 0.3, 2.5, name, {})


def test_every_model_is_listed():
    assert set(SMALL_HPARAMS) | set(NOT_BLOCKWISE) | {"ensemble"} == set(available_models())


@pytest.mark.parametrize("name", sorted(SMALL_HPARAMS))
def test_block_predictions_equal_whole_structure_predictions(name):
    """Every registered model, untrained, on a sheared 4,000-atom box: cut into blocks along the axes
    the plan chooses, the predictions equal the whole structure's."""
    structure = random_structure(4000, seed=3, cell=SHEARED)
    predictor = _small_predictor(name)
    halo = dependency_radius(predictor.model, predictor.cutoff)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        whole = predictor.predict(structure, max_atoms=None)
        assert plan_blocks(structure, halo, 3400) != (1, 1, 1), halo
        blocks = predictor.predict(structure, max_atoms=3400)
    assert np.isfinite(blocks).all()
    np.testing.assert_allclose(blocks, whole, atol=1e-4 * max(1.0, float(np.abs(whole).max())))


@pytest.mark.parametrize("name", sorted(NOT_BLOCKWISE))
def test_models_that_cannot_be_cut_are_predicted_whole(name):
    torch.manual_seed(0)
    predictor = Predictor(build_model(name, **NOT_BLOCKWISE[name]).eval(), 1.5, 0.3, 2.5, name, {})
    assert predictor.model.blockwise is False
    structure = random_structure(4000, seed=3, cell=SHEARED)
    whole = predictor.predict(structure, max_atoms=None)
    np.testing.assert_allclose(predictor.predict(structure, max_atoms=3400), whole, atol=1e-6)  # threads: round-off


def test_descriptor_reach_counts_in_the_halo():
    """A descriptor-reading PaiNN with small descriptor radii: exact with the full dependency radius,
    wrong for some atoms with the message-passing radius alone (so the descriptors' reach matters)."""
    torch.manual_seed(0)
    model = build_model("painn", hidden=8, num_layers=1, cutoff=2.5, descriptors=SMALL_DESCRIPTORS).eval()
    predictor = Predictor(model, 1.5, 0.3, 2.5, "painn", {})
    assert dependency_radius(model, 2.5) == pytest.approx(2.5 + 6.0)
    structure = random_structure(4000, seed=4, cell=SHEARED)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        whole = predictor.predict(structure, max_atoms=None)
        exact = predictor.predict(structure, max_atoms=2500)
        np.testing.assert_allclose(exact, whole, atol=1e-5)
        short = np.full(len(structure), np.nan)
        for block in spatial_blocks(structure, 2.5, plan_blocks(structure, 2.5, 2500)):
            short[block.atoms[block.inner]] = predictor.predict(block.structure, max_atoms=None)[block.inner]
    assert np.abs(short - whole).max() > 1e-3


def test_max_atoms_must_be_positive():
    predictor = _small_predictor("painn")
    with pytest.raises(SymgnnError, match="--max-atoms must be positive, got 0"):
        predictor.predict(random_structure(50), max_atoms=0)


def test_out_of_distribution_warning_is_the_whole_structures():
    """Atoms far outside the training data are reported once, as for the whole structure: the halo
    atoms (whose neighbourhoods the cut truncates) do not count."""
    from symgnn.nn.descriptor_input import OutOfDistributionWarning

    from symgnn.graph import build_graph

    predictor = _small_predictor("painn_desc")
    structure = random_structure(4000, seed=5, cell=SHEARED)
    # Scale one descriptor so that about a tenth of the atoms lie beyond the clip.
    descriptors = predictor.model.descriptors
    raw = descriptors.raw(build_graph(structure, predictor.cutoff)).double()
    column = int(raw.std(0).argmax())
    descriptors.mean.copy_(raw.median(0).values.float())
    deviation = (raw[:, column] - raw[:, column].median()).abs()
    descriptors.scale[column] = float(torch.quantile(deviation, 0.9)) / 20.5

    def messages(max_atoms):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            predictor.predict(structure, max_atoms=max_atoms)
        return [str(w.message) for w in caught if issubclass(w.category, OutOfDistributionWarning)]

    whole = messages(None)
    assert len(whole) == 1 and "of the atoms have structure descriptors far outside" in whole[0]
    assert messages(2500) == whole


def test_a_cell_too_thin_to_cut_is_predicted_whole_with_a_warning():
    from symgnn.errors import InputWarning

    torch.manual_seed(0)
    predictor = Predictor(build_model("painn", hidden=8, num_layers=2).eval(), 1.5, 0.3, 6.0, "painn", {})
    structure = random_structure(1500, seed=6)  # a 28 Å box against a 12 Å halo
    whole = predictor.predict(structure, max_atoms=None)
    assert plan_blocks(structure, 12.0, 1000) == (1, 1, 1)  # 32^3 blocks would fit, at 20,000 times the work
    with pytest.warns(InputWarning, match=r"random6: 1500 atoms, more than 1000, but its periodic axes cannot be cut .* 12 Å halo"):
        np.testing.assert_allclose(predictor.predict(structure, max_atoms=1000), whole, atol=1e-6)
