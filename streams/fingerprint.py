"""Pure fingerprinting: the URL key, the exact key and the MinHash signature of a cleaned article.

The MinHash is computed with numpy over all shingles at once, using the multiply-shift family
``h_i(x) = (a_i * x + b_i) mod 2**64 >> 32`` on 64-bit xxhash values of the shingles. It is the
same estimator as datasketch's ``MinHash`` (which uses ``(a*x + b) mod (2**61 - 1)`` on SHA-1
values) at a fraction of the cost: datasketch's ``update_batch`` spends most of its time hashing
each shingle with SHA-1 in Python. ``streams bench`` prints both side by side.

What goes into the shingles is chosen so that spinning and encoding damage change little: text is
case-folded, numbers and punctuation are dropped, and the most common English function words are
removed before word n-grams are formed (synonym swaps then break only the n-grams around the
swapped word, and shared function-word n-grams such as "of the" no longer link unrelated stories).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import xxhash

# The compiled text core, None where it was not built (cleaning imports it, once for both modules).
from streams.cleaning import _textcore, canonical_url
from streams.fingerprint_params import FingerprintParams
from streams.records import reduce_by_init

#: Whether fingerprint() runs the compiled core (streams/_native/textcore.c) or the pure-Python path.
NATIVE_CORE = _textcore is not None

_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
# The same pattern for case-folded text whose letters are all ASCII (twice as fast), and the test for it.
_ASCII_WORD = re.compile(r"[a-z]+(?:['’][a-z]+)*")
_NON_ASCII_LETTER = re.compile(r"[^\W\d_A-Za-z]")

# The byte-level tokenizer of fingerprint() (see _joined_and_words). It applies when no character outside
# ASCII case-folds to a letter: then case folding only lowers A-Z, and every other byte but the
# apostrophe separates words. The curly apostrophe is kept as one NUL byte (the text's own NULs have
# become spaces by then).
_LETTER = re.compile(r"[^\W\d_]")
_ASCII_BYTES = bytes(range(128))
_CURLY = "’".encode()
# A-Z lowered, a-z and the apostrophe kept, every other byte a space. With a curly apostrophe in the
# text, the non-ASCII bytes are kept until it has been replaced, then made spaces.
_LOWER_OR_SPACE = bytes(
    c + 32 if 65 <= c <= 90 else c if 97 <= c <= 122 or c == 39 else 32 for c in range(256)
)
_LOWER_OR_SPACE_KEEP_HIGH = _LOWER_OR_SPACE[:128] + bytes(range(128, 256))
_HIGH_TO_SPACE = _ASCII_BYTES + b" " * 128
# An apostrophe is part of a word only between two letters; every other one separates words. (One
# pattern per quote: a pattern that starts with a single literal byte is searched for much faster.)
_STRAY_APOSTROPHE = re.compile(rb"'(?:(?![a-z])|(?<![a-z]'))")
_STRAY_CURLY = re.compile(rb"\x00(?:(?![a-z])|(?<![a-z]\x00))")

#: Function words dropped before shingling (they carry no story and link unrelated texts).
STOP_WORDS = frozenset(
    """
    a about above after again against all also am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further had has
    have having he her here hers herself him himself his how i if in into is it its itself just me more
    most my myself no nor not now of off on once only or other our ours ourselves out over own same she
    should so some such than that the their theirs them themselves then there these they this those
    through to too under until up very was we were what when where which while who whom why will with
    would you your yours yourself yourselves said says say told according mr mrs ms
    """.split()  # noqa: SIM905  (a word list reads better as text)
)

_STOP_BYTES = frozenset(w.encode() for w in STOP_WORDS)

_MASK32 = np.uint64(0xFFFFFFFF)
_SHIFT32 = np.uint64(32)


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """Keys, signature and LSH band hashes of one cleaned article."""

    url_key: str
    exact_key: str
    signature: np.ndarray  # uint32[num_perm]
    shingle_count: int
    band_hashes: tuple[int, ...]  # 64-bit, the main bands then the lead bands
    lead_signature: np.ndarray  # uint32[lead_bands * lead_rows], of the first lead_shingles shingles
    # The exact key of the whole cleaned text when site chrome was left out of what was fingerprinted
    # (streams.chrome); empty when nothing was.
    whole_text_key: str = ""

    @property
    def identity_key(self) -> str:
        """The content an article id is bound to in the index (the id entry, replays, ``id_conflict``).

        The exact key of the whole cleaned text: what a worker strips as chrome depends on what it has
        learned so far, so a redelivered article must not be told apart by it.
        """
        return self.whole_text_key or self.exact_key

    def compact_signature(self) -> bytes:
        """The signature with 8 bits a value (b-bit MinHash): a quarter of the bytes.

        Two different values agree by chance once in 256; the index corrects its estimate for that.
        """
        return (self.signature & 0xFF).astype(np.uint8).tobytes()

    def compact_lead(self) -> bytes:
        """The lead signature with 8 bits a value."""
        return (self.lead_signature & 0xFF).astype(np.uint8).tobytes()

    __reduce__ = reduce_by_init


def band_hashes(signature: np.ndarray, bands: int, rows: int, salt: int = 0) -> list[int]:
    """One 64-bit hash per LSH band of ``rows`` consecutive signature values."""
    raw = signature.tobytes()
    hash64 = xxhash.xxh3_64_intdigest  # the seed passed by position: the keyword costs a third more
    return [hash64(raw[band], salt + i) for i, band in enumerate(_band_slices(bands, rows * 4))]


@lru_cache(maxsize=16)
def _band_slices(bands: int, step: int) -> tuple[slice, ...]:
    return tuple(slice(i * step, (i + 1) * step) for i in range(bands))


def _words(folded: str) -> list[str]:
    """``_WORD.findall(folded)`` for case-folded text."""
    return (_ASCII_WORD if _NON_ASCII_LETTER.search(folded) is None else _WORD).findall(folded)


def _content_words(words: list[str]) -> list[str]:
    # Function words never hold an apostrophe, so filtering before the quote is straightened is the same.
    return [w.replace("’", "'") if "’" in w else w for w in words if w not in STOP_WORDS]


def tokens(text: str) -> list[str]:
    """Case-folded words without numbers, punctuation or function words."""
    return _content_words(_words(text.casefold()))


def shingles(text: str, kind: str = "word", size: int = 2) -> list[str]:
    """The shingles of a cleaned text: word n-grams of :func:`tokens`, or character n-grams of them.

    Texts shorter than one shingle give the whole token string as their only shingle.
    """
    return shingles_of(tokens(text), kind, size)


def shingles_of(words: list[str], kind: str = "word", size: int = 2) -> list[str]:
    """The shingles of a list of :func:`tokens`."""
    if kind == "char":
        joined = " ".join(words)
        if len(joined) <= size:
            return [joined] if joined else []
        return [joined[i : i + size] for i in range(len(joined) - size + 1)]
    if len(words) <= size:
        return [" ".join(words)] if words else []
    return [" ".join(words[i : i + size]) for i in range(len(words) - size + 1)]


@lru_cache(maxsize=16)
def _permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.integers(1, 2**63, size=num_perm, dtype=np.uint64) * np.uint64(2) + np.uint64(1)  # odd
    b = rng.integers(0, 2**63, size=num_perm, dtype=np.uint64)
    return a, b


def hash_shingles(items: Sequence[str]) -> np.ndarray:
    """64-bit xxhash of each shingle, in text order (duplicates kept)."""
    return np.fromiter(
        (xxhash.xxh3_64_intdigest(s.encode("utf-8")) for s in items), dtype=np.uint64, count=len(items)
    )


_CHUNK_SEED = 2 << 20
_LEAD_SALT = 1 << 20


def anchored_chunks(ordered: np.ndarray, divisor: int, min_length: int, sample: int) -> list[int]:
    """Hashes of a consistent sample of the text's content-defined chunks.

    A shingle whose hash is divisible by ``divisor`` is an anchor; a chunk is the run of shingles from
    one anchor to the next. Anchors depend only on content, so a passage copied out of the middle of a
    story (an excerpt that does not start at the top) has the same interior chunks as the story.
    Keeping the ``sample`` smallest chunk hashes is consistent: if a chunk of the story is among its
    kept ones and also in the excerpt, it is among the excerpt's kept ones too.
    """
    # Byte offsets (8 a hash) into one bytes copy: slicing bytes is cheaper than slicing the array and
    # copying each slice out of it.
    anchors = (np.flatnonzero(ordered % np.uint64(divisor) == 0) * 8).tolist()
    raw = ordered.tobytes()
    min_bytes = min_length * 8
    hash64 = xxhash.xxh3_64_intdigest
    chunks = {hash64(raw[a:b], _CHUNK_SEED) for a, b in itertools.pairwise(anchors) if b - a >= min_bytes}
    return sorted(chunks)[:sample]


def minhash(hashes: np.ndarray, num_perm: int, seed: int) -> np.ndarray:
    """The MinHash signature (uint32[num_perm]) of a set of 64-bit shingle hashes."""
    a, b = _permutations(num_perm, seed)
    if hashes.size == 0:
        return np.full(num_perm, 0xFFFFFFFF, dtype=np.uint32)
    # uint64 arithmetic wraps mod 2**64, which is what the multiply-shift family needs. One row per
    # shingle, updated in place: the minimum down the columns is an element-wise minimum of whole rows,
    # a little faster than one reduction per permutation. The shift commutes with the minimum, so it is
    # done once per permutation.
    values: np.ndarray = np.multiply.outer(hashes, a)
    values += b
    return np.asarray(values.min(axis=0) >> _SHIFT32, dtype=np.uint32)


def exact_key(text: str) -> str:
    """A hash of the text's words: equal for texts that differ only in case, spacing or punctuation."""
    return _exact_key_of(_words(text.casefold()))


