#!/usr/bin/env bash
# Create .venv (Python 3.11) and install streams with the pinned, hashed versions of constraints.txt.
# Usage: scripts/setup.sh [extras]    e.g. scripts/setup.sh dev
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"
python_bin="${PYTHON:-}"
if [ -z "$python_bin" ]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      python_bin="$candidate"; break
    fi
  done
fi
[ -n "$python_bin" ] || { echo "streams needs Python 3.11 (set PYTHON=/path/to/python3.11)" >&2; exit 1; }
[ -x .venv/bin/python ] || "$python_bin" -m venv .venv
# Every dependency and the build requirements come from hashes/<extras>.txt (constraints.txt's pins with
# the hash of each file, written by scripts/hash-pins.py), so pip refuses any file that differs from the
# one the pins were made with. pip takes no editable requirement in hash-checking mode, so streams itself
# (and its C core) is built from this checkout afterwards, with the hashed setuptools, not an unchecked
# isolated build environment.
lock="hashes/${extras:-base}.txt"
[ -f "$lock" ] || { echo "no $lock: the extras are tools, dev or scrapy (or none)" >&2; exit 1; }
pip() {
  .venv/bin/python -m pip --quiet --disable-pip-version-check "$@" 2>&1 | { grep -vE "^WARNING: Location|^\s*$" || true; }
}
pip install --require-hashes --no-deps -r "$lock"
pip install --quiet --no-deps --no-build-isolation -e . # -qq: without setuptools' editable-install banner
pip check
.venv/bin/python -c "import streams" # fails loudly if the install did not work
# The text core is C (setup.py builds it where a compiler is found); without it the same results
# come from the pure-Python path, 2-4x slower at fingerprinting.
.venv/bin/python -c "from streams.fingerprint import NATIVE_CORE; NATIVE_CORE or print(
  'note: no C compiler found, the text core was not built: streams uses its pure-Python path')"
