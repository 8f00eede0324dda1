"""Model-randomisation sanity check (Adebayo et al., "Sanity checks for saliency maps", 2018).

An explanation that reflects what the model learned must change when the learned weights are
replaced by random ones. The check explains the same atoms with (a) the trained model and another
mask initialisation seed, the *reproducibility* reference, and (b) a copy whose parameters are
re-drawn from the architecture's initialisation (buffers such as batch-norm statistics and
descriptor scaling kept), and reports Spearman rank correlations of the masks with the trained
model's. Passing: (b) well below (a).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import torch
from scipy.stats import spearmanr
from torch import nn

from symgnn.explain.gnnexplainer import AtomExplanation, ExplainConfig, explain_fields, seeded_random_state
from symgnn.explain.hooks import model_device


def randomised_copy(model: nn.Module, seed: int = 0) -> nn.Module:
    """A copy of ``model`` with every parameter re-drawn (each submodule's ``reset_parameters``,
    seeded) and its buffers kept."""
    clone = copy.deepcopy(model)
    with seeded_random_state(seed, model_device(model)), torch.no_grad():
        for module in clone.modules():
            if hasattr(module, "reset_parameters"):
                buffers = {k: b.clone() for k, b in module.named_buffers(recurse=False)}
                module.reset_parameters()
                for name, value in buffers.items():  # BatchNorm's reset also clears its statistics
                    getattr(module, name).copy_(value)
            else:
                # Parameters owned by a module without reset_parameters (attention vectors, von
                # Mises locations, gates): Gaussian draws at the trained values' scale.
                for parameter in module.parameters(recurse=False):
                    values = parameter.detach()
                    scale = values.std() if values.numel() > 1 else values.abs().max()
                    parameter.copy_(torch.randn_like(parameter) * (scale + 1e-3))
    return clone.eval()


def rank_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman correlation of two masks over the same edges (0 when either is constant)."""
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return 0.0
    return float(spearmanr(a, b).statistic)


def sanity_check(
    model: nn.Module, explanations: Sequence[AtomExplanation], config: ExplainConfig, seed: int = 1
) -> dict[str, object]:
    """Explain the atoms of ``explanations`` again with another mask seed and with a randomised model;
    Spearman correlations with the given masks, per atom and as mean ± std."""
    fields = [e.field for e in explanations]
    reseeded = explain_fields(model, fields, replace(config, seed=config.seed + seed))
    randomised = explain_fields(randomised_copy(model, seed), fields, replace(config, seed=config.seed + seed))
    same = [rank_correlation(e.mask, r.mask) for e, r in zip(explanations, reseeded)]
    random = [rank_correlation(e.mask, r.mask) for e, r in zip(explanations, randomised)]
    return {
        "atoms": [e.field.atom for e in explanations],
        "spearman_trained_reseeded": same,
        "spearman_trained_randomised": random,
        "mean_trained_reseeded": float(np.mean(same)),
        "std_trained_reseeded": float(np.std(same)),
        "mean_trained_randomised": float(np.mean(random)),
        "std_trained_randomised": float(np.std(random)),
    }
