"""Encoding repair: ``ftfy.fix_text(text, normalization="NFKC")`` computed faster, and lost UTF-8 bytes.

ftfy is the repair the service wants (mojibake such as ``â€œ``, curly quotes, odd line breaks,
ligatures, full width, NFKC), but on every article it is the largest cost of cleaning: on the 2,396
texts of dev.jsonl, ``ftfy.fix_text`` takes 220 us a text, where :func:`fix_text` takes 19 (7 on the
61% that only need their quotes uncurled, 38 on the others), and 690 against 152 us on the same texts
garbled (UTF-8 read as cp1252), with the same output on all of them (``benchmarks/encoding_repair.py``;
docs/performance.md, "Encoding repair"), while cleaning such a text article takes about 60 us in all.

:func:`fix_text` gives ftfy's result, not an approximation of it:

* the usual text (no HTML entity, no character that could start mojibake or that a fixer other than
  the quote and line-break ones changes) is fixed as a whole, with one regex scan and plain
  replacements (:func:`fix_common_text` finds it);
* any other text takes ftfy's own loop over its lines (:func:`_fix_text_by_lines`), minus what would
  have no effect: its badness test searched only around the characters a match needs, the fixers that
  find none of their characters skipped, and the encoding steps run one at a time with ftfy's private
  ``ftfy._fix_encoding_one_step_and_explain`` (ftfy has no public single step; its canary is in
  tests/unit/test_canaries.py).

tests/unit/test_mojibake.py checks every shortcut against ftfy on any text (property tests) and on
examples. The one deliberate difference is :func:`repair_lost_sequences`, a step of its own that
ftfy cannot take: the lone first character of a UTF-8 sequence whose other bytes were lost
(``yearâs``) is made an apostrophe or a space, in English-like text only. It is lossy by design.
"""

from __future__ import annotations

import functools
import re
import unicodedata

import ftfy
from ftfy import fixes as ftfy_fixes
from ftfy.badness import BADNESS_RE, MOJIBAKE_CATEGORIES
from ftfy.chardata import CONTROL_CHARS, HTML_ENTITY_RE, LIGATURES, WIDTH_MAP


def _char_class(chars: frozenset[str]) -> str:
    """The inside of a regex character class matching exactly ``chars``."""
    return "".join(re.escape(char) for char in sorted(chars))


# Characters that ftfy's badness regex needs at least one of to match anything: every alternative of
# ftfy.badness.BADNESS_RE holds a class drawn only from these categories, or one of these literals.
# Curly quotes, dashes and bullets ("common" and punctuation) alone never make text "bad".
_PUNCTUATION_LIKE = ("common", "start_punctuation", "end_punctuation")
_MOJIBAKE_TRIGGER_CLASS = (
    "".join(v for k, v in MOJIBAKE_CATEGORIES.items() if k not in _PUNCTUATION_LIKE)
    + "ŒœÂÃÎÐ×ØÙàÄâó√≈вВГРСβΒΓΞΟā°²³"
)
_MOJIBAKE_TRIGGER = re.compile(f"[{_MOJIBAKE_TRIGGER_CLASS}]")
# The longest text a match of BADNESS_RE spans ("ГўВЂВ.[A-Za-z ]"; checked with the regex parser in
# tests/unit/test_mojibake.py).
_BADNESS_MAX_WIDTH = 7
# ftfy.fix_text works on lines, cutting longer ones into segments of this many characters.
_FTFY_MAX_SEGMENT = ftfy.TextFixerConfig().max_decode_length
_FTFY_ONLY = frozenset("\x1bÃÂ")  # terminal escapes, and a badness pattern anchored at ^
_LIGATURE_CHARS = frozenset(map(chr, LIGATURES))
_WIDTH_CHARS = frozenset(map(chr, WIDTH_MAP))
_CONTROL_CHARS = frozenset(map(chr, CONTROL_CHARS))
_C1_CHARS = frozenset(map(chr, range(0x80, 0xA0)))  # ftfy.chardata.C1_CONTROL_RE
_SURROGATES = frozenset(map(chr, range(0xD800, 0xE000)))  # ftfy.fixes.SURROGATE_RE
# ftfy's uncurl_quotes as plain replacements (its two regex substitutions cost more than the rest of
# a pass); tests/unit/test_mojibake.py checks this table against ftfy on every code point.
_CURLY_QUOTES = (
    ("\u02bc", "'"), ("\u2018", "'"), ("\u2019", "'"), ("\u201a", "'"), ("\u201b", "'"),
    ("\u201c", '"'), ("\u201d", '"'), ("\u201e", '"'), ("\u201f", '"'),
)  # fmt: skip
_CURLY_CHARS = frozenset(curly for curly, _ in _CURLY_QUOTES)
_LINE_BREAKS = frozenset("\r\u2028\u2029\x85")  # what ftfy.fixes.fix_line_breaks replaces
# The characters that uncurl_quotes and fix_line_breaks, the fixers common text needs, change.
_COMMON_TARGETS = _CURLY_CHARS | _LINE_BREAKS
# The characters that one of the other six fixers changes, or needs to see to change anything (\x1b
# starts a terminal escape).
_RARE_TARGETS = _C1_CHARS | _LIGATURE_CHARS | _WIDTH_CHARS | _CONTROL_CHARS | _SURROGATES
# A text without any of these is left alone by all eight fixers.
_FIXER_TARGETS = _COMMON_TARGETS | _RARE_TARGETS


