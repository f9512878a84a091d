"""The crawler side's contract check (streams.client.article_payload), without a broker."""

from __future__ import annotations

import json

import pytest

from streams.client import InvalidArticle, article_payload
from streams.fingerprint import article_id_for


def test_a_valid_article_becomes_its_key_and_json_value() -> None:
    key, value = article_payload({"id": "a1", "url": "https://a.example/x", "text": "Some text."})
    assert key == b"a1"
    assert json.loads(value) == {"id": "a1", "url": "https://a.example/x", "text": "Some text."}


def test_without_an_id_the_key_is_the_id_the_worker_would_give() -> None:
    key, _ = article_payload({"url": "https://a.example/x", "html": "<p>x</p>"})
    assert key == article_id_for("https://a.example/x").encode()


@pytest.mark.parametrize(
    ("article", "reason"),
    [
        ([1, 2], "a JSON object, not list"),
        ("a string", "a JSON object, not str"),
        (3, "a JSON object, not int"),
        (None, "a JSON object, not NoneType"),
        ({"text": "no url"}, "needs a 'url'"),
        ({"url": "  ", "text": "x"}, "needs a 'url'"),
        ({"url": "https://a.example/x"}, "neither 'text' nor 'html'"),
    ],
)
def test_what_breaks_the_contract_is_refused_with_the_reason(article: object, reason: str) -> None:
    with pytest.raises(InvalidArticle, match=reason):
        article_payload(article)  # type: ignore[arg-type]


def test_an_article_over_the_cap_is_refused() -> None:
    with pytest.raises(InvalidArticle, match="over the 100 byte cap"):
        article_payload({"url": "https://a.example/x", "text": "x" * 200}, max_bytes=100)
