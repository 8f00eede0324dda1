"""Edge-featured graph attention (EGAT, Kamiński et al. 2022), the message-passing layer of SymGNN."""

from __future__ import annotations

import torch
from torch import nn
from torch_geometric.utils import scatter, softmax


class EGATConv(nn.Module):
    r"""Graph attention that reads *and updates* edge features.

    For an edge :math:`j \to i` with node features :math:`h` and edge features :math:`f`, per head:

    .. math::
        f'_{ij} &= \mathrm{LeakyReLU}\big(W_i h_i + W_j h_j + W_f f_{ij} + b\big) \\
        \alpha_{ij} &= \operatorname{softmax}_{j \in \mathcal N(i)} \big(a^\top f'_{ij}\big) \\
        h'_i &= \sum_{j \in \mathcal N(i)} \alpha_{ij}\, W_n h_j

    Returns ``h'`` of shape ``(N, heads, node_out)`` and ``f'`` of shape ``(E, heads, edge_out)``.
    """

    def __init__(self, node_in: int, edge_in: int, node_out: int, edge_out: int, heads: int) -> None:
        super().__init__()
        self.heads, self.node_out, self.edge_out = heads, node_out, edge_out
        self.target_proj = nn.Linear(node_in, heads * edge_out, bias=False)
        self.source_proj = nn.Linear(node_in, heads * edge_out, bias=False)
        self.edge_proj = nn.Linear(edge_in, heads * edge_out, bias=True)
        self.node_proj = nn.Linear(node_in, heads * node_out, bias=False)
        self.attention = nn.Parameter(torch.empty(1, heads, edge_out))
        self.activation = nn.LeakyReLU(0.2)
        nn.init.xavier_normal_(self.attention)

    def forward(
        self, h: torch.Tensor, f: torch.Tensor, edge_index: torch.Tensor, edge_weight: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``edge_weight`` (E,) optionally scales each edge's message after the softmax (used by the
        explainer's soft edge mask)."""
        source, target = edge_index
        num_nodes = h.shape[0]
        # Project nodes first, then gather: N x (H*D) work instead of E x (H*D) for the node terms.
        f_new = self.edge_proj(f) + self.target_proj(h)[target] + self.source_proj(h)[source]
        f_new = self.activation(f_new).view(-1, self.heads, self.edge_out)
        logits = (f_new * self.attention).sum(-1)
        alpha = softmax(logits, target, num_nodes=num_nodes)
        if edge_weight is not None:
            alpha = alpha * edge_weight.unsqueeze(-1)
        messages = self.node_proj(h).view(-1, self.heads, self.node_out)[source] * alpha.unsqueeze(-1)
        h_new = scatter(messages, target, dim=0, dim_size=num_nodes, reduce="sum")
        return h_new, f_new
