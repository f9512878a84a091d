"""Security: no unsafe deserialisation or code execution on data, secrets never shown, Redis AUTH works."""

from __future__ import annotations

import ast
import asyncio
import json
from pathlib import Path

import pytest

import streams
from streams.dedup import index_config
from streams.errors import IndexUnavailable
from streams.index import RedisIndex
from streams.settings import Settings
from streams.tools.localstack import start_redis
from tests.reliability.conftest import Decisions, Sender, log_text, report, settings_with_redis

pytestmark = pytest.mark.reliability

PACKAGE = Path(streams.__file__).parent
UNSAFE_MODULES = {"pickle", "cPickle", "_pickle", "dill", "cloudpickle", "jsonpickle", "marshal", "shelve"}
UNSAFE_BUILTINS = {"eval", "exec"}
DYNAMIC_BUILTINS = {"compile", "__import__"}  # unsafe unless given a constant
UNSAFE_YAML = {"load", "load_all", "unsafe_load", "unsafe_load_all", "full_load", "full_load_all"}
REDIS_PASSWORD = "redis-pw-3f9c2a71"
BROKER_PASSWORD = "broker-pw-8d1e5b04"


def unsafe_uses(source: str, filename: str = "<source>") -> list[str]:
    """Deserialisation of data that can run code, and dynamic code execution, found in Python source."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        where = f"{filename}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Import):
            found += [
                f"{where} import {a.name}" for a in node.names if a.name.split(".")[0] in UNSAFE_MODULES
            ]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in UNSAFE_MODULES:
            found.append(f"{where} from {node.module} import ...")
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in UNSAFE_BUILTINS:
                found.append(f"{where} {func.id}()")
            constant = bool(node.args) and isinstance(node.args[0], ast.Constant)
            if isinstance(func, ast.Name) and func.id in DYNAMIC_BUILTINS and not constant:
                found.append(f"{where} {func.id}() of a value")
            if (isinstance(func, ast.Attribute) and func.attr in UNSAFE_YAML
                    and isinstance(func.value, ast.Name) and func.value.id == "yaml"):  # fmt: skip
                found.append(f"{where} yaml.{func.attr}()")
            for keyword in node.keywords:
                if (
                    keyword.arg in ("allow_pickle", "shell")
                    and getattr(keyword.value, "value", False) is True
                ):
                    found.append(f"{where} {keyword.arg}=True")
    return found


def test_the_package_never_deserialises_or_executes_data():
    """No pickle/marshal/shelve, eval/exec, compile/__import__ of a value, yaml.load, allow_pickle or
    shell=True anywhere in streams/."""
    found = [
        use for path in sorted(PACKAGE.rglob("*.py")) for use in unsafe_uses(path.read_text(), str(path))
    ]
    assert not found, "unsafe use of data:\n" + "\n".join(found)


def test_the_scan_finds_what_it_looks_for():
    """The scanner itself flags each forbidden pattern (so a clean scan means something)."""
    source = (
        "import pickle\nfrom marshal import loads\nimport shelve\neval(x)\nexec(x)\nyaml.load(x)\n"
        "yaml.unsafe_load(x)\nnp.load(f, allow_pickle=True)\nsubprocess.run(c, shell=True)\n"
        "__import__(name)\nyaml.safe_load(x)\njson.loads(x)\nscript.eval(x)\n__import__('datasketch')\nre.compile(x)\n"
    )
    assert len(unsafe_uses(source)) == 10


def test_secrets_do_not_show_in_the_settings():
    """Passwords in STREAMS_REDIS_URL and STREAMS_BROKER_CREDENTIALS_PASSWORD are SecretStr everywhere."""
    settings = Settings(
        redis_url=f"redis://:{REDIS_PASSWORD}@127.0.0.1:6390/0",
        broker_credentials_username="svc",
        broker_credentials_password=BROKER_PASSWORD,
    )
    for text in (
        repr(settings),
        str(settings),
        settings.model_dump_json(),
        json.dumps(settings.model_dump(), default=str),
    ):
        assert REDIS_PASSWORD not in text and BROKER_PASSWORD not in text
    assert settings.redis_url.get_secret_value().endswith("@127.0.0.1:6390/0")


def test_redis_auth_through_the_url_and_no_password_in_the_worker_log(broker, worker_factory, tmp_path: Path):
    """Redis with requirepass: the engine works with redis://:pw@host/0 and refuses without it; a worker
    decides articles through it, and its log (debug level) shows neither the Redis nor the broker password."""
    redis = start_redis(tmp_path / "redis", extra_args=["--requirepass", REDIS_PASSWORD])
    try:
        url = f"redis://:{REDIS_PASSWORD}@127.0.0.1:{redis.port}/0"
        settings = settings_with_redis(broker, url)

        async def open_with(redis_url: str) -> str:
            index = RedisIndex.from_url(redis_url, index_config(settings), retries=0)
            try:
                return await index.open()
            finally:
                await index.close()

        assert asyncio.run(open_with(url))
        with pytest.raises(IndexUnavailable) as refused:
            asyncio.run(open_with(redis.url))
        assert REDIS_PASSWORD not in str(refused.value)

        worker = worker_factory(
            settings, STREAMS_BROKER_CREDENTIALS_PASSWORD=BROKER_PASSWORD, STREAMS_LOG_LEVEL="debug"
        )
        sender = Sender(broker.bootstrap, settings.topic_raw)
        decisions = Decisions(broker.bootstrap, settings)
        story = "The council approved the harbour budget on Tuesday after a long debate about dredging. " * 4
        payloads = [
            json.dumps({"url": f"https://auth{i}.example/", "id": f"a{i}", "text": story}) for i in range(3)
        ]
        sent = sender.send([p.encode() for p in payloads])
        result = decisions.wait_all_decided(sent, timeout=90, settle=1)
        result.name = "redis AUTH"
        report(result)
        assert result.violating == 0 and result.decided == 3, result.failures()
        assert sorted(o.status for o in decisions.outputs) == ["duplicate", "duplicate", "unique"]
        worker.stop()
        log = log_text(worker)
        assert "index ready" in log  # the log is the worker's, at debug level
        assert REDIS_PASSWORD not in log and BROKER_PASSWORD not in log
        decisions.close()
        sender.close()
    finally:
        redis.stop()
