"""fingerprint()'s fast paths give bit for bit what the plain computation gives.

The plain computation below is the straightforward one (Unicode word pattern on the case-folded text,
one xxhash a shingle, np.unique, one reduction per permutation): any difference would move the keys,
signatures and band hashes stored in the index, and with them the decisions. Both implementations of
fingerprint() are checked: the compiled core (streams/_native/textcore.c) and the pure-Python path.
"""

from __future__ import annotations

import itertools
import os

import numpy as np
import pytest
import xxhash
from hypothesis import example, given, settings
from hypothesis import strategies as st

from streams import cleaning, fingerprint
from streams.fingerprint import Fingerprint, FingerprintParams
from streams.tools.synthetic import generate_stream

PARAMS = FingerprintParams()

IMPLEMENTATIONS = [
    pytest.param(fingerprint.fingerprint_python, id="python"),
    pytest.param(
        fingerprint.fingerprint,
        id="native",
        marks=pytest.mark.skipif(not fingerprint.NATIVE_CORE, reason="the compiled core is not built"),
    ),
]


@pytest.mark.skipif(
    os.environ.get("STREAMS_TEST_REQUIRE_NATIVE") != "1", reason="only where the build must have a compiler"
)
def test_the_compiled_core_is_built():
    """scripts/test.sh asks for it: on CI a missing core would otherwise only skip its tests."""
    assert fingerprint.NATIVE_CORE


def plain_words(text: str) -> list[str]:
    return fingerprint._WORD.findall(text.casefold())


def plain_content_words(words: list[str]) -> list[str]:
    return [w.replace("’", "'") for w in words if w not in fingerprint.STOP_WORDS]


def plain_shingles(words: list[str], size: int) -> list[str]:
    if len(words) <= size:
        return [" ".join(words)] if words else []
    return [" ".join(words[i : i + size]) for i in range(len(words) - size + 1)]


def plain_hashes(shingles: list[str]) -> np.ndarray:
    return np.array([xxhash.xxh3_64_intdigest(s.encode("utf-8")) for s in shingles], dtype=np.uint64)


def plain_minhash(hashes: np.ndarray, num_perm: int, seed: int) -> np.ndarray:
    if hashes.size == 0:
        return np.full(num_perm, 0xFFFFFFFF, dtype=np.uint32)
    a, b = fingerprint._permutations(num_perm, seed)
    return ((np.multiply.outer(a, hashes) + b[:, None]) >> np.uint64(32)).min(axis=1).astype(np.uint32)


def plain_bands(signature: np.ndarray, bands: int, rows: int, salt: int = 0) -> list[int]:
    raw = signature.tobytes()
    step = rows * 4
    return [xxhash.xxh3_64_intdigest(raw[i * step : (i + 1) * step], seed=salt + i) for i in range(bands)]


def plain_chunks(ordered: np.ndarray, divisor: int, min_length: int, sample: int) -> list[int]:
    anchors = np.flatnonzero(ordered % np.uint64(divisor) == 0)
    chunks = {
        xxhash.xxh3_64_intdigest(ordered[a:b].tobytes(), seed=2 << 20)
        for a, b in itertools.pairwise(anchors)
        if b - a >= min_length
    }
    return sorted(chunks)[:sample]