# Text without any of these characters needs neither ftfy (no mojibake trigger, no Ã/Â/\x1b) nor
# any fixer but uncurl_quotes and fix_line_breaks: the common case of a pass, found with one scan.
_UNCOMMON = re.compile(f"[{_MOJIBAKE_TRIGGER_CLASS}{_char_class(_FTFY_ONLY | _RARE_TARGETS)}]")
# And text without any of these is left alone by all eight fixers too.
_UNCOMMON_OR_TARGET = re.compile(f"[{_MOJIBAKE_TRIGGER_CLASS}{_char_class(_FTFY_ONLY | _FIXER_TARGETS)}]")


def _is_bad(text: str) -> bool:
    """``ftfy.badness.is_bad(text)``, but only looking where a match can be.

    is_bad runs its large regex over the whole text, which costs a third of a millisecond on an
    article with a single pound sign. Every match holds a trigger character (see above) and is at
    most ``_BADNESS_MAX_WIDTH`` long, so it lies within that distance of one: searching the spans
    around the triggers finds a match exactly when searching the whole text does. ``search(text,
    pos, endpos)`` looks at the text itself, so ``^`` still only matches at its real start.
    """
    start = end = -1  # the span being grown: those around triggers that overlap or touch
    for trigger in _MOJIBAKE_TRIGGER.finditer(text):
        position = trigger.start()
        if position - _BADNESS_MAX_WIDTH + 1 > end:
            if end != -1 and BADNESS_RE.search(text, start, end) is not None:
                return True
            start = max(0, position - _BADNESS_MAX_WIDTH + 1)
        end = position + _BADNESS_MAX_WIDTH
    return end != -1 and BADNESS_RE.search(text, start, end) is not None


def _uncurl_quotes(text: str) -> str:
    for curly, straight in _CURLY_QUOTES:
        if curly in text:
            text = text.replace(curly, straight)
    return text


def _ftfy_pass(text: str, chars: frozenset[str] | set[str]) -> str:
    # fix_and_explain's character fixers, in its order; those that would find nothing to change in
    # `chars` (the characters of the text) are skipped (str.translate is slow on non-ASCII text).
    if not chars.isdisjoint(_C1_CHARS):
        text = ftfy_fixes.fix_c1_controls(text)
    if not chars.isdisjoint(_LIGATURE_CHARS):
        text = ftfy_fixes.fix_latin_ligatures(text)
    if not chars.isdisjoint(_WIDTH_CHARS):
        text = ftfy_fixes.fix_character_width(text)
    text = _uncurl_quotes(text)
    text = ftfy_fixes.fix_line_breaks(text)
    if not chars.isdisjoint(_SURROGATES):
        text = ftfy_fixes.fix_surrogates(text)
    text = ftfy_fixes.remove_terminal_escapes(text)
    if not chars.isdisjoint(_CONTROL_CHARS):
        text = ftfy_fixes.remove_control_chars(text)
    return unicodedata.normalize("NFKC", text)


