r"""FAENet-style frame averaging (Duval et al., ICML 2023) around an edge-vector message-passing network.

A network that reads raw edge vectors is not invariant. Frame averaging makes it so: compute
frames :math:`F_k` of the structure that rotate with it (:func:`symgnn.nn.frames.pca_frames`:
principal axes of the centred positions, all sign choices), feed the network the edge vectors
*expressed in each frame*, :math:`r_{ij} F_k`, and average the outputs,

.. math:: y_i = \frac{1}{|\mathcal F|} \sum_{F_k \in \mathcal F} \Phi\big(\{r_{ij} F_k\}\big)_i .

With all 8 sign patterns (``group="E3"``) the average is invariant to rotations and reflections;
``group="SE3"`` keeps the 4 proper frames (rotations only). FAENet's *stochastic* frame averaging
(``frame_averaging="random"``) uses one random frame per graph in training, which is 8× cheaper
and invariant in expectation; evaluation then uses all frames unless ``eval_frames="random"``.

Periodic-box caveat. The PCA frame of a periodic box is ill-defined in two ways, and this model
inherits both from FAENet: (1) positions are wrapped into the cell, so translating the atoms (and
re-wrapping) changes the covariance and hence the frame: the model is not translation-invariant
in the periodic sense, only invariant to rigid rotations/reflections of positions *and* cell;
(2) a homogeneous box has a nearly isotropic covariance (about :math:`L^2/12\,I`), so its
eigenvectors are set by small fluctuations and are ill-conditioned: tiny changes can swing the
frame, and the network sees effectively arbitrary orientations across samples. Invariance still
holds exactly (up to float rounding while the eigenvalues are distinct), but the frames carry no
physical meaning. Edge vectors, not absolute positions, are projected, so the graph itself is
periodic-consistent.
"""

from __future__ import annotations

import torch
from torch import nn
from torch_geometric.data import Data
from torch_geometric.utils import scatter

from symgnn.models.registry import register
from symgnn.nn.cutoff import CosineCutoff
from symgnn.nn.embedding import AtomEmbedding
from symgnn.nn.frames import pca_frames
from symgnn.nn.mlp import mlp
from symgnn.nn.radial import GaussianBasis


class FrameInteraction(nn.Module):
    r"""FAENet-style interaction on frame-projected edge embeddings.

    .. math::
        h'_i = h_i + \phi_h\Big(\sum_j (W_h h_j) \odot (W_e g_{ij})\, f_c(d_{ij})\Big)

    with :math:`g_{ij}` the edge embedding of the projected vector and its length (computed once per
    frame by :class:`FAENet`). The sum is not normalised: its size carries the local density.
    """

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.node_proj = nn.Linear(hidden, hidden)
        self.edge_proj = nn.Linear(hidden, hidden)
        self.update = mlp(hidden, hidden, hidden)

    def forward(self, h: torch.Tensor, g: torch.Tensor, edge_index: torch.Tensor, envelope: torch.Tensor) -> torch.Tensor:
        source, target = edge_index
        messages = self.node_proj(h)[source] * self.edge_proj(g) * envelope.unsqueeze(-1)
        return h + self.update(scatter(messages, target, dim=0, dim_size=h.shape[0], reduce="sum"))


@register("faenet")
class FAENet(nn.Module):
    r"""Frame-averaged edge-vector MPNN (see module docstring).

    .. math::
        g_{ij} = \mathrm{MLP}\big(r_{ij} F_k \,\Vert\, e(d_{ij})\big), \quad h^0_i = a_{z_i}, \quad
        y_i = \mathrm{mean}_k\, \mathrm{MLP}(h^L_i)

    Args:
        hidden: width (64).
        num_layers: interactions (4).
        num_rbf: Gaussians on [0, cutoff] for the length part of the edge embedding.
        cutoff: Å, radius of the cosine envelope.
        frame_averaging: ``"all"`` (average over every frame, also in training) or ``"random"`` (one
            random frame per graph in training).
        eval_frames: frames used in evaluation: ``"all"`` (default, exact invariance) or ``"random"``.
        group: ``"E3"`` (8 frames) or ``"SE3"`` (4 proper frames).
        out_dim: outputs per atom.
    """

    uses_graph = True
    #: Not predicted block by block (symgnn.data.blocks): its frames come from the principal axes of
    #: all the structure's positions, so a block's atoms would get different frames than the whole's.
    blockwise = False

    def __init__(
        self, *, hidden: int = 64, num_layers: int = 4, num_rbf: int = 16, cutoff: float = 5.0,
        frame_averaging: str = "random", eval_frames: str = "all", group: str = "E3", out_dim: int = 1,
    ) -> None:
        super().__init__()
        for name, value in (("frame_averaging", frame_averaging), ("eval_frames", eval_frames)):
            if value not in ("all", "random"):
                raise ValueError(f"{name} must be 'all' or 'random', got {value!r}")
        if group not in ("E3", "SE3"):
            raise ValueError(f"group must be 'E3' or 'SE3', got {group!r}")
        self.frame_averaging, self.eval_frames, self.group = frame_averaging, eval_frames, group
        self.cutoff = float(cutoff)
        self.embedding = AtomEmbedding(hidden)
        self.rbf = GaussianBasis(0.0, cutoff, num_rbf)
        self.envelope = CosineCutoff(cutoff)
        self.edge_embedding = mlp(3 + num_rbf, hidden, hidden)
        self.interactions = nn.ModuleList(FrameInteraction(hidden) for _ in range(num_layers))
        self.head = mlp(hidden, hidden, out_dim)

    def frames(self, data: Data) -> torch.Tensor:
        """The frames this forward pass uses, (num_graphs, K, 3, 3): all, or one random per graph."""
        batch = getattr(data, "batch", None)
        frames = pca_frames(data.pos, batch, self.group)
        mode = self.frame_averaging if self.training else self.eval_frames
        if mode == "random":
            pick = torch.randint(frames.shape[1], (frames.shape[0],), device=frames.device)
            frames = frames[torch.arange(frames.shape[0], device=frames.device), pick].unsqueeze(1)
        return frames

    def forward(self, data: Data) -> torch.Tensor:
        source, target = data.edge_index
        batch = getattr(data, "batch", None)
        edge_graph = batch[target] if batch is not None else torch.zeros_like(target)
        distance = data.edge_vec.norm(dim=-1)
        rbf, envelope = self.rbf(distance), self.envelope(distance)
        h0 = self.embedding(data.z)
        frames = self.frames(data)
        output = 0.0
        for k in range(frames.shape[1]):
            projected = torch.einsum("ea,eab->eb", data.edge_vec, frames[edge_graph, k])
            g = self.edge_embedding(torch.cat([projected, rbf], dim=-1))
            h = h0
            for interaction in self.interactions:
                h = interaction(h, g, data.edge_index, envelope)
            output = output + self.head(h)
        return output / frames.shape[1]