def _exact_key_of(words: list[str]) -> str:
    return xxhash.xxh3_128_hexdigest(" ".join(words).encode("utf-8"))


def url_key(url: str) -> str:
    """A hash of the canonical URL."""
    return xxhash.xxh3_128_hexdigest(canonical_url(url).encode("utf-8"))


def article_id_for(url: str) -> str:
    """The default article id: a stable hash of the canonical URL."""
    return xxhash.xxh3_64_hexdigest(canonical_url(url).encode("utf-8"))


def _joined_and_words(text: str) -> tuple[bytes, list[bytes]]:
    """The words of the case-folded text (``_WORD.findall``), UTF-8 encoded: joined by spaces as they are
    written (for the exact key), and as a list with the curly apostrophe straightened (for the shingles).

    Most text is tokenized on bytes (:func:`_ascii_spaced`) and split, instead of case-folding and
    matching the Unicode word pattern (several times slower). Text in which some non-ASCII character
    case-folds to a letter goes through the pattern.
    """
    spaced = _ascii_spaced(text)
    if spaced is None:
        return _pattern_joined_and_words(text)
    words = spaced.split()
    joined = b" ".join(words)
    if b"\0" in joined:
        return joined.replace(b"\0", _CURLY), joined.replace(b"\0", b"'").split()
    return joined, words


