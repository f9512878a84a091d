"""Hostile input: fuzzed bytes, JSON and HTML never raise; every message becomes an article or a rejection.

The property is checked on the whole pure path the worker runs for a message: parse, clean and
fingerprint (:func:`streams.dedup.prepare`), then the index arguments and the published JSON of the
decision (a UTF-8 encoding error there would make the worker retry a batch forever).
"""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.agents import encode_decision
from streams.cleaning import clean_article
from streams.dedup import Deduplicator, PrepareConfig, PreparedArticle, index_config, prepare, to_decision
from streams.index import IndexVerdict, script_args
from streams.models import MAX_REJECTED_RAW_BYTES, REJECTION_CODES, RawArticle, Rejection, parse_article
from streams.settings import Settings
from tests.reliability.invariants import rejection_problem

pytestmark = pytest.mark.reliability

SETTINGS = Settings(max_message_bytes=300_000)
CONFIG = PrepareConfig.from_settings(SETTINGS)
INDEX = index_config(SETTINGS)
STORY = (
    "The harbour authority said on Monday that the new container terminal would open in the spring, "
    "two years later than planned, after a dispute over dredging permits delayed the work. "
)
# Characters that break naive text code: zero-width, bidi controls, BOM, surrogates, NUL, combining marks.
NASTY = "\u200b\u200c\u200d\u2060\ufeff\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u00ad\x00\u0301"
ANY_CHAR = st.characters(exclude_categories=())  # surrogates included
TEXT = st.one_of(
    st.text(ANY_CHAR, max_size=300),
    st.text(st.sampled_from(NASTY + "a <>&;\n"), max_size=300),
    st.builds(lambda a, b: a + STORY + b, st.text(ANY_CHAR, max_size=40), st.text(ANY_CHAR, max_size=40)),
)
URL = st.one_of(
    st.builds(lambda path: "https://news.example/" + path, st.text(ANY_CHAR, max_size=60)),
    st.sampled_from(
        [
            "https://[::1/x",
            "https://a.example:99999/x",
            "https://",
            "http://[v1.fe]/",
            "https://a.example:-1/",
            "https://user:pw@a.example/x",
            "https://\u202eevil.example/",
            "HTTPS://A.EXAMPLE/X?utm_source=x#y",
        ]
    ),
    st.text(ANY_CHAR, max_size=40),
)
JSON_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(ANY_CHAR, max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
FIELD = st.one_of(TEXT, JSON_VALUE)
ARTICLE = st.fixed_dictionaries(
    {"url": st.one_of(URL, JSON_VALUE)},
    optional={
        "id": st.one_of(st.text(ANY_CHAR, max_size=30), st.integers(), JSON_VALUE),
        "title": FIELD,
        "text": FIELD,
        "html": st.one_of(FIELD, st.builds(lambda t: f"<html><body><p>{t}</p></body></html>", TEXT)),
        "source": FIELD,
        "published_at": st.one_of(FIELD, st.just("2026-01-02T03:04:05Z")),
        "language": FIELD,
        "section": JSON_VALUE,
    },
)


def as_json(obj: object, ascii_only: bool) -> bytes:
    # ensure_ascii writes lone surrogates as \ud800 escapes: valid JSON that decodes to invalid Unicode.
    return json.dumps(obj, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")


def assert_handled(payload: bytes) -> PreparedArticle | Rejection:
    """The whole pure path of the worker on one message: no exception, a known outcome."""
    result = prepare(payload, CONFIG)
    assert isinstance(result, PreparedArticle | Rejection)
    if isinstance(result, Rejection):
        assert result.error in REJECTION_CODES
        assert rejection_problem(json.loads(encode_decision(result)), payload) is None
        return result
    verdict = IndexVerdict(status="unique", sequence=1, replayed=False, decided_at=time.time())
    encode_decision(to_decision(result, verdict))
    duplicate = IndexVerdict("duplicate", 2, False, "near", "jaccard", 0.9, 0.35, "x", "https://x.example/")
    encode_decision(to_decision(result, duplicate))
    for arg in script_args(INDEX, [(result.fingerprint, result.article_id, result.raw.url)], "epoch"):
        if isinstance(arg, str):
            arg.encode("utf-8")  # what the Redis client does with every argument
    return result


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_are_an_article_or_a_rejection(payload: bytes):
    """Any bytes at all: prepared or rejected with a known code, and the rejection carries them."""
    assert_handled(payload)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ARTICLE, st.booleans())
def test_fuzzed_json_articles_never_raise(article: dict, ascii_only: bool):
    """JSON objects with wrong types, odd URLs, surrogates, zero-width and bidi characters in any field."""
    assert_handled(as_json(article, ascii_only))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(ANY_CHAR, max_size=500), st.sampled_from(["selectolax", "trafilatura"]))
def test_cleaning_arbitrary_html_never_raises(markup: str, extractor: str):
    """clean_article on arbitrary text as HTML (any characters, surrogates included) with both extractors."""
    cleaned = clean_article(title=markup[:50], text=None, html=markup, max_chars=10_000, extractor=extractor)
    assert len(cleaned.text) <= 10_000


