"""Multi-layer perceptrons."""

from __future__ import annotations

from torch import nn


def mlp(
    in_dim: int,
    hidden: int | list[int],
    out_dim: int,
    num_layers: int = 2,
    activation: type[nn.Module] = nn.SiLU,
    dropout: float = 0.0,
) -> nn.Sequential:
    """A plain MLP ``in_dim → hidden → … → out_dim`` with an activation after every hidden layer.

    ``hidden`` is either one width repeated ``num_layers - 1`` times or an explicit list of widths.
    """
    widths = list(hidden) if isinstance(hidden, list) else [hidden] * (num_layers - 1)
    layers: list[nn.Module] = []
    previous = in_dim
    for width in widths:
        layers += [nn.Linear(previous, width), activation()]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        previous = width
    layers.append(nn.Linear(previous, out_dim))
    return nn.Sequential(*layers)
