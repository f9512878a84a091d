"""Records that cross the edges: the article read from ``articles.raw`` and the decisions written out.

Parsing is strict and total: :func:`parse_article` turns any bytes into either a :class:`RawArticle`
or a :class:`Rejection` with a stable code, never an exception. The three output records
(:class:`UniqueArticle`, :class:`DuplicateArticle`, :class:`Rejection`) render to the JSON of the
message contract in the README with ``to_dict``.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urlsplit

Status = Literal["unique", "duplicate", "rejected"]
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
    "internal_error",
)

_KNOWN_FIELDS = ("id", "url", "title", "text", "html", "source", "published_at", "language")
_MAX_NESTING = 32
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
#: Rejections carry the payload as received up to this many bytes (``raw_truncated`` says if cut).
MAX_REJECTED_RAW_BYTES = 65_536
_MAX_URL_CHARS = 4096
_MAX_SHORT_FIELD_CHARS = 2048


def utc_now_iso() -> str:
    """The current time as ISO-8601 UTC with millisecond precision."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class SourcePosition:
    """Where a message came from, for rejections and logs."""

    topic: str | None = None
    partition: int | None = None
    offset: int | None = None


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


@dataclass(frozen=True, slots=True)
class Rejection:
    """An input that cannot be processed, with the payload as received."""

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
        obj = json.loads(decoded, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        return _reject("invalid_json", f"not valid JSON: {exc}"[:300], payload, position)
    if not isinstance(obj, dict):
        return _reject(
            "not_an_object", f"expected a JSON object, got {type(obj).__name__}", payload, position
        )
    if _holds_lone_surrogate(decoded, obj):
        message = "a string holds an unpaired UTF-16 surrogate escape (\\ud800-\\udfff)"
        return _reject("bad_encoding", message, payload, position)
    url = obj.get("url")
    if url is None or (isinstance(url, str) and not url.strip()):
        return _reject("missing_url", "the required field 'url' is missing or empty", payload, position)
    if not isinstance(url, str) or len(url) > _MAX_URL_CHARS or "://" not in url:
        return _reject("invalid_url", "'url' must be an absolute http(s) URL", payload, position)
    if not url.lower().startswith(("http://", "https://")):
        return _reject("invalid_url", "'url' must use http or https", payload, position)
    if not _has_host_and_port(url):
        return _reject("invalid_url", "'url' must have a host and a valid port", payload, position)
    article_id = obj.get("id")
    if article_id is not None and not isinstance(article_id, str | int):
        return _reject("invalid_field", "field 'id' must be a string or an integer", payload, position)
    # Later rejections carry the id, so a downstream consumer can join them to the crawler's record.
    known_id = (
        str(article_id)[:_MAX_SHORT_FIELD_CHARS] if article_id is not None and str(article_id) else None
    )
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
        url=url.strip(),
        id=known_id,
        title=title,
        text=text,
        html=html,
        source=source,
        published_at=published_at,
        language=language,
        extra=extra,
    )


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