def _pattern_joined_and_words(text: str) -> tuple[bytes, list[bytes]]:
    joined = " ".join(_WORD.findall(text.casefold())).encode("utf-8")
    return joined, (joined.replace(_CURLY, b"'") if _CURLY in joined else joined).split()


def _ascii_spaced(text: str) -> bytes | None:
    """The text's words as bytes: lower case, each curly apostrophe one NUL byte, everything that is not
    part of a word a space. None when some non-ASCII character case-folds to a letter.

    Two table translations and a substitution for stray apostrophes: when no character outside ASCII
    case-folds to a letter, case folding only lowers A-Z, and every other byte but the apostrophe
    separates words (the text's own NULs have become spaces by then).
    """
    raw = text.encode("utf-8", "surrogatepass")  # lone surrogates are no letters, but must not raise
    if not text.isascii():
        non_ascii = raw.translate(None, _ASCII_BYTES).decode("utf-8", "surrogatepass")  # the few others
        if _LETTER.search(non_ascii.casefold()):
            return None
    if "’" in text:  # (searching the str is ten times faster than searching the bytes)
        spaced = raw.translate(_LOWER_OR_SPACE_KEEP_HIGH).replace(_CURLY, b"\0").translate(_HIGH_TO_SPACE)
        spaced = _STRAY_CURLY.sub(b" ", spaced)
    else:
        spaced = raw.translate(_LOWER_OR_SPACE)
    if b"'" in spaced:
        spaced = _STRAY_APOSTROPHE.sub(b" ", spaced)
    return spaced


