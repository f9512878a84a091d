"""The datasketch baseline run as a worker: the consumer loop a data engineer would glue around datasketch.

``python -m streams.tools.baseline_worker`` reads ``STREAMS_TOPIC_RAW`` and publishes one decision per
message to the project's output topics (``STREAMS_TOPIC_UNIQUE``, ``..._DUPLICATES``, ``..._REJECTED``),
keyed by the input message's key, as ``streams worker`` does; it takes its broker, topics and Redis from
the same ``STREAMS_*`` variables (:func:`streams.tools.localstack.worker_env`) and joins a consumer group
of its own (``<STREAMS_APP_ID>-datasketch``). ``streams bench`` runs it beside the workers, on the same
flood, so that the end-to-end ratio compares a worker with a worker.

Each article is decided by :class:`~streams.tools.evaluation.WellUsedPipeline` (datasketch ``MinHash``
with one ``update_batch`` per article, ``MinHashLSH`` at 0.8 with datasketch's Redis storage, inserts in an
``insertion_session``) on :func:`~streams.tools.evaluation.naive_text`, as ``streams bench`` measures it in
one process; a payload that is not a JSON object becomes a rejection record (``invalid_json`` or
``not_an_object``). What makes it as fast as it can honestly be: librdkafka (confluent-kafka) on both
sides, the consumer fetching in its own thread while Python decides, messages taken in batches of up to
:data:`BATCH_MESSAGES` with one ``consume`` call, each decision handed to the producer as soon as it is
made (it lingers a few milliseconds and sends from its own thread, so sending overlaps deciding), records
encoded with orjson.

At least once, per batch: decide every message, send the inserts still buffered in the session to Redis,
wait until the broker confirmed every decision (``flush``), then commit the batch's offsets synchronously
(the next offset of each partition). A crash before the commit redelivers the batch; a delivery that
fails stops the worker before the commit. A SIGTERM or SIGINT lets the batch in hand finish the same way,
then the consumer leaves its group and the worker exits.

What it does not do, being the baseline: no cleaning beyond ``naive_text`` (an HTML page is its body's
visible text, boilerplate included), no URL, exact-text or id matching, no validation of fields, sizes or
encodings beyond JSON parsing, no replay detection (a redelivered article finds itself in the index and
is decided a duplicate of itself), no metrics or web port, and no TLS or SASL to the broker.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import orjson

from streams.models import Rejection, SourcePosition, Status
from streams.settings import Settings, get_settings
from streams.tools.evaluation import WellUsedPipeline, naive_text, redis_storage_config
from streams.tools.localstack import WorkerProcess, worker_env

log = logging.getLogger("streams.baseline_worker")

#: Most messages taken from the consumer at once: a batch is decided, confirmed and committed together.
BATCH_MESSAGES = 500
#: Longest wait for a batch: also how soon a stop signal is noticed when no message arrives.
POLL_SECONDS = 0.2
#: How long the broker may take to confirm a batch's decisions before the worker gives up (uncommitted).
FLUSH_SECONDS = 60.0
#: Logged once, when the first messages arrive: the group the worker is in was synced with it in
#: (``streams bench`` reads it to know the worker joined, as it reads a ``streams worker``'s status).
FIRST_MESSAGES_LOG = "baseline worker: first messages received"

MODULE = "streams.tools.baseline_worker"


@dataclass(frozen=True, slots=True)
class Output:
    """One decision record, ready to send."""

    topic: str
    key: bytes
    value: bytes
    status: Status


def group_id(settings: Settings) -> str:
    """The baseline's consumer group: its own, beside the workers' (``STREAMS_APP_ID``)."""
    return f"{settings.app_id}-datasketch"


def decide_message(
    pipeline: WellUsedPipeline,
    topics: Mapping[Status, str],
    key: bytes | None,
    payload: bytes | None,
    position: SourcePosition,
) -> Output:
    """The decision record of one input message: unique (the article with its text), duplicate (with
    ``duplicate_of``) or a rejection (:class:`streams.models.Rejection`'s record) when it is not a JSON
    object."""
    raw = payload or b""
    located = f"{position.topic}:{position.partition}:{position.offset}"
    try:
        article = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return _rejection(topics, key, Rejection("invalid_json", str(exc), raw, position), located)
    if not isinstance(article, dict):
        rejection = Rejection("not_an_object", "the payload is not a JSON object", raw, position)
        return _rejection(topics, key, rejection, located)
    article_id = str(article.get("id") or article.get("url") or located)
    text = naive_text(article)
    outcome = pipeline.decide(article_id, text)
    body: dict[str, Any]
    if outcome.status == "duplicate":
        body = {"id": article_id, "url": article.get("url"), "duplicate_of": outcome.duplicate_of}
    else:
        body = {name: value for name, value in article.items() if name != "html"}
        body.update(id=article_id, text=text)
    body["status"] = outcome.status
    status: Status = "duplicate" if outcome.status == "duplicate" else "unique"
    # The input's key first: the bench matches decisions to what it produced by key (its keys are the ids).
    return Output(topics[status], key or article_id.encode(), orjson.dumps(body), status)


def _rejection(topics: Mapping[Status, str], key: bytes | None, rejection: Rejection, located: str) -> Output:
    value = orjson.dumps(rejection.to_dict())
    return Output(topics["rejected"], key or located.encode(), value, "rejected")


def run(settings: Settings, should_stop: Callable[[], bool]) -> int:
    """Consume, decide, publish and commit until ``should_stop()``; returns the messages decided."""
    from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

    bootstrap = ",".join(settings.bootstrap_servers)
    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": group_id(settings),
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "session.timeout.ms": int(settings.broker_session_timeout_seconds * 1000),
        # As the workers wait: tansu holds every fetch this long.
        "fetch.wait.max.ms": settings.broker_fetch_max_wait_ms,
    })  # fmt: skip
    producer = Producer({
        "bootstrap.servers": bootstrap,
        "acks": "all",
        "linger.ms": 5,
        "partitioner": "murmur2_random",  # Kafka's Java client and aiokafka place keys the same way
        "message.max.bytes": 8 * 1024 * 1024,
    })  # fmt: skip
    failures: list[str] = []

    def delivered(error: Any, _message: Any) -> None:
        if error is not None:
            failures.append(str(error))

    pipeline = WellUsedPipeline(
        storage_config=redis_storage_config(
            settings.redis_url.get_secret_value(), f"{settings.namespace}-datasketch".encode()
        )
    )
    topics = settings.output_topic_by_status
    decided = 0
    consumer.subscribe([settings.topic_raw])
    try:
        while not should_stop():
            messages = consumer.consume(num_messages=BATCH_MESSAGES, timeout=POLL_SECONDS)
            if not messages:
                continue
            next_offsets: dict[tuple[str, int], int] = {}
            for message in messages:
                error = message.error()
                if error is not None:  # an event, not a message (librdkafka retries what it can)
                    if error.fatal():
                        raise KafkaException(error)
                    log.warning("consumer: %s", error)
                    continue
                if not decided:
                    log.info(FIRST_MESSAGES_LOG)
                topic, partition, offset = message.topic(), message.partition(), message.offset()
                position = SourcePosition(topic, partition, offset)
                output = decide_message(pipeline, topics, message.key(), message.value(), position)
                _send(producer, output, delivered)
                if topic is not None and partition is not None and offset is not None:  # a message has them
                    next_offsets[(topic, partition)] = offset + 1
                decided += 1
            pipeline.flush()
            if producer.flush(FLUSH_SECONDS) or failures:
                raise RuntimeError(f"decisions not confirmed by the broker: {failures[:3] or 'timeout'}")
            if next_offsets:
                commits = [TopicPartition(t, p, o) for (t, p), o in next_offsets.items()]
                try:
                    consumer.commit(offsets=commits, asynchronous=False)
                except KafkaException as exc:  # a rebalance took the partitions: their new owner redelivers
                    log.warning("commit failed, the batch will be redelivered: %s", exc)
    finally:
        consumer.close()
        producer.flush(FLUSH_SECONDS)
    return decided


def _send(producer: Any, output: Output, delivered: Callable[[Any, Any], None]) -> None:
    while True:
        try:
            producer.produce(output.topic, output.value, output.key, on_delivery=delivered)
            break
        except BufferError:  # the local queue is full: let deliveries drain it
            producer.poll(0.05)
    producer.poll(0)  # serve delivery callbacks; never blocks


def start_baseline_worker(settings: Settings, log_path: Path) -> WorkerProcess:
    """The baseline worker as a subprocess with ``settings`` (stopped like a ``streams worker``)."""
    return WorkerProcess(worker_env(settings, None), log_path, module_args=(MODULE,)).start()


def has_received(proc: WorkerProcess) -> bool:
    """Whether a baseline worker started by :func:`start_baseline_worker` has received messages."""
    try:
        return FIRST_MESSAGES_LOG in proc.log_path.read_text(errors="replace")
    except OSError:
        return False


def main() -> None:
    """Run until SIGTERM or SIGINT, then finish the batch in hand, commit and leave the group."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = get_settings()
    stopping = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("%s: stopping after the batch in hand", signal.Signals(signum).name)
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    log.info("baseline worker: consuming %s as group %s", settings.topic_raw, group_id(settings))
    decided = run(settings, stopping.is_set)
    log.info("baseline worker: stopped after %d decisions", decided)


if __name__ == "__main__":
    main()
