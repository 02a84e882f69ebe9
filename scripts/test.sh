#!/usr/bin/env bash
# Install what the tests need (idempotent), run the linters and the type checker, then the whole
# test suite, offscreen. This is what CI runs (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh --test
.venv/bin/ruff check
.venv/bin/ruff format --check
.venv/bin/mypy  # the packages listed in pyproject.toml's [tool.mypy] files
.venv/bin/lint-imports
export QT_QPA_PLATFORM=offscreen
exec .venv/bin/python -m pytest -q "$@"
