"""The invariant checker itself: it must find each kind of violation, or the scenarios prove nothing."""

from __future__ import annotations

import base64
import json

import pytest

from streams.agents import encode_decision
from streams.models import Rejection, SourcePosition
from tests.reliability.invariants import Output, Sent, check

pytestmark = pytest.mark.reliability

RAW = "t.raw"


def unique(aid: str, at: str = "2026-01-01T00:00:00.000Z") -> Output:
    body = {"id": aid, "url": f"https://{aid}.example/", "text": "t", "processed_at": at}
    return Output("t.unique", aid.encode(), json.dumps(body).encode(), body)


def duplicate(aid: str, of: str) -> Output:
    body = {"id": aid, "duplicate_of": of, "processed_at": "2026-01-01T00:00:00.000Z"}
    return Output("t.duplicates", aid.encode(), json.dumps(body).encode(), body)


def rejected(payload: bytes, offset: int, at: str = "2026-01-01T00:00:00.000Z", **changes: object) -> Output:
    rejection = Rejection("invalid_json", "bad", payload, SourcePosition(RAW, 0, offset), processed_at=at)
    body = json.loads(encode_decision(rejection)) | changes
    return Output("t.rejected", None, json.dumps(body).encode(), body)


SENT = [Sent(0, 0, b"a", "a", "s1"), Sent(0, 1, b"b", "b", "s1"), Sent(0, 2, b"{bad", None)]


def test_a_clean_run_has_no_violations():
    """One decision each, one unique per story, duplicates of a unique, a complete rejection."""
    report = check("ok", SENT, [unique("a"), duplicate("b", "a"), rejected(b"{bad", 2)], RAW)
    assert report.violating == 0, report.failures()
    assert report.decided == 3


def test_identical_repeats_are_allowed_and_rejections_may_differ_in_time_only():
    """Redelivery may repeat a decision byte for byte; a rejection's processed_at may change."""
    outputs = [
        unique("a"),
        unique("a"),
        duplicate("b", "a"),
        rejected(b"{bad", 2),
        rejected(b"{bad", 2, at="x"),
    ]
    assert check("repeats", SENT, outputs, RAW).violating == 0


@pytest.mark.parametrize(
    ("outputs", "invariant"),
    [
        ([unique("a"), rejected(b"{bad", 2)], "one_decision"),  # b lost
        ([unique("a"), unique("a", at="2026-01-01T00:00:01.000Z"), duplicate("b", "a"), rejected(b"{bad", 2)],
         "one_decision"),  # a replayed differently
        ([unique("a"), duplicate("a", "b"), duplicate("b", "a"), rejected(b"{bad", 2)],
         "one_decision"),  # a on two topics
        ([unique("a"), duplicate("b", "a"), rejected(b"{bad", 2), unique("zzz")], "one_decision"),  # stray
        ([unique("a"), unique("b"), rejected(b"{bad", 2)], "one_unique_per_story"),
        ([unique("a"), duplicate("b", "c"), rejected(b"{bad", 2)], "duplicate_of_unique"),
        ([unique("a"), duplicate("b", "a"), rejected(b"{bad", 2, error="oops")], "rejection_complete"),
        ([unique("a"), duplicate("b", "a"), rejected(b"{bad", 2, raw="{ba")], "rejection_complete"),
        ([unique("a"), duplicate("b", "a"),
          rejected(b"{bad", 2, raw=base64.b64encode(b"{bad").decode())], "rejection_complete"),  # says utf-8
    ],
)  # fmt: skip
def test_each_violation_is_found(outputs: list[Output], invariant: str):
    """Lost, conflicting, split and stray decisions; two uniques; dangling duplicates; bad rejections."""
    report = check("bad", SENT, outputs, RAW)
    assert report.violations[invariant], report.failures()