# fix_and_explain calls ftfy.fix_encoding(text) without passing its own configuration on: the encoding
# steps run with the defaults.
_ENCODING_CONFIG = ftfy.TextFixerConfig(explain=False)


def _fix_text_by_lines(text: str) -> str:
    """``ftfy.fix_text(text, normalization="NFKC")``, the same computation with less overhead.

    This is ftfy.fix_text's own loop: the text cut into segments (lines, and at most
    ``_FTFY_MAX_SEGMENT`` characters), each fixed on its own, HTML entities no longer unescaped from
    the first segment holding a ``<`` on. Each segment goes to :func:`_fix_segment` instead of
    ftfy.fix_and_explain. On a mojibake article (where :func:`fix_text` needs ftfy) this is about
    four times faster: ftfy runs its badness regex over every line several times and all eight
    fixers on every line, blank ones included. tests/unit/test_mojibake.py checks
    it against ftfy.fix_text.
    """
    out = []
    position = 0
    unescape = True  # fix_text's unescape_html="auto", until a segment holds "<"
    while position < len(text):
        end = text.find("\n", position) + 1 or len(text)
        end = min(end, position + _FTFY_MAX_SEGMENT)
        segment = text[position:end]
        if unescape and "<" in segment:
            unescape = False
        out.append(_fix_segment(segment, unescape))
        position = end
    return "".join(out)


def _fix_segment(text: str, unescape: bool) -> str:
    """``ftfy.fix_and_explain(text, config).text`` for fix_text's configuration (NFKC, no explanation).

    The same loop (unescape, fix the encoding, the eight fixers, NFKC, until a pass changes
    nothing), with what a step would do without effect skipped: unescaping text without ``&`` (every
    entity starts with one), the encoding steps on text that ftfy's first test leaves alone, and the
    fixers that find none of their characters (:func:`_ftfy_pass`).

    A pass is not run when it would change nothing: on NFKC text (ASCII, or what a pass returns)
    with nothing to unescape and none of the characters of ``_UNCOMMON_OR_TARGET`` (no mojibake
    trigger, so not ``is_bad``, and nothing for a fixer). That is most lines of a mojibake article
    (the blank and the plain ones), and the confirming second pass of the others.
    """
    normalised = text.isascii()  # whether NFKC leaves `text` as it is
    while True:
        if normalised and not (unescape and "&" in text) and _UNCOMMON_OR_TARGET.search(text) is None:
            return text
        original = text
        if unescape and "&" in text:
            text = ftfy_fixes.unescape_html(text)
        text = _fix_encoding(text)
        text = _ftfy_pass(text, set(text))
        if text == original:
            return text
        normalised = True  # _ftfy_pass ends with NFKC


def _fix_encoding(text: str) -> str:
    """``ftfy.fix_encoding(text)``: ftfy's encoding steps until one changes nothing.

    A step returns ASCII text, and text that is not ``is_bad``, unchanged before anything else (its
    first test; ``chardata.possible_encoding(text, "ascii")`` is ``text.isascii()``), so such text is
    not handed to it, and :func:`_is_bad` answers for is_bad faster. The step itself is ftfy's
    (private, but ftfy has no public single step; ftfy.fix_encoding would run is_bad over the whole
    fixed line once more, the expensive part).
    """
    while not text.isascii() and _is_bad(text):
        fixed = ftfy._fix_encoding_one_step_and_explain(text, _ENCODING_CONFIG).text
        if fixed == text:
            break
        text = fixed
    return text


