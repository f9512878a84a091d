"""streams.mojibake gives what ftfy gives, and differs from it only where it says so.

``mojibake.fix_text`` claims to be ``ftfy.fix_text(text, normalization="NFKC")`` (the configuration the
service uses: ftfy's defaults, NFKC instead of NFC) on any text: checked on examples with the expected
result written out, on any text made of the characters its shortcuts reason about (hypothesis), and on
articles garbled the usual ways; each shortcut is also checked against the ftfy function or fact it
stands for, on every code point where that is cheap.

``repair_lost_sequences`` is the deliberate difference: it changes text ftfy leaves alone (``yearâs``),
lossily, and only where the lead characters of lost UTF-8 sequences stand alone in English-like text.
"""

from __future__ import annotations

import re
import unicodedata
from unittest import mock

import ftfy
import ftfy.bad_codecs
import pytest
from ftfy import fixes as ftfy_fixes
from ftfy.badness import BADNESS_RE, MOJIBAKE_CATEGORIES, is_bad
from hypothesis import example, given, settings
from hypothesis import strategies as st

from streams import mojibake

EVERY_CODE_POINT = "".join(map(chr, range(0x110000)))


def ftfy_nfkc(text: str) -> str:
    """What streams.mojibake.fix_text claims to compute."""
    return ftfy.fix_text(text, normalization="NFKC")


# Characters the shortcuts reason about: mojibake pieces and triggers, entities and "<", every curly
# quote, line breaks (\r, \x85, \u2028), C1 and C0 controls, escape, surrogates, ligatures (ŉ turns into
# a curly quote under NFKC), full width, odd spaces, zero width and bidi marks, combining marks (A + tilde
# composes to Ã), and letters of other scripts.
TRICKY = (
    "aAbcekKsSzZ \n\r\t&;#<>.'\"âÃÂ€œ™£©°²×ŒØÙàÄó√≈вВГРСЂў‚β€ā¢"
    "\u02bc\u2018\u2019\u201a\u201b\u201c\u201d\u201e\u201f—–•·"
    "\x85\x81\x9d\x9c\x0c\x07\x1b\x7f\u2028\u2029\ud800\udc00"
    "ﬁﬃŉĲǆＡｂ１；\u00a0\u2002\u200a\u202f\u205f\u3000\u200b\u200e\u202e\u2060\ufeff\u00ad"
    "\u0301\u0303é́ßΩжあ٣_9"
)
PIECES = (
    "â€œ", "â€™", "â€\x9d", "Ã©", "Ã ", "Â ", "&amp;", "&lt;", "&#39;", "&amp；", "\x1b[31m", "ГўВЂВ",
    "вЂ", "‚Äì", "√±", "β€™", "ā€", "ØŸØŸ", "yearâs", "âthe", "\n", "\n\n", "\r\n", " ", "words",
)  # fmt: skip
tricky_text = st.lists(st.sampled_from(PIECES) | st.text(alphabet=TRICKY, max_size=6), max_size=40).map(
    "".join
)
TRIGGER_RICH = "".join(
    sorted(
        set(re.findall(f"[{''.join(MOJIBAKE_CATEGORIES.values())}]", EVERY_CODE_POINT[:0x10000]))
        | set("ŒœÂÃÎÐ×ØÙàÄâó√≈вВГРСβΒΓΞΟā°²³ЂўŸŠš¢£\xa0\xad®©°·»–—´ ÁÉ")
    )
)
badness_text = st.lists(
    st.sampled_from(PIECES) | st.text(alphabet=TRIGGER_RICH + "aZ .,?!\n", max_size=4), max_size=30
).map("".join)


def garble(text: str, encoding: str, times: int) -> str:
    """Mojibake as it happens: UTF-8 bytes read in a single-byte encoding, once or twice."""
    for _ in range(times):
        text = text.encode("utf-8", "surrogatepass").decode(encoding, errors="replace")
    return text


mojibake_text = st.builds(
    garble,
    tricky_text | badness_text,
    st.sampled_from(["cp1252", "latin-1", "cp1251", "mac_roman", "cp437", "iso-8859-2"]),
    st.integers(min_value=1, max_value=2),
)
any_repair_text = tricky_text | badness_text | mojibake_text

