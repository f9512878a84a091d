"""Hostile input at the edge: numbers, ids and URLs that parse_article must refuse or make safe, the
budgets of cleaning, and articles without content words."""

from __future__ import annotations

import json

import pytest

from streams import cleaning
from streams.agents import encode_decision
from streams.cleaning import MAX_HTML_DEPTH, canonical_url, clean_article, html_budget_problem
from streams.cli import strip_labels
from streams.dedup import PrepareConfig, PreparedArticle, prepare
from streams.fingerprint import article_id_for, fingerprint
from streams.index import article_args
from streams.metrics import SourceLabels
from streams.models import MAX_ID_BYTES, MAX_URL_BYTES, RawArticle, Rejection, parse_article
from streams.settings import Settings

STORY = (
    "The harbour authority said on Monday that the new container terminal would open in the spring, "
    "two years later than planned, after a dispute over dredging permits delayed the work. "
)
CONFIG = PrepareConfig.from_settings(Settings())


def parse(payload: bytes) -> RawArticle | Rejection:
    return parse_article(payload, max_bytes=3_000_000)


def rejected(payload: bytes) -> Rejection:
    result = parse(payload)
    assert isinstance(result, Rejection), result
    return result


def article(**fields: object) -> bytes:
    return json.dumps({"url": "https://a.example/x", "text": STORY, **fields}).encode()


@pytest.mark.parametrize(
    "number", [b"1e400", b"-1e400", b"18446744073709551616", b"-9223372036854775809", b"1" + b"0" * 30]
)
def test_numbers_without_a_finite_64_bit_value_are_rejected_as_invalid_field(number: bytes):
    """1e400 is not accepted as infinity, nor an integer beyond 64 bits (orjson cannot publish it, and
    the fallback wrote Infinity, which is not JSON)."""
    payload = b'{"url":"https://a.example/x","text":"' + STORY.encode() + b'","n":' + number + b"}"
    assert rejected(payload).error == "invalid_field"


def test_numbers_at_the_64_bit_edges_pass_and_publish_as_strict_json():
    """The largest unsigned and smallest signed 64-bit integers and the largest double are kept."""
    parsed = parse(article(big=2**64 - 1, small=-(2**63), wide=1.7976931348623157e308))
    assert isinstance(parsed, RawArticle)
    assert parsed.extra == {"big": 2**64 - 1, "small": -(2**63), "wide": 1.7976931348623157e308}


@pytest.mark.parametrize("value", [True, False, 1.5, ["a"], {"a": 1}])
def test_an_id_that_is_not_a_string_or_an_integer_is_rejected(value: object):
    """ "id": true no longer becomes "True"."""
    assert rejected(article(id=value)).error == "invalid_field"


def test_an_integer_id_is_its_decimal_string():
    parsed = parse(article(id=42))
    assert isinstance(parsed, RawArticle) and parsed.id == "42"


@pytest.mark.parametrize("value", ["a\x00b", "a\nb", "\x7f", "a\x85b"])
def test_an_id_with_a_control_character_is_rejected(value: str):
    """A NUL (any control character) in an id is refused, not kept in one place and stripped in another."""
    assert rejected(article(id=value)).error == "invalid_field"


