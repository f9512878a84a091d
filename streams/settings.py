"""The one place that reads the environment.

Every setting is an environment variable with the prefix ``STREAMS_`` (``STREAMS_BROKER``,
``STREAMS_REDIS_URL``, ...); the README's settings table lists them all. The object is frozen:
build it once at start-up with :func:`get_settings` and pass it on.
"""

from __future__ import annotations

import functools
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from streams.fingerprint_params import FingerprintParams
from streams.models import Status

ShingleKind = Literal["word", "char"]
HtmlExtractor = Literal["resiliparse", "selectolax", "trafilatura"]


class Settings(BaseSettings):
    """Runtime configuration of a worker, the offline commands and the local stack."""

    model_config = SettingsConfigDict(env_prefix="STREAMS_", frozen=True, extra="ignore")

    # --- connections -------------------------------------------------------------------------------
    broker: str = Field("kafka://127.0.0.1:9092", description="Kafka bootstrap servers, Faust URL form.")
    broker_credentials_username: str | None = Field(None, description="SASL PLAIN/SCRAM user name.")
    broker_credentials_password: SecretStr | None = Field(None, description="SASL password.")
    broker_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = Field(
        "PLAIN", description="SASL mechanism when a user name is set."
    )
    broker_ssl: bool = Field(False, description="Use TLS to the broker (with SASL if a user is set).")
    broker_ssl_cafile: str | None = Field(None, description="CA bundle for broker TLS.")
    redis_url: SecretStr = Field(
        SecretStr("redis://127.0.0.1:6379/0"),
        description="Redis URL; rediss:// for TLS, redis://user:password@host for AUTH.",
    )
    app_id: str = Field("streams-dedup", description="Faust app id = Kafka consumer group.")
    web_port: int = Field(6066, ge=1, le=65535, description="Worker web port (/metrics, status page).")
    web_host: str = Field("127.0.0.1", description="Worker web bind address.")

    # --- topics --------------------------------------------------------------------------------------
    topic_raw: str = Field("articles.raw", description="Input: raw articles from the crawler.")
    topic_unique: str = Field("articles.unique", description="Output: cleaned articles seen first.")
    topic_duplicates: str = Field("articles.duplicates", description="Output: copies, with their evidence.")
    topic_rejected: str = Field(
        "articles.rejected", description="Output: bad inputs with a code and the bytes."
    )
    topic_partitions: int = Field(4, ge=1, le=1024, description="Partitions of topics the app creates.")

    # --- input bounds ------------------------------------------------------------------------------
    max_message_bytes: int = Field(2_000_000, ge=1024, description="Larger messages are rejected.")
    max_text_chars: int = Field(200_000, ge=100, description="Cleaned text is cut to this length.")
    min_text_chars: int = Field(40, ge=1, description="Shorter cleaned texts are rejected (empty_text).")
    extraction_timeout_seconds: float = Field(
        2.0, gt=0, description="HTML extraction time box; slower pages get extraction_timeout."
    )
    offload_max_share: float = Field(
        0.5,
        ge=0,
        le=0.9,
        description="Cap of the adaptive share of batches of 16+ short inputs prepared in a second process"
        " (0: none; none either with fewer than 2 CPUs).",
    )
    html_extractor: HtmlExtractor = Field(
        "resiliparse",
        description="HTML main-text extractor: resiliparse (fast, best measured), selectolax or trafilatura.",
    )

    # --- fingerprint -------------------------------------------------------------------------------
    shingle_kind: ShingleKind = Field("word", description="Shingles of content words (word) or characters.")
    shingle_size: int = Field(2, ge=1, le=12, description="Words (or characters) per shingle.")
    num_perm: int = Field(128, ge=16, le=512, description="MinHash permutations.")
    seed: int = Field(1, ge=0, description="MinHash seed; part of the index namespace.")
    lsh_bands: int = Field(42, ge=1, description="LSH bands over the signature.")
    lsh_rows: int = Field(3, ge=1, description="Signature values per band.")
    lead_shingles: int = Field(20, ge=1, description="Shingles in the lead signature (excerpt search).")
    lead_bands: int = Field(4, ge=0, description="LSH bands over the lead signature.")
    lead_rows: int = Field(4, ge=1, description="Lead signature values per band.")
    chunk_divisor: int = Field(
        8, ge=2, description="Mean length, in shingles, of the anchored chunks that find passages."
    )
    chunk_min_shingles: int = Field(5, ge=1, description="Shorter chunks are not indexed (too common).")
    chunk_sample: int = Field(10, ge=0, le=64, description="Anchored chunks indexed per article.")

    # --- decision rule ----------------------------------------------------------------------------
    jaccard_threshold: float = Field(
        0.35, gt=0, le=1, description="Near duplicate at this estimated Jaccard."
    )
    containment_threshold: float = Field(
        0.6, gt=0, le=1, description="Excerpt: share of the new article's shingles found in an older one."
    )
    min_containment_shingles: int = Field(
        30, ge=1, description="Containment only counts for articles with at least this many shingles."
    )
    lead_threshold: float = Field(
        0.75, gt=0, le=1, description="Lead signatures this similar make a short excerpt's case."
    )
    lead_containment_threshold: float = Field(
        0.4, gt=0, le=1, description="Containment a short excerpt needs when its lead matches."
    )
    same_host_title_threshold: float = Field(
        0.75,
        ge=0,
        le=1,
        description=(
            "A near match between two pages of one host also needs this share of the shorter title's"
            " words in the other title (0 turns the guard off)."
        ),
    )

    # --- site chrome -------------------------------------------------------------------------------
    chrome_min_pages: int = Field(
        4,
        ge=0,
        le=64,
        description=(
            "A text block seen on this many distinct pages of one host is site chrome, left out of the"
            " fingerprint (0: chrome is not learned)."
        ),
    )
    chrome_max_blocks: int = Field(
        256, ge=16, description="Blocks counted per host in Redis at most: about 5 KB a host (see the docs)."
    )
    chrome_ttl_days: float = Field(7.0, gt=0, description="A host not seen this long forgets its chrome.")
    chrome_cache_hosts: int = Field(
        10_000, ge=1, description="Hosts whose known chrome a worker keeps in memory (least recent go first)."
    )

    # --- index -------------------------------------------------------------------------------------
    namespace: str = Field("streams", description="Redis key prefix; the version suffix is added.")
    retention_days: float = Field(30.0, gt=0, description="Index entries expire after this window.")
    index_generations: int = Field(
        2, ge=1, le=30, description="Generations per retention window; entries live up to 1 + 1/G windows."
    )
    index_capacity: int = Field(
        1_000_000,
        ge=1000,
        description=(
            "Unique articles held at once (window + a generation); sizes the band table (about 0.55 KB each)"
            " and hashes."
        ),
    )
    max_candidates: int = Field(64, ge=1, le=1000, description="LSH candidates verified per article.")
    redis_retries: int = Field(8, ge=0, description="Retries with backoff before the worker gives up.")
    redis_backoff_cap_seconds: float = Field(10.0, gt=0, description="Longest wait between Redis retries.")

    # --- worker ------------------------------------------------------------------------------------
    batch_max_articles: int = Field(64, ge=1, le=5000, description="Articles decided per batch at most.")
    batch_seconds: float = Field(
        0.005, gt=0, description="Longest wait to fill a batch (adds up to this much latency at low rates)."
    )
    broker_session_timeout_seconds: float = Field(
        10.0, ge=3, description="Consumer session timeout: how soon a dead worker's partitions move."
    )
    broker_wait_seconds: float = Field(
        10.0,
        ge=0,
        le=3600,
        description="How long a starting worker waits for a bootstrap server to accept a connection.",
    )
    commit_interval_seconds: float = Field(1.0, gt=0, description="How often acked offsets are committed.")
    shutdown_seconds: float = Field(
        5.0,
        gt=0,
        description="Longest a worker takes to stop on SIGTERM/SIGINT; unacked input is then redelivered.",
    )
    broker_fetch_max_wait_ms: int = Field(
        25, ge=1, le=1500, description="Longest a fetch waits for new messages (tansu always waits it out)."
    )
    producer_batch_bytes: int = Field(
        524_288,
        ge=16_384,
        le=1_048_576,
        description="Bytes of decisions per partition in one produce request (keep under message.max.bytes).",
    )
    source_label_limit: int = Field(
        50, ge=0, description="Distinct sources labelled in metrics; the rest count as 'other'."
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field("info", description="Log level.")
    log_format: Literal["json", "console"] = Field("json", description="One JSON object a line, or console.")

    @field_validator("broker")
    @classmethod
    def _broker_has_scheme(cls, value: str) -> str:
        if "://" not in value:
            return "kafka://" + value
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url_scheme(cls, value: SecretStr) -> SecretStr:
        # Checked here so a wrong scheme is one line at start, not redis-py's traceback at first use;
        # the message never repeats the URL (it may hold a password).
        problem = redis_url_problem(value.get_secret_value())
        if problem:
            raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _bands_fit_permutations(self) -> Settings:
        if self.lsh_bands * self.lsh_rows > self.num_perm:
            raise ValueError(
                f"STREAMS_LSH_BANDS x STREAMS_LSH_ROWS = {self.lsh_bands * self.lsh_rows} exceeds "
                f"STREAMS_NUM_PERM={self.num_perm}; for example 42 bands of 3 rows for 128 permutations."
            )
        return self

    def fingerprint_params(self) -> FingerprintParams:
        """The parameters that make signatures comparable."""
        return FingerprintParams(
            shingle_kind=self.shingle_kind,
            shingle_size=self.shingle_size,
            num_perm=self.num_perm,
            seed=self.seed,
            bands=self.lsh_bands,
            rows=self.lsh_rows,
            lead_shingles=self.lead_shingles,
            lead_bands=self.lead_bands,
            lead_rows=self.lead_rows,
            chunk_divisor=self.chunk_divisor,
            chunk_min_shingles=self.chunk_min_shingles,
            chunk_sample=self.chunk_sample,
        )

    @property
    def bootstrap_servers(self) -> list[str]:
        """The broker list without the ``kafka://`` scheme, for kafka-python."""
        hosts = self.broker.split("://", 1)[1]
        return [h.strip() for h in hosts.replace(";", ",").split(",") if h.strip()]

    @property
    def retention_seconds(self) -> int:
        return int(self.retention_days * 86400)

    def as_env(self) -> dict[str, str]:
        """The ``STREAMS_*`` variables that give another process exactly these settings."""
        env: dict[str, str] = {}
        for name, value in self.model_dump().items():
            if value is None:
                continue
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            env[f"STREAMS_{name.upper()}"] = str(value).lower() if isinstance(value, bool) else str(value)
        return env

    @property
    def output_topic_by_status(self) -> dict[Status, str]:
        """The routing table: the output topic of a decision, by its ``status``.

        A new output is a status in :data:`streams.models.Status` with its record, a topic setting and a
        row here: the worker publishes to it and counts it (``outcome`` label), the status page's JSON
        lists it, and the tools create its topic (:attr:`output_topics`).
        """
        return {
            "unique": self.topic_unique,
            "duplicate": self.topic_duplicates,
            "rejected": self.topic_rejected,
        }

    @property
    def output_topics(self) -> tuple[str, ...]:
        return tuple(self.output_topic_by_status.values())


def redis_url_problem(url: str) -> str | None:
    """Why ``url`` is not a Redis URL redis-py can open, or None."""
    if url.partition("://")[0].lower() not in ("redis", "rediss", "unix"):
        return "a Redis URL starts with redis://, rediss:// (TLS) or unix://"
    return None


def redacted_url(url: str) -> str:
    """The URL without its password (``redis://user:***@host:6379/0``), for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    netloc = f"{user}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def settings_table() -> str:
    """The README's settings table (Markdown), generated from the fields so the two never drift."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for name, info in Settings.model_fields.items():
        default = info.default
        if hasattr(default, "get_secret_value"):
            default = default.get_secret_value()
        shown = "" if default is None else f"`{default}`"
        rows.append(f"| `STREAMS_{name.upper()}` | {shown} | {info.description or ''} |")
    return "\n".join(rows)


@functools.cache
def get_settings() -> Settings:
    """The settings of this process, read from the environment once."""
    return Settings()
