"""The command line as a user meets it: its own help and version, and one line per error a user can fix.

Each test runs ``python -m streams`` in a new process (the settings are read once per process); none
needs a server: the unreachable ones are closed ports.
"""

from __future__ import annotations

import importlib.metadata
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from streams.cli import broker_reachable, sample_path, settings_error_lines
from streams.settings import Settings, redacted_url
from streams.tools.localstack import free_port
from tests.commands import streams

CLOSED = "127.0.0.1:1"  # nothing listens on port 1: connections are refused at once


def test_version_names_the_project_and_faust():
    run = streams("--version")
    assert run.returncode == 0
    expected = (
        f"streams {importlib.metadata.version('streams')} "
        f"(Faust {importlib.metadata.version('faust-streaming')})"
    )
    assert run.stdout.strip() == expected


def test_help_describes_the_service_and_lists_its_commands_first():
    run = streams("--help")
    assert run.returncode == 0
    assert "near-duplicate filter for news" in run.stdout
    assert "Welcome" not in run.stdout
    listed = [line.split()[0] for line in run.stdout.split("Commands:")[1].splitlines() if line.strip()]
    assert listed == ["dev", "worker", "dedup", "eval", "clean", "produce", "bench", "faust"]


def test_worker_help_shows_the_defaults_of_the_settings():
    run = streams("worker", "--help")
    assert run.returncode == 0
    text = " ".join(run.stdout.split())
    assert f"STREAMS_WEB_HOST, {Settings.model_fields['web_host'].default}" in text
    assert f"STREAMS_WEB_PORT, {Settings.model_fields['web_port'].default}" in text
    assert "0.0.0.0" not in text  # noqa: S104  (Faust's own default, which the worker does not use)


def test_faust_commands_are_grouped_under_faust():
    run = streams("faust", "--help")
    assert run.returncode == 0
    assert "agents" in run.stdout and "tables" in run.stdout


def test_a_bad_setting_is_one_line_naming_the_variable_exit_2():
    run = streams("eval", "--json", STREAMS_JACCARD_THRESHOLD="abc")
    assert run.returncode == 2
    assert run.stderr.splitlines() == [
        "STREAMS_JACCARD_THRESHOLD: Input should be a valid number (got 'abc')"
    ]


@pytest.mark.parametrize("args", [("--help",), ("dedup", "--help"), ("--version",)])
def test_help_and_version_work_with_a_bad_setting(args):
    run = streams(*args, STREAMS_JACCARD_THRESHOLD="abc")
    assert run.returncode == 0
    assert run.stdout


def test_setting_errors_name_variables_and_never_echo_secrets():
    with pytest.raises(ValidationError) as caught:
        Settings(web_port="many", lsh_bands=100, broker_credentials_password=["secret"])  # type: ignore[arg-type]
    lines = settings_error_lines(caught.value)
    assert "STREAMS_WEB_PORT: Input should be a valid integer (got 'many')" in lines
    assert not any("secret" in line for line in lines)
    assert any(line.startswith("STREAMS_BROKER_CREDENTIALS_PASSWORD: ") for line in lines)


def test_a_rule_across_settings_is_one_line():
    with pytest.raises(ValidationError) as caught:
        Settings(lsh_bands=100)
    assert settings_error_lines(caught.value) == [
        "STREAMS_LSH_BANDS x STREAMS_LSH_ROWS = 300 exceeds STREAMS_NUM_PERM=128; "
        "for example 42 bands of 3 rows for 128 permutations."
    ]


def test_an_unreachable_redis_is_one_line_naming_it_exit_1(tmp_path: Path):
    run = streams(
        "dedup", "--input", str(sample_path()), "--output", str(tmp_path / "out.jsonl"),
        STREAMS_REDIS_URL=f"redis://{CLOSED}/0",
    )  # fmt: skip
    assert run.returncode == 1
    assert len(run.stderr.splitlines()) == 1, run.stderr
    line = run.stderr.strip()
    assert line.startswith(f"cannot reach Redis at redis://{CLOSED}/0 (")
    assert line.endswith("check STREAMS_REDIS_URL or --redis-url, and that Redis is running")
    assert not (tmp_path / "out.jsonl").exists()


def test_the_traceback_is_shown_at_log_level_debug(tmp_path: Path):
    run = streams("--log-level", "debug", "eval", "--redis-url", f"redis://{CLOSED}/0")
    assert run.returncode == 1
    assert "Traceback (most recent call last)" in run.stderr
    assert run.stderr.strip().splitlines()[-1].startswith(f"cannot reach Redis at redis://{CLOSED}/0 (")


