"""Pure text work: HTML to main text, encoding repair, normalisation, boilerplate, canonical URLs.

This is the cleaning policy: what is extracted, repaired, removed and normalised, and in which order
(:func:`clean_article`, :func:`repair_text`). The encoding repair itself, ftfy's result computed
faster, is :mod:`streams.mojibake`.

Nothing here does I/O. The worker runs :func:`clean_article` (in a time-boxed process pool for HTML,
see :class:`streams.dedup.Deduplicator`), and the same function serves ``streams dedup``,
``streams eval`` and the benchmarks.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import numpy as np
from selectolax.lexbor import LexborHTMLParser

from streams import mojibake

try:  # the compiled text core (setup.py builds it where a C compiler is found); fingerprint uses it too
    from streams import _textcore as _textcore  # (re-exported: fingerprint takes it from here)
except ImportError:  # pragma: no cover - depends on the build
    _textcore = None  # type: ignore[assignment]  # the stub types the module; None: not built

#: Query parameters that identify a campaign or a click, never the page.
TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "mc_cid", "mc_eid",
        "igshid", "ref", "ref_src", "ref_url", "cmpid", "ocid", "ncid", "_ga", "_gl", "spm",
        "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "utm_id", "utm_name",
    }
)  # fmt: skip
_TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hsa_", "at_")


def _char_class(chars: frozenset[str]) -> str:
    """The inside of a regex character class matching exactly ``chars``."""
    return "".join(re.escape(char) for char in sorted(chars))


_BULLET = re.compile(r"^\s*(?:[•◦▪▫●○■□‣⁃∙·*+\-–—]|\d{1,2}[.)])\s+")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
# The runs of _SPACES that are not already a single plain space (the only ones a substitution changes).
_SPACES_TO_FIX = re.compile(
    r"[\t\u00a0\u2000-\u200a\u202f\u205f\u3000][ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]*"
    r"| [ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+"
)
# The characters of _SPACES other than the plain space.
_ODD_SPACES = re.compile(r"[\t\u00a0\u2000-\u200a\u202f\u205f\u3000]")
_INVISIBLE = re.compile(r"[\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\u00ad]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_INVISIBLE_OR_CONTROL = re.compile(f"[{_INVISIBLE.pattern[1:-1]}{_CONTROL.pattern[1:-1]}]")  # both classes
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
# cannot match and is spared the regex. Python's case-insensitive matching also lets non-ASCII letters
# stand for ASCII ones; lines with those that lower() does not turn into the ASCII letter (İ ı ſ) always
# go to the regex (tests/unit/test_cleaning_speed_equivalence.py checks every code point).
_BOILERPLATE_WORDS = (
    "subscribe", "newsletter", "sign up", "sign-up", "like this ", "share this", "share on", "share via",
    "follow us", "click here", "©", "(c)", "copyright", "all rights reserved", "read more", "read also",
    "see more", "see also", "see the full", "continue reading", "read the full", "read the original",
    "originally published", "originally appeared", "advertisement", "related", "get more from",
    "download our app", "cookie", "tags", "topics", "filed under",
)  # fmt: skip
# The words only the alternatives anchored at the start of a line (``^\s*``) need: a line can only match
# those if it starts with one of these once lower-cased and stripped of leading white space (``\s`` and
# str.lstrip agree on what white space is, and lower() leaves it as it is). _boilerplate_lines looks at
# the start of each line for them instead of searching the whole text for each. ("read the full" is
# searched anywhere, for the alternative that is not anchored.)
_BOILERPLATE_LINE_STARTS = (
    "read more", "read also", "see more", "see also", "see the full", "advertisement", "related", "tags",
    "topics", "filed under",
)  # fmt: skip
_BOILERPLATE_ANYWHERE = tuple(word for word in _BOILERPLATE_WORDS if word not in _BOILERPLATE_LINE_STARTS)
_BOILERPLATE_ANYWHERE_UTF8 = tuple(word.encode("utf-8") for word in _BOILERPLATE_ANYWHERE)
# Written as escapes: NFKC (some editors and tools apply it) turns the Kelvin sign into a plain K, as had
# happened here, which sent every line with a capital K past the pre-filter. The Kelvin sign itself is
# harmless (lower() gives k), and kept as the fourth of the letters the pattern folds to ASCII.
_CASE_FOLDS_TO_ASCII = frozenset("\u0130\u0131\u017f\u212a")  # İ ı ſ K
_CASE_FOLDS_TO_ASCII_RE = re.compile(f"[{_char_class(_CASE_FOLDS_TO_ASCII)}]")

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
    extractor: str = "text"  # what produced the text: "text" (sent as text) or the HTML extractor used


def _ascii_host(host: str) -> str:
    """The host in its ASCII (IDNA) form, so ``BÜCHER.example`` and ``xn--bcher-kva.example`` are one host.

    A host that IDNA cannot encode (an empty or over-long label) is kept as it is: it still names a page.
    """
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


# An article's URL is made canonical two or three times within microseconds (its default id, its URL key,
# the canonical URL of its decision): remembered, the later calls cost a dictionary look-up.
@functools.lru_cache(maxsize=256)
def canonical_url(url: str) -> str:
    """The URL that names a page, whatever campaign or crawl led to it.

    Lower-cases scheme and host, drops the default port, the fragment, tracking parameters and empty
    query values, sorts the remaining query, and removes a trailing slash from non-root paths.

    >>> canonical_url("HTTPS://News.Example.com/a/b/?utm_source=x&b=2&a=1#top")
    'https://news.example.com/a/b?a=1&b=2'
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = _ascii_host((parts.hostname or "").lower().rstrip("."))
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