@pytest.mark.parametrize(
    ("name", "payload", "code"),
    [
        ("nested arrays", b"[" * 100_000 + b"]" * 100_000, "invalid_json"),
        ("nested objects", b'{"a":' * 40_000 + b"1" + b"}" * 40_000, "invalid_json"),
        ("nesting in a field", json.dumps({"url": "https://a.example/", "text": STORY}).encode()[:-1]
         + b',"x":' + b"[" * 1000 + b"]" * 1000 + b"}", "invalid_json"),
        ("too large", json.dumps({"url": "https://a.example/", "text": "x" * 400_000}).encode(), "too_large"),
        ("huge integer", b'{"url":"https://a.example/","id":' + b"9" * 5000 + b"}", "invalid_json"),
        ("NaN", b'{"url":"https://a.example/","text":NaN}', "invalid_json"),
        ("invalid UTF-8", b'{"url":"https://a.example/","text":"\xc3\x28 \xed\xa0\x80"}', "bad_encoding"),
        ("UTF-8 surrogate bytes",
         b'{"url":"https://a.example/","text":"\xed\xa0\x80' + STORY.encode() + b'"}', "bad_encoding"),
        ("UTF-16", json.dumps({"url": "https://a.example/", "text": STORY}).encode("utf-16"), "bad_encoding"),
        ("empty", b"", "invalid_json"),
        ("lone surrogate in the url", b'{"url":"https://a.example/\\ud800","text":"t"}', "bad_encoding"),
        ("lone surrogate in a passed-through field",
         b'{"url":"https://a.example/","tags":["\\udc00"],"text":"t"}', "bad_encoding"),
        ("bad IPv6 host", json.dumps({"url": "https://[::1/x", "text": STORY}).encode(), "invalid_url"),
        ("bad port", json.dumps({"url": "https://a.example:99999/", "text": "t"}).encode(), "invalid_url"),
        ("no host", json.dumps({"url": "https://", "text": STORY}).encode(), "invalid_url"),
        ("only zero-width text", json.dumps({"url": "https://a.example/", "text": "\u200b" * 500}).encode(),
         "empty_text"),
    ],
)  # fmt: skip
def test_hostile_messages_get_the_expected_code(name: str, payload: bytes, code: str):
    """Bombs and broken encodings are rejected with the right code, never an exception."""
    result = assert_handled(payload)
    assert isinstance(result, Rejection), name
    assert result.error == code, (name, result.message)


@pytest.mark.parametrize(
    "html",
    [
        "<div>" * 3000 + STORY,  # deep nesting (parse time grows with the square of the depth)
        '<p class="' + "a" * 250_000 + '">' + STORY + "</p>",  # giant attribute
        "<p>" + "&amp;" * 50_000 + STORY + "</p>",  # entity flood
        "<p>" + "&#x202E;&#8203;" * 10_000 + STORY + "</p>",  # entity-encoded bidi and zero-width flood
        "<p " + " ".join(f"a{i}=1" for i in range(20_000)) + ">" + STORY + "</p>",  # attribute flood
        "<table>" + "<tr><td>" * 5000 + STORY,  # unclosed table cells
    ],
    ids=["deep", "giant-attribute", "entities", "bidi-entities", "attributes", "table"],
)
def test_html_bombs_clean_without_raising(html: str):
    """HTML bombs of a few hundred KB are cleaned (or rejected) without an exception."""
    assert_handled(json.dumps({"url": "https://a.example/bomb", "html": html}).encode())


def test_a_rejection_keeps_at_most_64_kib_of_the_payload_and_says_so():
    """A large binary payload is rejected with its first 64 KiB, base64, and raw_truncated set."""
    payload = b"\xff" + bytes(range(256)) * 1000
    result = parse_article(payload, max_bytes=10_000_000)
    assert isinstance(result, Rejection)
    body = json.loads(encode_decision(result))
    assert body["raw_encoding"] == "base64" and body["raw_truncated"] is True
    assert body["raw_bytes"] == len(payload)
    assert rejection_problem(body, payload) is None
    assert len(body["raw"]) <= 4 * MAX_REJECTED_RAW_BYTES // 3 + 4


def pathological_page(depth: int = 80_000) -> bytes:
    """A 400 KB page of unclosed nested <div>s: lexbor's parse time grows with the square of the depth
    (measured here: 4,000 levels 0.05 s, 16,000 levels 0.7 s; 80,000 levels is about 20 s)."""
    return json.dumps({"url": "https://slow.example/page", "html": "<div>" * depth + STORY}).encode()


