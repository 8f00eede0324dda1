"""Building blocks shared by the models: atom embeddings, radial bases, cutoffs, MLPs, frames."""

from symgnn.nn.cutoff import CosineCutoff
from symgnn.nn.embedding import AtomEmbedding
from symgnn.nn.frames import pca_frames
from symgnn.nn.mlp import mlp
from symgnn.nn.pair_embedding import PairEmbedding
from symgnn.nn.radial import GaussianBasis

__all__ = ["AtomEmbedding", "CosineCutoff", "GaussianBasis", "PairEmbedding", "mlp", "pca_frames"]
