r"""Differentiable draws from von Mises distributions.

``torch.distributions.VonMises`` has no ``rsample``: its samples carry no gradient, so a model that
draws angles from it cannot learn the distribution's location or concentration (the released SymGNN
code calls ``.sample()`` and in the end uses fixed angles). Here a draw is made differentiable by
*implicit reparameterisation* (Figurnov et al., NeurIPS 2018):

.. math::
    \theta = \mu + \epsilon, \quad \epsilon \sim \mathrm{VM}(0, \kappa), \qquad
    \frac{\partial \epsilon}{\partial \kappa} = -\frac{\partial F(\epsilon; \kappa) / \partial \kappa}
                                                   {p(\epsilon; \kappa)}

where :math:`F` is the CDF on :math:`[-\pi, \pi)` and :math:`p` the density. :math:`F` is computed by
trapezoidal quadrature of :math:`\exp(\kappa(\cos t - 1))` so autograd gives
:math:`\partial F / \partial \kappa`; the location gets the plain pathwise gradient 1.
"""

from __future__ import annotations

import math

import torch

_QUADRATURE_POINTS = 512


def _unnormalised_density(t: torch.Tensor, concentration: torch.Tensor) -> torch.Tensor:
    # exp(kappa (cos t - 1)) stays in (0, 1], so large kappa never overflows.
    return torch.exp(concentration * (torch.cos(t) - 1.0))


def von_mises_cdf(value: torch.Tensor, concentration: torch.Tensor) -> torch.Tensor:
    """CDF of VM(0, κ) on [-π, π) at ``value`` (broadcast with ``concentration``), differentiable in κ."""
    value, concentration = torch.broadcast_tensors(value, concentration)
    steps = torch.linspace(0.0, 1.0, _QUADRATURE_POINTS, device=value.device, dtype=value.dtype)
    # Grid from -pi to value (partial integral) and over the full circle (normaliser), per element.
    partial_grid = -math.pi + (value.unsqueeze(-1) + math.pi) * steps
    full_grid = -math.pi + 2 * math.pi * steps
    kappa = concentration.unsqueeze(-1)
    partial = torch.trapezoid(_unnormalised_density(partial_grid, kappa), partial_grid, dim=-1)
    full = torch.trapezoid(_unnormalised_density(full_grid, kappa).expand_as(partial_grid), full_grid, dim=-1)
    return partial / full


def von_mises_density(value: torch.Tensor, concentration: torch.Tensor) -> torch.Tensor:
    """Density of VM(0, κ) at ``value``."""
    log_norm = math.log(2 * math.pi) + torch.log(torch.special.i0e(concentration))
    return torch.exp(concentration * (torch.cos(value) - 1.0) - log_norm)


def sample_von_mises(
    loc: torch.Tensor,
    concentration: torch.Tensor,
    num_samples: int,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Draw ``num_samples`` angles per (loc, concentration) pair with gradients to both.

    ``loc`` and ``concentration`` have the same shape ``S``; the result has shape ``(num_samples, *S)``.
    The raw draw uses torch's rejection sampler (no gradient); the gradient is attached by implicit
    reparameterisation, so the forward value is exactly the sampled angle.
    """
    with torch.no_grad():
        if generator is None:
            base = torch.distributions.VonMises(torch.zeros_like(loc), concentration.detach())
            epsilon = base.sample((num_samples,))
        else:
            epsilon = _sample_with_generator(concentration.detach(), num_samples, generator)
    if concentration.requires_grad:
        cdf = von_mises_cdf(epsilon, concentration)
        density = von_mises_density(epsilon, concentration).detach().clamp_min(1e-12)
        # Value unchanged (cdf - cdf.detach() == 0); gradient d eps / d kappa = -dF/dkappa / p.
        epsilon = epsilon - (cdf - cdf.detach()) / density
    return loc + epsilon


def _sample_with_generator(concentration: torch.Tensor, num_samples: int, generator: torch.Generator) -> torch.Tensor:
    """Best–Fisher rejection sampler driven by an explicit generator (for reproducible fixed draws).

    The draw runs on the generator's device (the CPU for ``torch.Generator()``), so a fixed seed gives
    the same angles whether the model sits on the CPU or a GPU; the result moves to the parameters'
    device.
    """
    shape = (num_samples, *concentration.shape)
    kappa = concentration.to(generator.device).expand(shape).double().clamp_min(1e-6)
    tau = 1.0 + torch.sqrt(1.0 + 4.0 * kappa**2)
    rho = (tau - torch.sqrt(2.0 * tau)) / (2.0 * kappa)
    r = (1.0 + rho**2) / (2.0 * rho)
    out = torch.empty(shape, dtype=torch.float64, device=generator.device)
    done = torch.zeros(shape, dtype=torch.bool, device=generator.device)
    while not bool(done.all()):
        u1, u2, u3 = (torch.rand(shape, generator=generator, dtype=torch.float64, device=generator.device)
                      for _ in range(3))
        z = torch.cos(math.pi * u1)
        f = (1.0 + r * z) / (r + z)
        c = kappa * (r - f)
        accept = ((c * (2.0 - c) - u2) > 0) | (torch.log(c / u2) + 1.0 - c >= 0)
        angle = torch.sign(u3 - 0.5) * torch.acos(f.clamp(-1.0, 1.0))
        new = accept & ~done
        out[new] = angle[new]
        done |= accept
    return out.to(concentration.dtype).to(concentration.device)
