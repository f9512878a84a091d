"""The shortcuts of streams.cleaning give exactly what the plain definitions give, for any input.

clean_article's text path is checked end to end against a reference built from the plain steps
(ftfy.fix_text, the two substitutions, per-line normalisation, per-line boilerplate pattern), and
each shortcut against the function or fact it stands for, on every code point where that is cheap.
"""

from __future__ import annotations

import contextlib
import re
import string
import unicodedata
from unittest import mock

import ftfy
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from streams import cleaning, mojibake
from streams.tools.synthetic import generate_stream
from tests.unit.test_fast_paths import reference_boilerplate, reference_normalise

EVERY_CODE_POINT = "".join(map(chr, range(0x110000)))

# Characters each shortcut reasons about: mojibake pieces and triggers, entities and "<", every curly
# quote, line breaks (\r, \x85, \u2028), C1 and C0 controls, escape, surrogates, ligatures (ŉ turns
# into a curly quote under NFKC), full width, the odd spaces, zero width and bidi marks, soft hyphen,
# letters that case-fold to ASCII (and the Kelvin sign), final sigma with case-ignorables, combining
# marks (A + tilde composes to Ã), bullets and digits.
TRICKY = (
    "aAbcekKsSzZ \n\r\t&;#<>.'\"âÃÂ€œ™£©°²×ŒØÙàÄó√≈вВГРСЂў‚β€ā¢"
    "\u02bc\u2018\u2019\u201a\u201b\u201c\u201d\u201e\u201f—–•·"
    "\x85\x81\x9d\x9c\x0c\x07\x1b\x7f\u2028\u2029\ud800\udc00"
    "ﬁﬃŉĲǆＡｂ１；\u00a0\u2002\u200a\u202f\u205f\u3000\u200b\u200e\u202e\u2060\ufeff\u00ad"
    "İıſ\u212aΣσς\u0301\u0303é́ßΩжあ٣_9"
)
PIECES = (
    "â€œ", "â€™", "â€\x9d", "Ã©", "Ã ", "Â ", "&amp;", "&lt;", "&#39;", "&amp；", "\x1b[31m", "ГўВЂВ",
    "вЂ", "‚Äì", "√±", "β€™", "ā€", "ØŸØŸ", "subscribe", "Newsletter", "Sign up", "share on", "© 2024",
    "(c) 2023", "Read more", "See also", "Related:", "Tags:", "cookies accept", "Advertisement",
    "all rights reserved", "ſubscribe", "Cookİes", "LIKE THIS STORY", "Cli\u212ak here", "\n", "\n\n",
    "\r\n", " ", "  ", "• ", "1. ", "- ", "tiny", "words",
)  # fmt: skip
tricky_text = st.lists(st.sampled_from(PIECES) | st.text(alphabet=TRICKY, max_size=6), max_size=40).map(
    "".join
)


def reference_repair(text: str) -> str:
    text = ftfy.fix_text(text, normalization="NFKC")
    text = cleaning._INVISIBLE.sub("", text)
    text = cleaning._CONTROL.sub(" ", text)
    text = mojibake.repair_lost_sequences(text)  # a step of its own (tests/unit/test_mojibake.py)
    return unicodedata.normalize("NFKC", text)


def reference_strip(lines: list[str]) -> list[str]:
    kept = [line for line in lines if not line or not reference_boilerplate(line)]
    joined = "\n".join(kept).strip("\n")
    return re.sub(r"\n{3,}", "\n\n", joined).split("\n") if joined else []


def reference_clean(title: str, text: str, max_chars: int) -> cleaning.CleanText:
    body = text[: max_chars * 2]
    cleaned = "\n".join(reference_strip(reference_normalise(reference_repair(body))))[:max_chars]
    clean_title = " ".join(reference_normalise(reference_repair(title))).strip()
    return cleaning.CleanText(title=clean_title, text=cleaned, word_count=len(cleaned.split()))


def corpus() -> list[tuple[str, str]]:
    return [
        (article["title"], article["text"])
        for article in generate_stream(150, duplicate_share=0.5, seed=7)
        if article.get("text")
    ]