def test_a_password_in_the_url_is_not_printed():
    run = streams("eval", "--redis-url", f"redis://:hunter2@{CLOSED}/0")
    assert run.returncode == 1
    assert run.stderr.startswith(f"cannot reach Redis at redis://:***@{CLOSED}/0 (")
    assert "hunter2" not in run.stderr


def test_an_unreachable_broker_is_one_line_naming_it_exit_1():
    run = streams("produce", str(sample_path()), STREAMS_BROKER=f"kafka://{CLOSED}")
    assert run.returncode == 1
    assert run.stderr.splitlines() == [
        f"cannot reach the Kafka broker at {CLOSED} (KafkaTimeoutError): check STREAMS_BROKER, that the "
        "broker is running, and that the topic exists (a worker creates its topics at start)"
    ]


def test_a_worker_without_a_broker_is_one_line_exit_1_and_leaves_nothing_behind(tmp_path: Path):
    port = str(free_port())
    run = streams(
        "worker", cwd=tmp_path, STREAMS_BROKER=f"kafka://{CLOSED}", STREAMS_WEB_PORT=port,
        STREAMS_BROKER_WAIT_SECONDS="1",
    )  # fmt: skip
    assert run.returncode == 1
    assert run.stderr.splitlines() == [
        f"cannot reach the Kafka broker at {CLOSED} (no connection in 1 s): check STREAMS_BROKER, and that "
        "the broker is running"
    ]
    assert list(tmp_path.iterdir()) == []


def test_a_worker_waits_for_a_broker_that_starts_listening():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        broker_reachable([f"127.0.0.1:{listener.getsockname()[1]}"], seconds=0)


def test_a_non_redis_url_is_one_line_exit_2_without_the_password(tmp_path: Path):
    run = streams(
        "dedup", "--input", str(sample_path()), "--output", str(tmp_path / "out.jsonl"),
        STREAMS_REDIS_URL="http://user:hunter2@host/0",
    )  # fmt: skip
    assert run.returncode == 2
    assert run.stderr.splitlines() == [
        "STREAMS_REDIS_URL: a Redis URL starts with redis://, rediss:// (TLS) or unix://"
    ]
    option = streams("eval", "--redis-url", "localhost:6379")
    assert option.returncode == 2
    assert "Invalid value for '--redis-url': a Redis URL starts with redis://" in option.stderr


def test_an_output_that_cannot_be_written_fails_before_the_work(tmp_path: Path):
    for command in ("dedup", "clean"):
        run = streams(command, "--input", str(sample_path()), "--output", str(tmp_path / "no" / "out.jsonl"))
        assert run.returncode == 2
        assert f"Invalid value for '--output': {tmp_path / 'no' / 'out.jsonl'}: No such file" in run.stderr
        assert "deciding" not in run.stderr and "Traceback" not in run.stderr


def test_redacted_url_hides_only_the_password():
    assert redacted_url("redis://user:pw@host:6380/1") == "redis://user:***@host:6380/1"
    assert redacted_url("redis://host:6379/0") == "redis://host:6379/0"
    assert redacted_url("rediss://:pw@host/0") == "rediss://:***@host/0"


def test_no_process_is_killed_by_name_anywhere():
    """Stopping processes by their name would hit other users' processes: we stop what we started, by id."""
    root = Path(__file__).resolve().parents[2]
    by_name = re.compile(r"\b(" + "pk" + "ill|kill" + "all)\b")
    files = [p for d in ("scripts", "streams", "tests", "benchmarks", ".ci") for p in (root / d).rglob("*")]
    found = [
        str(path.relative_to(root))
        for path in [*files, root / "README.md", *(root / "docs").glob("*.md")]
        if path.is_file() and path.suffix in ("", ".sh", ".py", ".md") and by_name.search(path.read_text())
    ]
    assert found == []


def test_the_shutdown_budget_ends_a_stop_that_hangs():
    """A stop stuck in the event loop (here: a sleep that never ends) is ended by the budget's thread."""
    code = (
        "import logging, time\n"
        "from streams.agents import ShutdownBudget\n"
        "logging.basicConfig()\n"
        "ShutdownBudget(0.5).start('test')\n"
        "time.sleep(60)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=50, check=False
    )
    assert run.returncode == 1
    assert "shutdown budget exceeded" in run.stderr
