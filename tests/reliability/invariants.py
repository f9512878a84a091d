"""The four invariants of the pipeline, as checks over what was sent and what is on the output topics.

1. ``one_decision``: every message read from the raw topic has a decision, all of them on one output
   topic; a message decided more than once (redelivery) got the same decision each time, byte for byte
   (a rejection is derived from the bytes again, so only its ``processed_at`` may differ).
2. ``one_unique_per_story``: within one story (articles that are copies of each other) at most one
   article is ever published as unique.
3. ``duplicate_of_unique``: a duplicate's ``duplicate_of`` names an article published as unique.
4. ``rejection_complete``: every rejection has a known code and the original bytes (``raw``, base64
   when ``raw_encoding`` is base64, capped at 64 KiB with ``raw_truncated``).

Decisions are matched to the messages sent: a rejection by its raw partition and offset (it carries
them), a unique or duplicate by its article id. :func:`check` returns a :class:`Report` whose
``summary`` line every scenario prints.
"""

from __future__ import annotations

import base64
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from streams.models import MAX_REJECTED_RAW_BYTES, REJECTION_CODES, parse_article

INVARIANTS = ("one_decision", "one_unique_per_story", "duplicate_of_unique", "rejection_complete")


@dataclass(frozen=True, slots=True)
class Sent:
    """One message on the raw topic, where the broker put it and what it stands for."""

    partition: int
    offset: int
    payload: bytes
    id: str | None  # the id its unique or duplicate decision will carry, if it parses
    story: str | None = None  # the story label (copies share it); None when unknown


@dataclass(frozen=True, slots=True)
class Output:
    """One record read from an output topic."""

    topic: str
    key: bytes | None
    value: bytes
    body: dict[str, Any]

    @property
    def status(self) -> str:
        if "error" in self.body:
            return "rejected"
        return "duplicate" if "duplicate_of" in self.body else "unique"


@dataclass
class Report:
    """What a scenario sent and decided, and every invariant violation found."""

    name: str
    sent: int
    decided: int
    records: int
    violations: dict[str, list[str]] = field(default_factory=lambda: {name: [] for name in INVARIANTS})
    notes: list[str] = field(default_factory=list)

    @property
    def violating(self) -> int:
        return sum(len(found) for found in self.violations.values())

    def summary(self) -> str:
        counts = ", ".join(f"{name} {len(found)}" for name, found in self.violations.items())
        extra = f" ({'; '.join(self.notes)})" if self.notes else ""
        return (
            f"{self.name}: sent {self.sent}, decided {self.decided} ({self.records} decision records), "
            f"violating {self.violating} [{counts}]{extra}"
        )

    def failures(self, limit: int = 5) -> str:
        """The first violations of each invariant, for an assertion message."""
        lines = [self.summary()]
        for name, found in self.violations.items():
            lines += [f"  {name}: {item}" for item in found[:limit]]
        return "\n".join(lines)


def expected_id(payload: bytes) -> str | None:
    """The id the engine gives this payload's decision (None if it is rejected before it has one)."""
    try:
        parsed = parse_article(payload, max_bytes=len(payload) + 1)
    except Exception:  # a hostile payload the parser cannot take: matched by position instead
        return None
    return parsed.id


def decode_raw(body: dict[str, Any]) -> bytes | None:
    """The original bytes a rejection carries, or None if ``raw`` does not decode as it says."""
    raw, encoding = body.get("raw"), body.get("raw_encoding")
    if not isinstance(raw, str):
        return None
    try:
        return base64.b64decode(raw, validate=True) if encoding == "base64" else raw.encode("utf-8")
    except ValueError:
        return None