def _shingle_hashes(words: list[bytes], size: int) -> np.ndarray:
    """``hash_shingles(shingles_of(_content_words(words), "word", size))`` for UTF-8 encoded words."""
    # No function word holds an apostrophe: dropping them after the quotes were straightened is the same.
    # (filterfalse looks the words up in C: a fifth faster than a list comprehension.)
    content = list(itertools.filterfalse(_STOP_BYTES.__contains__, words))
    grams: Iterable[Sequence[bytes]]
    if len(content) > size:
        # The n-grams end with the shortest of the shifted lists: strict would be wrong.
        grams, count = zip(*(content[i:] for i in range(size)), strict=False), len(content) - size + 1
    else:  # a short text is one shingle
        grams, count = ([content], 1) if content else ([], 0)
    shingle_bytes = map(b" ".join, grams)
    return np.fromiter(map(xxhash.xxh3_64_intdigest, shingle_bytes), dtype=np.uint64, count=count)


@lru_cache(maxsize=16)
def _permutation_bytes(num_perm: int, seed: int) -> bytes:
    a, b = _permutations(num_perm, seed)
    return a.tobytes() + b.tobytes()


def _sorted_unique(values: np.ndarray) -> np.ndarray:
    """``np.unique(values)`` for a 1-d array, without its generality's overhead (about 5x faster here)."""
    ordered = np.sort(values)
    if ordered.size < 2:
        return ordered
    first = np.empty(ordered.size, dtype=bool)
    first[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    return ordered[first]


def fingerprint(text: str, url: str, params: FingerprintParams) -> Fingerprint:
    """All keys and the signature of one cleaned article."""
    if _textcore is None or params.shingle_kind != "word":
        return fingerprint_python(text, url, params)
    settings = _sketch_settings(params)
    spaced = _ascii_spaced(text)
    if spaced is None:
        joined, words = _pattern_joined_and_words(text)
        signature, count, lead, hashes = _textcore.sketch(words, *settings)
    else:  # the words are split, joined and looked up in C too
        joined, signature, count, lead, hashes = _textcore.sketch_spaced(spaced, *settings)
    return _unmatchable_without_content_words(
        Fingerprint(
            url_key=url_key(url),
            exact_key=xxhash.xxh3_128_hexdigest(joined),
            signature=np.frombuffer(signature, dtype=np.uint32),
            shingle_count=count,
            band_hashes=hashes,
            lead_signature=np.frombuffer(lead, dtype=np.uint32),
        )
    )


_NO_CONTENT_WORDS = b"\0no content words\0"


def _unmatchable_without_content_words(fp: Fingerprint) -> Fingerprint:
    """An article without content words (numbers, punctuation, function words: result tables, tickers)
    matches nothing but its own URL.

    All such texts would share one word key (of no words, or of a few function words) and one signature
    (of no shingles), so different pages would be exact or near copies of each other: instead their exact
    key is derived from their URL key, and they get no bands, so they are never a candidate.
    """
    if fp.shingle_count:
        return fp
    exact = xxhash.xxh3_128_hexdigest(_NO_CONTENT_WORDS + bytes.fromhex(fp.url_key))
    return dataclasses.replace(fp, exact_key=exact, band_hashes=())


@lru_cache(maxsize=16)
def _sketch_settings(params: FingerprintParams) -> tuple[Any, ...]:
    """The arguments of the compiled core's sketch calls after the words: the same for every article."""
    return (
        params.shingle_size,
        _STOP_BYTES,
        _permutation_bytes(params.num_perm, params.seed),
        params.lead_shingles,
        _permutation_bytes(params.lead_bands * params.lead_rows, params.seed + 1),
        params.chunk_divisor,
        params.chunk_min_shingles,
        params.chunk_sample,
        _CHUNK_SEED,
        params.bands,
        params.rows,
        params.lead_bands,
        params.lead_rows,
        _LEAD_SALT,
    )


def fingerprint_python(text: str, url: str, params: FingerprintParams) -> Fingerprint:
    """:func:`fingerprint` computed in Python only: the reference the compiled core is tested against."""
    joined, words = _joined_and_words(text)  # once, for the shingles and the exact key
    if params.shingle_kind == "word":
        ordered = _shingle_hashes(words, params.shingle_size)
    else:
        ordered = hash_shingles(shingles(text, params.shingle_kind, params.shingle_size))
    hashes = _sorted_unique(ordered)
    signature = minhash(hashes, params.num_perm, params.seed)
    # The lead (the first shingles) gets bands of its own so that an excerpt, whose Jaccard with the
    # full story is low, still meets the story it was cut from as a candidate; anchored chunks do the
    # same for a passage taken from the middle. (A minimum needs no deduplication first.)
    lead = minhash(ordered[: params.lead_shingles], params.lead_bands * params.lead_rows, params.seed + 1)
    chunks = anchored_chunks(ordered, params.chunk_divisor, params.chunk_min_shingles, params.chunk_sample)
    return _unmatchable_without_content_words(
        Fingerprint(
            url_key=url_key(url),
            exact_key=xxhash.xxh3_128_hexdigest(joined),
            signature=signature,
            shingle_count=int(hashes.size),
            band_hashes=(
                *band_hashes(signature, params.bands, params.rows),
                *band_hashes(lead, params.lead_bands, params.lead_rows, salt=_LEAD_SALT),
                *chunks,
            ),
            lead_signature=lead,
        )
    )


def estimate_jaccard(a: bytes, b: bytes) -> float:
    """Estimated Jaccard similarity of two compact (8-bit) signatures, corrected for chance agreement."""
    if not a or len(a) != len(b):
        return 0.0
    x = np.frombuffer(a, dtype=np.uint8)
    y = np.frombuffer(b, dtype=np.uint8)
    agree = float(np.count_nonzero(x == y)) / len(x)
    return max(0.0, (agree - 1 / 256) / (1 - 1 / 256))


def jaccard_lower_bound(jaccard: float, num_perm: int, z: float = 2.0) -> float:
    """A lower confidence bound of a MinHash Jaccard estimate (binomial standard error, ``z`` of them).

    Containment is computed from this bound, not from the estimate: for a short article against a
    long one, a few chance agreements would otherwise read as "contained".
    """
    return max(0.0, jaccard - z * math.sqrt(jaccard * (1.0 - jaccard) / num_perm))


def containment(jaccard: float, size_a: int, size_b: int) -> float:
    """Share of the smaller set that is in the larger one, from their Jaccard and sizes.

    ``|A ∩ B| = J (|A| + |B|) / (1 + J)``; divided by ``min(|A|, |B|)`` it says how much of an excerpt
    is in the story it was cut from, whichever of the two came first.
    """
    smaller = min(size_a, size_b)
    if smaller <= 0:
        return 0.0
    return min(1.0, jaccard * (size_a + size_b) / ((1.0 + jaccard) * smaller))


@dataclass(frozen=True, slots=True)
class Match:
    """Why two articles count as copies: the measure, its value and the threshold it passed."""

    measure: str  # jaccard, containment or lead_containment
    value: float
    threshold: float
    jaccard: float


@dataclass(frozen=True, slots=True)
class Rule:
    """The thresholds of the decision rule (see :func:`verify`)."""

    jaccard_threshold: float
    containment_threshold: float
    min_containment_shingles: int
    lead_threshold: float
    lead_containment_threshold: float
    same_host_title_threshold: float = 0.75


_HOST = re.compile(r"^[A-Za-z0-9+.-]+://([^/?#]*)")
_TITLE_WORDS_KEPT = 16


def url_host(url: str) -> str:
    """The host of a URL as the index compares it: lower case, without user, port or a leading ``www.``.

    Deliberately a plain pattern, not urllib: ``decide.lua`` parses the stored URL the same way.
    """
    found = _HOST.match(url)
    if found is None:
        return ""
    host = found.group(1).rsplit("@", 1)[-1].split(":", 1)[0].lower()
    return host[4:] if host.startswith("www.") else host


def title_sketch(title: str) -> str:
    """The title's content words as sorted, distinct 16-bit hashes, 4 hex digits each (at most 16).

    Stored with each unique article: a near match between two pages of one host needs their titles to
    agree (see :func:`verify`), the one block of a page that a site's template never shares.
    """
    hashes = sorted({xxhash.xxh3_64_intdigest(w.encode("utf-8")) & 0xFFFF for w in tokens(title)})
    return "".join(f"{h:04x}" for h in hashes[:_TITLE_WORDS_KEPT])


def title_agreement(a: str, b: str) -> float:
    """Share of the shorter title sketch's words found in the other (0 when either is empty)."""
    words_a = {a[i : i + 4] for i in range(0, len(a), 4)}
    words_b = {b[i : i + 4] for i in range(0, len(b), 4)}
    smaller = min(len(words_a), len(words_b))
    return len(words_a & words_b) / smaller if smaller else 0.0


def verify(
    new: Fingerprint,
    old_signature: bytes,
    old_lead: bytes,
    old_count: int,
    rule: Rule,
    *,
    same_host: bool = False,
    new_title: str = "",
    old_title: str = "",
) -> Match | None:
    """The decision rule for one LSH candidate, on compact signatures.

    A near duplicate when

    1. the estimated Jaccard similarity reaches ``jaccard_threshold``; or
    2. the smaller article (of at least ``min_containment_shingles`` shingles) is contained in the
       larger one to ``containment_threshold`` (an excerpt, or a story with paragraphs added),
       containment being computed from a lower confidence bound of the Jaccard estimate; or
    3. the two leads (first shingles) agree to ``lead_threshold`` and containment reaches the lower
       ``lead_containment_threshold``: a short excerpt, whose containment estimate is noisy, that
       starts like the story it was cut from.

    Two pages of one host (``same_host``, see :func:`url_host`) share the site's template: navigation,
    teaser rails, boxes and footer, sometimes most of the extracted text. Their match must also rest on
    the story's own headline: the title sketches (:func:`title_sketch`) must agree to
    ``same_host_title_threshold``, else the pair is no near duplicate whatever the text says. When either
    has no title (no content word in it), there is nothing to check and the text decides alone: measured
    on Readability's 125 real pages sent as untitled text and as HTML on one host, requiring a title
    there found 31 of the 125 pairs, and the text alone 123 with no false link. Exact and URL matches do
    not go through here.

    The index's Lua script applies this same rule inside Redis; the integration tests check they agree.
    """
    if (
        same_host
        and new_title
        and old_title
        and title_agreement(new_title, old_title) < rule.same_host_title_threshold
    ):
        return None
    jaccard = estimate_jaccard(new.compact_signature(), old_signature)
    if jaccard >= rule.jaccard_threshold:
        return Match("jaccard", jaccard, rule.jaccard_threshold, jaccard)
    contained = containment(jaccard_lower_bound(jaccard, len(old_signature)), new.shingle_count, old_count)
    if (
        min(new.shingle_count, old_count) >= rule.min_containment_shingles
        and contained >= rule.containment_threshold
    ):
        return Match("containment", contained, rule.containment_threshold, jaccard)
    if contained >= rule.lead_containment_threshold:
        lead = estimate_jaccard(new.compact_lead(), old_lead)
        if lead >= rule.lead_threshold:
            return Match("lead_containment", contained, rule.lead_containment_threshold, jaccard)
    return None


def shares_a_band(a: Fingerprint, b: Fingerprint) -> bool:
    """True when the LSH index would offer one article as a candidate for the other."""
    return not set(a.band_hashes).isdisjoint(b.band_hashes)
