#!/usr/bin/env bash
# Continue the committed benchmark table (benchmarks/cpu30/): every model, seeds 0..N-1, 30 minutes of
# training per run, glibc keeping freed memory, one torch thread per run and two runs side by side
# (one per core of the 2-core machine). Runs whose JSON is in benchmarks/cpu30/runs/ are not redone, so
# the table grows over several sessions; an interrupted run continues from its last.pt on the same
# machine (the run folders with checkpoints are not committed).
#
#   bash scripts/benchmark_table.sh [--seeds N] [--data DIR]     (default: 3 seeds, $SYMGNN_DATA or ../shared/data/cuzr64)
#
# Then commit benchmarks/cpu30/{protocol.json,runs/*.json,results.csv,results.md}.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SEEDS=3
DATA="${SYMGNN_DATA:-$ROOT/../shared/data/cuzr64}"
while [ $# -gt 0 ]; do
  case "$1" in
    --seeds) SEEDS="$2"; shift 2 ;;
    --data) DATA="$2"; shift 2 ;;
    *) echo "benchmark_table.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
source "$ROOT/scripts/setup_env.sh"
OUT="$ROOT/benchmarks/cpu30"
# Two disjoint halves of the models, each of similar total cost, one per core.
FIRST="symgnn,symgnn_nosym,egnn,symgnn_edgewise,schnet,gcn,mlp,descriptors"
SECOND="egat_length,mgcn,gcn_edge,symgnn_aug,painn_desc,faenet,dimenet"
run() {
  symgnn benchmark --models "$1" --seeds "$SEEDS" --budget-minutes 30 --keep-freed-memory --threads 1 \
    --data "$DATA" --out "$OUT"
}
run "$FIRST" &
first=$!
run "$SECOND"
wait "$first"
