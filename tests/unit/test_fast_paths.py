"""The hot path's shortcuts give exactly what the plain implementations give (decisions must not move)."""

from __future__ import annotations

import re

import ftfy
import numpy as np
import xxhash
from hypothesis import given, settings
from hypothesis import strategies as st

from streams import cleaning, fingerprint, mojibake
from streams.models import _MAX_NESTING, Rejection, parse_article
from streams.tools.synthetic import generate_stream

# Characters that exercise every branch: mojibake pieces, entities, quotes, ligatures, full width,
# controls, line separators, the letters that case-fold to ASCII, digits and non-Latin letters.
TRICKY = "aAbzZ \n\r\t&;#<>âÃÂ€œ™’‘“”—–•©°²×ﬁＡｂ\u00a0\u200b\u2028\u0085\x1b\x07\x9dİıſKé́ßΩжあ٣_9'"
tricky_text = st.text(alphabet=TRICKY, max_size=80)


def corpus() -> list[str]:
    texts = []
    for article in generate_stream(120, duplicate_share=0.5, seed=99):
        body = article.get("text") or cleaning.html_to_text(article["html"])[0]
        texts += [body, article["title"]]
    return texts


CORPUS = corpus()


def reference_boilerplate(line: str) -> bool:
    return len(line) <= cleaning._BOILERPLATE_MAX_CHARS and cleaning._BOILERPLATE.search(line) is not None


def reference_normalise(text: str) -> list[str]:
    lines = []
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = cleaning._SPACES.sub(" ", raw).strip()
        lines.append(cleaning._BULLET.sub("- ", line) if line and cleaning._BULLET.match(line) else line)
    return lines


def reference_minhash(hashes: np.ndarray, num_perm: int, seed: int) -> np.ndarray:
    a, b = fingerprint._permutations(num_perm, seed)
    return ((np.multiply.outer(hashes, a) + b) >> np.uint64(32)).min(axis=0).astype(np.uint32)


def test_fast_ftfy_equals_ftfy_on_articles():
    """mojibake.fix_text is ftfy.fix_text(..., NFKC) on real-looking articles, mojibake copies included."""
    for text in CORPUS:
        assert mojibake.fix_text(text) == ftfy.fix_text(text, normalization="NFKC")


@settings(max_examples=400, deadline=None)
@given(tricky_text)
def test_fast_ftfy_equals_ftfy_on_tricky_text(text):
    """mojibake.fix_text agrees with ftfy on text made of the characters its shortcut reasons about."""
    assert mojibake.fix_text(text) == ftfy.fix_text(text, normalization="NFKC")


#: One line per alternative of the boilerplate pattern, in its order.
ONE_LINE_PER_ALTERNATIVE = (
    "Subscribe today", "Our NEWSLETTER", "Sign up here", "Sign-up bonus", "Like this story? Tell us",
    "Share via email", "Follow us on X", "Click here for more", "© Example News", "(c) 2024 Example",
    "Copyright Example", "All rights reserved.", "  Read the full story", "Continue reading",
    "Please read the original", "Originally appeared in Example", "Advertisement", "Related stories:",
    "Get more from Example", "Download our app", "We use cookies: accept them", "Filed under: news",
)  # fmt: skip


def _top_level_alternatives(pattern: str) -> list[str]:
    body = pattern.strip()[1:-1]  # inside the outer group
    depth, start, parts = 0, 0, []
    for i, ch in enumerate(body):
        depth += ch == "("
        depth -= ch == ")"
        if ch == "|" and depth == 0:
            parts.append(body[start:i])
            start = i + 1
    return [*parts, body[start:]]