CORPUS = corpus()


# End to end


def test_clean_article_equals_the_plain_steps_on_articles() -> None:
    """Real-looking articles (mojibake copies, promo lines, bullets) clean as the plain steps clean them."""
    assert len(CORPUS) > 50
    for title, text in CORPUS:
        got = cleaning.clean_article(title=title, text=text, html=None, max_chars=100_000)
        assert got == reference_clean(title, text, 100_000)
        got = cleaning.clean_article(title=title, text=text, html=None, max_chars=300)
        assert got == reference_clean(title, text, 300)


@settings(max_examples=500, deadline=None)
@given(title=tricky_text, text=tricky_text)
@example(title="ŉ “x”", text="“Quote” ŉ\n\nSubscribe now\n\n\n\nA\u0303 line &amp； end")
def test_clean_article_equals_the_plain_steps_on_tricky_text(title: str, text: str) -> None:
    """Any text made of the characters the shortcuts reason about cleans as the plain steps clean it."""
    if text.strip():
        got = cleaning.clean_article(title=title, text=text, html=None, max_chars=100_000)
        assert got == reference_clean(title, text, 100_000)


# Encoding repair (streams.mojibake's own shortcuts are checked against ftfy in tests/unit/test_mojibake.py)


@settings(max_examples=500, deadline=None)
@given(tricky_text)
@example("“x” ‘y’\r\nz\rw")  # the one-pass common case, with the line breaks it fixes
@example("“x” \u2126 e\u0301 \u2460")  # NFKC changes something: the common case goes the long way
@example("“x”\u200b\x0c")  # an invisible and a control character to remove
@example("“x” &amp; y")  # an entity
def test_repair_text_equals_the_plain_substitutions(text: str) -> None:
    """Skipping the invisible and control substitutions when there is nothing to remove changes nothing."""
    assert cleaning.repair_text(text) == reference_repair(text)


def test_one_scan_for_the_common_repair_covers_the_invisible_and_control_characters() -> None:
    """The scan of fix_common_text, with repair_text's characters added, matches every character
    repair_text deletes or makes a space, and none of what the common repair puts into a text (straight
    quotes, \\n): its result has nothing left for repair_text to remove."""
    scan, _ = mojibake._common_scan(cleaning._INVISIBLE_OR_CONTROL_CLASS)
    found = set(scan.findall(EVERY_CODE_POINT))
    removed = set(cleaning._INVISIBLE.findall(EVERY_CODE_POINT)) | set(
        cleaning._CONTROL.findall(EVERY_CODE_POINT)
    )
    assert found == set(mojibake._UNCOMMON.findall(EVERY_CODE_POINT)) | removed
    assert not found & {"'", '"', "\n"}


# Lines and spaces


@settings(max_examples=500, deadline=None)
@given(tricky_text)
def test_normalise_lines_equals_line_by_line(text: str) -> None:
    """Skipping the space substitution when nothing needs it gives the lines the per-line rule gives."""
    assert cleaning.normalise_lines(text) == reference_normalise(text)
    assert cleaning._has_spaces_to_fix(text) == (cleaning._SPACES_TO_FIX.search(text) is not None)
    repaired = cleaning.repair_text(text)
    assert cleaning._has_spaces_to_fix(repaired) == (cleaning._SPACES_TO_FIX.search(repaired) is not None)
    # What clean_article does: repair_text's result is NFKC, and is normalised without checking that.
    assert unicodedata.is_normalized("NFKC", repaired)
    assert cleaning._has_spaces_to_fix(repaired, nfkc=True) == cleaning._has_spaces_to_fix(repaired)
    assert cleaning.normalise_lines(repaired, nfkc=True) == reference_normalise(repaired)


