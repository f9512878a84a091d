"""Pure text work: HTML to main text, encoding repair, normalisation, boilerplate, canonical URLs.

Nothing here does I/O. The worker runs :func:`clean_article` (in a time-boxed process pool for
HTML, see :mod:`streams.pipeline`), and the same function serves ``streams dedup``, ``streams eval``
and the benchmarks.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import ftfy
from ftfy import fixes as ftfy_fixes
from ftfy.badness import MOJIBAKE_CATEGORIES, is_bad
from ftfy.chardata import CONTROL_CHARS, HTML_ENTITY_RE, LIGATURES, WIDTH_MAP
from selectolax.lexbor import LexborHTMLParser

#: Query parameters that identify a campaign or a click, never the page.
TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "mc_cid", "mc_eid",
        "igshid", "ref", "ref_src", "ref_url", "cmpid", "ocid", "ncid", "_ga", "_gl", "spm",
        "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "utm_id", "utm_name",
    }
)  # fmt: skip
_TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hsa_", "at_")

_BULLET = re.compile(r"^\s*(?:[•◦▪▫●○■□‣⁃∙·*+\-–—]|\d{1,2}[.)])\s+")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
# The runs of _SPACES that are not already a single plain space (the only ones a substitution changes).
_SPACES_TO_FIX = re.compile(
    r"[\t\u00a0\u2000-\u200a\u202f\u205f\u3000][ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]*"
    r"| [ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+"
)
_INVISIBLE = re.compile(r"[\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\u00ad]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_BLANK_LINES = re.compile(r"\n{3,}")

# Lines a publisher wraps around the story: promos, share buttons, newsletter and copyright lines.
# They are matched only on short lines, so a real paragraph that mentions a newsletter stays.
_BOILERPLATE = re.compile(
    r"""(
        \bsubscribe\b | \bnewsletter\b | \bsign\ up\b | \bsign-up\b | \blike\ this\ (article|story)\b
      | \bshare\ (this|on|via)\b | \bfollow\ us\b | \bclick\ here\b | ©|\(c\)\s*\d{4} | \bcopyright\b
      | \ball\ rights\ reserved\b | ^\s*(read|see)\ (more|also|the\ full)\b | \bcontinue\ reading\b
      | \bread\ the\ (full|original)\b | \boriginally\ (published|appeared)\b | ^\s*advertisement\s*$
      | ^\s*related(\ (stories|articles|coverage))?\s*:? | \bget\ more\ from\b | \bdownload\ our\ app\b
      | \bcookies?\b.*\b(accept|policy|consent)\b | ^\s*(tags|topics|filed\ under)\s*:
    )""",
    re.IGNORECASE | re.VERBOSE,
)
_BOILERPLATE_MAX_CHARS = 220
# Every alternative of _BOILERPLATE contains one of these (lower case), so a line without any of them
# cannot match and is spared the regex. Python's case-insensitive matching also lets four non-ASCII
# letters stand for ASCII ones; lines with those always go to the regex (tests/unit/test_fast_paths.py).
_BOILERPLATE_WORDS = (
    "subscribe", "newsletter", "sign up", "sign-up", "like this ", "share this", "share on", "share via",
    "follow us", "click here", "©", "(c)", "copyright", "all rights reserved", "read more", "read also",
    "see more", "see also", "see the full", "continue reading", "read the full", "read the original",
    "originally published", "originally appeared", "advertisement", "related", "get more from",
    "download our app", "cookie", "tags", "topics", "filed under",
)  # fmt: skip
_CASE_FOLDS_TO_ASCII = frozenset("İıſK")

_DROP_TAGS = (
    "script", "style", "noscript", "template", "svg", "iframe", "form", "nav", "header", "footer",
    "aside", "button", "select", "figure", "figcaption",
)  # fmt: skip
_CHROME_ROLES = ("navigation", "banner", "contentinfo", "complementary")
_BLOCK_TAGS = "h1, h2, h3, h4, h5, h6, p, li, blockquote, pre, td"
_CONTAINER_HINTS = re.compile(
    r"(^|[\s_-])(cookie|consent|banner|promo|related|share|social|newsletter|subscribe|comments?|sidebar|"
    r"breadcrumbs?|byline|advert|ad|ads|popup|modal|footer|header|nav|menu)($|[\s_-])",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class CleanText:
    """The result of cleaning one article."""

    title: str
    text: str
    word_count: int


def canonical_url(url: str) -> str:
    """The URL that names a page, whatever campaign or crawl led to it.

    Lower-cases scheme and host, drops the default port, the fragment, tracking parameters and empty
    query values, sorts the remaining query, and removes a trailing slash from non-root paths.

    >>> canonical_url("HTTPS://News.Example.com/a/b/?utm_source=x&b=2&a=1#top")
    'https://news.example.com/a/b?a=1&b=2'
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    if host.startswith("www."):
        host = host[4:]
    port = parts.port if parts.port not in (None, 80, 443) else None
    netloc = f"{host}:{port}" if port else host
    path = re.sub(r"/{2,}", "/", parts.path or "/")
    if len(path) > 1:
        path = path.rstrip("/")
    query = sorted(
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=False)
        if k.lower() not in TRACKING_PARAMS and not k.lower().startswith(_TRACKING_PREFIXES)
    )
    return urlunsplit((scheme, netloc, path, urlencode(query), ""))


