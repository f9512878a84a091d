"""The baseline worker's decision records, without a broker or Redis (datasketch's in-memory index)."""

from __future__ import annotations

import json

import pytest

from streams.models import SourcePosition, Status
from streams.tools.baseline_worker import decide_message
from streams.tools.evaluation import WellUsedPipeline, redis_storage_config

TOPICS: dict[Status, str] = {"unique": "t.unique", "duplicate": "t.duplicates", "rejected": "t.rejected"}
TEXT = " ".join(f"word{i}" for i in range(80))


def message(article_id: str, text: str = TEXT, **fields: str) -> bytes:
    return json.dumps(
        {"id": article_id, "url": f"https://news.test/{article_id}", "text": text, **fields}
    ).encode()


def test_a_copy_goes_to_the_duplicates_topic_with_its_original_keyed_by_the_input_key() -> None:
    pipeline = WellUsedPipeline()
    first = decide_message(
        pipeline, TOPICS, b"k-1", message("a-1", html="<p>x</p>"), SourcePosition("raw", 0, 0)
    )
    copy = decide_message(pipeline, TOPICS, b"k-2", message("a-2"), SourcePosition("raw", 0, 1))
    other = decide_message(
        pipeline, TOPICS, b"k-3", message("a-3", TEXT.upper()[::-1]), SourcePosition("raw", 1, 0)
    )
    assert (first.topic, first.key, first.status) == ("t.unique", b"k-1", "unique")
    body = json.loads(first.value)
    assert body["status"] == "unique" and body["id"] == "a-1" and body["text"] == TEXT and "html" not in body
    assert (copy.topic, copy.key, copy.status) == ("t.duplicates", b"k-2", "duplicate")
    assert json.loads(copy.value) == {
        "id": "a-2",
        "url": "https://news.test/a-2",
        "duplicate_of": "a-1",
        "status": "duplicate",
    }
    assert (other.topic, other.status) == ("t.unique", "unique")


def test_without_a_message_key_the_article_id_keys_the_decision() -> None:
    out = decide_message(WellUsedPipeline(), TOPICS, None, message("a-9"), SourcePosition("raw", 2, 5))
    assert out.key == b"a-9"
    no_id = json.dumps({"text": TEXT}).encode()
    assert (
        decide_message(WellUsedPipeline(), TOPICS, None, no_id, SourcePosition("raw", 2, 6)).key == b"raw:2:6"
    )


@pytest.mark.parametrize(
    ("payload", "code"),
    [(b'{"id": "a-1", "text": ', "invalid_json"), (b"\xff\xfe{}", "invalid_json"), (None, "invalid_json"),
     (b"[1, 2]", "not_an_object"), (b'"a string"', "not_an_object")],
)  # fmt: skip
def test_a_payload_that_is_not_a_json_object_is_one_rejection_with_its_bytes(
    payload: bytes | None, code: str
) -> None:
    pipeline = WellUsedPipeline()
    out = decide_message(pipeline, TOPICS, None, payload, SourcePosition("raw", 3, 17))
    assert (out.topic, out.key, out.status) == ("t.rejected", b"raw:3:17", "rejected")
    body = json.loads(out.value)
    assert body["error"] == code
    assert (body["topic"], body["partition"], body["offset"]) == ("raw", 3, 17)
    assert body["raw_bytes"] == len(payload or b"")
    assert not pipeline.lsh.keys.size()  # nothing was indexed for it
    keyed = decide_message(pipeline, TOPICS, b"bad-1", payload, SourcePosition("raw", 3, 18))
    assert keyed.key == b"bad-1"


def test_datasketch_redis_storage_config_from_a_url() -> None:
    assert redis_storage_config("redis://127.0.0.1:6390/2", b"ns") == {
        "type": "redis",
        "basename": b"ns",
        "redis": {"host": "127.0.0.1", "port": 6390, "db": 2},
    }
    secure = redis_storage_config("rediss://user:p%40ss@cache.example", b"ns")["redis"]
    assert secure == {"host": "cache.example", "port": 6379, "db": 0, "username": "user", "password": "p@ss",
                      "ssl": True}  # fmt: skip
