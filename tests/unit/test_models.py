"""Parsing at the edge: every input is an article or a rejection with a stable code."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams import models
from streams.models import MAX_REJECTED_RAW_BYTES, RawArticle, Rejection, SourcePosition, parse_article

LIMIT = 100_000


def parse(payload: bytes) -> RawArticle | Rejection:
    return parse_article(payload, max_bytes=LIMIT, position=SourcePosition("articles.raw", 2, 41))


def code(payload: bytes) -> str:
    result = parse(payload)
    assert isinstance(result, Rejection), result
    return result.error


def test_a_valid_article_keeps_unknown_fields():
    """Known fields are read; unknown ones are passed through in ``extra``."""
    result = parse(json.dumps({"url": "https://a.example/x", "text": "hello", "section": "world"}).encode())
    assert isinstance(result, RawArticle)
    assert result.extra == {"section": "world"}


def test_a_missing_id_defaults_to_the_canonical_url_hash():
    """Two crawls of one URL with tracking parameters get the same default id."""
    a = parse(json.dumps({"url": "https://a.example/x?utm_source=t", "text": "t"}).encode())
    b = parse(json.dumps({"url": "https://A.example/x#top", "text": "t"}).encode())
    assert isinstance(a, RawArticle) and isinstance(b, RawArticle)
    assert a.id == b.id


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b"{not json", "invalid_json"),
        (b"[1, 2]", "not_an_object"),
        (b'"a string"', "not_an_object"),
        (json.dumps({"text": "no url"}).encode(), "missing_url"),
        (json.dumps({"url": "", "text": "x"}).encode(), "missing_url"),
        (json.dumps({"url": "ftp://a.example/x", "text": "x"}).encode(), "invalid_url"),
        (json.dumps({"url": 42, "text": "x"}).encode(), "invalid_url"),
        (json.dumps({"url": "https://a.example/x", "text": " "}).encode(), "empty_text"),
        (json.dumps({"url": "https://a.example/x", "text": ["list"]}).encode(), "invalid_field"),
        (
            json.dumps({"url": "https://a.example/x", "text": "t", "published_at": "yesterday"}).encode(),
            "invalid_field",
        ),
        (b"\xff\xfe binary", "bad_encoding"),
        (b'{"url": "https://a.example", "text": NaN}', "invalid_json"),
        (b"[" * 100 + b"]" * 100, "invalid_json"),
        (json.dumps({"url": "https://a.example/x", "text": "x" * LIMIT}).encode(), "too_large"),
    ],
)
def test_bad_inputs_are_rejected_with_their_code(payload: bytes, expected: str):
    """Each kind of bad input maps to one stable rejection code."""
    assert code(payload) == expected


def test_a_rejection_keeps_its_position_and_bytes():
    """The rejection says where the message came from and carries its bytes (base64 if not UTF-8)."""
    result = parse(b"\xff\xfe")
    assert isinstance(result, Rejection)
    body = result.to_dict()
    assert (body["topic"], body["partition"], body["offset"]) == ("articles.raw", 2, 41)
    assert body["raw_encoding"] == "base64"
    assert base64.b64decode(body["raw"]) == b"\xff\xfe"


def test_a_huge_rejected_payload_is_truncated_in_the_rejection():
    """A rejection must fit in a Kafka message, so its raw copy is capped and flagged."""
    payload = b"x" * (MAX_REJECTED_RAW_BYTES * 3)
    body = parse_article(payload, max_bytes=10).to_dict()  # type: ignore[union-attr]
    assert body["raw_truncated"] is True
    assert body["raw_bytes"] == len(payload)
    assert len(body["raw"]) == MAX_REJECTED_RAW_BYTES


def test_a_bug_while_preparing_one_input_becomes_a_rejection(monkeypatch):
    """An unexpected exception in cleaning rejects that input (internal_error) instead of stalling."""
    import asyncio

    from streams import dedup
    from streams.settings import Settings

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(dedup, "clean_article", broken)
    engine = dedup.Deduplicator(Settings(), index=None)  # type: ignore[arg-type]
    payload = json.dumps({"url": "https://a.example/x", "text": "some text"}).encode()
    (result,) = asyncio.run(engine.prepare_many([(payload, SourcePosition("t", 0, 7))]))
    assert isinstance(result, Rejection)
    assert result.error == "internal_error"
    assert result.raw == payload


@settings(max_examples=2000, deadline=None)
@given(
    st.lists(st.sampled_from([b'"', b"\\", b"[", b"]", b"{", b"}", b"a", b":"]), max_size=80).map(b"".join)
)
def test_the_bracket_bound_never_falls_below_the_nesting_depth(payload: bytes):
    """The regex pre-filter may let a shallow payload through to the scan, never a deep one past it."""
    assert models._nesting_depth(payload) <= models._brackets_outside_strings(payload)