# What repair_text deletes and what it turns into a space (the encoding repair keeps both), and the two
# as one character class for the scan of the common text.
_INVISIBLE_OR_CONTROL_CLASS = _INVISIBLE_OR_CONTROL.pattern[1:-1]


def repair_text(text: str) -> str:
    """Repair the encoding, drop invisible characters, make control characters spaces; NFKC.

    In this order: ftfy's repair (mojibake such as ``â€œ``, curly quotes, odd line breaks, ligatures,
    full width, NFKC: :func:`streams.mojibake.fix_text`, ftfy.fix_text's result computed faster); zero
    width, bidi and other invisible characters deleted; control characters made spaces; the lone lead
    characters of lost UTF-8 sequences neutralised (``yearâs`` becomes ``year's``:
    :func:`streams.mojibake.repair_lost_sequences`); NFKC once more for what the steps between changed.
    """
    # The usual text needs its quotes uncurled and nothing else: one scan finds it, and finds too that
    # it has nothing invisible or control (and no â/Ã/Â); the result is NFKC, so the steps below would
    # change nothing.
    common = mojibake.fix_common_text(text, also_absent=_INVISIBLE_OR_CONTROL_CLASS)
    if common is not None:
        return common
    text = mojibake.fix_text(text)
    # Usually there is nothing to remove: one scan then replaces two substitutions, which scan too.
    if _INVISIBLE_OR_CONTROL.search(text) is not None:
        text = _CONTROL.sub(" ", _INVISIBLE.sub("", text))
    text = mojibake.repair_lost_sequences(text)
    return unicodedata.normalize("NFKC", text)


def normalise_lines(text: str, *, nfkc: bool = False) -> list[str]:
    """Split into trimmed, non-empty lines with one kind of bullet and single spaces.

    ``nfkc`` says that the text is NFKC-normalised (what :func:`repair_text` returns), which spares a check.
    """
    if "\r" in text:  # (one look for a character instead of two replacements, which search too)
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    # One substitution over the whole text (runs of spaces never span a line break), and only when
    # there is something to substitute: the regex scan costs more than the rest of this function.
    if _has_spaces_to_fix(text, nfkc):
        text = _SPACES_TO_FIX.sub(" ", text)
    stripped = [raw.strip() for raw in text.split("\n")]
    return [_BULLET.sub("- ", line) if line and _BULLET.match(line) else line for line in stripped]


def _has_spaces_to_fix(text: str, nfkc: bool = False) -> bool:
    """Whether ``_SPACES_TO_FIX`` matches: a tab, two spaces in a row, or one of the other spaces.

    ``nfkc`` says that the text is NFKC-normalised.
    """
    if "\t" in text or "  " in text:
        return True
    if nfkc or text.isascii():
        return False
    # NFKC turns each of the other spaces into a plain one, so NFKC text (what repair_text returns,
    # checked in a few microseconds) holds none of them (tests/unit/test_cleaning_speed_equivalence.py).
    return not unicodedata.is_normalized("NFKC", text) and _ODD_SPACES.search(text) is not None