# News paragraphs with what real copies carry: curly quotes and apostrophes, dashes, ellipses, accented
# names, currency and degree signs, a no-break space, other scripts.
ARTICLES = (
    "“It’s the most important decision this chamber will take in a generation,” said Priya Ramaswamy.\n\n"
    "The barrier will cost £310 million — about €360 million — and take six years…",
    "Le maire de Besançon a annoncé l’ouverture d’un théâtre.\nMüller, Øresund, São Paulo: 12\u00a0°C",
    "‘Don’t panic’, the minister told reporters – twice.\r\nПривет, мир. 東京都の新しい政策。",
    "Résumé: naïve café owners’ “co-operative” earned ¥2,000 in Q1; the CEO’s ½ share is ‘safe’.",
)


# fix_text: examples with the result written out


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("â€œQuoteâ€\x9d and itâ€™s done â€” fine", '"Quote" and it\'s done — fine'),  # UTF-8 read as cp1252
        ("â€˜singleâ€™", "'single'"),
        ("cafÃ© au lait, naÃ¯ve rÃ©sumÃ©", "café au lait, naïve résumé"),
        ("Ã\xa0 la carte", "à la carte"),
        ("cafÃƒÂ©", "café"),  # garbled twice
        ("Â£5 and 10Â°C", "£5 and 10°C"),
        ("ÐŸÑ€Ð¸Ð²ÐµÑ‚", "Привет"),  # Russian read as cp1252
        ("РџСЂРёРІРµС‚", "Привет"),  # read as cp1251
        ("“Quoted” and ‘single’", "\"Quoted\" and 'single'"),  # the common text: quotes only
        ("£5 “quoted”", '£5 "quoted"'),  # a trigger that is not mojibake
        ("ﬁnance ﬂow", "finance flow"),
        ("ＦＵＬＬ\u3000ｗｉｄｔｈ", "FULL width"),
        ("&amp; &lt;b&gt; &#39;x&#39;", "& <b> 'x'"),  # entities unescaped in text without "<"
        ("<b>&amp;</b>", "<b>&amp;</b>"),  # ... and left alone in markup
        ("line\r\nbreak\rhere\u2028end", "line\nbreak\nhere\nend"),
        ("\x1b[31mred\x1b[0m", "red"),
        ("x\u00a0y ½", "x y 1⁄2"),  # NFKC, where ftfy's default (NFC) keeps both
        ("château, São Paulo, L'âge d'or", "château, São Paulo, L'âge d'or"),
        ("yearâs", "yearâs"),  # a lost sequence: ftfy cannot rebuild it (repair_lost_sequences does)
        ("", ""),
    ],
)
def test_fix_text_examples(text: str, expected: str) -> None:
    """The repair ftfy makes, written out: fix_text makes exactly it."""
    assert ftfy_nfkc(text) == expected  # what ftfy does (if this fails, ftfy changed)
    assert mojibake.fix_text(text) == expected


def test_fix_text_is_ftfy_with_nfkc_not_ftfys_default() -> None:
    """The configuration intended is ftfy's defaults with NFKC: on text NFC keeps, ftfy's default differs."""
    text = "x\u00a0y ½ ﬁ²"
    assert ftfy.fix_text(text) != ftfy_nfkc(text)
    assert mojibake.fix_text(text) == ftfy_nfkc(text) == unicodedata.normalize("NFKC", text)


@pytest.mark.parametrize("text", ARTICLES)
@pytest.mark.parametrize(
    ("encoding", "times"),
    [(None, 0), ("cp1252", 1), ("cp1252", 2), ("latin-1", 1), ("mac_roman", 1), ("sloppy-windows-1252", 1)],
)
def test_fix_text_equals_ftfy_on_articles(text: str, encoding: str | None, times: int) -> None:
    """News paragraphs as sent and garbled the usual ways (the line-by-line path): ftfy's result."""
    garbled = garble(text, encoding, times) if encoding else text
    assert mojibake.fix_text(garbled) == ftfy_nfkc(garbled)
    assert mojibake._fix_text_by_lines(garbled) == ftfy_nfkc(garbled)
    if encoding == "sloppy-windows-1252":  # no byte lost (cp1252 itself drops 0x9d of ”): all rebuilt
        assert mojibake.fix_text(garbled) == ftfy_nfkc(text)


# fix_text: any text


@settings(max_examples=800, deadline=None)
@given(tricky_text)
@example("ŉ “x”")  # NFKC makes a curly quote the first pass did not see: a second pass is needed
@example("A\u0303 “x”")  # NFKC makes Ã, which sends the text to ftfy
@example("&amp； “x”")  # the width fixer makes an entity, which ftfy unescapes
@example("£5 and “x”")  # a trigger that is not mojibake
@example("Ã\u00a0 x £")
@example("x\n\ufb01\u201c\r\n\x85\u2028")
def test_fix_text_equals_ftfy(text: str) -> None:
    """fix_text is ftfy.fix_text(text, normalization="NFKC"), on the first pass and the second."""
    assert mojibake.fix_text(text) == ftfy_nfkc(text)


