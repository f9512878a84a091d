"""Hostile input: fuzzed bytes, JSON and HTML never raise; every message becomes an article or a rejection.

The property is checked on the whole pure path the worker runs for a message: parse, clean and
fingerprint (:func:`streams.dedup.prepare`), then the index arguments and the published JSON of the
decision (a UTF-8 encoding error there would make the worker retry a batch forever).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator

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
@given(st.text(ANY_CHAR, max_size=500), st.sampled_from(["resiliparse", "selectolax", "trafilatura"]))
def test_cleaning_arbitrary_html_never_raises(markup: str, extractor: str):
    """clean_article on arbitrary text as HTML (any characters, surrogates included) with every extractor."""
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
    (4,000 levels 0.05 s, 16,000 levels 0.7 s; 80,000 levels is about 20 s). The HTML pre-scan refuses
    it (too_large) before it is parsed."""
    return json.dumps({"url": "https://slow.example/page", "html": "<div>" * depth + STORY}).encode()


def slow_text(article_id: str = "slow") -> bytes:
    """A 1.8 MB text of U+FDFA (18 characters after NFKC) and mojibake on every line: 5.5 to 14 s of
    cleaning without a budget. Longer than INLINE_TEXT_CHARS, it is cleaned in the time-boxed process."""
    text = "\ufdfaÃ©\n" * 200_000
    return json.dumps(
        {"url": "https://slow.example/text", "id": article_id, "text": text}, ensure_ascii=False
    ).encode()


def test_a_message_slower_than_the_time_box_is_rejected_with_its_id_and_the_next_still_decided():
    """The real extraction pool: the slow text is cut off at the time box with extraction_timeout
    carrying its id, the pool is replaced, and the next page is cleaned normally; a page nested too
    deep is refused by the pre-scan (too_large) with its id."""
    engine = Deduplicator(Settings(extraction_timeout_seconds=1.0), index=None)  # type: ignore[arg-type]
    normal = json.dumps(
        {"url": "https://ok.example/", "html": f"<article><p>{STORY * 3}</p></article>"}
    ).encode()
    from streams.models import SourcePosition

    deep = json.dumps({"url": "https://deep.example/", "id": "deep", "html": "<div>" * 80_000}).encode()
    try:
        first, slow, after, nested = asyncio.run(
            engine.prepare_many([(normal, SourcePosition()), (slow_text(), SourcePosition()),
                                 (normal, SourcePosition()), (deep, SourcePosition())])
        )  # fmt: skip
    finally:
        engine.close()
    assert isinstance(first, PreparedArticle)
    assert isinstance(slow, Rejection) and (slow.error, slow.id) == ("extraction_timeout", "slow")
    assert isinstance(after, PreparedArticle)
    assert isinstance(nested, Rejection) and (nested.error, nested.id) == ("too_large", "deep")


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
        json.dumps({"url": "https://big.example/", "text": "x" * 2_500_000}).encode(),
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
        slow_text(),
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
    timed_out = [
        o.body
        for o in decisions.outputs
        if o.status == "rejected" and o.body["error"] == "extraction_timeout"
    ]
    assert all(body["id"] for body in timed_out)  # the id was readable: the rejection carries it
    decided_good = {o.body["id"] for o in decisions.outputs if o.status != "rejected"}
    assert {f"good-{i}" for i in range(10)} <= decided_good  # the good articles around the bombs
    assert worker.running
    decisions.close()
    sender.close()


def _strict_json(body: bytes) -> dict:
    def refuse(name: str) -> None:
        raise ValueError(f"{name} is not JSON")

    decoded = json.loads(body, parse_constant=refuse)
    assert isinstance(decoded, dict)
    return decoded


def _msg(path: str, **fields: object) -> bytes:
    return json.dumps({"url": "https://hostile.example/" + path, **fields}, ensure_ascii=False).encode()


def _with_number(article_id: str, number: bytes) -> bytes:
    return _msg(article_id, id=article_id, text=STORY)[:-1] + b',"x":' + number + b"}"


def worst_inputs() -> list[tuple[str, bytes]]:
    """The hostile cases of issue 18, each named (docs/guarantees.md gives what each one costs)."""
    return [
        ("U+FDFA and mojibake text, 1.8 MB", slow_text("fdfa")),
        ("U+FDFA text at the inline limit", _msg("fs", id="fdfa-small", text="\ufdfaÃ©\n" * 2048)),
        ("100k nested divs", _msg("d", id="divs", html="<div>" * 100_000)),
        (
            "1,900 nested divs (under the pre-scan limit)",
            _msg("d2", id="divs-ok", html="<div>" * 1_900 + STORY),
        ),
        ("250k tags", _msg("t", id="tags", html="<b>x</b>" * 125_001)),
        ("entity flood", _msg("e", id="ent", html="<p>" + "&amp;" * 300_000)),
        ("deep JSON", b"[" * 500_000 + b"]" * 500_000),
        ("1e400", _with_number("inf", b"1e400")),
        ("integer beyond 64 bits", _with_number("big", b"9" * 40)),
        ("id true", _msg("b", id=True, text=STORY)),
        ("NUL in the id", _msg("z", id="a\0b", text=STORY)),
        ("id of 600 bytes", _msg("l", id="x" * 600, text=STORY)),
        (
            "URL with credentials",
            json.dumps({"url": "https://u:pw@hostile.example/c", "text": STORY}).encode(),
        ),
        ("URL with a newline", _msg("a\nb", text=STORY)),
        ("IDNA host", json.dumps({"url": "https://BÜCHER.example/x", "text": STORY}).encode()),
        ("numbers only", _msg("num", id="num", text="1 - 0, 2:3; 45.6%\n" * 40)),
    ]


