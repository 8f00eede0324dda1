"""symgnn: predict and explain per-atom energy barriers of disordered materials with graph neural networks."""

__version__ = "0.1.0"