# Characters that ftfy's badness regex needs at least one of to match anything: every alternative of
# ftfy.badness.BADNESS_RE holds a class drawn only from these categories, or one of these literals.
# Curly quotes, dashes and bullets ("common" and punctuation) alone never make text "bad".
_PUNCTUATION_LIKE = ("common", "start_punctuation", "end_punctuation")
_MOJIBAKE_TRIGGER = re.compile(
    "["
    + "".join(v for k, v in MOJIBAKE_CATEGORIES.items() if k not in _PUNCTUATION_LIKE)
    + "ŒœÂÃÎÐ×ØÙàÄâó√≈вВГРСβΒΓΞΟā°²³"
    + "]"
)
_FTFY_ONLY = frozenset("\x1bÃÂ")  # terminal escapes, and a badness pattern anchored at ^
_LIGATURE_CHARS = frozenset(map(chr, LIGATURES))
_WIDTH_CHARS = frozenset(map(chr, WIDTH_MAP))
_CONTROL_CHARS = frozenset(map(chr, CONTROL_CHARS))


def _ftfy_pass(text: str, chars: frozenset[str] | set[str]) -> str:
    # fix_and_explain's character fixers, in its order; the three translations are skipped when the
    # text has none of their characters (str.translate is slow on non-ASCII text).
    text = ftfy_fixes.fix_c1_controls(text)
    if not chars.isdisjoint(_LIGATURE_CHARS):
        text = ftfy_fixes.fix_latin_ligatures(text)
    if not chars.isdisjoint(_WIDTH_CHARS):
        text = ftfy_fixes.fix_character_width(text)
    text = ftfy_fixes.uncurl_quotes(text)
    text = ftfy_fixes.fix_line_breaks(text)
    text = ftfy_fixes.fix_surrogates(text)
    text = ftfy_fixes.remove_terminal_escapes(text)
    if not chars.isdisjoint(_CONTROL_CHARS):
        text = ftfy_fixes.remove_control_chars(text)
    return unicodedata.normalize("NFKC", text)


def fix_text_fast(text: str) -> str:
    """``ftfy.fix_text(text, normalization="NFKC")``, about ten times faster on text without mojibake.

    ftfy works line by line, and on each line loops (unescape HTML, fix the encoding, eight
    character fixers, NFKC) until nothing changes. When the text has no HTML entity (nothing to
    unescape), no escape character, and ftfy's own ``is_bad`` finds no mojibake in it, the first two steps do
    nothing; the rest are per-character maps, and NFKC never reaches across a newline, so the loop
    can run over the whole text at once with the same result. ``Ã``/``Â`` are excluded because one
    of ftfy's badness patterns is anchored at the start of a line. Anything else goes to ftfy itself;
    tests/unit/test_fast_paths.py checks both agree.
    """
    current = text
    while True:
        chars = set(current)
        if (
            len(current) > 1_000_000  # ftfy would cut such a line into segments of its own
            or not _FTFY_ONLY.isdisjoint(chars)
            or ("&" in chars and HTML_ENTITY_RE.search(current) is not None)
            or (_MOJIBAKE_TRIGGER.search(current) is not None and is_bad(current))
        ):
            return ftfy.fix_text(text, normalization="NFKC")
        fixed = _ftfy_pass(current, chars)
        if fixed == current:
            return fixed
        current = fixed


def repair_text(text: str) -> str:
    """Fix mojibake and odd Unicode, then normalise to NFKC with plain spaces and no invisibles."""
    text = fix_text_fast(text)
    text = _INVISIBLE.sub("", text)
    text = _CONTROL.sub(" ", text)
    return unicodedata.normalize("NFKC", text)