class BudgetedEngine:
    """The worker's preparation (inline text, the time-boxed process for long text and HTML) without an
    index: every input becomes one decision (a unique verdict stands in for the index)."""

    def __init__(self) -> None:
        self.engine = Deduplicator(Settings(extraction_timeout_seconds=2.0), index=None)  # type: ignore[arg-type]

    def decide(self, payload: bytes) -> tuple[dict, float]:
        from streams.models import SourcePosition

        start = time.perf_counter()
        (prepared,) = asyncio.run(self.engine.prepare_many([(payload, SourcePosition())]))
        seconds = time.perf_counter() - start
        if isinstance(prepared, Rejection):
            return _strict_json(encode_decision(prepared)) | {"status": "rejected"}, seconds
        verdict = IndexVerdict(status="unique", sequence=1, replayed=False, decided_at=time.time())
        return _strict_json(encode_decision(to_decision(prepared, verdict))) | {"status": "unique"}, seconds

    def close(self) -> None:
        self.engine.close()


#: Per input, a functional bound: the time box (2 s) plus starting a new extraction process on a busy
#: machine. Without the budgets, the U+FDFA text took 5.5-14 s and 100k nested divs about 50 s.
PER_INPUT_SECONDS = 15.0


@pytest.fixture(scope="module")
def budgeted() -> Iterator[BudgetedEngine]:
    engine = BudgetedEngine()
    yield engine
    engine.close()


@pytest.mark.parametrize(("name", "payload"), worst_inputs(), ids=[n for n, _ in worst_inputs()])
def test_each_worst_input_gets_one_strict_json_decision_within_its_budget(
    budgeted, name: str, payload: bytes
):
    """Every case of the hostile corpus: one decision, strict JSON (no NaN/Infinity), the id on a
    rejection whenever the message had a readable one, and a bounded time."""
    body, seconds = budgeted.decide(payload)
    assert seconds < PER_INPUT_SECONDS, (name, seconds)
    if body["status"] == "rejected":
        readable_id = parse_article(payload, max_bytes=SETTINGS.max_message_bytes * 10)
        if isinstance(readable_id, RawArticle):
            assert body["id"] == readable_id.id, name
    else:
        assert "pw@" not in body["url"] and "\n" not in body["url"]


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(ARTICLE, st.booleans())
def test_fuzzed_articles_get_one_strict_json_decision_within_the_budget(
    budgeted, article: dict, ascii_only: bool
):
    """Hypothesis articles through the same budgeted path: exactly one strict-JSON decision each."""
    body, seconds = budgeted.decide(as_json(article, ascii_only))
    assert body["status"] in ("unique", "rejected")
    assert seconds < PER_INPUT_SECONDS


def test_metrics_answer_within_a_second_while_the_worker_takes_the_worst_inputs(
    broker, settings_factory, worker_factory
):
    """The real worker gets the worst inputs (four 1.8 MB U+FDFA texts, 100k nested divs, a tag flood,
    a JSON nesting bomb) while /metrics is scraped every quarter second: every scrape answers within
    1 s (a functional bound: the compose health check allows 5 s), and every input gets one decision."""
    import threading
    import urllib.request

    from tests.reliability.conftest import Decisions, Sender, report

    settings = settings_factory()
    worker = worker_factory(settings)
    port = worker.env["STREAMS_WEB_PORT"]
    sender = Sender(broker.bootstrap, settings.topic_raw)
    decisions = Decisions(broker.bootstrap, settings)
    wait_for_metrics(port)
    slowest: list[float] = []
    failures: list[str] = []
    stop = threading.Event()

    def scrape() -> None:
        while not stop.is_set():
            start = time.perf_counter()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=1.0) as response:
                    response.read()
                slowest.append(time.perf_counter() - start)
            except Exception as exc:  # a timeout (or anything else) is a failed scrape
                failures.append(f"{type(exc).__name__}: {exc}")
            stop.wait(0.25)

    scraper = threading.Thread(target=scrape, daemon=True)
    scraper.start()
    payloads = [slow_text(f"fdfa-{i}") for i in range(4)] + [p for n, p in worst_inputs()[2:]]
    try:
        sent = sender.send(payloads)
        result = decisions.wait_all_decided(sent, timeout=180, settle=2)
    finally:
        stop.set()
        scraper.join(timeout=5)
    result.name = "worst inputs while scraping /metrics"
    result.notes.append(
        f"{len(slowest)} scrapes, slowest {max(slowest, default=0):.3f}s, failed {len(failures)}"
    )
    report(result)
    assert result.violating == 0, result.failures()
    assert result.decided == len(sent)
    assert not failures, failures[:3]
    assert len(slowest) >= 4
    for output in decisions.outputs:
        _strict_json(json.dumps(output.body).encode())
    decisions.close()
    sender.close()


def wait_for_metrics(port: str, timeout: float = 60.0) -> None:
    """Until the worker's web server answers (it starts after the process does)."""
    import urllib.request

    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