def is_boilerplate(line: str, words: Sequence[str] = _BOILERPLATE_WORDS) -> bool:
    """True for a short promo, share, newsletter, copyright or read-more line.

    ``words``, if given, are the boilerplate words found anywhere in the text the line comes from.
    """
    if len(line) > _BOILERPLATE_MAX_CHARS:
        return False
    if not any(letter in line for letter in _CASE_FOLDS_TO_ASCII):  # (a set of the line costs more)
        lowered = line.lower()
        if not any(word in lowered for word in words):
            return False
    return _BOILERPLATE.search(line) is not None


def strip_boilerplate(lines: list[str]) -> list[str]:
    """Drop boilerplate lines; keep paragraph breaks but no leading, trailing or doubled blanks."""
    text = _join_without_boilerplate(lines)
    return text.split("\n") if text else []


def _join_without_boilerplate(lines: list[str]) -> str:
    """``"\\n".join(strip_boilerplate(lines))``, without splitting what clean_article joins again."""
    dropped = _boilerplate_lines(lines)
    kept = [line for i, line in enumerate(lines) if i not in dropped] if dropped else lines
    text = "\n".join(kept).strip("\n")
    if "\n\n\n" in text:  # a plain look is much cheaper than the regex scan that finds nothing
        text = _BLANK_LINES.sub("\n\n", text)
    return text


def _boilerplate_lines(lines: list[str]) -> set[int]:
    """The indices of the lines for which :func:`is_boilerplate` is true, found faster.

    Only short lines can be boilerplate, and only those with one of the words of the pre-filter in
    their lower case, or with a letter of ``_CASE_FOLDS_TO_ASCII``. Rather than lower-casing each
    line and looking for every word in it, this looks for the words once in the short lines joined
    and lower-cased (those of ``_BOILERPLATE_LINE_STARTS`` only at the start of each of its lines),
    and runs the pattern on the few lines they are in. The line of an occurrence is
    the number of line breaks before it: no word holds one, and lower() neither makes nor removes
    one (it maps each character on its own, but for the final sigma rule, which stops at a line
    break), so the k-th line of ``lowered`` is the k-th short line lower-cased. A line holding a line
    break of its own would throw that count off: then each line takes the plain way.
    """
    short = [i for i, line in enumerate(lines) if 0 < len(line) <= _BOILERPLATE_MAX_CHARS]
    if not short:
        return set()
    joined = "\n".join([lines[i] for i in short])
    if joined.count("\n") != len(short) - 1:
        return {i for i in short if is_boilerplate(lines[i])}
    lowered = joined.lower()
    candidates: set[int] = set()  # indices into `short`
    # Rare: four plain looks first (much cheaper than the regex scan, or a set of the text).
    if any(letter in joined for letter in _CASE_FOLDS_TO_ASCII):
        candidates = {joined.count("\n", 0, m.start()) for m in _CASE_FOLDS_TO_ASCII_RE.finditer(joined)}
    candidates.update(_lines_with_boilerplate_words(lowered))
    # A third of the words can only start a line: one look at each line instead of a search each.
    for k, line in enumerate(lowered.split("\n")):
        if line.lstrip().startswith(_BOILERPLATE_LINE_STARTS):
            candidates.add(k)
    return {short[k] for k in candidates if _BOILERPLATE.search(lines[short[k]]) is not None}


def _lines_with_boilerplate_words(lowered: str) -> list[int]:
    """The numbers of the lines of ``lowered`` that hold a word of ``_BOILERPLATE_ANYWHERE``.

    The compiled core scans the UTF-8 bytes once for all the words (a UTF-8 word occurs in the bytes
    exactly where it occurs in the text, and line breaks are the same bytes): about 8 against 30 us for a
    search of the text per word, which is the fallback.
    """
    if _textcore is not None:
        return _textcore.lines_with_any(lowered.encode("utf-8", "surrogatepass"), _BOILERPLATE_ANYWHERE_UTF8)
    lines = []
    for word in _BOILERPLATE_ANYWHERE:
        start = lowered.find(word)
        while start != -1:
            lines.append(lowered.count("\n", 0, start))
            end_of_line = lowered.find("\n", start)
            start = -1 if end_of_line == -1 else lowered.find(word, end_of_line)
    return lines


def html_to_text(html: str, extractor: str = "resiliparse") -> tuple[str, str]:
    """The main text and the title of an HTML page (see :func:`extract_html`)."""
    text, title, _ = extract_html(html, extractor)
    return text, title


