r"""Training-time augmentation: random atomic displacements seen by the message passing.

Each training step moves every atom :math:`i` by a random vector :math:`-\boldsymbol\delta_i`,
:math:`\boldsymbol\delta_i \sim \mathcal N(0, \sigma^2 I_3)` (``train.position_noise`` = :math:`\sigma`,
in Å), in the edge vectors the network reads (:math:`\mathbf r_{ij}` from atom :math:`i` to :math:`j`),

.. math::
    \mathbf r_{ij} \;\to\; \mathbf r_{ij} - \boldsymbol\delta_j + \boldsymbol\delta_i ,

a fresh draw every step, the label unchanged. (The sign is immaterial for a Gaussian draw; this one
keeps the draws of the runs that chose the recipe.) A barrier should change little under a
displacement of a tenth of an ångström, about the thermal vibration amplitude of the glass at room
temperature, so the network is asked not to depend on such details: a regulariser against fitting
the exact geometry of the five training structures and their noisy labels. The displacement is
one per atom, so all edges of an atom move together and the perturbed graph is the graph of a real
displaced structure (up to edges that cross the cutoff). Structure
descriptors (``data.descriptors``) are computed from the clean positions and cached; ``pos`` is not
moved, so models that read positions rather than edge vectors (GCN) and the MLP see no noise.
The draw uses torch's global generator, which the training loop seeds every epoch, so a resumed run
makes the same draws as an unbroken one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch_geometric.data import Data


@contextmanager
def displaced_edges(batch: Data, sigma: float) -> Iterator[Data]:
    """Inside the block, ``batch.edge_vec`` is that of the atoms randomly displaced by ``sigma`` Å;
    afterwards the clean vectors are back (the graphs are reused every epoch). ``sigma`` 0: no change."""
    clean = batch.edge_vec
    if sigma > 0:
        shift = torch.randn_like(batch.pos) * sigma
        source, receiver = batch.edge_index  # edge_vec points from the receiver to the source's image
        batch.edge_vec = clean + shift[receiver] - shift[source]
    try:
        yield batch
    finally:
        batch.edge_vec = clean