def test_nfkc_text_holds_no_odd_space() -> None:
    """Every space but the plain one and the tab is changed by NFKC, so normalised text has none."""
    odd = [char for char in EVERY_CODE_POINT[:0x10000] if cleaning._ODD_SPACES.match(char) and char != "\t"]
    assert len(odd) == 15
    for char in odd:
        for context in (char, "a" + char + "b", " " + char, "\u0301" + char + "\u0301"):
            assert not unicodedata.is_normalized("NFKC", context), repr(char)


# Boilerplate


def test_case_folding_letters_are_the_ones_lower_misses() -> None:
    """A character the pattern matches case-insensitively for one of the pre-filter's letters is that
    letter once lower-cased, or one of _CASE_FOLDS_TO_ASCII (checked over every code point)."""
    literals = set("".join(cleaning._BOILERPLATE_WORDS))
    assert literals <= set(string.ascii_lowercase + " -()©")
    for literal in sorted(literals):
        for char in set(re.findall(re.escape(literal), EVERY_CODE_POINT, re.IGNORECASE)):
            assert char.lower() == literal or char in cleaning._CASE_FOLDS_TO_ASCII, (literal, char)
    assert {"\u0130", "\u0131", "\u017f"} <= cleaning._CASE_FOLDS_TO_ASCII
    assert "K" not in cleaning._CASE_FOLDS_TO_ASCII  # a plain K lower-cases to k like any letter


def test_line_start_words_are_the_anchored_alternatives_own() -> None:
    """The pre-filter's words split into those searched anywhere and those looked for at a line's start,
    which only alternatives anchored at ``^\\s*`` need, and ``\\s`` is str.lstrip's white space, which
    lower() leaves alone (checked over every code point)."""
    anywhere, starts = set(cleaning._BOILERPLATE_ANYWHERE), set(cleaning._BOILERPLATE_LINE_STARTS)
    assert anywhere | starts == set(cleaning._BOILERPLATE_WORDS) and not anywhere & starts
    for word in starts:  # the pattern has no alternative that finds one of them in mid-line
        assert not cleaning._BOILERPLATE.search("x " + word + " x : x"), word
        after_spaces = " \u3000\x1c" + word.upper()
        assert any(cleaning._BOILERPLATE.search(after_spaces + end) for end in (" ", " :")), word
    spaces = re.findall(r"\s", EVERY_CODE_POINT)
    assert spaces == [char for char in EVERY_CODE_POINT if char.isspace()]
    assert all(char.lower() == char for char in spaces)


lines_strategy = st.lists(
    st.one_of(
        tricky_text.map(lambda text: text.replace("\n", " ")),
        st.sampled_from(PIECES).map(lambda piece: piece.strip("\n")),
        st.just(""),
        st.builds(lambda word, n: (word + " x") * n, st.sampled_from(PIECES), st.integers(30, 80)),
        tricky_text,  # now and then a line holding a line break of its own
    ),
    max_size=25,
)


def text_core(compiled: bool) -> contextlib.AbstractContextManager[object]:
    """The compiled text core as built, or the Python fallback in its place."""
    return contextlib.nullcontext() if compiled else mock.patch.object(cleaning, "_textcore", None)


CORES = [
    pytest.param(False, id="python"),
    pytest.param(
        True, id="compiled", marks=pytest.mark.skipif(cleaning._textcore is None, reason="not built")
    ),
]


@pytest.mark.parametrize("compiled", CORES)
@settings(max_examples=800, deadline=None)
@given(lines=lines_strategy)
@example(lines=["Subscribe", "", "", "x", "", "Cookİes: we accept", "ſubscribe", "Cli\u212ak here", "a"])
@example(lines=["Read more" + " x" * 120, "Read more", "Related:\nTags: a"])
@example(
    lines=["x Read more", "\u3000 see ALSO this", "\x1cTags: a", " related", "ADVERTISEMENT ", "\u0130tags:"]
)
def test_boilerplate_lines_equal_the_pattern_line_by_line(compiled: bool, lines: list[str]) -> None:
    """The joined-text search picks exactly the lines the pattern picks one by one."""
    expected = {i for i, line in enumerate(lines) if line and reference_boilerplate(line)}
    with text_core(compiled):
        assert cleaning._boilerplate_lines(lines) == expected
        assert cleaning.strip_boilerplate(lines) == reference_strip(lines)
        assert cleaning._join_without_boilerplate(lines) == "\n".join(reference_strip(lines))
    for line in lines:
        assert cleaning.is_boilerplate(line) == reference_boilerplate(line)