@settings(max_examples=1500, deadline=None)
@given(any_repair_text)
@example("â€œQuoteâ€\ufffd\n\nItâ€™s here\n")  # the synthetic mojibake: ” has no cp1252 byte
@example("<b>x</b>\n&amp; Ã©\n")  # no unescaping from the first "<" on, in later lines too
@example("&amp; Ã©\n<b>&amp;</b>\n&lt;")
@example("Ã\n\nÂ\n\x1b[31mx\r\ny\rz")
def test_fix_text_by_lines_equals_ftfy(text: str) -> None:
    """ftfy's line-by-line computation without its overhead is ftfy.fix_text(text, normalization="NFKC")."""
    assert mojibake._fix_text_by_lines(text) == ftfy_nfkc(text)
    assert mojibake.fix_text(text) == ftfy_nfkc(text)


@settings(max_examples=800, deadline=None)
@given(any_repair_text, st.booleans())
@example("ŉ Ã© x", True)  # the first pass's NFKC makes a curly quote: the second pass is needed
@example("&amp； Ã© x", True)  # the first pass makes an entity
@example("&amp； Ã© x", False)
@example("Ã© \u2126 “x”\n", True)  # NFKC and a quote in the first pass, nothing left for a second
@example("plain ASCII line\n", True)
def test_fix_segment_and_fix_encoding_equal_ftfy(text: str, unescape: bool) -> None:
    """One segment fixed as fix_and_explain fixes it, with HTML unescaping on and off; the encoding alone
    as ftfy.fix_encoding fixes it."""
    config = ftfy.TextFixerConfig(
        normalization="NFKC", explain=False, unescape_html="auto" if unescape else False
    )
    for segment in text.splitlines(keepends=True) or [text]:
        if not unescape or "<" not in segment:  # fix_and_explain itself turns unescaping off then
            assert mojibake._fix_segment(segment, unescape) == ftfy.fix_and_explain(segment, config).text
    assert mojibake._fix_encoding(text) == ftfy.fix_encoding(text)


@settings(max_examples=200, deadline=None)
@given(any_repair_text, st.integers(min_value=1, max_value=12))
def test_fix_text_cuts_long_lines_as_ftfy(text: str, length: int) -> None:
    """Lines longer than ftfy's max_decode_length are cut into segments at the same places."""
    with mock.patch.object(mojibake, "_FTFY_MAX_SEGMENT", length):
        got = mojibake._fix_text_by_lines(text), mojibake.fix_text(text)
    expected = ftfy.fix_text(text, normalization="NFKC", max_decode_length=length)
    assert got == (expected, expected)


# fix_common_text: the one-scan shortcut for the usual text

# What a caller may add to the scan: cleaning adds its invisible and control characters.
ALSO_ABSENT = ["", r"\u200b-\u200f\ufeff\x00-\x08"]


@pytest.mark.parametrize("also_absent", ALSO_ABSENT)
@settings(max_examples=500, deadline=None)
@given(text=tricky_text | st.text())
@example(text="“x” ‘y’\r\nz\rw")  # the common text, with the line breaks it fixes
@example(text="“x” \u2126 e\u0301 \u2460")  # NFKC changes something: not the common text
@example(text="“x”\u200b")
@example(text="“x” &amp; y")  # an entity
@example(text="yearâs")  # a lost lead: never the common text
def test_fix_common_text_is_fix_text_or_none(also_absent: str, text: str) -> None:
    """Where fix_common_text answers, it answers ftfy's result: NFKC text without â/Ã/Â or any character
    of also_absent; None for a text with one of those."""
    got = mojibake.fix_common_text(text, also_absent)
    absent = re.compile(f"[âÃÂ{also_absent}]")
    if got is not None:
        assert got == ftfy_nfkc(text)
        assert unicodedata.is_normalized("NFKC", got)
        assert absent.search(got) is None
    if absent.search(text) is not None:
        assert got is None


