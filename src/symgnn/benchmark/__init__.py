"""The model benchmark: every model trained under one protocol, evaluated on every split, tabulated.

* :mod:`symgnn.benchmark.protocol`: models, hyper-parameters, training recipe, budgets;
* :mod:`symgnn.benchmark.splits`: the structures used (dataset split, or crops in quick mode);
* :mod:`symgnn.benchmark.runner`: one resumable run per (model, seed), recorded as JSON;
* :mod:`symgnn.benchmark.table`: ``results.csv`` / ``results.md`` and the noise ceiling.
"""

from symgnn.benchmark.protocol import ALL_MODELS, PAPER_TEST_PEARSON, Protocol, parse_models
from symgnn.benchmark.runner import BenchmarkResult, run_benchmark, run_one
from symgnn.benchmark.table import noise_ceiling, write_tables

__all__ = [
    "ALL_MODELS",
    "PAPER_TEST_PEARSON",
    "BenchmarkResult",
    "Protocol",
    "noise_ceiling",
    "parse_models",
    "run_benchmark",
    "run_one",
    "write_tables",
]
