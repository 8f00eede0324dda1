#!/usr/bin/env bash
# The main job on defaults: set up .venv if needed, then predict the per-atom barriers of a structure
# with the shipped Cu64Zr36 model (cuzr64), print the summary, and write the OVITO-ready file, a CSV
# and, where the structure carries labels, a parity plot and the metrics. Under a minute once set up.
#
#   bash scripts/run.sh [STRUCTURE...] [--out DIR] [--types 1=Cu,2=Zr] [--label-column C] [--frame N|START:STOP|all] [--device cuda]
#
# Options are passed on to `symgnn inspect` (the first structure) and `symgnn predict`. Without
# structures it predicts the validation sample train6 of the dataset in $SYMGNN_DATA, else
# ../shared/data/cuzr64. Outputs go to --out DIR, by default outputs/<timestamp>/. To train a model
# instead, see the README (symgnn train --config configs/cuzr64.yaml).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STRUCTURES=()
OUT=""
READ_OPTIONS=()     # how to read the files: for inspect and predict
PREDICT_OPTIONS=()  # for predict only
while [ "$#" -gt 0 ]; do
    case "$1" in
        --types|--label-column|--frame)
            [ "$#" -ge 2 ] || { echo "error: $1 needs a value" >&2; exit 2; }
            READ_OPTIONS+=("$1" "$2"); shift 2 ;;
        --device)
            [ "$#" -ge 2 ] || { echo "error: $1 needs a value" >&2; exit 2; }
            PREDICT_OPTIONS+=("$1" "$2"); shift 2 ;;
        --out)
            [ "$#" -ge 2 ] || { echo "error: $1 needs a value" >&2; exit 2; }
            OUT="$2"; shift 2 ;;
        --overwrite) PREDICT_OPTIONS+=("$1"); shift ;;
        -*) echo "error: unknown option $1 (run.sh takes --out, --types, --label-column, --frame, --device, --overwrite)" >&2; exit 2 ;;
        *) STRUCTURES+=("$1"); shift ;;
    esac
done
source "$ROOT/scripts/setup_env.sh"
OUT="${OUT:-$ROOT/outputs/$(date +%Y%m%d-%H%M%S)}"  # structure paths stay relative to where you called from
if [ "${#STRUCTURES[@]}" -eq 0 ]; then
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
symgnn inspect "${STRUCTURES[0]}" ${READ_OPTIONS[@]+"${READ_OPTIONS[@]}"}
symgnn predict cuzr64 "${STRUCTURES[@]}" --out "$OUT" ${READ_OPTIONS[@]+"${READ_OPTIONS[@]}"} ${PREDICT_OPTIONS[@]+"${PREDICT_OPTIONS[@]}"}
echo "done: open $OUT/*.xyz in OVITO (per-atom column predicted_barrier)"