def extract_html(html: str, extractor: str = "resiliparse") -> tuple[str, str, str]:
    """The main text and the title of an HTML page, and the extractor that produced the text.

    ``resiliparse`` (the default, :func:`_resiliparse_text`) keeps the page's main-content text without
    the rails and boxes around the story. ``selectolax`` keeps the block text of the ``<article>`` or
    ``<main>`` element (else ``<body>``) after dropping chrome tags and hinted containers.
    ``trafilatura`` uses that library's extractor; it is about ten times slower (docs/performance.md)
    and is also the fallback when a fast path finds too little.
    """
    if extractor == "trafilatura":
        return _trafilatura_text(html), _html_title(html), "trafilatura"
    if extractor == "resiliparse":
        return _resiliparse_text(html)
    return _selectolax_text(html)


# Containers around a story that resiliparse's main-content rules keep: related-story, most-popular and
# trending rails, teaser lists, recommendation and comment sections, share, newsletter and contact boxes
# (and forms, which hold sign-ups and "thanks for contacting us" notes), promos, widgets, bylines, and
# the figure captions and title heading (not part of the story's running text). Substring matches, so
# `related-stories` and `articleRelated` are caught alike; a story container whose class happens to hold
# one of these words (or a page wrapped in one form) is saved by the guard in _resiliparse_text. Chosen
# by measurement on real pages (docs/performance.md); `header` and `sidebar` were left out on purpose:
# the first deletes article headers with the lead in them, the second cost recall.
_SKIP_SELECTORS = [
    '[class*="related"]', '[id*="related"]', '[class*="newsletter"]', '[class*="popular"]',
    '[class*="trending"]', '[class*="most-"]', '[class*="teaser"]', '[class*="recommend"]',
    '[class*="comment"]', '[id*="comment"]', '[class*="share"]', '[class*="subscribe"]',
    '[class*="contact"]', '[class*="promo"]', '[class*="widget"]', '[class*="byline"]', "form",
    "figure", "figcaption", "h1",
]  # fmt: skip
# When skipping those containers leaves less than this share of the main-content text, a skipped
# container most likely held the story itself (a `comment-body`, a `share-wrapper` around the article):
# the text without the skips is kept instead. Only looked at below _SKIP_GUARD_CHARS characters.
_SKIP_GUARD_SHARE = 0.25
_SKIP_GUARD_CHARS = 3000
# Below this many characters the fast path has probably missed the story (script-built pages, odd
# markup): trafilatura gets a try.
_FALLBACK_CHARS = 250


def _resiliparse_text(html: str) -> tuple[str, str, str]:
    """Main text and title with resiliparse's main-content extractor plus the skips above.

    Measured on 125 real pages: F1 0.952 against 0.928 for trafilatura, at about a fifth of its time
    (``streams eval --pages``; docs/performance.md).
    """
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.html import HTMLTree

    try:
        tree = HTMLTree.parse(html)
    except UnicodeEncodeError:  # lone surrogates, which resiliparse cannot encode (selectolax replaces them)
        tree = HTMLTree.parse(html.encode("utf-8", "replace").decode("utf-8"))
    text = extract_plain_text(tree, main_content=True, alt_texts=False, skip_elements=_SKIP_SELECTORS)
    # The guard needs the text without the skips only when what is left is short: with the story
    # gone, what is left is chrome.
    if len(text) < _SKIP_GUARD_CHARS:
        full = extract_plain_text(tree, main_content=True, alt_texts=False)
        if len(text) < _SKIP_GUARD_SHARE * len(full):
            text = full
    title = _html_title(html)
    if len(text) < _FALLBACK_CHARS:
        fallback = _trafilatura_text(html)
        if fallback:
            return fallback, title, "trafilatura"
    return text, title, "resiliparse"


def _selectolax_text(html: str) -> tuple[str, str, str]:
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
        return "", title, "selectolax"
    blocks = [node.text(separator=" ", strip=True) for node in root.css(_BLOCK_TAGS)]
    text = "\n\n".join(b for b in blocks if b)
    if len(text) < 200:
        text = root.text(separator="\n", strip=True)
        if len(text) < 200:
            fallback = _trafilatura_text(html)
            if fallback:
                return fallback, title, "trafilatura"
    return text, title, "selectolax"


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