def rejection_problem(body: dict[str, Any], payload: bytes) -> str | None:
    """Why a rejection does not carry a known code and the payload as received, or None if it does."""
    if body.get("error") not in REJECTION_CODES:
        return f"unknown code {body.get('error')!r}"
    raw = decode_raw(body)
    if raw is None:
        return f"raw does not decode as {body.get('raw_encoding')!r}"
    kept = payload[:MAX_REJECTED_RAW_BYTES]
    truncated = len(payload) > MAX_REJECTED_RAW_BYTES
    # A cut inside a UTF-8 character keeps the text up to that character (at most 3 bytes fewer).
    if not (kept.startswith(raw) and len(kept) - len(raw) <= (3 if truncated else 0)):
        return f"raw is not the payload as received ({len(raw)} of {len(payload)} bytes)"
    if body.get("raw_truncated") is not truncated or body.get("raw_bytes") != len(payload):
        return (
            f"raw_truncated={body.get('raw_truncated')} raw_bytes={body.get('raw_bytes')} for {len(payload)}"
        )
    return None


def _comparable(output: Output) -> Any:
    if output.status == "rejected":
        # A rejection is a function of the bytes; it is not in the index, so its time is the re-decision's.
        return (output.topic, output.key, {k: v for k, v in output.body.items() if k != "processed_at"})
    return (output.topic, output.key, output.value)


def match_outputs(
    sent: Sequence[Sent], outputs: Iterable[Output], raw_topic: str
) -> tuple[dict[int, list[Output]], list[Output]]:
    """Decisions per sent message (by index in ``sent``), and the decisions that match nothing sent."""
    by_position = {(s.partition, s.offset): i for i, s in enumerate(sent)}
    by_id: dict[str, int] = {}
    for i, s in enumerate(sent):
        if s.id is not None:
            if s.id in by_id:
                raise ValueError(f"two messages sent with id {s.id!r}: decisions cannot be told apart")
            by_id[s.id] = i
    matched: dict[int, list[Output]] = defaultdict(list)
    stray: list[Output] = []
    for output in outputs:
        body = output.body
        if output.status == "rejected" and body.get("topic") == raw_topic:
            index = by_position.get((body.get("partition"), body.get("offset")))
        else:
            index = by_id.get(body.get("id")) if isinstance(body.get("id"), str) else None
        if index is None:
            stray.append(output)
        else:
            matched[index].append(output)
    return matched, stray


def check(name: str, sent: Sequence[Sent], outputs: Sequence[Output], raw_topic: str) -> Report:
    """Check the four invariants over every message sent and every decision read back."""
    matched, stray = match_outputs(sent, outputs, raw_topic)
    report = Report(name=name, sent=len(sent), decided=len(matched), records=len(outputs))
    v = report.violations
    for output in stray:
        v["one_decision"].append(
            f"decision for nothing that was sent: {output.body.get('id')!r} on {output.topic}"
        )
    uniques: set[str] = set()
    for i, message in enumerate(sent):
        decisions = matched.get(i, [])
        where = f"message {message.partition}:{message.offset} id={message.id!r}"
        if not decisions:
            v["one_decision"].append(f"{where}: no decision")
            continue
        first = _comparable(decisions[0])
        if any(_comparable(d) != first for d in decisions[1:]):
            topics = sorted({d.topic for d in decisions})
            v["one_decision"].append(f"{where}: {len(decisions)} decisions that differ (topics {topics})")
        for d in decisions:
            if d.status == "unique":
                uniques.add(d.body["id"])
            elif d.status == "rejected":
                problem = rejection_problem(d.body, message.payload)
                if problem:
                    v["rejection_complete"].append(f"{where}: {problem}")
    stories: dict[str, set[str]] = defaultdict(set)
    for message in sent:
        if message.story is not None and message.id in uniques:
            stories[message.story].add(message.id)
    for story, ids in sorted(stories.items()):
        if len(ids) > 1:
            v["one_unique_per_story"].append(
                f"story {story}: {len(ids)} articles published as unique {sorted(ids)}"
            )
    for output in outputs:
        if output.status == "duplicate":
            target = output.body.get("duplicate_of")
            if target not in uniques or target == output.body.get("id"):
                v["duplicate_of_unique"].append(
                    f"{output.body.get('id')!r} is a duplicate of {target!r}, not published as unique"
                )
    return report


def decode_output(topic: str, key: bytes | None, value: bytes) -> Output:
    """An output record as read from the broker (the value is JSON, as published)."""
    return Output(topic=topic, key=key, value=value, body=json.loads(value))
