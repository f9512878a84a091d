"""Records that cross the edges: the article read from ``articles.raw`` and the decisions written out.

Parsing is strict and total: :func:`parse_article` turns any bytes into either a :class:`RawArticle`
or a :class:`Rejection` with a stable code, never an exception. The three output records
(:class:`UniqueArticle`, :class:`DuplicateArticle`, :class:`Rejection`) render to the JSON of the
message contract in the README with ``to_dict``.
"""

from __future__ import annotations

import base64
import json
import math
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, get_args
from urllib.parse import urlsplit, urlunsplit

from streams.records import reduce_by_init

Status = Literal["unique", "duplicate", "rejected"]
#: Every decision status, in the order reports list them; each has its output topic
#: (:attr:`streams.settings.Settings.output_topic_by_status`).
STATUSES: tuple[Status, ...] = get_args(Status)
MatchKind = Literal["url", "exact", "near", "id"]

#: Stable rejection codes; operators alert and filter on these, so they never change meaning.
REJECTION_CODES = (
    "invalid_json",
    "not_an_object",
    "missing_url",
    "invalid_url",
    "invalid_field",
    "empty_text",
    "too_large",
    "bad_encoding",
    "extraction_timeout",
    "id_conflict",
    "internal_error",
)

_KNOWN_FIELDS = ("id", "url", "title", "text", "html", "source", "published_at", "language")
_MAX_NESTING = 32
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
#: Rejections carry the payload as received up to this many bytes (``raw_truncated`` says if cut).
MAX_REJECTED_RAW_BYTES = 65_536
#: The longest URL accepted, in UTF-8 bytes (the sitemaps protocol's limit): it is stored in the index
#: record of each article, so it bounds what one article costs there (docs/guarantees.md).
MAX_URL_BYTES = 2048
#: The longest id accepted, in UTF-8 bytes; a longer one is rejected, never cut (cut ids would collide).
MAX_ID_BYTES = 512
_MAX_SHORT_FIELD_CHARS = 2048
# Integers that every JSON consumer (and orjson, which publishes them) reads exactly: int64 and uint64.
_MIN_INT, _MAX_INT = -(1 << 63), (1 << 64) - 1


def utc_now_iso() -> str:
    """The current time as ISO-8601 UTC with millisecond precision."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class SourcePosition:
    """Where a message came from, for rejections and logs."""

    topic: str | None = None
    partition: int | None = None
    offset: int | None = None

    __reduce__ = reduce_by_init


#: The position of a message that did not come from Kafka (offline commands, tests).
NO_POSITION = SourcePosition()


@dataclass(frozen=True, slots=True)
class RawArticle:
    """An input article that passed validation but is not cleaned yet."""

    url: str
    id: str | None
    title: str
    text: str | None
    html: str | None
    source: str | None
    published_at: str | None
    language: str | None
    extra: dict[str, Any] = field(default_factory=dict)

    __reduce__ = reduce_by_init


@dataclass(frozen=True, slots=True)
class Rejection:
    """An input that cannot be processed, with the payload as received.

    ``id_conflict``: the id names an article already in the index whose canonical URL or words differ
    (an id reused for other content, or a page that changed under its default id); see the README.
    """

    error: str
    message: str
    raw: bytes
    position: SourcePosition = NO_POSITION
    id: str | None = None
    processed_at: str = field(default_factory=utc_now_iso)

    status: Status = "rejected"

    def to_dict(self) -> dict[str, Any]:
        # A rejection must itself fit in a Kafka message: the payload is kept up to a cap.
        kept = self.raw[:MAX_REJECTED_RAW_BYTES]
        try:
            raw: str = kept.decode("utf-8")
            raw_encoding = "utf-8"
        except UnicodeDecodeError as exc:
            if exc.start >= len(kept) - 3 and len(kept) < len(self.raw):
                raw, raw_encoding = kept[: exc.start].decode("utf-8"), "utf-8"  # cut inside a character
            else:
                raw, raw_encoding = base64.b64encode(kept).decode("ascii"), "base64"
        return {
            "id": self.id,
            "error": self.error,
            "message": self.message,
            "raw": raw,
            "raw_encoding": raw_encoding,
            "raw_bytes": len(self.raw),
            "raw_truncated": len(kept) < len(self.raw),
            "topic": self.position.topic,
            "partition": self.position.partition,
            "offset": self.position.offset,
            "processed_at": self.processed_at,
        }

    __reduce__ = reduce_by_init


@dataclass(frozen=True, slots=True)
class UniqueArticle:
    """The cleaned article, first of its story in the retention window."""

    id: str
    url: str
    canonical_url: str
    title: str
    text: str
    source: str | None
    published_at: str | None
    language: str | None
    word_count: int
    extra: dict[str, Any]
    processed_at: str = field(default_factory=utc_now_iso)

    status: Status = "unique"

    def to_dict(self) -> dict[str, Any]:
        body = dict(self.extra)
        body.update(
            id=self.id,
            url=self.url,
            canonical_url=self.canonical_url,
            title=self.title,
            text=self.text,
            source=self.source,
            published_at=self.published_at,
            language=self.language,
            word_count=self.word_count,
            processed_at=self.processed_at,
        )
        return body


@dataclass(frozen=True, slots=True)
class DuplicateArticle:
    """A copy of an article seen before, with the evidence for the decision."""

    id: str
    url: str
    duplicate_of: str
    duplicate_of_url: str
    match: MatchKind
    similarity: float
    measure: Literal["url", "exact", "jaccard", "containment", "lead_containment"]
    threshold: float
    source: str | None
    processed_at: str = field(default_factory=utc_now_iso)

    status: Status = "duplicate"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "url": self.url,
            "duplicate_of": self.duplicate_of,
            "duplicate_of_url": self.duplicate_of_url,
            "match": self.match,
            "similarity": round(self.similarity, 4),
            "measure": self.measure,
            "threshold": self.threshold,
            "source": self.source,
            "processed_at": self.processed_at,
        }


Decision = UniqueArticle | DuplicateArticle | Rejection


# A complete JSON string: a quote, then anything but a quote or backslash, or a backslash and any byte.
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)


def _brackets_outside_strings(payload: bytes) -> int:
    """An upper bound of the opening brackets that :func:`_nesting_depth` sees outside strings.

    The leftmost complete strings are the ones the scan enters and leaves, so removing them leaves its
    brackets outside strings; from an unterminated string on the scan counts nothing, and whatever this
    counts after it only raises the bound. A regex in C instead of a loop in Python: a 300 KB page with
    scripts takes milliseconds to scan byte by byte.
    """
    rest = _JSON_STRING.sub(b"", payload)
    return rest.count(b"[") + rest.count(b"{")


def _nesting_depth(payload: bytes) -> int:
    """Bracket depth outside strings, computed without parsing so a nesting bomb costs O(n)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in payload:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            deepest = max(deepest, depth)
            if deepest > _MAX_NESTING:
                return deepest
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest


class _OutOfRange(ValueError):
    """A JSON number that is not finite or not a 64-bit integer: valid JSON syntax, but no value."""


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _OutOfRange(f"number {text[:40]} is out of range (not a finite double)")
    return value


def _parse_int(text: str) -> int:
    value = int(text)
    if not _MIN_INT <= value <= _MAX_INT:
        raise _OutOfRange(f"integer {text[:40]}... is out of range (beyond 64 bits)")
    return value


def _has_control(value: str) -> bool:
    # Cc: C0 and C1 controls, NUL and DEL. Tested on the string's unique characters: O(n) in C.
    return not value.isprintable() and any(unicodedata.category(c) == "Cc" for c in set(value))


def without_credentials(url: str) -> str:
    """The URL without ``user:password@``: a credential is never published nor stored in the index."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def _reject(
    code: str, message: str, payload: bytes, position: SourcePosition, article_id: str | None = None
) -> Rejection:
    return Rejection(error=code, message=message, raw=payload, position=position, id=article_id)


def _optional_str(obj: dict[str, Any], name: str, limit: int) -> str | None:
    value = obj.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"field '{name}' must be a string, got {type(value).__name__}")
    return value[:limit]


def parse_article(
    payload: bytes, *, max_bytes: int, position: SourcePosition = NO_POSITION
) -> RawArticle | Rejection:
    """Validate one message from ``articles.raw``.

    Args:
        payload: the message value exactly as read from Kafka.
        max_bytes: larger payloads are rejected with ``too_large`` before they are decoded.
        position: topic, partition and offset, copied into a rejection.

    Returns:
        The article, or a rejection with one of :data:`REJECTION_CODES`.
    """
    if len(payload) > max_bytes:
        return _reject(
            "too_large", f"message is {len(payload)} bytes, the limit is {max_bytes}", payload, position
        )
    try:
        decoded = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        return _reject(
            "bad_encoding", f"message is not UTF-8: {exc.reason} at byte {exc.start}", payload, position
        )
    # The depth cannot exceed the number of opening brackets outside strings: most articles, and HTML
    # pages whose scripts hold hundreds of brackets, skip the byte-by-byte scan.
    if (
        payload.count(b"[") + payload.count(b"{") > _MAX_NESTING
        and _brackets_outside_strings(payload) > _MAX_NESTING
        and _nesting_depth(payload) > _MAX_NESTING
    ):
        return _reject("invalid_json", f"JSON nested deeper than {_MAX_NESTING} levels", payload, position)
    try:
        obj = _DECODER.decode(decoded)
    except _OutOfRange as exc:
        return _reject("invalid_field", str(exc), payload, position, _id_despite_range(decoded))
    except (ValueError, RecursionError) as exc:
        return _reject("invalid_json", f"not valid JSON: {exc}"[:300], payload, position)
    if not isinstance(obj, dict):
        return _reject(
            "not_an_object", f"expected a JSON object, got {type(obj).__name__}", payload, position
        )
    if _holds_lone_surrogate(decoded, obj):
        message = "a string holds an unpaired UTF-16 surrogate escape (\\ud800-\\udfff)"
        return _reject("bad_encoding", message, payload, position)
    # The id first: every later rejection carries it, so a consumer can join it to the crawler's record.
    article_id, id_problem = _explicit_id(obj)
    if id_problem:
        return _reject("invalid_field", id_problem, payload, position)
    url = obj.get("url")
    if url is None or (isinstance(url, str) and not url.strip()):
        message = "the required field 'url' is missing or empty"
        return _reject("missing_url", message, payload, position, article_id)
    bad_url = _url_problem(url)
    if bad_url:
        return _reject("invalid_url", bad_url, payload, position, article_id)
    url = without_credentials(url.strip())
    known_id = article_id
    if known_id is None:
        from streams.fingerprint import article_id_for  # local: fingerprint imports cleaning, not models

        known_id = article_id_for(url)
    try:
        text = _optional_str(obj, "text", max_bytes)
        html = _optional_str(obj, "html", max_bytes)
        title = _optional_str(obj, "title", _MAX_SHORT_FIELD_CHARS) or ""
        source = _optional_str(obj, "source", _MAX_SHORT_FIELD_CHARS)
        published_at = _optional_str(obj, "published_at", 64)
        language = _optional_str(obj, "language", 32)
        if published_at is not None:
            datetime.fromisoformat(published_at.replace("Z", "+00:00"))
    except ValueError as exc:
        return _reject("invalid_field", str(exc)[:300], payload, position, known_id)
    if not (text and text.strip()) and not (html and html.strip()):
        return _reject("empty_text", "neither 'text' nor 'html' has content", payload, position, known_id)
    extra = {k: v for k, v in obj.items() if k not in _KNOWN_FIELDS}
    return RawArticle(
        url=url,
        id=known_id,
        title=title,
        text=text,
        html=html,
        source=source,
        published_at=published_at,
        language=language,
        extra=extra,
    )


def _explicit_id(obj: Any) -> tuple[str | None, str | None]:
    """The message's own id (None when it has none) and what is wrong with it (None when nothing).

    Ids are strings; an integer is taken as its decimal string. Anything else, an id with a control
    character (a NUL does not survive every system downstream) or a longer one than MAX_ID_BYTES
    (cutting it would make two ids one) is refused: an id is never changed.
    """
    value = obj.get("id") if isinstance(obj, dict) else None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if value is None or value == "":
        return None, None
    if not isinstance(value, str):
        return None, "field 'id' must be a string or an integer"
    if len(value.encode("utf-8", "surrogatepass")) > MAX_ID_BYTES:
        return None, f"field 'id' is longer than {MAX_ID_BYTES} bytes"
    if _has_control(value):
        return None, "field 'id' holds a control character"
    return value, None


def _id_despite_range(decoded: str) -> str | None:
    """The id of a message refused for a number out of range: it is valid JSON, read again without
    the range check (None if that fails too, or the id is unusable)."""
    try:
        article_id = _explicit_id(json.loads(decoded))[0]
    except (ValueError, RecursionError):
        return None
    try:
        return None if article_id is None else article_id.encode("utf-8").decode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate escape: the rejection could not be published
        return None


def _url_problem(url: Any) -> str | None:
    """What makes ``url`` unusable as an article's URL, or None."""
    if not isinstance(url, str) or "://" not in url:
        return "'url' must be an absolute http(s) URL"
    url = url.strip()
    if len(url.encode("utf-8", "surrogatepass")) > MAX_URL_BYTES:
        return f"'url' is longer than {MAX_URL_BYTES} bytes"
    if _has_control(url):
        return "'url' holds a control character"
    if not url.lower().startswith(("http://", "https://")):
        return "'url' must use http or https"
    if not _has_host_and_port(url):
        return "'url' must have a host and a valid port"
    return None


def _holds_lone_surrogate(decoded: str, obj: dict[str, Any]) -> bool:
    # Valid UTF-8 cannot hold a surrogate, but a JSON escape can; the output JSON could not be encoded.
    if not _SURROGATE_ESCAPE.search(decoded):
        return False
    try:
        json.dumps(obj, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _has_host_and_port(url: str) -> bool:
    # urlsplit raises on a bad IPv6 literal and .port on a port out of range; canonical_url needs both.
    try:
        parts = urlsplit(url.strip())
        return bool(parts.hostname) and (parts.port is None or parts.port >= 0)
    except ValueError:
        return False


def _refuse_constant(name: str) -> float:
    # NaN and Infinity are not JSON; passing them through would break strict consumers downstream.
    raise ValueError(f"{name} is not valid JSON")


# Built once: json.loads with hooks builds a decoder on every call.
_DECODER = json.JSONDecoder(parse_constant=_refuse_constant, parse_float=_parse_float, parse_int=_parse_int)