def test_an_id_over_the_limit_is_rejected_not_cut():
    """Two long ids that share their first 2,048 characters were cut to one id; now both are refused."""
    assert isinstance(parse(article(id="x" * MAX_ID_BYTES)), RawArticle)
    result = rejected(article(id="x" * (MAX_ID_BYTES + 1)))
    assert result.error == "invalid_field" and "longer than" in result.message
    assert rejected(article(id="é" * (MAX_ID_BYTES // 2 + 1))).error == "invalid_field"  # bytes, not chars


def test_a_url_over_the_limit_is_rejected():
    long_url = "https://a.example/" + "p" * MAX_URL_BYTES
    assert rejected(article(url=long_url)).error == "invalid_url"


@pytest.mark.parametrize("url", ["https://a.example/x\ny", "https://a.example/\x00", "https://a.exa\tmple/"])
def test_a_url_with_a_control_character_is_rejected(url: str):
    assert rejected(article(url=url)).error == "invalid_url"


def test_url_credentials_are_removed_from_everything_published_and_stored():
    """user:password@ is gone from the article's url, its canonical URL and the index arguments."""
    result = prepare(article(url="https://user:s3cret@a.example/x?q=1"), CONFIG)
    assert isinstance(result, PreparedArticle)
    assert result.raw.url == "https://a.example/x?q=1"
    assert "s3cret" not in result.canonical_url
    args = article_args(result.fingerprint, result.article_id, result.raw.url, 8, 16)
    assert not any(isinstance(a, str) and "s3cret" in a for a in args)
    assert result.article_id == article_id_for("https://a.example/x?q=1")


def test_hosts_are_idna_normalised():
    """BÜCHER.example and xn--bcher-kva.example are one host: one canonical URL, one default id."""
    assert canonical_url("https://BÜCHER.example/a") == canonical_url("https://xn--bcher-kva.example/a")
    assert canonical_url("https://BÜCHER.example/a") == "https://xn--bcher-kva.example/a"
    assert article_id_for("https://bücher.example/a") == article_id_for("https://XN--BCHER-KVA.example/a")


def test_a_deeply_nested_line_does_not_crash_strip_labels():
    """streams dedup read the file with strip_labels first: one nested line raised RecursionError."""
    line = b"[" * 200_000 + b"]" * 200_000
    assert strip_labels(line) == (line, None)
    assert rejected(line).error == "invalid_json"


def test_texts_without_content_words_have_no_bands_and_url_bound_exact_keys():
    """Two different number-only pages share no exact key and cannot be near candidates; a page of
    function words only is treated the same."""
    params = Settings().fingerprint_params()
    a = fingerprint("1 - 0\n2:3 4.5%\n" * 10, "https://a.example/1", params)
    b = fingerprint("7 - 7\n9:9 1.1%\n" * 10, "https://a.example/2", params)
    c = fingerprint("the and of to in it is was", "https://a.example/3", params)
    assert a.shingle_count == b.shingle_count == c.shingle_count == 0
    assert len({a.exact_key, b.exact_key, c.exact_key}) == 3
    assert a.band_hashes == b.band_hashes == c.band_hashes == ()
    assert fingerprint("1 - 0", "https://a.example/1?utm_source=x", params).exact_key == a.exact_key


def test_cleaning_is_cut_again_after_nfkc_expands_the_text(monkeypatch: pytest.MonkeyPatch):
    """U+FDFA is 18 characters after NFKC: the steps after the repair never see more than twice
    max_chars (they saw 18 times that)."""
    seen: list[int] = []
    original = cleaning.normalise_lines

    def spy(text: str, *, nfkc: bool = False) -> list[str]:
        seen.append(len(text))
        return original(text, nfkc=nfkc)

    monkeypatch.setattr(cleaning, "normalise_lines", spy)
    cleaned = clean_article(title="", text="\ufdfa\n" * 5_000, html=None, max_chars=1_000)
    assert len(cleaned.text) <= 1_000
    assert seen and max(seen) <= 2_000


def test_the_html_pre_scan_refuses_deep_nesting_and_tag_floods_and_passes_real_structure():
    deep = "<div>" * (MAX_HTML_DEPTH + 1) + "x"
    assert "nested" in (html_budget_problem(deep) or "")
    assert "tags" in (html_budget_problem("<b>x</b>" * 20, max_tags=30) or "")
    page = "<html><head><meta charset=utf-8><link rel=x></head><body>" + "<p>a<br>b<img src=x></p>" * 5000
    assert html_budget_problem(page + "</body></html>") is None


def test_a_page_nested_too_deep_is_rejected_with_its_id_before_parsing():
    """100k nested divs cost the parser about 50 s: refused by the pre-scan, as too_large, with the id."""
    payload = json.dumps({"url": "https://a.example/x", "id": "deep", "html": "<div>" * 100_000 + STORY})
    result = prepare(payload.encode(), CONFIG)
    assert isinstance(result, Rejection)
    assert (result.error, result.id) == ("too_large", "deep")
    json.loads(encode_decision(result))


def test_source_labels_follow_the_current_top_sources():
    """The first sources seen lose their labels once others are more frequent; dropped labels are
    reported so their series can be removed, and at most ``limit`` sources are labelled."""
    dropped: list[str] = []
    labels = SourceLabels(2, refresh_every=100, on_drop=dropped.append)
    assert labels("early-1") == "early-1" and labels("early-2") == "early-2"
    assert labels("big") == "other"
    for _ in range(300):
        labels("big")
        labels("bigger")
    assert labels("big") == "big" and labels("bigger") == "bigger"
    assert labels("early-1") == "other"
    assert sorted(dropped) == ["early-1", "early-2"]


@pytest.mark.parametrize(
    "payload",
    [
        b'{"url":"https://a.example/x","id":"mine","text":"t","n":1e400}',
        b'{"url":"https://a.example/x\\ny","id":"mine","text":"t"}',
        b'{"url":"ftp://a.example/x","id":"mine","text":"t"}',
        b'{"id":"mine","text":"t"}',
    ],
)
def test_a_rejection_carries_the_id_when_it_was_readable(payload: bytes):
    """A bad number or URL does not lose the message's own id on its rejection."""
    assert rejected(payload).id == "mine"