def plain_fingerprint(text: str, url: str, params: FingerprintParams) -> Fingerprint:
    words = plain_words(text)
    content = plain_content_words(words)
    if params.shingle_kind == "word":
        shingles = plain_shingles(content, params.shingle_size)
    else:
        shingles = fingerprint.shingles_of(content, params.shingle_kind, params.shingle_size)
    ordered = plain_hashes(shingles)
    hashes = np.unique(ordered)
    signature = plain_minhash(hashes, params.num_perm, params.seed)
    lead = plain_minhash(
        np.unique(ordered[: params.lead_shingles]), params.lead_bands * params.lead_rows, params.seed + 1
    )
    url_key = xxhash.xxh3_128_hexdigest(cleaning.canonical_url(url).encode("utf-8"))
    if hashes.size == 0:  # no content words: matched by its URL only (exact key of the URL key, no bands)
        exact_key = xxhash.xxh3_128_hexdigest(b"\0no content words\0" + bytes.fromhex(url_key))
        bands: tuple[int, ...] = ()
    else:
        exact_key = xxhash.xxh3_128_hexdigest(" ".join(words).encode("utf-8"))
        bands = (
            *plain_bands(signature, params.bands, params.rows),
            *plain_bands(lead, params.lead_bands, params.lead_rows, salt=1 << 20),
            *plain_chunks(ordered, params.chunk_divisor, params.chunk_min_shingles, params.chunk_sample),
        )
    return Fingerprint(
        url_key=url_key,
        exact_key=exact_key,
        signature=signature,
        shingle_count=int(hashes.size),
        band_hashes=bands,
        lead_signature=lead,
    )


def assert_identical(got: Fingerprint, expected: Fingerprint) -> None:
    assert got.url_key == expected.url_key
    assert got.exact_key == expected.exact_key
    assert got.signature.dtype == expected.signature.dtype
    assert np.array_equal(got.signature, expected.signature)
    assert got.shingle_count == expected.shingle_count
    assert got.band_hashes == expected.band_hashes
    assert got.lead_signature.dtype == expected.lead_signature.dtype
    assert np.array_equal(got.lead_signature, expected.lead_signature)


# Characters on both sides of the byte tokenizer's conditions: ASCII letters of both cases, both
# apostrophes, digits, underscore, ASCII and Unicode separators and punctuation, NUL (the tokenizer's
# stand-in for the curly apostrophe), non-ASCII letters (é, ß, İ which folds to i + a combining dot,
# dotless ı, the Kelvin sign and long s which fold to ASCII, a ligature, Cyrillic, Greek, CJK), combining
# marks (U+0345 is no letter but folds to one), a lone surrogate, and non-letters outside ASCII.
LETTERS = "abcdefghijklmnopqrstuvwxyzABCXYZ"
TRICKY = (
    *"'’‘'’", *"0129_", *" \n\t.,-;:!?\"()&/\\", "\x00", "\x1c", "\u00a0", "\u2028", "\x85",
    *"—–“”«»…•£€©°²½Ⅻ™�", *"éÉßẞİıKſﬁжЖΩσςあ漢٣",
    "\u0301", "\u0307", "\u0345", "\ud800",
)  # fmt: skip
ASCII_LIKE = (*"'’", *" .,-", "\x00", *"—“”£�", "\u00a0")  # the fast path's alphabet: no foreign letter


def texts(alphabet: tuple[str, ...], max_size: int = 120) -> st.SearchStrategy[str]:
    # Letters are drawn often so that words (and apostrophes between letters) are common.
    chars = st.one_of(st.sampled_from(LETTERS), st.sampled_from(alphabet))
    return st.lists(chars, max_size=max_size).map("".join)


tricky_text = st.one_of(texts(TRICKY), texts(ASCII_LIKE), st.text(max_size=80))


def corpus() -> list[str]:
    bodies = []
    for article in generate_stream(80, duplicate_share=0.5, seed=7):
        bodies.append(article.get("text") or cleaning.html_to_text(article["html"])[0])
    return bodies


EDGE_CASES = (
    "", "'", "’", "a", "The", "of the and", "A'", "'a", "a'b", "a’b", "a''b", "a'’b", "a’’b", "'a'b'",
    "it’s O'Brien's ‘quote’ and 'another'", "x\x00y ’ \x00", "İstanbul ISTANBUL ıstanbul", "Straße",
    "\u212aelvin ſun ﬁne", "x\u0345y", "e\u0301t\u00e9", "\ud800ab'c\udfff", "UK 'embracing e-commerce'",
    "Привет, мир! Hello’s world", "東京 tokyo’s 2024 results_final", "£5bn — “deal” done",
)  # fmt: skip