# The HTML pre-scan (html_budget_problem): tags as the parser sees them, closely enough to count them.
_TAG = re.compile(r"<(/?)([A-Za-z][^\s/>]*)[^>]*?(/?)>")
_VOID_ELEMENTS = frozenset(
    (
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
    )
)
#: Deepest nesting the pre-scan lets through: the parser's time grows with the square of the depth
#: (20k nested divs 0.4 s, 100k 50 s); the 125 real pages of the test set reach 342 by this count
#: (unclosed elements counted as open).
MAX_HTML_DEPTH = 2_000
#: Most tags the pre-scan lets through (the real pages: at most 19k; 400k flat tags parse in 0.3 s).
MAX_HTML_TAGS = 200_000


def html_budget_problem(
    html: str, max_depth: int = MAX_HTML_DEPTH, max_tags: int = MAX_HTML_TAGS
) -> str | None:
    """Why the page would blow the parser's time budget, or None: a scan of its tags, linear and cheap.

    The depth counts every start tag that is not void or self-closing as open until its end tag, so it
    overestimates pages that leave elements unclosed, never underestimates.
    """
    depth = deepest = 0
    for tags, match in enumerate(_TAG.finditer(html), 1):
        if tags > max_tags:
            return f"HTML has more than {max_tags} tags"
        if match.group(1):
            depth = max(0, depth - 1)
        elif not match.group(3) and match.group(2).lower() not in _VOID_ELEMENTS:
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > max_depth:
                    return f"HTML is nested more than {max_depth} elements deep"
    return None


def clean_article(
    *, title: str, text: str | None, html: str | None, max_chars: int, extractor: str = "resiliparse"
) -> CleanText:
    """Clean one article: HTML extraction if needed, encoding repair, normalisation, boilerplate.

    Args:
        title: the title as sent (an HTML page's own title is used when this is empty).
        text: plain text, preferred when given.
        html: a full page, used when there is no text.
        max_chars: the cleaned text is cut to this many characters.
        extractor: ``resiliparse``, ``selectolax`` or ``trafilatura`` (see :func:`html_to_text`).
    """
    used = "text"
    if text and text.strip():
        body = text
    else:
        body, page_title, used = extract_html(html or "", extractor)
        title = title or page_title
    body = body[: max_chars * 2]
    # Cut again after the repair: NFKC expands some characters up to 18 times (U+FDFA).
    repaired = repair_text(body)[: max_chars * 2]
    cleaned = _join_without_boilerplate(normalise_lines(repaired, nfkc=True))[:max_chars]
    clean_title = " ".join(normalise_lines(repair_text(title), nfkc=True)).strip()
    return CleanText(title=clean_title, text=cleaned, word_count=word_count(cleaned), extractor=used)


# For word_count: ASCII white space (what str.isspace says) as a plain space, every other byte kept.
_ASCII_BYTES = bytes(range(128))
_ASCII_SPACE_TO_SPACE = bytes(32 if chr(c).isspace() else c for c in range(128)) + bytes(range(128, 256))
_WHITE_SPACE = re.compile(r"\s")  # the characters str.isspace (and str.split) takes for white space


def word_count(text: str) -> int:
    """``len(text.split())``, twice as fast on an article: the words are counted, not built.

    str.split breaks at runs of white space. In UTF-8 every byte of a character outside ASCII is
    0x80 or more, so when none of those characters is white space (looked for among them alone),
    the words are the runs of bytes that are not ASCII white space: mapped to a plain space, each
    word starts where a non-space byte follows a space (or starts the text). Text with white space
    outside ASCII (rare after repair_text's NFKC) is split, and so is text mostly outside ASCII
    (another script: little would be left out, and fewer words to build).
    tests/unit/test_cleaning_speed_equivalence.py checks this against str.split.
    """
    raw = text.encode("utf-8", "surrogatepass")  # lone surrogates are no white space, but must not raise
    if len(raw) - len(text) > len(text) // 8:
        return len(text.split())
    if not text.isascii():
        others = raw.translate(None, _ASCII_BYTES).decode("utf-8", "surrogatepass")
        if _WHITE_SPACE.search(others) is not None:
            return len(text.split())
    in_word = np.frombuffer(raw.translate(_ASCII_SPACE_TO_SPACE), dtype=np.uint8) != 32
    if in_word.size == 0:
        return 0
    return int(in_word[0]) + int(np.count_nonzero(in_word[1:] & ~in_word[:-1]))
