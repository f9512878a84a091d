#!/usr/bin/env bash
# Set up (first run) and run every check: ruff, ruff format, mypy, and the whole pytest suite
# (unit, integration against a real broker and Redis, reliability, monitoring with Prometheus
# and Chromium). CI runs exactly this. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh dev
scripts/system-deps.sh
echo "== ruff"; .venv/bin/ruff check streams tests
echo "== ruff format"; .venv/bin/ruff format --check streams tests
echo "== mypy"; .venv/bin/mypy
echo "== pytest"; .venv/bin/python -m pytest "$@"