def test_boilerplate_prefilter_keeps_every_alternative():
    """A line for each alternative of the pattern (a new one needs a line) still counts as boilerplate."""
    alternatives = _top_level_alternatives(cleaning._BOILERPLATE.pattern)
    assert len(alternatives) == len(ONE_LINE_PER_ALTERNATIVE)
    for alternative, line in zip(alternatives, ONE_LINE_PER_ALTERNATIVE, strict=True):
        assert re.search(alternative, line, re.IGNORECASE | re.VERBOSE), (alternative, line)
        assert cleaning.is_boilerplate(line), line
        # The joined-text pre-filter: a word anywhere, or (anchored alternatives only) at the line's start.
        lowered = line.lower()
        found_anywhere = any(word in lowered for word in cleaning._BOILERPLATE_ANYWHERE)
        if alternative.strip().startswith("^"):
            assert found_anywhere or lowered.lstrip().startswith(cleaning._BOILERPLATE_LINE_STARTS), line
        else:
            assert found_anywhere, line
        assert cleaning._boilerplate_lines(["A plain line.", line]) == {1}, line


@settings(max_examples=400, deadline=None)
@given(
    st.text(
        alphabet=TRICKY + "subscribe newsletter sign up read more see also tags: related cookie", max_size=60
    )
)
def test_boilerplate_prefilter_changes_nothing(line):
    """is_boilerplate with its word pre-filter answers as the bare pattern does."""
    assert cleaning.is_boilerplate(line) == reference_boilerplate(line)


def test_boilerplate_prefilter_on_known_lines():
    """Promo lines, including ones spelled with letters that case-fold to ASCII, are still found."""
    lines = ("Subscribe to our newsletter", "READ MORE: the story", "Related:", "Tags: a, b", "(C) 2024 X",
             "ſubscribe now", "Cookİes: we accept", "Share on X", "A sentence about reading.")  # fmt: skip
    for line in lines:
        assert cleaning.is_boilerplate(line) == reference_boilerplate(line)
    for text in CORPUS:
        lines = cleaning.normalise_lines(text)
        kept = [line for line in lines if not line or not reference_boilerplate(line)]
        joined = "\n".join(kept).strip("\n")
        expected = re.sub(r"\n{3,}", "\n\n", joined).split("\n") if joined else []
        assert cleaning.strip_boilerplate(lines) == expected


@settings(max_examples=300, deadline=None)
@given(tricky_text)
def test_normalise_lines_equals_line_by_line(text):
    """One whitespace substitution over the text gives the lines the per-line substitution gave."""
    assert cleaning.normalise_lines(text) == reference_normalise(text)


@settings(max_examples=300, deadline=None)
@given(tricky_text)
def test_words_tokens_and_exact_key_equal_the_plain_regex(text):
    """The ASCII tokenizer shortcut and the shared word list change no token and no exact key."""
    folded = text.casefold()
    assert fingerprint._words(folded) == fingerprint._WORD.findall(folded)
    plain = [
        w for w in fingerprint._WORD.findall(folded.replace("’", "'")) if w not in fingerprint.STOP_WORDS
    ]
    assert fingerprint.tokens(text) == plain
    assert fingerprint.exact_key(text) == xxhash.xxh3_128_hexdigest(
        " ".join(fingerprint._WORD.findall(folded)).encode()
    )


def test_fingerprint_keys_and_minhash_equal_the_plain_computation():
    """fingerprint() gives the exact key and signature of the straightforward computation."""
    params = fingerprint.FingerprintParams()
    for text in CORPUS[:60]:
        fp = fingerprint.fingerprint(text, "https://example.com/a", params)
        assert fp.exact_key == fingerprint.exact_key(text)
        hashes = np.unique(fingerprint.hash_shingles(fingerprint.shingles(text)))
        expected = reference_minhash(hashes, params.num_perm, params.seed) if hashes.size else fp.signature
        assert np.array_equal(fp.signature, expected)


def test_nesting_shortcut_still_rejects_deep_json():
    """Payloads with few brackets skip the depth scan; deep ones are still rejected as invalid_json."""
    deep = (
        b'{"url": "https://a.example/x", "text": "t", "x": '
        + b"[" * (_MAX_NESTING + 1)
        + b"]" * (_MAX_NESTING + 1)
        + b"}"
    )
    result = parse_article(deep, max_bytes=10_000)
    assert isinstance(result, Rejection) and result.error == "invalid_json"
    flat = b'{"url": "https://a.example/x", "text": "[[[ not nesting ]]]"}'
    assert not isinstance(parse_article(flat, max_bytes=10_000), Rejection)
