#!/usr/bin/env bash
# Install what the tests need (idempotent) and run the whole test suite, offscreen.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh --test
export QT_QPA_PLATFORM=offscreen
exec .venv/bin/python -m pytest -q "$@"
