import math

import torch

from symgnn.nn.von_mises import sample_von_mises, von_mises_cdf


def test_cdf_matches_uniform_limit_and_symmetry():
    kappa = torch.tensor(1e-6)
    assert torch.allclose(von_mises_cdf(torch.tensor(0.0), kappa), torch.tensor(0.5), atol=1e-4)
    assert torch.allclose(von_mises_cdf(torch.tensor(math.pi / 2), kappa), torch.tensor(0.75), atol=1e-3)
    k = torch.tensor(3.0)
    x = torch.tensor(0.7)
    assert torch.allclose(von_mises_cdf(x, k) + von_mises_cdf(-x, k), torch.tensor(1.0), atol=1e-4)


def test_gradients_reach_location_and_concentration():
    loc = torch.zeros(2, 3, requires_grad=True)
    log_kappa = torch.zeros(2, 3, requires_grad=True)
    angles = sample_von_mises(loc, log_kappa.exp(), num_samples=4)
    (angles.sin() ** 2).sum().backward()
    assert loc.grad is not None and loc.grad.abs().sum() > 0
    assert log_kappa.grad is not None and log_kappa.grad.abs().sum() > 0


def test_concentration_gradient_is_unbiased():
    # d/dk E[cos X] for X ~ VM(0, k) equals A'(k) = 1 - A/k - A^2 with A = I1(k)/I0(k).
    kappa = torch.tensor(2.0, requires_grad=True)
    torch.manual_seed(0)
    samples = sample_von_mises(torch.tensor(0.0), kappa, num_samples=40000)
    samples.cos().mean().backward()
    a = torch.special.i1(torch.tensor(2.0)) / torch.special.i0(torch.tensor(2.0))
    expected = 1 - a / 2.0 - a**2
    assert abs(kappa.grad.item() - expected.item()) < 0.02


def test_fixed_generator_draws_are_reproducible():
    loc, kappa = torch.zeros(3), torch.ones(3) * 2
    a = sample_von_mises(loc, kappa, 5, generator=torch.Generator().manual_seed(1))
    b = sample_von_mises(loc, kappa, 5, generator=torch.Generator().manual_seed(1))
    assert torch.equal(a, b)
