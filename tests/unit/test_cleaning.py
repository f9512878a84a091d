"""Pure text cleaning: HTML, encoding damage, bullets, boilerplate and canonical URLs."""

from __future__ import annotations

import pytest

from streams.cleaning import canonical_url, clean_article, html_to_text, is_boilerplate, repair_text


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTPS://News.Example.com/a/b/?utm_source=x&b=2&a=1#top", "https://news.example.com/a/b?a=1&b=2"),
        ("https://www.example.com/x?fbclid=1&gclid=2", "https://example.com/x"),
        ("http://example.com:80/", "http://example.com/"),
        ("https://example.com:8443/a", "https://example.com:8443/a"),
        ("https://example.com/a?id=7&utm_campaign=s&ref=tw", "https://example.com/a?id=7"),
    ],
)
def test_canonical_url_drops_tracking_and_noise(url: str, expected: str):
    """Scheme and host are lower-cased; fragments, tracking parameters and default ports go."""
    assert canonical_url(url) == expected


def test_mojibake_is_repaired_to_what_the_clean_text_gives():
    """UTF-8 read as cp1252 ("â€œ") cleans to the same text as the undamaged original."""
    original = "“Why it matters — the council’s plan, explained"
    broken = original.encode("utf-8").decode("cp1252")
    assert "â€" in broken
    assert repair_text(broken) == repair_text(original)
    assert "â" not in repair_text(broken)


def test_invisible_characters_are_removed():
    """Zero-width and bidi controls do not survive cleaning."""
    assert repair_text("news\u200b\u202eroom\ufeff") == "newsroom"


@pytest.mark.parametrize(
    "line",
    [
        "Subscribe to our newsletter for more stories like this",
        "Like this article? Share it with your friends",
        "© 2026 Example Media. All rights reserved.",
        "Read more: the full story at example.com",
        "Follow us on Twitter and Facebook",
        "Advertisement",
    ],
)
def test_publisher_boilerplate_lines_are_recognised(line: str):
    """Promo, share, copyright and read-more lines are boilerplate."""
    assert is_boilerplate(line)


def test_a_long_paragraph_mentioning_a_newsletter_is_kept():
    """Only short lines count as boilerplate: a real paragraph stays even if it says 'newsletter'."""
    paragraph = "The company said its newsletter business grew quickly last year. " * 5
    assert not is_boilerplate(paragraph)


def test_clean_article_normalises_bullets_and_drops_promos():
    """Bullets become '- ', promo lines go, paragraphs stay."""
    text = "Subscribe to our newsletter!\n\n• First point\n* Second point\n\nBody text stays here."
    cleaned = clean_article(title=" A  title ", text=text, html=None, max_chars=10_000)
    assert cleaned.text == "- First point\n- Second point\n\nBody text stays here."
    assert cleaned.title == "A title"


def test_html_extraction_keeps_the_article_and_drops_navigation():
    """Scripts, navigation, asides, footers and cookie banners are not part of the text."""
    html = """<!doctype html><html><head><title>T | Site</title><script>var x=1;</script></head><body>
    <header><nav>Home | Sport | Tech</nav></header><div class="cookie-banner">We use cookies. Accept</div>
    <main><article><h1>Council backs libraries</h1><p>The council approved a budget for libraries on
    Tuesday after a long debate about opening hours and staff.</p><p>Parents welcomed the plan, which adds
    evening hours at twelve branches and a mobile library for villages.</p></article>
    <aside class="related"><a href="/x">Other headline</a></aside></main><footer>© 2026 Site</footer>
    </body></html>"""
    text, title = html_to_text(html)
    assert title == "Council backs libraries"
    assert "approved a budget" in text and "mobile library" in text
    assert (
        "Sport" not in text and "cookies" not in text and "Other headline" not in text and "var x" not in text
    )