def normalise_lines(text: str) -> list[str]:
    """Split into trimmed, non-empty lines with one kind of bullet and single spaces."""
    lines = []
    # One substitution over the whole text: runs of spaces never span a line break.
    for raw in _SPACES_TO_FIX.sub(" ", text.replace("\r\n", "\n").replace("\r", "\n")).split("\n"):
        line = raw.strip()
        if not line:
            lines.append("")
            continue
        lines.append(_BULLET.sub("- ", line) if _BULLET.match(line) else line)
    return lines


def is_boilerplate(line: str, words: Sequence[str] = _BOILERPLATE_WORDS) -> bool:
    """True for a short promo, share, newsletter, copyright or read-more line.

    ``words``, if given, are the boilerplate words found anywhere in the text the line comes from.
    """
    if len(line) > _BOILERPLATE_MAX_CHARS:
        return False
    if _CASE_FOLDS_TO_ASCII.isdisjoint(line):
        lowered = line.lower()
        if not any(word in lowered for word in words):
            return False
    return _BOILERPLATE.search(line) is not None


def strip_boilerplate(lines: list[str]) -> list[str]:
    """Drop boilerplate lines; keep paragraph breaks but no leading, trailing or doubled blanks."""
    # The boilerplate words of the whole text, looked for once: a line can only hold those.
    lowered = "\n".join(lines).lower()
    words = [word for word in _BOILERPLATE_WORDS if word in lowered]
    kept = [line for line in lines if not line or not is_boilerplate(line, words)]
    text = "\n".join(kept).strip("\n")
    return _BLANK_LINES.sub("\n\n", text).split("\n") if text else []


def html_to_text(html: str, extractor: str = "selectolax") -> tuple[str, str]:
    """The main text and the title of an HTML page.

    ``selectolax`` (the default) keeps the block text of the ``<article>`` or ``<main>`` element (else
    ``<body>``) after dropping scripts, navigation, asides, footers and containers whose class or id
    says promo, share, related or cookie. ``trafilatura`` uses that library's extractor instead; it
    is slower (see docs/performance.md) and used as a fallback when the fast path finds too little.
    """
    if extractor == "trafilatura":
        return _trafilatura_text(html), _html_title(html)
    tree = LexborHTMLParser(html)
    title = _html_title_from_tree(tree)
    tree.strip_tags(list(_DROP_TAGS))
    for node in tree.css("[class], [id], [role]"):
        hint = " ".join(filter(None, (node.attributes.get("class"), node.attributes.get("id"))))
        role = node.attributes.get("role") or ""
        is_chrome = _CONTAINER_HINTS.search(hint) or role in _CHROME_ROLES
        if is_chrome and node.tag not in ("html", "body", "main", "article"):
            node.decompose()
    root = tree.css_first("article") or tree.css_first("main") or tree.body or tree.root
    if root is None:
        return "", title
    blocks = [node.text(separator=" ", strip=True) for node in root.css(_BLOCK_TAGS)]
    text = "\n\n".join(b for b in blocks if b)
    if len(text) < 200:
        text = root.text(separator="\n", strip=True)
        if len(text) < 200:
            text = _trafilatura_text(html) or text
    return text, title


def _html_title_from_tree(tree: LexborHTMLParser) -> str:
    for selector in ("h1", "title", 'meta[property="og:title"]'):
        node = tree.css_first(selector)
        if node is None:
            continue
        value = node.attributes.get("content") if node.tag == "meta" else node.text(strip=True)
        if value:
            return value.strip()
    return ""


def _html_title(html: str) -> str:
    return _html_title_from_tree(LexborHTMLParser(html))


def _trafilatura_text(html: str) -> str:
    import trafilatura  # imported lazily: it loads lxml and its models, which cost start-up time

    return trafilatura.extract(html, include_comments=False, include_tables=False, favor_precision=True) or ""


def clean_article(
    *, title: str, text: str | None, html: str | None, max_chars: int, extractor: str = "selectolax"
) -> CleanText:
    """Clean one article: HTML extraction if needed, encoding repair, normalisation, boilerplate.

    Args:
        title: the title as sent (an HTML page's own title is used when this is empty).
        text: plain text, preferred when given.
        html: a full page, used when there is no text.
        max_chars: the cleaned text is cut to this many characters.
        extractor: ``selectolax`` or ``trafilatura``.
    """
    if text and text.strip():
        body = text
    else:
        body, page_title = html_to_text(html or "", extractor)
        title = title or page_title
    body = body[: max_chars * 2]
    lines = strip_boilerplate(normalise_lines(repair_text(body)))
    cleaned = "\n".join(lines)[:max_chars]
    clean_title = " ".join(normalise_lines(repair_text(title))).strip()
    return CleanText(title=clean_title, text=cleaned, word_count=len(cleaned.split()))
