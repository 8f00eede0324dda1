"""The offset-weighted loss: plain MSE at weight 1, blind to per-structure shifts at weight 0."""

from __future__ import annotations

import torch

from symgnn.train.loss import offset_weighted_mse


def _two_structures():
    generator = torch.Generator().manual_seed(0)
    prediction = torch.randn(30, 2, generator=generator)
    target = torch.randn(30, 2, generator=generator)
    index = torch.tensor([0] * 10 + [1] * 20)  # unequal sizes: the offset term is atom-weighted
    return prediction, target, index


def test_weight_one_is_plain_mse():
    prediction, target, index = _two_structures()
    weights = torch.tensor([1.0, 0.1])
    expected = (((prediction - target) ** 2).mean(0) * weights).sum()
    for loss in (offset_weighted_mse(prediction, target, index, weights, 1.0),
                 offset_weighted_mse(prediction, target, index, weights, 1.0 - 1e-12)):
        assert torch.allclose(loss, expected, atol=1e-6)


def test_weight_zero_ignores_a_shift_of_one_structure():
    prediction, target, index = _two_structures()
    weights = torch.ones(2)
    shifted = prediction + 3.0 * (index == 1).float().unsqueeze(1)
    base = offset_weighted_mse(prediction, target, index, weights, 0.0)
    assert torch.allclose(offset_weighted_mse(shifted, target, index, weights, 0.0), base, atol=1e-5)
    # A shift is penalised in proportion to the weight.
    gap = offset_weighted_mse(shifted, target, index, weights, 0.5) - offset_weighted_mse(prediction, target, index, weights, 0.5)
    assert gap > 1.0
