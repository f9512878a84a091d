#!/usr/bin/env bash
# The unit and integration suites against the newest release of every dependency, as a plain
# `pip install streams` would resolve them today (pyproject.toml's ranges, no constraints.txt), in a
# separate venv, .venv-latest. Not part of CI: an upstream release must not block a change. Run it
# before bumping constraints.txt, or to see whether a new release breaks something.
# Extra arguments go to pytest (default: tests/unit tests/integration).
set -euo pipefail
cd "$(dirname "$0")/.."
python_bin="${PYTHON:-python3.11}"
command -v "$python_bin" >/dev/null || { echo "needs Python 3.11 (set PYTHON=/path/to/python3.11)" >&2; exit 1; }
"$python_bin" -m venv --clear .venv-latest
.venv-latest/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
.venv-latest/bin/python -m pip install --quiet --disable-pip-version-check --upgrade --upgrade-strategy eager \
  -e ".[dev]" 2>&1 | grep -vE "^WARNING: Location|^\s*$" || true
echo "== versions that differ from constraints.txt"
.venv-latest/bin/python - <<'PY'
import re
from importlib import metadata
norm = lambda name: re.sub(r"[-_.]+", "-", name).lower()
pinned = dict(line.strip().split("==") for line in open("constraints.txt") if "==" in line)
pinned = {norm(k): v for k, v in pinned.items()}
for dist in sorted(metadata.distributions(), key=lambda d: norm(d.metadata["Name"])):
    name = norm(dist.metadata["Name"])
    if name in pinned and pinned[name] != dist.version:
        print(f"  {name} {pinned[name]} -> {dist.version}")
PY
[ $# -gt 0 ] || set -- tests/unit tests/integration
echo "== pytest $*"
exec .venv-latest/bin/python -m pytest -p no:cacheprovider "$@"
