#!/usr/bin/env bash
# Run the test suite (creates .venv with pinned dependencies first if needed).
# Tests that need the shared dataset read ../shared/data/cuzr64 and skip with the reason when absent.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/setup_env.sh"
cd "$ROOT"
exec python -m pytest "$@"
