"""Building blocks shared by the models: atom embeddings, radial bases, cutoffs, MLPs."""

from symgnn.nn.cutoff import CosineCutoff
from symgnn.nn.embedding import AtomEmbedding
from symgnn.nn.mlp import mlp
from symgnn.nn.radial import GaussianBasis

__all__ = ["AtomEmbedding", "CosineCutoff", "GaussianBasis", "mlp"]