@settings(max_examples=600, deadline=None)
@given(tricky_text)
@example("a'b’c ’d e’’f 'g' h'’i")
def test_tokenizer_equals_the_word_pattern(text):
    """The byte tokenizer gives the words the Unicode pattern finds in the case-folded text."""
    words = plain_words(text)
    joined, straight = fingerprint._joined_and_words(text)
    assert joined == " ".join(words).encode("utf-8")
    assert straight == [w.replace("’", "'").encode("utf-8") for w in words]


def test_tokenizer_on_edge_cases():
    for text in EDGE_CASES:
        words = plain_words(text)
        assert fingerprint._joined_and_words(text) == (
            " ".join(words).encode("utf-8"),
            [w.replace("’", "'").encode("utf-8") for w in words],
        ), text


@settings(max_examples=300, deadline=None)
@given(tricky_text, st.integers(min_value=1, max_value=4))
def test_shingle_hashes_equal_the_plain_ones(text, size):
    """Stop words dropped, n-grams joined and hashed on bytes: the plain hashes, in order."""
    _, straight = fingerprint._joined_and_words(text)
    expected = plain_hashes(plain_shingles(plain_content_words(plain_words(text)), size))
    got = fingerprint._shingle_hashes(straight, size)
    assert got.dtype == np.uint64
    assert np.array_equal(got, expected)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=2**64 - 1), max_size=60), st.booleans())