def test_fix_common_text_finds_the_usual_text() -> None:
    """The shortcut is taken for text with curly quotes, dashes and line breaks only (else it would only
    cost time)."""
    text = "“It’s done,” she said — twice.\r\nA second line\n"
    assert mojibake.fix_common_text(text) == '"It\'s done," she said — twice.\nA second line\n'
    assert mojibake.fix_common_text(text + "…") is None  # NFKC makes "..." of it: the long way
    assert mojibake.fix_common_text(text, ALSO_ABSENT[1]) is not None
    assert mojibake.fix_common_text(text + "\u200b", ALSO_ABSENT[1]) is None
    assert mojibake.fix_common_text("x" * (mojibake._FTFY_MAX_SEGMENT + 1)) is None  # ftfy would cut it


@pytest.mark.parametrize("also_absent", ALSO_ABSENT)
@settings(max_examples=500, deadline=None)
@given(text=tricky_text | st.text())
@example(text="")
@example(text="plain ASCII, \t and \r\n")
@example(text="\x00\x7f\x1b")
@example(text="e\u0301 \ud800 \udfff x")
@example(text="東京都の新しい政策 “x”")  # mostly outside ASCII: searched as it is
def test_the_scan_of_the_bytes_left_equals_the_search(also_absent: str, text: str) -> None:
    """Searching only what is left of the UTF-8 bytes once the ASCII characters the pattern cannot match
    are deleted finds a character exactly when searching the text does."""
    pattern, ascii_unmatched = mojibake._common_scan(also_absent)
    assert mojibake._has_any(pattern, ascii_unmatched, text) == (pattern.search(text) is not None)


@pytest.mark.parametrize("also_absent", ALSO_ABSENT)
def test_the_scan_of_the_bytes_left_on_every_code_point(also_absent: str) -> None:
    """Each character, between ASCII ones, is found on the bytes left exactly when the pattern matches it."""
    pattern, ascii_unmatched = mojibake._common_scan(also_absent)
    assert set(pattern.findall(EVERY_CODE_POINT)) == set(mojibake._UNCOMMON.findall(EVERY_CODE_POINT)) | (
        set(re.findall(f"[{also_absent}]", EVERY_CODE_POINT)) if also_absent else set()
    )
    for char in EVERY_CODE_POINT:
        expected = pattern.match(char) is not None
        assert mojibake._has_any(pattern, ascii_unmatched, "ab " + char + " cd") == expected, repr(char)


# The tables and facts the shortcuts rest on


def test_uncurl_table_equals_ftfy_on_every_code_point() -> None:
    """The replacement table uncurls exactly the characters ftfy's uncurl_quotes does, the same way."""
    assert mojibake._uncurl_quotes(EVERY_CODE_POINT) == ftfy_fixes.uncurl_quotes(EVERY_CODE_POINT)


def test_fixer_target_sets_hold_every_character_a_fixer_changes() -> None:
    """Text without these characters goes through each of the eight fixers unchanged."""
    fixers = {
        "fix_c1_controls": mojibake._C1_CHARS,
        "fix_latin_ligatures": mojibake._LIGATURE_CHARS,
        "fix_character_width": mojibake._WIDTH_CHARS,
        "uncurl_quotes": mojibake._CURLY_CHARS,
        "fix_line_breaks": mojibake._LINE_BREAKS,
        "fix_surrogates": mojibake._SURROGATES,
        "remove_control_chars": mojibake._CONTROL_CHARS,
    }
    for name, targets in fixers.items():
        rest = "".join(char for char in EVERY_CODE_POINT if char not in targets)
        assert getattr(ftfy_fixes, name)(rest) == rest, name
    assert "\x1b" in mojibake._RARE_TARGETS  # remove_terminal_escapes needs it to change anything
    assert mojibake._FIXER_TARGETS == mojibake._COMMON_TARGETS | mojibake._RARE_TARGETS
    for char in mojibake._FTFY_ONLY | mojibake._RARE_TARGETS:
        assert mojibake._UNCOMMON.search(char), repr(char)
    for char in mojibake._FTFY_ONLY | mojibake._FIXER_TARGETS:
        assert mojibake._UNCOMMON_OR_TARGET.search(char), repr(char)


def test_badness_regex_is_at_most_the_width_is_bad_assumes() -> None:
    """_is_bad looks this far around each trigger: no match of ftfy's badness regex is longer."""
    _, widest = re._parser.parse(BADNESS_RE.pattern, BADNESS_RE.flags).getwidth()  # type: ignore[attr-defined]
    assert widest == mojibake._BADNESS_MAX_WIDTH


