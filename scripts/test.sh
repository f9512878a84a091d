#!/usr/bin/env bash
# Set up (first run) and run every check: ruff, ruff format, mypy, and the whole pytest suite
# (unit, integration against a real broker and Redis, reliability, monitoring with Prometheus
# and Chromium) on the embedded broker (tansu), then the broker suites (integration, reliability,
# monitoring) again on Apache Kafka (STREAMS_TEST_BROKER=kafka; its jars are fetched with Maven
# into deploy/kafka/lib the first time). CI runs exactly this. Extra arguments go to both pytest runs.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh dev
scripts/system-deps.sh
echo "== ruff"; .venv/bin/ruff check streams tests benchmarks setup.py
echo "== ruff format"; .venv/bin/ruff format --check streams tests benchmarks setup.py
echo "== mypy"; .venv/bin/mypy && .venv/bin/mypy benchmarks
echo "== pip-audit"
# The locked dependencies against PyPI's advisory data. Without it (no network, or a mirror without the
# per-release JSON API) nothing is audited: say so loudly and go on. A known vulnerability fails the run:
# upgrade, or pass --ignore-vuln ID here with a line in docs/guarantees.md "Known issues".
audit_status=0
audit_report=$(.venv/bin/pip-audit -r constraints.txt --no-deps --disable-pip --progress-spinner off -f json \
  2>/dev/null) || audit_status=$?
.venv/bin/python -c '
import json, sys
try:
    deps = json.load(sys.stdin)["dependencies"]
except (ValueError, KeyError):
    sys.exit(print(f"WARNING: pip-audit could not run (exit {sys.argv[1]}): dependencies NOT audited"))
audited = [d for d in deps if "skip_reason" not in d]
found = [(d["name"], d["version"], v["id"], ", ".join(v["fix_versions"]) or "none") for d in audited for v in d["vulns"]]
if not audited:
    sys.exit(print(f"WARNING: advisory database unreachable: none of {len(deps)} dependencies audited"))
for name, version, vuln, fixes in found:
    print(f"VULNERABLE {name} {version}: {vuln} (fixed in: {fixes})")
print(f"{len(audited)} of {len(deps)} dependencies audited, {len(found)} known vulnerabilities")
sys.exit(1 if found else 0)
' "$audit_status" <<<"$audit_report"
echo "== Apache Kafka jars"
time .venv/bin/python -c 'from streams.tools.localstack import kafka_classpath, kafka_version; kafka_classpath(); print("Apache Kafka", kafka_version())'
# This machine has a C compiler: a missing text core is a build failure here, not a skipped test.
status=0
echo "== pytest (broker: tansu)"
STREAMS_TEST_REQUIRE_NATIVE=1 STREAMS_TEST_BROKER=tansu .venv/bin/python -m pytest "$@" || status=$?
echo "== pytest (broker: Apache Kafka)"
STREAMS_TEST_REQUIRE_NATIVE=1 STREAMS_TEST_BROKER=kafka .venv/bin/python -m pytest \
  tests/integration tests/reliability tests/monitoring "$@" || status=$?
exit "$status"