def test_a_page_slower_than_the_time_box_is_rejected_and_the_next_page_still_decided():
    """The real extraction pool: the pathological page is cut off at the time box with
    extraction_timeout, the pool is replaced, and the next HTML page is cleaned normally."""
    engine = Deduplicator(Settings(extraction_timeout_seconds=1.0), index=None)  # type: ignore[arg-type]
    normal = json.dumps(
        {"url": "https://ok.example/", "html": f"<article><p>{STORY * 3}</p></article>"}
    ).encode()
    from streams.models import SourcePosition

    try:
        first, slow, after = asyncio.run(
            engine.prepare_many([(normal, SourcePosition()), (pathological_page(), SourcePosition()),
                                 (normal, SourcePosition())])
        )  # fmt: skip
    finally:
        engine.close()
    assert isinstance(first, PreparedArticle)
    assert isinstance(slow, Rejection) and slow.error == "extraction_timeout"
    assert isinstance(after, PreparedArticle)


def test_parse_accepts_what_it_should():
    """The fixes for hostile input did not make the parser reject good articles: one with every field,
    and one whose emoji are written as a surrogate pair escape (as ensure_ascii JSON does), parse."""
    emoji = b'{"url":"https://a.example/e","text":"\\ud83d\\ude00 ' + STORY.encode() + b'"}'
    parsed = parse_article(emoji, max_bytes=10_000)
    assert isinstance(parsed, RawArticle) and parsed.text is not None and parsed.text.startswith("\U0001f600")
    good = {"url": "https://a.example/x", "id": 7, "title": "T", "text": STORY, "source": "a.example",
            "published_at": "2026-01-02T03:04:05Z", "language": "en", "tags": ["a"]}  # fmt: skip
    assert isinstance(parse_article(json.dumps(good).encode(), max_bytes=10_000), RawArticle)


def hostile_batch() -> list[bytes]:
    """Hostile messages interleaved with good articles, as one burst for the real worker."""
    good = [json.dumps({"url": f"https://good.example/{i}", "id": f"good-{i}",
                        "text": f"Report number {i}. " + STORY * 3}).encode() for i in range(10)]  # fmt: skip
    bad = [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"a":' * 40_000 + b"1" + b"}" * 40_000,
        # Over max_message_bytes (2 MB), within the broker's message.max.bytes (2.2 MB, docker-compose.yml).
        json.dumps({"url": "https://big.example/", "text": "x" * 2_100_000}).encode(),
        b'{"url":"https://a.example/","id":' + b"9" * 5000 + b',"text":"t"}',
        b"\xff\xfe\x00garbage" * 10_000,
        b'{"url":"https://s.example/\\ud800","text":"' + STORY.encode() + b'"}',
        b'{"url":"https://s.example/x","id":"\\udc00","text":"' + STORY.encode() + b'"}',
        b'{"url":"https://s.example/y","extra":["\\ud83d"],"text":"' + STORY.encode() + b'"}',
        json.dumps({"url": "https://[::1/x", "text": STORY}).encode(),
        json.dumps({"url": "https://a.example:99999/x", "text": STORY}).encode(),
        json.dumps({"url": "https://zw.example/", "id": "zw", "text": "\u200b\u202e" * 1000}).encode(),
        json.dumps(
            {"url": "https://bidi.example/", "id": "bidi", "text": "\u202e" + STORY + "\u2066"}
        ).encode(),
        json.dumps(
            {
                "url": "https://attr.example/",
                "id": "attr",
                "html": '<p class="' + "a" * 500_000 + '">' + STORY + "</p>",
            }
        ).encode(),
        json.dumps(
            {"url": "https://ent.example/", "id": "ent", "html": "<p>" + "&amp;" * 200_000 + "</p>"}
        ).encode(),
        pathological_page(),
        b"",
    ]
    return [m for pair in zip(good, bad, strict=False) for m in pair] + bad[len(good) :] + good[len(bad) :]


def test_hostile_messages_through_the_real_worker_each_get_one_decision(
    broker, settings_factory, worker_factory
):
    """A burst of bombs, broken encodings, bad URLs and a page slower than the time box, between good
    articles: every message gets one decision (rejections with a code and their bytes), the slow page
    is cut off with extraction_timeout, and the worker is still running."""
    from tests.reliability.conftest import Decisions, Sender, report

    settings = settings_factory(extraction_timeout_seconds=1.0)
    worker = worker_factory(settings)
    sender = Sender(broker.bootstrap, settings.topic_raw)
    decisions = Decisions(broker.bootstrap, settings)
    sent = sender.send(hostile_batch())
    result = decisions.wait_all_decided(sent, timeout=120, settle=2)
    result.name = "hostile input through the worker"
    codes = sorted(o.body["error"] for o in decisions.outputs if o.status == "rejected")
    result.notes.append(f"rejections: {', '.join(codes)}")
    report(result)
    assert result.violating == 0, result.failures()
    assert result.decided == len(sent)
    assert "extraction_timeout" in codes
    decided_good = {o.body["id"] for o in decisions.outputs if o.status != "rejected"}
    assert {f"good-{i}" for i in range(10)} <= decided_good  # the good articles around the bombs
    assert worker.running
    decisions.close()
    sender.close()
