"""Command-line interface (``symgnn ...``)."""