# Boilerplate words cut and run together, the non-ASCII one (©) beside other two-byte characters,
# line breaks, lone surrogates: the scan of the bytes must find the lines the searches of the text find.
scan_text = st.lists(
    st.one_of(
        st.sampled_from([*cleaning._BOILERPLATE_ANYWHERE, "\n", "©", "ª©", "(c", "c)", "sub", "\ud800"]),
        st.text(alphabet="aceilnoprsu ()-\n©\u00a9\u00c2ÂéЖ", max_size=6),
    ),
    max_size=30,
).map("".join)


@settings(max_examples=600, deadline=None)
@given(scan_text)
@example("subscribe\nxx ©\n(c)(c) sign-up\nnewsletter")
@example("cooki\ncookie")
def test_the_compiled_scan_finds_the_lines_the_searches_find(text: str) -> None:
    if cleaning._textcore is None:
        pytest.skip("the compiled text core is not built")
    with text_core(False):
        expected = set(cleaning._lines_with_boilerplate_words(text))
    assert set(cleaning._lines_with_boilerplate_words(text)) == expected


def test_the_compiled_scan_rejects_bad_words() -> None:
    if cleaning._textcore is None:
        pytest.skip("the compiled text core is not built")
    scan = cleaning._textcore.lines_with_any
    assert scan(b"a\nx subscribe\n\nsubscribe", (b"subscribe",)) == [1, 3]
    assert scan(b"x", (b"zz",)) == [] and scan(b"", (b"zz", b"subscribe")) == []
    with pytest.raises(TypeError, match="2 or more"):
        scan(b"x", (b"z",))
    with pytest.raises(TypeError, match="2 or more"):
        scan(b"x", ("zz",))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at most"):
        scan(b"x", tuple(b"w%02d" % i for i in range(65)))
    assert scan(b"x subscribe", cleaning._BOILERPLATE_ANYWHERE_UTF8) == [0]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.text(alphabet="aΣσς.'\u0301\u00ad İıK ", max_size=8), min_size=1, max_size=6))
def test_lower_keeps_lines_apart(lines: list[str]) -> None:
    """Lower-casing the joined lines lower-cases each line as it would alone (final sigma included)."""
    assert "\n".join(lines).lower().split("\n") == [line.lower() for line in lines]


# Word count

WHITE_SPACE = [char for char in EVERY_CODE_POINT if char.isspace()]


@settings(max_examples=500, deadline=None)
@given(
    tricky_text
    | st.lists(st.sampled_from(["a", "é", "ж", "\ud800", "’", *WHITE_SPACE]), max_size=30).map("".join)
)
@example("")
@example(" ")
@example("a")
@example(" a  b\n\nc ")
@example("a\u00a0b\u3000c\x1cd\x85e")
@example("Привет, мир! x y")  # mostly outside ASCII: split
@example("Some words, one “quote”, é and — then more of them")
def test_word_count_equals_split(text: str) -> None:
    """Counting the runs of bytes that are not ASCII white space gives len(text.split())."""
    assert cleaning.word_count(text) == len(text.split())


def test_word_count_on_every_code_point() -> None:
    """Each character as a word of its own, or as the space between two words, counts as str.split does."""
    assert cleaning.word_count(" ".join(EVERY_CODE_POINT)) == len(" ".join(EVERY_CODE_POINT).split())
    assert cleaning.word_count(EVERY_CODE_POINT[:0x3100]) == len(EVERY_CODE_POINT[:0x3100].split())
    for char in WHITE_SPACE:
        assert cleaning.word_count("a" + char + "b" + char) == 2, repr(char)
    assert set(re.findall(r"\s", EVERY_CODE_POINT)) == set(WHITE_SPACE)
