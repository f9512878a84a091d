"""Pure text cleaning: HTML, encoding damage, bullets, boilerplate and canonical URLs."""

from __future__ import annotations

import pytest

from streams.cleaning import (
    canonical_url,
    clean_article,
    extract_html,
    html_to_text,
    is_boilerplate,
    repair_text,
)


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


STORY_SENTENCES = [
    f"Sentence {i} of the story says the council approved a budget for libraries after a long debate."
    for i in range(8)
]


def page(body: str) -> str:
    return f"<!doctype html><html><head><title>Libraries</title></head><body>{body}</body></html>"


def test_html_extraction_drops_rails_and_boxes_around_the_story():
    """Related-story and most-popular rails, a newsletter box and a contact form are not the story."""
    html = page(
        "<main><article>" + "".join(f"<p>{s}</p>" for s in STORY_SENTENCES) + "</article>"
        "<div class='related-stories'><ul><li><a href='/a'>Ferry fares rise again</a></li></ul></div>"
        "<section class='most-popular'><a href='/b'>Celebrity chef opens bakery</a></section>"
        "<div class='newsletter-signup'>Get our morning briefing in your inbox</div>"
        "<form><p>Thanks for contacting us. We will reply within two days.</p></form></main>"
    )
    text, _ = html_to_text(html)
    assert all(s in text for s in STORY_SENTENCES)
    for chrome in ("Ferry fares", "Celebrity chef", "morning briefing", "Thanks for contacting"):
        assert chrome not in text


def test_a_story_inside_a_container_with_a_chrome_word_is_kept():
    """A story whose own container's class holds a skipped word (share, comment) is not deleted with it."""
    html = page("<div class='share-wrapper'>" + "".join(f"<p>{s}</p>" for s in STORY_SENTENCES) + "</div>")
    text, _, used = extract_html(html)
    assert used == "resiliparse"  # found by the fast path, not by the trafilatura fallback
    assert all(s in text for s in STORY_SENTENCES)


def test_a_story_in_line_breaks_or_spans_is_extracted():
    """A div of <br>-separated lines, and paragraphs written as spans, are story text like <p>."""
    with_breaks = page("<div id='story'>" + "<br><br>".join(STORY_SENTENCES) + "</div>")
    with_spans = page(
        "<div>" + "".join(f"<span class='para'>{s}</span><br>" for s in STORY_SENTENCES) + "</div>"
    )
    for html in (with_breaks, with_spans):
        text, _ = html_to_text(html)
        assert all(s in text for s in STORY_SENTENCES)
        assert "approved a budget for libraries after a long debate.\n" in text  # still one line each


@pytest.mark.parametrize("extractor", ["resiliparse", "selectolax", "trafilatura"])
def test_every_extractor_names_itself(extractor: str):
    """extract_html says which extractor produced the text (streams clean reports it)."""
    html = page("<article>" + "".join(f"<p>{s}</p>" for s in STORY_SENTENCES) + "</article>")
    text, _, used = extract_html(html, extractor)
    assert used == extractor
    assert STORY_SENTENCES[0] in text