def fix_text(text: str) -> str:
    """``ftfy.fix_text(text, normalization="NFKC")``, about ten times faster on text without mojibake.

    ftfy works line by line, and on each line loops (unescape HTML, fix the encoding, eight
    character fixers, NFKC) until nothing changes. When the text has no HTML entity (nothing to
    unescape), no escape character, and ftfy's own ``is_bad`` finds no mojibake in it, the first two steps do
    nothing; the rest are per-character maps, and NFKC never reaches across a newline, so the loop
    can run over the whole text at once with the same result. ``Ã``/``Â`` are excluded because one
    of ftfy's badness patterns is anchored at the start of a line. Anything else goes to ftfy's own
    line-by-line computation (:func:`_fix_text_by_lines`); tests/unit/test_fast_paths.py and
    tests/unit/test_mojibake.py check both agree.

    Most texts only need their quotes uncurled. For them one regex scan (``_UNCOMMON``) stands in
    for the checks and the fixers that would find nothing to do. The loop only stops once a pass
    changes nothing, but that second pass can be proved idle instead of run: NFKC output is
    NFKC-normalised, so only the fixers could change it, and a scan (``_UNCOMMON_OR_TARGET``) shows
    they have nothing to act on, or, when NFKC changed nothing, the pass itself does.
    """
    current = text
    normalised = False  # whether `current` came out of NFKC (a pass), so NFKC leaves it as it is
    while True:
        if len(current) > _FTFY_MAX_SEGMENT or (
            "&" in current and HTML_ENTITY_RE.search(current) is not None
        ):
            return _fix_text_by_lines(text)  # ftfy cuts such a line / unescapes
        if normalised and _UNCOMMON_OR_TARGET.search(current) is None:
            return current  # the checks below pass and _ftfy_pass(current) == current
        if _UNCOMMON.search(current) is None:
            # No trigger (so not is_bad), no Ã/Â/\x1b, and the six other fixers have nothing to do.
            fixed = ftfy_fixes.fix_line_breaks(_uncurl_quotes(current))
            normalised_fixed = unicodedata.normalize("NFKC", fixed)
            if normalised_fixed == fixed:
                # The usual end, without another scan: `fixed` is `current` with straight quotes and
                # plain line breaks, so it has no uncommon character either, no fixer target, and no
                # HTML entity (only characters outside entities were replaced, by others outside).
                return fixed
            fixed = normalised_fixed
        else:
            chars = set(current)
            if not _FTFY_ONLY.isdisjoint(chars) or _is_bad(current):
                return _fix_text_by_lines(text)
            if normalised and chars.isdisjoint(_FIXER_TARGETS):
                return current  # as above: no fixer has anything to change
            fixed = _ftfy_pass(current, chars)
        if fixed == current:
            return fixed
        current, normalised = fixed, True


@functools.lru_cache(maxsize=8)
def _common_scan(also_absent: str) -> tuple[re.Pattern[str], bytes]:
    """The pattern of ``_UNCOMMON`` and ``also_absent``, and the ASCII characters it never matches."""
    pattern = re.compile(f"[{_UNCOMMON.pattern[1:-1]}{also_absent}]")
    return pattern, bytes(c for c in range(128) if not pattern.match(chr(c)))


def fix_common_text(text: str, also_absent: str = "") -> str | None:
    """:func:`fix_text` of the common text, found with one scan; None for any other text.

    Most articles are common text: at most ``_FTFY_MAX_SEGMENT`` characters, no HTML entity, and none
    of the characters of ``_UNCOMMON`` (no mojibake trigger, no ``Ã``/``Â``/escape, nothing for the six
    rare fixers), so fix_text only uncurls their quotes and makes their line breaks plain (its common
    branch); when NFKC then changes nothing, that is the result. It is the text with straight quotes and
    ``\\n`` line breaks put in, so it is NFKC and holds none of the characters of ``_UNCOMMON`` either
    (nor ``â``/``Ã``/``Â``, which :func:`repair_lost_sequences` would look at).

    ``also_absent`` (the inside of a regex character class) adds characters to the same scan, for a
    caller that would look for them next: a text holding one of them gets None too.
    """
    scan, ascii_unmatched = _common_scan(also_absent)
    if (
        len(text) > _FTFY_MAX_SEGMENT
        or _has_any(scan, ascii_unmatched, text)
        or ("&" in text and HTML_ENTITY_RE.search(text) is not None)
    ):
        return None
    fixed = ftfy_fixes.fix_line_breaks(_uncurl_quotes(text))
    return fixed if unicodedata.normalize("NFKC", fixed) == fixed else None


