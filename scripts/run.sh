#!/usr/bin/env bash
# The main job on defaults: set up .venv if needed, then predict the per-atom barriers of a structure
# with the shipped Cu64Zr36 model (cuzr64), print the summary, and write the OVITO-ready file, a CSV
# and, where the structure carries labels, a parity plot and the metrics. Under a minute once set up.
#
#   bash scripts/run.sh [STRUCTURE...]
#
# Without arguments it predicts the validation sample train6 of the dataset in $SYMGNN_DATA, else
# ../shared/data/cuzr64. Outputs go to outputs/<timestamp>/. To train a model instead, see the README
# (symgnn train --config configs/cuzr64.yaml).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/setup_env.sh"
cd "$ROOT"
OUT="outputs/$(date +%Y%m%d-%H%M%S)"
if [ "$#" -gt 0 ]; then
    STRUCTURES=("$@")
else
    DATA="${SYMGNN_DATA:-$ROOT/../shared/data/cuzr64}"
    if [ ! -f "$DATA/train6.pickle" ]; then
        echo "error: $DATA/train6.pickle not found; set SYMGNN_DATA to the cuzr64 data directory" \
             "(symgnn download --data DIR fetches it) or pass structure files: bash scripts/run.sh FILE..." >&2
        exit 2
    fi
    STRUCTURES=("$DATA/train6.pickle")
fi
mkdir -p "$OUT"
echo "model: cuzr64 (shipped; card: src/symgnn/pretrained/cuzr64.md)"
echo "outputs: $OUT"
symgnn inspect "${STRUCTURES[0]}"
symgnn predict cuzr64 "${STRUCTURES[@]}" --out "$OUT"
echo "done: open $OUT/*.xyz in OVITO (per-atom column predicted_barrier)"
