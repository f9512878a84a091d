#!/usr/bin/env bash
# Set up (first run) and run the whole pipeline locally on the bundled sample articles:
# a Kafka-protocol broker, Redis and a worker on free ports, nothing needed beforehand.
# Extra arguments go to `streams dev` (see `.venv/bin/streams dev --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh tools
exec .venv/bin/streams dev "$@"