def _has_any(pattern: re.Pattern[str], ascii_unmatched: bytes, text: str) -> bool:
    """``pattern.search(text) is not None``, the pattern run over the few characters it could match.

    Deleting the bytes of the ASCII characters the pattern never matches (``ascii_unmatched``) from the
    UTF-8 text leaves the other characters whole (every byte of a character outside ASCII is 0x80 or
    more) and in order; two byte-table operations and a search of what is left cost half the search of
    the text. Text with many characters outside ASCII (another script) is searched as it is: little
    would be left out.
    """
    raw = text.encode("utf-8", "surrogatepass")
    if len(raw) - len(text) > len(text) // 8:
        return pattern.search(text) is not None
    rest = raw.translate(None, ascii_unmatched)
    return bool(rest) and pattern.search(rest.decode("utf-8", "surrogatepass")) is not None


# The first character of a UTF-8 sequence read as Windows-1252 (’ “ ” – — … start with â, é è à ç with Ã,
# a no-break space and £ ° with Â) whose other bytes were lost on the way, so ftfy cannot rebuild the
# character: `yearâs`, `âthe most importantâ`. What may be left of the lost bytes (Windows-1252's
# characters for 0x80-0x9f) goes with it.
_LOST_LEADS = frozenset("âÃÂ")
_LOST_TAIL = "".join(sorted({bytes([b]).decode("cp1252", "ignore") for b in range(0x80, 0xA0)} - {""}))
_LOST_CONTRACTION = re.compile(f"(?<=[A-Za-z])[âÃÂ][{re.escape(_LOST_TAIL)}]*(?=(?:s|t|re|m|ll|ve|d)\\b)")
# At a word's edge: not both after and before a letter (`château`, `SÃO` keep theirs).
_LOST_AT_EDGE = re.compile(
    f"(?<![^\\W\\d_])[âÃÂ][{re.escape(_LOST_TAIL)}]*|[âÃÂ][{re.escape(_LOST_TAIL)}]*(?![^\\W\\d_])"
)
# Text where more than this share of the letters are other letters outside ASCII is taken to be
# written in a language that uses â, ã or Ã legitimately (French, Portuguese, Romanian, Vietnamese...
# have several in a hundred letters; English with a lost apostrophe has next to none) and is left alone.
_LOST_MAX_FOREIGN_SHARE = 0.01
_LOST_MIN_LETTERS = 500


def repair_lost_sequences(text: str) -> str:
    """Neutralise the lone lead characters of UTF-8 sequences whose other bytes were lost.

    ``yearâs`` becomes ``year's`` (an apostrophe before s, t, re, m, ll, ve, d ending a word) and a lone
    ``â`` at the edge of a word (a lost opening or closing quote) becomes a space, so that the words
    around it are words again; the latter only in a long text or one where such apostrophes were found.
    Only in text with almost no other letter outside ASCII: ``château``, ``São`` and a French or
    Portuguese text keep their letters.

    ftfy leaves such text as it is (it cannot rebuild a character from one of its bytes): this is the
    one step of this module whose result differs from ftfy's, on purpose and lossily.
    """
    if _LOST_LEADS.isdisjoint(text):  # the usual case, spared the count of letters
        return text
    letters = foreign = 0
    for char in text:
        if char.isalpha():
            letters += 1
            if not char.isascii() and char not in _LOST_LEADS:
                foreign += 1
    if foreign > _LOST_MAX_FOREIGN_SHARE * letters:
        return text
    text, contractions = _LOST_CONTRACTION.subn("'", text)
    # A lone lead at a word's edge alone is no proof in a short text (a French title, `L'âge d'or`).
    if contractions == 0 and letters < _LOST_MIN_LETTERS:
        return text
    return _LOST_AT_EDGE.sub(" ", text)