def test_sorted_unique_equals_np_unique(values, few_distinct):
    array = np.array(values, dtype=np.uint64)
    if few_distinct:
        array %= np.uint64(7)  # many duplicates
    got = fingerprint._sorted_unique(array)
    assert got.dtype == np.uint64
    assert np.array_equal(got, np.unique(array))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(min_value=0, max_value=2**64 - 1), max_size=80),
    st.sampled_from([(128, 1), (16, 2), (7, 5)]),
)
def test_minhash_bands_and_chunks_equal_the_plain_ones(values, perms):
    hashes = np.array(values, dtype=np.uint64)
    num_perm, seed = perms
    signature = fingerprint.minhash(hashes, num_perm, seed)
    assert signature.dtype == np.uint32
    assert np.array_equal(signature, plain_minhash(np.unique(hashes), num_perm, seed))
    for bands, rows, salt in ((num_perm // 3, 3, 0), (1, 4, 1 << 20), (num_perm // 2, 2, 5)):
        assert fingerprint.band_hashes(signature, bands, rows, salt) == plain_bands(
            signature, bands, rows, salt
        )
    for divisor, min_length, sample in ((8, 5, 10), (2, 1, 3), (3, 2, 100)):
        got = fingerprint.anchored_chunks(hashes, divisor, min_length, sample)
        assert got == plain_chunks(hashes, divisor, min_length, sample)


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@settings(max_examples=300, deadline=None)
@given(text=tricky_text)
def test_fingerprint_equals_the_plain_computation_on_tricky_text(implementation, text):
    url = "https://example.com/a?utm_source=x"
    assert_identical(implementation(text, url, PARAMS), plain_fingerprint(text, url, PARAMS))


# Texts of few distinct words, many of them function words: repeated shingles, texts of exactly
# shingle_size content words, and anchors close together.
few_words = st.lists(
    st.sampled_from(["the", "of", "a", "bank", "rates", "rise", "o'neil", "it’s"]), max_size=40
)


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@settings(max_examples=300, deadline=None)
@given(
    words=few_words,
    size=st.integers(min_value=1, max_value=4),
    bands_rows=st.sampled_from([(42, 3), (16, 8), (1, 1), (0, 2)]),
    lead=st.sampled_from([(20, 4, 4), (1, 1, 1), (0, 2, 3), (50, 8, 2)]),
    chunks=st.sampled_from([(8, 5, 10), (2, 1, 3), (1, 0, 100), (3, 2, 0)]),
)
def test_fingerprint_equals_the_plain_computation_for_any_params(
    implementation, words, size, bands_rows, lead, chunks
):
    params = FingerprintParams(
        shingle_size=size,
        bands=bands_rows[0],
        rows=bands_rows[1],
        lead_shingles=lead[0],
        lead_bands=lead[1],
        lead_rows=lead[2],
        chunk_divisor=chunks[0],
        chunk_min_shingles=chunks[1],
        chunk_sample=chunks[2],
    )
    text = " ".join(words)
    assert_identical(
        implementation(text, "https://a.example/x", params),
        plain_fingerprint(text, "https://a.example/x", params),
    )


@pytest.mark.skipif(not fingerprint.NATIVE_CORE, reason="the compiled core is not built")
def test_the_compiled_core_rejects_bad_arguments():
    from streams import _textcore

    perms = fingerprint._permutation_bytes(128, 1)
    lead = fingerprint._permutation_bytes(16, 2)
    good = ([b"bank", b"rates"], 2, fingerprint._STOP_BYTES, perms, 20, lead, 8, 5, 10, 1, 42, 3, 4, 4, 1)
    assert len(_textcore.sketch(*good)) == 4
    with pytest.raises(TypeError, match="list of bytes"):
        _textcore.sketch(["bank", "rates"], *good[1:])
    with pytest.raises(ValueError, match="multiple of 16"):
        _textcore.sketch(*good[:3], perms[:-8], *good[4:])
    for position, value in ((1, 0), (6, 0), (10, 43), (13, 5)):  # size, divisor, bands, lead_bands
        bad = list(good)
        bad[position] = value
        with pytest.raises(ValueError, match="out of range"):
            _textcore.sketch(*bad)
    with pytest.raises(TypeError, match="must be bytes"):
        _textcore.sketch_spaced("bank rates", *good[1:])
    with pytest.raises(TypeError, match="stop words must be bytes"):
        _textcore.sketch(good[0], good[1], frozenset({"bank"}), *good[3:])


@pytest.mark.skipif(not fingerprint.NATIVE_CORE, reason="the compiled core is not built")
def test_the_compiled_core_uses_the_stop_set_it_is_given():
    """It keeps a C table of the last stop set: another set must replace it, and the first come back."""
    from streams import _textcore

    rest = (fingerprint._permutation_bytes(16, 1), 20, fingerprint._permutation_bytes(4, 2), 8, 5, 10, 1)
    rest = (*rest, 4, 4, 1, 4, 1)
    words = [b"bank", b"the", b"rates"]

    def shingles(stop: frozenset[bytes]) -> int:
        from_words = _textcore.sketch(words, 1, stop, *rest)[1]
        from_spaced = _textcore.sketch_spaced(b" ".join(words), 1, stop, *rest)[2]
        assert from_words == from_spaced
        return from_words

    assert shingles(fingerprint._STOP_BYTES) == 2
    assert shingles(frozenset({b"bank"})) == 2
    assert shingles(frozenset({b"bank", b"rates"})) == 1
    assert shingles(frozenset()) == 3
    assert shingles(fingerprint._STOP_BYTES) == 2


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_fingerprint_equals_the_plain_computation_on_articles(implementation):
    """Whole articles (mojibake, spun and excerpted copies included) and the edge cases, several params."""
    variants = (
        PARAMS,
        FingerprintParams(shingle_size=1),
        FingerprintParams(shingle_size=3, chunk_divisor=5, lead_shingles=7),
        FingerprintParams(shingle_kind="char", shingle_size=5),
    )
    for i, text in enumerate([*corpus(), *EDGE_CASES]):
        url = f"https://news.example/{i}?ref=home"
        for params in variants:
            assert_identical(implementation(text, url, params), plain_fingerprint(text, url, params))


def test_without_the_compiled_core_fingerprint_takes_the_python_path(monkeypatch):
    """A build without a compiler has no core: fingerprint() then gives the Python path's values."""
    text = corpus()[0]
    expected = plain_fingerprint(text, "https://a.example/x", PARAMS)
    monkeypatch.setattr(fingerprint, "_textcore", None)
    assert_identical(fingerprint.fingerprint(text, "https://a.example/x", PARAMS), expected)