@settings(max_examples=1500, deadline=None)
@given(badness_text)
@example("Ã a")  # the pattern anchored at ^
@example("x\nÃ a")
@example("ГўВЂВ.a")  # the widest pattern
@example("£" + "x" * 5 + "£" + "x" * 20 + "Ã©")  # triggers with spans that touch, then a far one
def test_windowed_is_bad_equals_is_bad(text: str) -> None:
    """Searching only around trigger characters finds mojibake exactly when ftfy's is_bad does."""
    assert mojibake._is_bad(text) == is_bad(text)
    for match in BADNESS_RE.finditer(text):  # what the windows rely on: each match holds a trigger
        assert mojibake._MOJIBAKE_TRIGGER.search(match.group()), match


# repair_lost_sequences: the deliberate difference from ftfy

# Long enough (500 letters) for a lone lead at a word's edge to count as a lost quote on its own.
LONG_ENGLISH = "The council said the plan would go ahead next year after a long consultation. " * 9


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # ’ lost its last two bytes (or its last one): an apostrophe before s, t, re, m, ll, ve, d
        ("yearâs", "year's"),
        ("Itâ€s a test", "It's a test"),
        ("Theyâre here, weâll see, Iâm sure", "They're here, we'll see, I'm sure"),
        ("youâve, heâd, donât", "you've, he'd, don't"),
        # “ and ” lost: a space, once an apostrophe showed the damage (or in a long text)
        ("said âthe most importantâ today and itâs", "said  the most important  today and it's"),
        (LONG_ENGLISH + "a âgenerationâ€.", LONG_ENGLISH + "a  generation ."),
        ("Itâs in the château", "It's in the château"),  # inside a word, a lead is a letter
    ],
)
def test_lost_sequences_are_neutralised_where_ftfy_keeps_them(text: str, expected: str) -> None:
    """The deliberate difference: ftfy leaves a lead character whose other bytes were lost as it is;
    repair_lost_sequences makes an apostrophe or a space of it."""
    assert ftfy_nfkc(text) == text  # ftfy cannot rebuild these
    assert mojibake.fix_text(text) == text  # and fix_text, ftfy's result, does not either
    assert mojibake.repair_lost_sequences(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "said âthe most importantâ today",  # a lone lead at a word's edge, short text: no proof
        "L'âge d'or",
        "SÃO PAULO",
        "Le château de Versailles accueille le gâteau des rois; un dégât à l'âge d'or, près du théâtre.",
        "A câmara de São Paulo aprovou a lâmpada; ÂNGULO e âmbito não mudam, disse o português.",
        "România: mâine, când",
        "Tiếng Việt: cân, tâm, ăn",
        "Itâs a"
        + " Portuguese ação" * 20,  # a contraction, but other letters outside ASCII: another language
    ],
)
def test_other_languages_keep_their_letters(text: str) -> None:
    """â, ã, Ã and Â in a language that uses them (or a short text without a contraction) stay."""
    assert mojibake.repair_lost_sequences(text) == text


def test_full_sequences_are_ftfys_to_repair_not_lost() -> None:
    """`â€œ` still has all its bytes: ftfy rebuilds it, and nothing is left for the lossy step."""
    text = "He called it â€œthe decisionâ€\x9d, and itâ€™s final."
    assert mojibake.fix_text(text) == ftfy_nfkc(text) == 'He called it "the decision", and it\'s final.'
    assert mojibake.repair_lost_sequences(mojibake.fix_text(text)) == mojibake.fix_text(text)


LEADS_AND_TAILS = mojibake._LOST_LEADS | set(mojibake._LOST_TAIL)


def _kept(text: str) -> list[str]:
    return [char for char in text if char not in LEADS_AND_TAILS and char not in "' "]


lost_text = st.lists(
    st.sampled_from(
        ["â", "Ã", "Â", "â€", "â€\x9d", "s", "t", "ll", " ", "'", "é", "ã", "x", "The", "\n", "."]
    )
    | st.text(alphabet="abcdefghij ,.\n", max_size=12),
    max_size=120,
).map("".join)


@settings(max_examples=800, deadline=None)
@given(lost_text | tricky_text)
@example(LONG_ENGLISH + "âthe")
def test_repair_lost_sequences_only_replaces_lost_sequences(text: str) -> None:
    """Every other character stays where it was; what changes becomes an apostrophe or a space; text
    without a lead character is returned as it is."""
    repaired = mojibake.repair_lost_sequences(text)
    assert _kept(repaired) == _kept(text)
    assert set(repaired) <= set(text) | {"'", " "}
    assert len(repaired) <= len(text)
    if mojibake._LOST_LEADS.isdisjoint(text):
        assert repaired == text
